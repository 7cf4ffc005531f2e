"""Equipment records: calibrations and status decide whether an instrument's readings attach;
bad input is refused with the field named; every change is audited; what falls due is listed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from instruments.records import Reading
from instruments.wire import envelope_for
from lims.analysis import catalogue, review
from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.capture.models import Instrument, InstrumentReading, Protocol, ReadingStatus
from lims.capture.reasons import describe
from lims.core.errors import BusinessRuleViolation, ConflictError, ValidationError
from lims.core.permissions import Role
from lims.equipment import service
from lims.equipment.models import CalibrationOutcome, MaintenanceKind
from lims.equipment.queries import equipment_due
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW

TODAY = date(2026, 5, 14)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def calibrated(session: Session, admin: User, instrument: Instrument | None, *, until: date,
               code: str | None = None) -> Any:
    equipment = service.register_equipment(
        session, actor=admin, now=FIXED_NOW, code=code or f"EQ-{instrument.code}",
        name="equipment", instrument=instrument)
    service.record_calibration(session, actor=admin, now=FIXED_NOW, equipment=equipment,
                               calibrated_on=until - timedelta(days=365), valid_until=until,
                               performed_by="KazStandard", outcome=CalibrationOutcome.PASS,
                               certificate_no="C-1", file_name="c.pdf", file_data=PDF)
    return equipment


def post(client: FlaskClient, instrument: Instrument, secret: str, accession: str,
         measured_at: datetime) -> dict[str, Any]:
    reading = Reading(instrument_id=instrument.code, sample_id=accession, analyte="uic",
                      raw_value="120.0", value=120.0, unit="ug/L", test_code="UIC",
                      measured_at=measured_at, raw="R|1|^^^UIC|120.0|ug/L")
    response = client.post("/api/v1/readings", headers={"Authorization": f"Bearer {secret}"},
                           json={"items": [envelope_for(instrument.code, reading).to_dict()]})
    [outcome] = response.get_json()["results"]
    return outcome


def test_a_reading_after_the_calibration_lapsed_waits_in_the_inbox(
        client: FlaskClient, session: Session, admin: User, make_instrument,
        make_sample: Callable[..., Sample]) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    calibrated(session, admin, instrument, until=TODAY - timedelta(days=1))
    session.commit()
    outcome = post(client, instrument, secret, sample.accession, datetime(2026, 5, 14, 10, 30))
    assert outcome["outcome"] == "unmatched"
    assert outcome["reason"] == (f"EQ-{instrument.code} had no valid calibration on 2026-05-14"
                                 " (the last one ended on 2026-05-13)")
    row = session.get(InstrumentReading, outcome["reading_id"])
    assert row.status is ReadingStatus.UNMATCHED and row.sample_id is None
    with client.application.test_request_context():
        assert "2026-05-13" in describe(row.reason)
    # attaching it by hand does not get round the record
    from lims.capture.service import attach_reading

    with client.application.test_request_context(), pytest.raises(BusinessRuleViolation) as refused:
        attach_reading(session, actor=admin, now=FIXED_NOW, reading=row,
                       accession=sample.accession, reason="it is this sample")
    assert "no valid calibration" in refused.value.message
    session.rollback()
    # measured on the last valid day: attached
    again = post(client, instrument, secret, sample.accession, datetime(2026, 5, 13, 23, 59))
    assert again["outcome"] == "attached"


def test_out_of_service_holds_readings_and_manual_entry(
        client: FlaskClient, session: Session, admin: User, make_instrument, make_user,
        make_sample: Callable[..., Sample]) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    wyd, _ = make_instrument(Protocol.MANUAL)
    salt = make_sample(SampleKind.SALT, status=SampleStatus.RECEIVED)
    urine = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    technician = make_user(Role.TECHNICIAN)
    catalogue.seed_methods(session, now=FIXED_NOW)
    equipment = calibrated(session, admin, instrument, until=TODAY + timedelta(days=200))
    checker = calibrated(session, admin, wyd, until=TODAY + timedelta(days=200))
    for item in (equipment, checker):
        service.set_equipment_status(session, actor=admin, now=FIXED_NOW, equipment=item,
                                     in_service=False, reason="dropped on the floor")
    session.commit()
    outcome = post(client, instrument, secret, urine.accession, datetime(2026, 5, 14, 10, 30))
    assert outcome["outcome"] == "unmatched" and "out of service" in outcome["reason"]
    assert "dropped on the floor" in outcome["reason"]
    with client.application.test_request_context(), pytest.raises(BusinessRuleViolation) as refused:
        review.enter_direct_result(session, actor=technician, now=FIXED_NOW, sample=salt,
                                   method_version=catalogue.current_version(session, "SALT-WYD"),
                                   values=[25.0], instrument=wyd.code)
    assert refused.value.field == "instrument" and "out of service" in refused.value.message


def test_bad_input_is_refused_with_the_field_named(session: Session, admin: User,
                                                   app) -> None:
    with app.test_request_context():
        equipment = service.register_equipment(session, actor=admin, now=FIXED_NOW,
                                               code="EQ-PIPETTE-7", name="Pipette 100–1000 µL")
        cases: list[tuple[dict[str, Any], str]] = [
            ({"valid_until": TODAY - timedelta(days=1)}, "valid_until"),
            ({"file_data": b"MZ\x90\x00 not a certificate", "file_name": "c.exe"}, "file"),
            ({"file_data": b"<html>", "file_name": "c.pdf"}, "file"),
            ({"performed_by": " "}, "performed_by"),
            ({"calibrated_on": date(1800, 1, 1)}, "calibrated_on"),
        ]
        for changes, field in cases:
            args: dict[str, Any] = {"calibrated_on": TODAY, "valid_until": TODAY,
                                    "performed_by": "lab", "outcome": CalibrationOutcome.PASS,
                                    **changes}
            with pytest.raises(ValidationError) as refused:
                service.record_calibration(session, actor=admin, now=FIXED_NOW,
                                           equipment=equipment, **args)
            assert refused.value.field == field, changes
        for image in (b"\x89PNG\r\n\x1a\n....", b"\xff\xd8\xff\xe0....", PDF):
            assert service.certificate_type(image) is not None
        with pytest.raises(ValidationError) as refused:
            service.set_equipment_status(session, actor=admin, now=FIXED_NOW, equipment=equipment,
                                         in_service=False, reason="  ")
        assert refused.value.field == "reason"
        service.set_equipment_status(session, actor=admin, now=FIXED_NOW, equipment=equipment,
                                     in_service=False, reason="leaking")
        with pytest.raises(ValidationError):  # putting it back needs a reason too
            service.set_equipment_status(session, actor=admin, now=FIXED_NOW, equipment=equipment,
                                         in_service=True, reason="")
        with pytest.raises(ConflictError):
            service.set_equipment_status(session, actor=admin, now=FIXED_NOW, equipment=equipment,
                                         in_service=False, reason="again")
        with pytest.raises(ConflictError):
            service.register_equipment(session, actor=admin, now=FIXED_NOW, code="EQ-PIPETTE-7",
                                       name="twin")
    actions = session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "equipment", AuditEvent.entity_id == equipment.id)).all()
    assert actions == ["equipment_registered", "equipment_status_changed"]


def test_what_falls_due_in_the_next_30_days(session: Session, admin: User, app) -> None:
    with app.test_request_context():
        soon = calibrated(session, admin, None, until=TODAY + timedelta(days=20), code="EQ-DUE-1")
        later = calibrated(session, admin, None, until=TODAY + timedelta(days=90), code="EQ-DUE-2")
        service.record_maintenance(session, actor=admin, now=FIXED_NOW, equipment=later,
                                   kind=MaintenanceKind.VERIFICATION,
                                   planned_on=TODAY + timedelta(days=7))
        service.record_maintenance(session, actor=admin, now=FIXED_NOW, equipment=later,
                                   kind=MaintenanceKind.MAINTENANCE,
                                   planned_on=TODAY + timedelta(days=3), done_on=TODAY)
        service.record_maintenance(session, actor=admin, now=FIXED_NOW, equipment=soon,
                                   kind=MaintenanceKind.MAINTENANCE,
                                   planned_on=TODAY + timedelta(days=45))
    due = [(d.code, d.what, d.due_on) for d in equipment_due(session, TODAY)
           if d.code.startswith("EQ-DUE-")]
    assert due == [("EQ-DUE-2", "verification", TODAY + timedelta(days=7)),
                   ("EQ-DUE-1", "calibration", TODAY + timedelta(days=20))]


def test_cli(app, session: Session, admin: User, tmp_path) -> None:
    certificate = tmp_path / "cert.pdf"
    certificate.write_bytes(PDF)
    from lims.cli import main

    session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["equipment", "register", "EQ-BAL-1", "--name", "Balance",
                                 "--by", admin.username])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["equipment", "calibrate", "EQ-BAL-1", "--on", "2026-01-10",
                                 "--until", "2026-01-09", "--performed-by", "lab",
                                 "--by", admin.username])
    assert result.exit_code != 0 and "valid_until" in result.output
    result = runner.invoke(main, ["equipment", "calibrate", "EQ-BAL-1", "--on", "2025-06-01",
                                 "--until", "2026-06-01", "--performed-by", "lab",
                                 "--file", str(certificate), "--by", admin.username])
    assert result.exit_code == 0, result.output
    assert "EQ-BAL-1" in runner.invoke(main, ["equipment", "due", "--days", "3660"]).output
