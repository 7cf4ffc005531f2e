"""Two technicians scan the same tube of one shipment at the same moment (it was passed along
the bench, or both scanners read it): one receipt, one scan event; the other is told it was
already scanned — never two receipts, never a 500."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from lims.audit.models import AuditEvent
from lims.auth import services as auth
from lims.auth.models import User
from lims.core.permissions import Role
from lims.extensions import db
from lims.logistics import shipments as service
from lims.logistics.shipment_models import Shipment, ShipmentDiscrepancy, ShipmentItem
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SaltSource, Sample, SampleKind, SampleReceipt
from tests.conftest import FIXED_NOW
from tests.race import needs_postgres, race, school_cluster, split

N = 2
ROUNDS = 5


@needs_postgres
def test_two_technicians_scanning_one_sample_make_one_receipt(race_app: Flask) -> None:
    with race_app.app_context():
        users = [auth.create_user(db.session, actor=None, now=FIXED_NOW, username=f"desk-{i}",
                                  password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
                 for i in range(N)]
        cluster = school_cluster(db.session, FIXED_NOW)
        db.session.flush()
        samples = [Sample(kind=SampleKind.SALT, status=SampleStatus.REGISTERED, cluster=cluster,
                          round_id=cluster.round_id, region_id=cluster.region_id,
                          accession=f"S-2026-9{i:05d}", salt_source=SaltSource.HOUSEHOLD,
                          collected_at=FIXED_NOW - timedelta(days=2),
                          registered_at=FIXED_NOW - timedelta(days=1))
                   for i in range(ROUNDS)]
        db.session.add_all(samples)
        shipment = service.create_shipment(
            db.session, actor=users[0], now=FIXED_NOW, round_id=cluster.round_id,
            region_id=cluster.region_id, cluster_id=cluster.id, courier="KazPost",
            dispatched_at=FIXED_NOW - timedelta(hours=3), box_count=1, logger_id=None)
        service.load_manifest(db.session, actor=users[0], now=FIXED_NOW, shipment=shipment,
                              rows=[service.ManifestRow(i + 2, s.accession, 1)
                                    for i, s in enumerate(samples)], source="m.csv")
        db.session.commit()
        user_ids, shipment_id = [u.id for u in users], shipment.id
        accessions = [s.accession for s in samples]

    for accession in accessions:
        def prepare(i: int) -> tuple[User, Shipment]:
            return db.session.get(User, user_ids[i]), db.session.get(Shipment, shipment_id)

        def act(i: int, loaded: tuple[User, Shipment], accession: str = accession) -> str:
            actor, shipment = loaded
            return service.scan(db.session, actor=actor, now=FIXED_NOW, shipment=shipment,
                                text=accession, box=1).outcome

        winners, refused = split(race(race_app, N, prepare, act))
        assert refused == [] and sorted(winners) == ["already_scanned", "received"]
        with race_app.app_context():
            sample_id = db.session.scalar(sa.select(Sample.id).where(
                Sample.accession == accession))
            assert db.session.scalar(sa.select(sa.func.count()).select_from(SampleReceipt)
                                     .where(SampleReceipt.sample_id == sample_id)) == 1
            scans = db.session.scalars(sa.select(AuditEvent).where(
                AuditEvent.action == "shipment_sample_scanned",
                AuditEvent.entity_id == shipment_id)).all()
            assert sum(1 for e in scans if e.changes["sample"] == accession) == 1


def _setup(race_app: Flask, name: str, samples: int) -> tuple[list[int], int, list[str]]:
    """Two technicians, a shipment in a new school cluster and ``samples`` registered salt
    samples (committed); the shipment has no manifest yet."""
    with race_app.app_context():
        users = [auth.create_user(db.session, actor=None, now=FIXED_NOW, username=f"{name}-{i}",
                                  password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
                 for i in range(N)]
        cluster = school_cluster(db.session, FIXED_NOW)
        cluster.code, cluster.district.code = f"C-{name}", f"D-{name}"
        cluster.round.code = f"R-{name}"
        cluster.round.programme.code = f"P-{name}"
        db.session.flush()
        prefix = {"close": 7, "manifest": 8}[name]
        found = [Sample(kind=SampleKind.SALT, status=SampleStatus.REGISTERED, cluster=cluster,
                        round_id=cluster.round_id, region_id=cluster.region_id,
                        accession=f"S-2026-{prefix}{i:05d}", salt_source=SaltSource.HOUSEHOLD,
                        collected_at=FIXED_NOW - timedelta(days=2),
                        registered_at=FIXED_NOW - timedelta(days=1)) for i in range(samples)]
        db.session.add_all(found)
        shipment = service.create_shipment(
            db.session, actor=users[0], now=FIXED_NOW, round_id=cluster.round_id,
            region_id=cluster.region_id, cluster_id=cluster.id, courier="KazPost",
            dispatched_at=FIXED_NOW - timedelta(hours=3), box_count=1, logger_id=None)
        db.session.commit()
        return [u.id for u in users], shipment.id, [s.accession for s in found]


def _events(action: str, shipment_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.entity_id == shipment_id))


@needs_postgres
def test_two_people_closing_one_shipment_close_it_once(race_app: Flask) -> None:
    user_ids, shipment_id, accessions = _setup(race_app, "close", 3)
    with race_app.app_context():
        actor, shipment = db.session.get(User, user_ids[0]), db.session.get(Shipment, shipment_id)
        service.load_manifest(db.session, actor=actor, now=FIXED_NOW, shipment=shipment,
                              rows=[service.ManifestRow(i + 2, a, None)
                                    for i, a in enumerate(accessions)], source="m.csv")
        service.scan(db.session, actor=actor, now=FIXED_NOW, shipment=shipment,
                     text=accessions[0])
        db.session.commit()

    def prepare(i: int) -> tuple[User, Shipment]:
        return db.session.get(User, user_ids[i]), db.session.get(Shipment, shipment_id)

    def act(i: int, loaded: tuple[User, Shipment]) -> int:
        actor, shipment = loaded
        return len(service.close_shipment(db.session, actor=actor, now=FIXED_NOW,
                                          shipment=shipment, missing_reason=f"lost ({i})",
                                          extra_reason=None, damaged={}))

    winners, refused = split(race(race_app, N, prepare, act))
    assert winners == [2] and len(refused) == N - 1
    with race_app.app_context():
        assert _events("shipment_closed", shipment_id) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShipmentDiscrepancy)
                                 .where(ShipmentDiscrepancy.shipment_id == shipment_id)) == 2


@needs_postgres
def test_two_manifests_loaded_at_once_make_one(race_app: Flask) -> None:
    user_ids, shipment_id, accessions = _setup(race_app, "manifest", 4)

    def prepare(i: int) -> tuple[User, Shipment]:
        return db.session.get(User, user_ids[i]), db.session.get(Shipment, shipment_id)

    def act(i: int, loaded: tuple[User, Shipment]) -> int:
        actor, shipment = loaded
        return service.load_manifest(db.session, actor=actor, now=FIXED_NOW, shipment=shipment,
                                     rows=[service.ManifestRow(2, accessions[i], None)],
                                     source=f"m{i}.csv")

    winners, refused = split(race(race_app, N, prepare, act))
    assert winners == [1] and len(refused) == N - 1
    with race_app.app_context():
        assert _events("shipment_manifest_loaded", shipment_id) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShipmentItem)
                                 .where(ShipmentItem.shipment_id == shipment_id)) == 1
