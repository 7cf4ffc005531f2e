"""Inbox plausibility (issue 13, item 8): attaching a reading by hand that was measured before
the sample's collection, after its kind's maximum age, to a sample of another kind, or to one
that already has a current value asks first; the answer is recorded in the audit event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent
from lims.capture import plausibility, service
from lims.capture.models import (
    Instrument,
    InstrumentReading,
    Protocol,
    ReadingSource,
    ReadingStatus,
    ReadingType,
)
from lims.core.errors import ConfirmationRequired
from lims.core.permissions import Role
from lims.monitoring.models import SampleKindRef
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.conftest import FIXED_NOW
from tests.factories import unique

COLLECTED = FIXED_NOW - timedelta(days=1)


def test_the_questions_are_pure_rules() -> None:
    ask = dict(collected_at=COLLECTED, sample_kind=SampleKind.URINE,
               analyte_kind=SampleKind.URINE, max_age=timedelta(days=30), has_current_value=False)
    assert plausibility.doubts(measured_at=COLLECTED + timedelta(hours=3), **ask) == []
    assert plausibility.doubts(measured_at=None, **ask) == []
    [before] = plausibility.doubts(measured_at=COLLECTED - timedelta(days=212), **ask)
    assert (before.code, before.params["days"]) == ("before_collection", 212)
    [old] = plausibility.doubts(measured_at=COLLECTED + timedelta(days=31), **ask)
    assert old.code == "too_old"
    codes = [d.code for d in plausibility.doubts(
        measured_at=COLLECTED, **{**ask, "analyte_kind": SampleKind.SALT,
                                  "has_current_value": True})]
    assert codes == ["wrong_kind", "has_value"]
    assert plausibility.doubts(measured_at=COLLECTED + timedelta(days=900),
                               **{**ask, "max_age": None}) == []  # no maximum age set


def _unmatched(session: Session, instrument: Instrument, *, measured_at: datetime | None,
               analyte: str = "uic", value: float = 87.3) -> InstrumentReading:
    reading = InstrumentReading(
        instrument_id=instrument.id, idempotency_key=unique("r-"), type=ReadingType.RESULT,
        source=ReadingSource.DRIVER, status=ReadingStatus.UNMATCHED, sample_ref="U25-0001",
        analyte=analyte, test_code=analyte.upper(), raw_value=f"{value}", value=value,
        unit="ug/L" if analyte == "uic" else "mg/kg", measured_at=measured_at,
        received_at=FIXED_NOW, payload={"analyte": analyte, "value": value,
                                        "raw_value": f"{value}", "unit": ""}, raw="")
    session.add(reading)
    session.flush()
    return reading


@pytest.fixture()
def setup(session: Session, make_user, make_instrument, make_sample) -> dict[str, Any]:
    instrument, _secret = make_instrument(Protocol.ASTM)
    return {"instrument": instrument, "tech": make_user(Role.TECHNICIAN),
            "sample": make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED,
                                  collected_at=COLLECTED)}


def _attach(session: Session, setup: dict[str, Any], reading: InstrumentReading,
            accession: str | None = None, **kwargs: Any) -> InstrumentReading:
    return service.attach_reading(session, actor=setup["tech"], now=FIXED_NOW, reading=reading,
                                  accession=accession or setup["sample"].accession,
                                  reason="rack label misread", **kwargs)


def test_measured_seven_months_before_collection_asks_and_records_the_answer(session, setup):
    # the instrument's clock is naive lab time (Asia/Almaty, UTC+5)
    reading = _unmatched(session, setup["instrument"],
                         measured_at=(COLLECTED - timedelta(days=212)).replace(tzinfo=None))
    with pytest.raises(ConfirmationRequired) as asked:
        _attach(session, setup, reading)
    assert list(asked.value.questions) == ["before_collection"]
    assert "before" in asked.value.questions["before_collection"]
    session.refresh(reading)
    assert reading.status is ReadingStatus.UNMATCHED
    _attach(session, setup, reading, confirmed={"before_collection"})
    assert reading.status is ReadingStatus.ATTACHED
    events = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "reading_attached")).all()
    assert {e.entity_type for e in events} == {"instrument_reading", "sample"}
    assert all(e.changes["confirmed_despite"] == {"before_collection": True} for e in events)


def test_the_maximum_age_is_the_kinds_reference_data(session, setup):
    urine = session.get(SampleKindRef, "urine")
    kept = urine.max_age_days
    measured = (COLLECTED + timedelta(days=40)).astimezone(UTC).replace(tzinfo=None)
    reading = _unmatched(session, setup["instrument"], measured_at=measured)
    try:
        urine.max_age_days = 30
        with pytest.raises(ConfirmationRequired) as asked:
            _attach(session, setup, reading, lab_zone=UTC)
        assert list(asked.value.questions) == ["too_old"]
        assert "40 days" in asked.value.questions["too_old"]
        urine.max_age_days = 60
        _attach(session, setup, reading, lab_zone=UTC)
    finally:
        urine.max_age_days = kept
    assert reading.status is ReadingStatus.ATTACHED
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "reading_attached",
                                                       AuditEvent.entity_type == "sample"))
    assert "confirmed_despite" not in event.changes  # nothing asked, nothing recorded


def test_a_sample_with_a_current_value_and_a_sample_of_another_kind_ask(session, setup,
                                                                        make_sample):
    first = _unmatched(session, setup["instrument"], measured_at=None)
    _attach(session, setup, first)
    second = _unmatched(session, setup["instrument"], measured_at=None, value=90.1)
    with pytest.raises(ConfirmationRequired) as asked:
        _attach(session, setup, second)
    assert list(asked.value.questions) == ["has_value"]
    assert "87.3" in asked.value.questions["has_value"]
    with pytest.raises(ConfirmationRequired):  # an answer to another question does not count
        _attach(session, setup, second, confirmed={"wrong_kind"})
    _attach(session, setup, second, confirmed={"has_value"})
    assert second.status is ReadingStatus.ATTACHED

    salt = make_sample(SampleKind.SALT, status=SampleStatus.RECEIVED, collected_at=COLLECTED)
    third = _unmatched(session, setup["instrument"], measured_at=None)
    with pytest.raises(ConfirmationRequired) as asked:
        _attach(session, setup, third, accession=salt.accession)
    assert list(asked.value.questions) == ["wrong_kind"]
    _attach(session, setup, third, accession=salt.accession, confirmed={"wrong_kind"})
    assert third.sample_id == salt.id


def test_the_inbox_page_asks_then_attaches_with_the_answer(session, client, login, setup):
    reading = _unmatched(session, setup["instrument"],
                         measured_at=(COLLECTED - timedelta(days=212)).replace(tzinfo=None))
    session.commit()
    login(setup["tech"])
    data = {"accession": setup["sample"].accession, "reason": "rack label misread"}
    asked = client.post(f"/inbox/{reading.id}/attach", data=data)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409
    assert 'role="alert"' in page and 'data-question="before_collection"' in page
    assert 'name="confirm" type="hidden" value="before_collection"' in page
    session.refresh(reading)
    assert reading.status is ReadingStatus.UNMATCHED
    done = client.post(f"/inbox/{reading.id}/attach", data={**data, "confirm": "before_collection"})
    assert done.status_code == 302
    session.refresh(reading)
    assert reading.status is ReadingStatus.ATTACHED
    timeline = client.get(f"/inbox/{reading.id}").get_data(as_text=True)
    assert "measured before collection" in timeline
    bogus = _unmatched(session, setup["instrument"],
                       measured_at=(COLLECTED - timedelta(days=3)).replace(tzinfo=None))
    session.commit()
    forged = client.post(f"/inbox/{bogus.id}/attach", data={**data, "confirm": "x" * 300})
    assert forged.status_code == 422
