"""``POST /api/v1/readings``: a driver's batch is validated whole, then every item is filed and
answered in order — attached, unmatched with a reason, a plate pending, or a duplicate."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from instruments.records import WELLS, PlateReading, Quarantined, Reading
from instruments.wire import envelope_for
from lims.auth.models import User
from lims.capture import reasons as reasons_module
from lims.capture.models import Instrument, InstrumentReading, Protocol, ReadingStatus
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def result(instrument: Instrument, sample_id: str | None, *, value: float | None = 142.5,
           raw_value: str = "142.5", analyte: str | None = "uic", unit: str = "ug/L",
           **extra: Any) -> dict[str, Any]:
    reading = Reading(instrument_id=instrument.code, sample_id=sample_id, analyte=analyte,
                      raw_value=raw_value, value=value, unit=unit, test_code="UIC",
                      raw=f"R|1|^^^UIC|{raw_value}|{unit}|", **extra)
    return envelope_for(instrument.code, reading, now=FIXED_NOW).to_dict()


def post(client: FlaskClient, secret: str, items: list[dict[str, Any]]) -> Any:
    return client.post("/api/v1/readings", json={"items": items}, headers=bearer(secret))


@pytest.fixture()
def astm(make_instrument: Callable[..., tuple[Instrument, str | None]]) -> tuple[Instrument, str]:
    instrument, secret = make_instrument(Protocol.ASTM)
    assert secret is not None
    return instrument, secret


def test_result_for_a_received_sample_is_attached(client: FlaskClient, session: Session, astm,
                                                  make_sample: Callable[..., Sample]) -> None:
    instrument, secret = astm
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    session.commit()
    item = result(instrument, sample.accession.lower())  # case as a scanner might send it
    response = post(client, secret, [item])
    assert response.status_code == 200, response.get_data(as_text=True)
    [outcome] = response.get_json()["results"]
    assert outcome["outcome"] == "attached" and outcome["reason"] is None
    row = session.get(InstrumentReading, outcome["reading_id"])
    assert row is not None and row.sample_id == sample.id and row.value == 142.5
    assert row.raw == item["payload"]["raw"] and row.status is ReadingStatus.ATTACHED
    session.refresh(instrument)
    assert instrument.last_seen_at is not None


def test_every_problem_is_unmatched_with_its_reason(client: FlaskClient, session: Session, astm,
                                                    make_sample: Callable[..., Sample]) -> None:
    instrument, secret = astm
    received = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    salt = make_sample(SampleKind.SALT, status=SampleStatus.RECEIVED)
    unreceived = make_sample(SampleKind.URINE, status=SampleStatus.REGISTERED)
    session.commit()
    items = [
        result(instrument, "U-2026-999999"),
        result(instrument, salt.accession),
        result(instrument, unreceived.accession),
        result(instrument, received.accession, value=None, raw_value="***",
               problems=("non-numeric value '***'",)),
        result(instrument, received.accession, analyte=None),
        result(instrument, received.accession, value=9000.0, raw_value="9000"),
        result(instrument, received.accession, unit="mg/kg"),
        result(instrument, None),
    ]
    response = post(client, secret, items)
    assert response.status_code == 200, response.get_data(as_text=True)
    outcomes = response.get_json()["results"]
    assert [o["outcome"] for o in outcomes] == ["unmatched"] * len(items)
    reasons = [o["reason"] for o in outcomes]
    assert reasons[0] == "no sample with accession U-2026-999999"
    assert f"{salt.accession} is a salt sample" in reasons[1]
    assert f"{unreceived.accession} is registered" in reasons[2]
    assert "non-numeric value '***'" in reasons[3]
    assert "'UIC' is not mapped to an analyte" in reasons[4]
    assert "outside the possible range" in reasons[5]
    assert "unit 'mg/kg' is not a unit of uic" in reasons[6]
    assert reasons[7] == "the instrument sent no sample ID"
    stored = session.scalars(sa.select(InstrumentReading).where(
        InstrumentReading.id.in_([o["reading_id"] for o in outcomes]))).all()
    assert len(stored) == len(items)
    assert all(r.status is ReadingStatus.UNMATCHED and r.sample_id is None for r in stored)
    # stored as codes, worded when shown (in the reader's language)
    by_id = {r.id: r for r in stored}
    codes = [reasons_module.load(by_id[o["reading_id"]].reason) for o in outcomes]
    assert [c.code for c in codes if c] == [
        "no_sample", "salt_sample", "sample_status", "not_a_number", "unmapped_test_code",
        "out_of_range", "wrong_unit", "no_sample_id"]
    assert codes[0].params == {"accession": "U-2026-999999"}


def test_same_key_is_never_stored_twice(client: FlaskClient, session: Session, astm,
                                        make_sample: Callable[..., Sample]) -> None:
    instrument, secret = astm
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    session.commit()
    item = result(instrument, sample.accession)
    first = post(client, secret, [item]).get_json()["results"][0]
    again = post(client, secret, [item, item]).get_json()["results"]
    assert [o["outcome"] for o in again] == ["duplicate", "duplicate"]
    assert {o["reading_id"] for o in again} == {first["reading_id"]}
    count = session.scalar(sa.select(sa.func.count()).select_from(InstrumentReading).where(
        InstrumentReading.instrument_id == instrument.id))
    assert count == 1


def test_same_value_and_time_under_a_new_key_waits_as_possible_duplicate(
        client: FlaskClient, session: Session, astm, make_sample: Callable[..., Sample]) -> None:
    from datetime import datetime

    instrument, secret = astm
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    session.commit()
    at = datetime(2026, 5, 14, 10, 30)
    outcomes = post(client, secret, [result(instrument, sample.accession, measured_at=at),
                                     result(instrument, sample.accession, measured_at=at)]
                    ).get_json()["results"]
    assert outcomes[0]["outcome"] == "attached"
    assert outcomes[1]["outcome"] == "unmatched" and "a duplicate?" in outcomes[1]["reason"]
    # the reason names the reading attached earlier in this upload by its real id (never #0)
    first = outcomes[0]["reading_id"]
    assert f"reading #{first} already attached" in outcomes[1]["reason"]
    row = session.get(InstrumentReading, outcomes[1]["reading_id"])
    assert row is not None and reasons_module.load(row.reason).params["reading"] == first
    with client.application.test_request_context():
        assert f"#{first} " in reasons_module.describe(row.reason)
    # a third copy in a later upload names the same first reading
    again = post(client, secret, [result(instrument, sample.accession, measured_at=at)]
                 ).get_json()["results"]
    assert again[0]["outcome"] == "unmatched" and f"#{first} " in again[0]["reason"]


def test_plates_wait_for_a_run_and_quarantine_is_kept(client: FlaskClient, session: Session,
                                                      make_instrument) -> None:
    instrument, secret = make_instrument(Protocol.BIORAD)
    plate = PlateReading(instrument_id=instrument.code, wells={w: 0.5 for w in WELLS}, model="680")
    garbage = Quarantined(reason="checksum mismatch", raw="\x021R|1|^^^UIC|1\x03ZZ\r\n")
    items = [envelope_for(instrument.code, plate, now=FIXED_NOW).to_dict(),
             envelope_for(instrument.code, garbage, now=FIXED_NOW).to_dict()]
    outcomes = post(client, secret, items).get_json()["results"]
    assert [o["outcome"] for o in outcomes] == ["pending", "unmatched"]
    assert "checksum mismatch" in outcomes[1]["reason"]
    kept = session.get(InstrumentReading, outcomes[1]["reading_id"])
    assert kept is not None and kept.raw == garbage.raw


def test_malformed_batch_is_refused_whole_with_every_item_named(
        client: FlaskClient, session: Session, astm, make_sample: Callable[..., Sample]) -> None:
    instrument, secret = astm
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    session.commit()
    good = result(instrument, sample.accession)
    no_key = result(instrument, sample.accession)
    del no_key["idempotency_key"]
    other = result(instrument, sample.accession)
    other["instrument_id"] = other["payload"]["instrument_id"] = "SOMEONE-ELSE"
    bad_time = result(instrument, sample.accession)
    bad_time["payload"]["measured_at"] = "yesterday"
    response = post(client, secret, [good, no_key, other, bad_time])
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert {e["index"] for e in errors} == {1, 2, 3}
    assert any("'idempotency_key' is a required property" in e["message"] for e in errors)
    assert session.scalar(sa.select(sa.func.count()).select_from(InstrumentReading).where(
        InstrumentReading.instrument_id == instrument.id)) == 0


@pytest.mark.parametrize("body, status", [
    ({"items": []}, 422), ({"nothing": 1}, 422), ([1, 2], 422), ("text", 422)])
def test_shapes_that_are_not_a_batch(client: FlaskClient, astm, body: Any, status: int) -> None:
    _, secret = astm
    response = client.post("/api/v1/readings", json=body, headers=bearer(secret))
    assert response.status_code == status


def test_not_json_is_415(client: FlaskClient, astm) -> None:
    _, secret = astm
    response = client.post("/api/v1/readings", data="R|1", headers=bearer(secret),
                           content_type="text/plain")
    assert response.status_code == 415


def test_a_token_of_no_instrument_is_refused(client: FlaskClient, session: Session, admin: User,
                                             astm) -> None:
    from lims.auth.services import create_api_token

    instrument, _ = astm
    _, secret = create_api_token(session, actor=admin, now=FIXED_NOW, name="a script")
    session.commit()
    response = post(client, secret, [result(instrument, "U-2026-000001")])
    assert response.status_code == 403
    assert "belongs to no instrument" in response.get_json()["detail"]


def test_a_new_token_revokes_the_old_one(client: FlaskClient, session: Session, admin: User,
                                         astm) -> None:
    from lims.capture.service import issue_instrument_token

    instrument, old = astm
    new = issue_instrument_token(session, actor=admin, now=FIXED_NOW, instrument=instrument)
    session.commit()
    assert post(client, old, [result(instrument, None)]).status_code == 401
    assert post(client, new, [result(instrument, None)]).status_code == 200


def test_a_batch_of_a_thousand_is_filed_in_order(client: FlaskClient, session: Session, astm,
                                                 make_sample: Callable[..., Sample]) -> None:
    instrument, secret = astm
    samples = [make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED) for _ in range(20)]
    session.commit()
    items = [result(instrument, samples[i % 20].accession, value=float(i), raw_value=str(i))
             for i in range(1000)]
    outcomes = post(client, secret, items).get_json()["results"]
    assert [o["idempotency_key"] for o in outcomes] == [i["idempotency_key"] for i in items]
    rows = dict(session.execute(sa.select(InstrumentReading.id, InstrumentReading.raw_value).where(
        InstrumentReading.id.in_([o["reading_id"] for o in outcomes]))).all())
    assert [rows[o["reading_id"]] for o in outcomes] == [str(i) for i in range(1000)]
    assert uuid.UUID(outcomes[0]["idempotency_key"])
