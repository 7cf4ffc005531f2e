"""Shipment services: announcing, manifests (row-named refusals, whole file or nothing),
scanning at the desk through the receipt service, the cold chain, closing with discrepancies."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from lims.audit.models import AuditEvent
from lims.core.errors import ConflictError, ValidationError
from lims.logistics import shipments as service
from lims.logistics.shipment_models import (
    DiscrepancyKind,
    ShipmentDiscrepancy,
    ShipmentItem,
    ShipmentStatus,
)
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import RejectionReason, SampleKind, SampleReceipt
from tests.conftest import FIXED_NOW
from tests.lims.logistics import shipment_fixtures
from tests.lims.logistics.shipment_fixtures import manifest_of, salt_samples

NOW = FIXED_NOW

# the fixtures of this room's shipment tests, found by pytest under these names
make_shipment, technician = shipment_fixtures.make_shipment, shipment_fixtures.technician


def scan(session, actor, shipment, text, **kwargs):
    return service.scan(session, actor=actor, now=NOW, shipment=shipment, text=text, **kwargs)


def events(session, action, entity_id=None):
    stmt = sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    return session.scalar(stmt)


# --- announcing ---------------------------------------------------------------------------------

def test_create_shipment_is_audited(session, make_cluster, make_shipment):
    cluster = make_cluster()
    shipment = make_shipment(cluster)
    assert shipment.status is ShipmentStatus.IN_TRANSIT and shipment.reference.startswith("SHP-")
    event = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "shipment_created", AuditEvent.entity_id == shipment.id)).one()
    assert event.changes["courier"] == "KazPost" and event.changes["cluster"] == cluster.code


@pytest.mark.parametrize(("overrides", "field"), [
    ({"courier": "  "}, "courier"),
    ({"box_count": 0}, "box_count"),
    ({"box_count": 10**12}, "box_count"),
    ({"dispatched_at": NOW + timedelta(days=2)}, "dispatched_at"),
    ({"courier": "Kaz\u202ePost"}, "courier"),
])
def test_create_shipment_refuses_bad_input(make_cluster, make_shipment, overrides, field):
    with pytest.raises(ValidationError) as refused:
        make_shipment(make_cluster(), **overrides)
    assert refused.value.field == field


def test_cluster_of_another_region_is_refused(make_cluster, make_shipment):
    here = make_cluster("KZ-11")
    other = make_cluster("KZ-11", survey_round=here.round)
    with pytest.raises(ValidationError):
        make_shipment(here, cluster_id=make_cluster("KZ-11").id)
    assert make_shipment(here, cluster_id=other.id).cluster_id == other.id


# --- manifests ----------------------------------------------------------------------------------

def test_manifest_file_rows_are_named_and_nothing_is_loaded(session, technician, make_cluster,
                                                            make_shipment, make_sample):
    cluster = make_cluster()
    good, taken, cancelled = salt_samples(session, cluster, 3)
    cancelled.status = SampleStatus.CANCELLED
    other = make_shipment(cluster)
    manifest_of(session, technician, other, [taken])
    shipment = make_shipment(cluster)
    csv = (f"accession;box\n{good.accession};1\nS-2026-999999;1\n{good.accession};2\n"
           f"{taken.accession};\n{cancelled.accession};1\n{good.accession[:-1]}0;x\n").encode()
    rows, errors = service.parse_manifest(csv, "manifest.csv")
    with pytest.raises(ValidationError) as refused:
        service.load_manifest(session, actor=technician, now=NOW, shipment=shipment, rows=rows,
                              errors=errors, source="manifest.csv", data=csv)
    by_row = {(e["row"], e["column"]): e["message"] for e in refused.value.errors}
    assert set(by_row) == {(3, "accession"), (4, "accession"), (5, "accession"),
                           (6, "accession"), (7, "box")}
    assert "S-2026-999999" in by_row[(3, "accession")]
    assert "row 2" in by_row[(4, "accession")]
    assert other.reference in by_row[(5, "accession")]
    assert "cancelled" in by_row[(6, "accession")]
    assert session.scalar(sa.select(sa.func.count()).select_from(ShipmentItem).where(
        ShipmentItem.shipment_id == shipment.id)) == 0


def test_manifest_xlsx_with_boxes(session, technician, make_cluster, make_shipment):
    cluster = make_cluster()
    samples = salt_samples(session, cluster, 3)
    book = Workbook()
    sheet = book.active
    sheet.append(["Accession", "Box"])
    for i, sample in enumerate(samples):
        sheet.append([sample.accession.lower(), i + 1])
    out = io.BytesIO()
    book.save(out)
    shipment = make_shipment(cluster)
    rows, errors = service.parse_manifest(out.getvalue(), "m.xlsx")
    assert errors == []
    assert service.load_manifest(session, actor=technician, now=NOW, shipment=shipment,
                                 rows=rows, source="m.xlsx", data=out.getvalue()) == 3
    boxes = dict(session.execute(sa.select(ShipmentItem.sample_id, ShipmentItem.box_number)
                                 .where(ShipmentItem.shipment_id == shipment.id)).all())
    assert boxes == {s.id: i + 1 for i, s in enumerate(samples)}
    assert events(session, "shipment_manifest_loaded", shipment.id) == 1
    with pytest.raises(ConflictError):  # loaded once
        manifest_of(session, technician, shipment, samples[:1])


def test_manifest_box_beyond_the_shipment_and_wrong_columns(session, technician, make_cluster,
                                                            make_shipment):
    cluster = make_cluster()
    (sample,) = salt_samples(session, cluster, 1)
    shipment = make_shipment(cluster, box_count=2)
    with pytest.raises(ValidationError) as refused:
        manifest_of(session, technician, shipment, [sample], boxes=[3])
    assert refused.value.errors[0]["column"] == "box"
    with pytest.raises(ValidationError) as refused:
        service.parse_manifest(b"sample,box\nS-1,1\n", "m.csv")
    assert {(e["row"], e["column"]) for e in refused.value.errors} == {
        (1, "accession"), (1, "sample")}


def test_manifest_from_registrations(session, technician, make_cluster, make_shipment):
    cluster = make_cluster()
    waiting = salt_samples(session, cluster, 4)
    salt_samples(session, cluster, 2, status=SampleStatus.RECEIVED)
    salt_samples(session, make_cluster(), 2)  # another round and cluster
    elsewhere = make_shipment(cluster)
    manifest_of(session, technician, elsewhere, waiting[:1])
    shipment = make_shipment(cluster)
    assert service.manifest_from_registrations(session, actor=technician, now=NOW,
                                               shipment=shipment) == 3
    on_it = set(session.scalars(sa.select(ShipmentItem.sample_id).where(
        ShipmentItem.shipment_id == shipment.id)))
    assert on_it == {s.id for s in waiting[1:]}


# --- scanning -----------------------------------------------------------------------------------

def test_scan_receives_a_manifest_sample_once(session, technician, make_cluster, make_shipment):
    cluster = make_cluster()
    samples = salt_samples(session, cluster, 2)
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, samples, boxes=[1, 2])
    service.record_arrival(session, actor=technician, now=NOW, shipment=shipment,
                           temperature_c=Decimal("4.5"), logger_excursion=False,
                           excursion_details=None)
    assert scan(session, technician, shipment, "box-1").outcome == "box"
    first = scan(session, technician, shipment, f" {samples[0].accession.lower()} ", box=1)
    assert (first.outcome, first.changed) == ("received", True)
    assert samples[0].status is SampleStatus.RECEIVED
    assert shipment.status is ShipmentStatus.RECEIVING
    receipt = session.scalars(sa.select(SampleReceipt).where(
        SampleReceipt.sample_id == samples[0].id)).one()
    assert receipt.temperature_c == Decimal("4.5")
    again = scan(session, technician, shipment, samples[0].accession, box=1)
    assert (again.outcome, again.changed) == ("already_scanned", False)
    assert events(session, "shipment_sample_scanned", shipment.id) == 1
    assert events(session, "receive", samples[0].id) == 1
    wrong_box = scan(session, technician, shipment, samples[1].accession, box=1)
    assert wrong_box.changed and "box 2" in wrong_box.message


def test_scans_that_change_nothing(session, technician, make_cluster, make_shipment):
    cluster = make_cluster()
    mine, theirs, cancelled, rejected = salt_samples(session, cluster, 4)
    other = make_shipment(cluster)
    manifest_of(session, technician, other, [theirs])
    shipment = make_shipment(cluster, box_count=2)
    manifest_of(session, technician, shipment, [mine, cancelled, rejected])
    cancelled.status, rejected.status = SampleStatus.CANCELLED, SampleStatus.REJECTED
    session.flush()
    outcomes = {text: scan(session, technician, shipment, text) for text in (
        theirs.accession, cancelled.accession, rejected.accession, "S-2026-000000", "BOX-7", "")}
    assert [r.outcome for r in outcomes.values()] == [
        "other_shipment", "not_receivable", "not_receivable", "unknown", "bad_box", "empty"]
    assert not any(r.changed for r in outcomes.values())
    assert other.reference in outcomes[theirs.accession].message
    assert theirs.status is SampleStatus.REGISTERED
    assert events(session, "shipment_sample_scanned", shipment.id) == 0
    assert shipment.status is ShipmentStatus.IN_TRANSIT


def test_unexpected_sample_is_offered_then_received_as_extra(session, technician, make_cluster,
                                                              make_shipment):
    cluster = make_cluster()
    listed, stray = salt_samples(session, cluster, 2)
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, [listed])
    offered = scan(session, technician, shipment, stray.accession)
    assert (offered.outcome, offered.changed) == ("unexpected", False)
    assert stray.status is SampleStatus.REGISTERED
    extra = scan(session, technician, shipment, stray.accession, receive_extra=True, box=2)
    assert (extra.outcome, extra.changed) == ("extra", True)
    item = session.scalars(sa.select(ShipmentItem).where(
        ShipmentItem.sample_id == stray.id)).one()
    assert not item.expected and item.scanned_box == 2
    assert stray.status is SampleStatus.RECEIVED


def test_sample_the_rules_refuse_is_marked_arrived_and_left_registered(
        session, technician, make_cluster, make_shipment, make_sample):
    cluster = make_cluster()
    low = make_sample(SampleKind.URINE, cluster=cluster, volume_ml=Decimal("0.2"))
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, [low])
    result = scan(session, technician, shipment, low.accession)
    assert result.outcome == "refused" and result.changed and "minimum" in result.message
    assert low.status is SampleStatus.REGISTERED
    assert session.scalar(sa.select(ShipmentItem.scanned_at).where(
        ShipmentItem.sample_id == low.id)) is not None


# --- closing ------------------------------------------------------------------------------------

def test_five_hundred_with_three_missing_and_two_unexpected(session, technician, make_cluster,
                                                            make_shipment):
    cluster = make_cluster(target_count=600)
    manifest_samples = salt_samples(session, cluster, 500)
    strays = salt_samples(session, cluster, 2)
    shipment = make_shipment(cluster, box_count=5)
    manifest_of(session, technician, shipment, manifest_samples,
                boxes=[1 + i // 100 for i in range(500)])
    missing = {manifest_samples[i].id for i in (7, 250, 499)}
    for i, sample in enumerate(manifest_samples):
        if sample.id not in missing:
            assert scan(session, technician, shipment, sample.accession,
                        box=1 + i // 100).outcome == "received"
    for stray in strays:
        assert scan(session, technician, shipment, stray.accession,
                    receive_extra=True).outcome == "extra"
    found = service.close_shipment(session, actor=technician, now=NOW, shipment=shipment,
                                   missing_reason="left at the district office",
                                   extra_reason="packed by the neighbouring team", damaged={})
    assert len(found) == 5
    stored = session.execute(sa.select(ShipmentDiscrepancy.sample_id, ShipmentDiscrepancy.kind)
                             .where(ShipmentDiscrepancy.shipment_id == shipment.id)).all()
    assert sorted(stored) == sorted([(sid, DiscrepancyKind.MISSING) for sid in missing]
                                    + [(s.id, DiscrepancyKind.EXTRA) for s in strays])
    assert shipment.status is ShipmentStatus.CLOSED
    assert session.scalar(sa.select(sa.func.count()).select_from(SampleReceipt).where(
        SampleReceipt.sample_id.in_([s.id for s in manifest_samples + strays]))) == 499
    event = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "shipment_closed", AuditEvent.entity_id == shipment.id)).one()
    assert (event.changes["missing"], event.changes["extra"], event.changes["damaged"]) == (3, 2, 0)


def test_close_needs_reasons_and_names_damaged_samples(session, technician, make_cluster,
                                                       make_shipment):
    cluster = make_cluster()
    a, b, stray, unscanned = salt_samples(session, cluster, 4)
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, [a, b, unscanned])
    for sample in (a, b):
        scan(session, technician, shipment, sample.accession)
    scan(session, technician, shipment, stray.accession, receive_extra=True)

    def close(**kwargs):
        values = {"missing_reason": "lost", "extra_reason": "packed by mistake", "damaged": {}}
        values.update(kwargs)
        return service.close_shipment(session, actor=technician, now=NOW, shipment=shipment,
                                      **values)

    for kwargs, field in (({"missing_reason": " "}, "missing_reason"),
                          ({"extra_reason": ""}, "extra_reason"),
                          ({"damaged": {unscanned.accession: "cracked"}}, "damaged"),
                          ({"damaged": {a.accession: " "}}, "damaged")):
        with pytest.raises(ValidationError) as refused:
            close(**kwargs)
        assert refused.value.field == field
    found = close(damaged={a.accession.lower(): "tube cracked"})
    assert sorted((d.sample_id, d.kind, d.reason) for d in found) == sorted([
        (unscanned.id, DiscrepancyKind.MISSING, "lost"),
        (stray.id, DiscrepancyKind.EXTRA, "packed by mistake"),
        (a.id, DiscrepancyKind.DAMAGED, "tube cracked")])


def test_closed_shipment_is_frozen_and_frees_its_samples(session, technician, make_cluster,
                                                         make_shipment):
    cluster = make_cluster()
    arrived, lost = salt_samples(session, cluster, 2)
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, [arrived, lost])
    scan(session, technician, shipment, arrived.accession)
    service.close_shipment(session, actor=technician, now=NOW, shipment=shipment,
                           missing_reason="not packed", extra_reason=None, damaged={})
    for attempt in (
        lambda: scan(session, technician, shipment, lost.accession),
        lambda: service.record_arrival(session, actor=technician, now=NOW, shipment=shipment,
                                       temperature_c=None, logger_excursion=False,
                                       excursion_details=None),
        lambda: service.close_shipment(session, actor=technician, now=NOW, shipment=shipment,
                                       missing_reason="x", extra_reason=None, damaged={}),
        lambda: manifest_of(session, technician, shipment, [lost]),
    ):
        with pytest.raises(ConflictError):
            attempt()
    assert events(session, "shipment_closed", shipment.id) == 1
    # the missing sample comes in the next shipment
    later = make_shipment(cluster)
    manifest_of(session, technician, later, [lost])
    assert scan(session, technician, later, lost.accession).outcome == "received"


# --- cold chain ---------------------------------------------------------------------------------

def test_excursion_is_a_rejection_reason_for_the_urine_samples(session, technician, make_cluster,
                                                               make_shipment, make_sample):
    cluster = make_cluster()
    urine = [make_sample(SampleKind.URINE, cluster=cluster) for _ in range(2)]
    (salt,) = salt_samples(session, cluster, 1)
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, [*urine, salt])
    for sample in (*urine, salt):
        scan(session, technician, shipment, sample.accession)
    with pytest.raises(ConflictError):  # no excursion recorded
        service.reject_for_cold_chain(session, actor=technician, now=NOW, shipment=shipment)
    with pytest.raises(ValidationError) as refused:
        service.record_arrival(session, actor=technician, now=NOW, shipment=shipment,
                               temperature_c=Decimal("14.0"), logger_excursion=True,
                               excursion_details="")
    assert refused.value.field == "excursion_details"
    service.record_arrival(session, actor=technician, now=NOW, shipment=shipment,
                           temperature_c=Decimal("14.0"), logger_excursion=True,
                           excursion_details="above 8 °C for 11 h")
    assert events(session, "shipment_arrival_recorded", shipment.id) == 1
    assert service.reject_for_cold_chain(session, actor=technician, now=NOW,
                                         shipment=shipment) == 2
    session.flush()
    reasons = session.execute(sa.select(SampleReceipt.sample_id, SampleReceipt.rejection_reason)
                              .where(SampleReceipt.rejection_reason.is_not(None))
                              .where(SampleReceipt.sample_id.in_([s.id for s in urine]))).all()
    assert sorted(reasons) == sorted((s.id, RejectionReason.COLD_CHAIN) for s in urine)
    assert all(s.status is SampleStatus.REJECTED for s in urine)
    assert salt.status is SampleStatus.RECEIVED


@pytest.mark.parametrize("temperature", [Decimal("NaN"), Decimal(61), Decimal("-1e30")])
def test_arrival_temperature_is_bounded(session, technician, make_cluster, make_shipment,
                                        temperature):
    shipment = make_shipment(make_cluster())
    with pytest.raises(ValidationError):
        service.record_arrival(session, actor=technician, now=NOW, shipment=shipment,
                               temperature_c=temperature, logger_excursion=False,
                               excursion_details=None)


def test_a_shipment_without_manifest_is_received_as_extra(session, technician, make_cluster,
                                                           make_shipment):
    cluster = make_cluster()
    tubes = salt_samples(session, cluster, 2)
    shipment = make_shipment(cluster)
    for tube in tubes:
        assert scan(session, technician, shipment, tube.accession).outcome == "unexpected"
        assert scan(session, technician, shipment, tube.accession,
                    receive_extra=True).outcome == "extra"
    found = service.close_shipment(session, actor=technician, now=NOW, shipment=shipment,
                                   missing_reason=None, extra_reason="no manifest was sent",
                                   damaged={})
    assert sorted((d.sample_id, d.kind) for d in found) == sorted(
        (t.id, DiscrepancyKind.EXTRA) for t in tubes)
