"""Equipment operations: drivers' heartbeats, and equipment records with their calibrations.

Heartbeat: validate it whole, then upsert the instrument's one row.

A heartbeat is telemetry, not a decision: it is not written to the audit trail (every few
seconds per instrument would bury the decisions people make), in the same way as an instrument's
``last_seen_at``. The upsert is one ``INSERT … ON CONFLICT DO UPDATE`` statement, atomic on both
SQLite and PostgreSQL, so two heartbeats crossing (a driver restarted while its old process
still reports) leave one row holding one of them, never an error and never two rows.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from instruments.health import HEARTBEAT_SCHEMA
from lims.audit.service import record_event
from lims.auth.models import User
from lims.capture.models import Instrument
from lims.core.dt import ensure_utc
from lims.core.errors import ConflictError, ValidationError
from lims.core.inputs import DATE_MAX, DATE_MIN, date_problem, require_code, require_text
from lims.core.labels import label
from lims.core.locking import lock
from lims.equipment.models import (
    Calibration,
    CalibrationOutcome,
    Equipment,
    EquipmentStatus,
    InstrumentHealth,
    MaintenanceEntry,
    MaintenanceKind,
)

__all__ = ["validate_heartbeat", "record_heartbeat", "register_equipment", "set_equipment_status",
           "record_calibration", "record_maintenance", "certificate_type"]

_TIMES = ("started_at", "last_bytes_at", "last_reading_at")


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(HEARTBEAT_SCHEMA)
    return Draft202012Validator(HEARTBEAT_SCHEMA)


def _field(path: list[Any], message: str, body: Any) -> str:
    if path:
        return str(path[0])
    # a missing or unknown property: the message names it, take it from the body
    if isinstance(body, dict):
        unknown = sorted(set(body) - set(HEARTBEAT_SCHEMA["properties"]))
        if "additional" in message.lower() and unknown:
            return unknown[0]
    for name in HEARTBEAT_SCHEMA["required"]:
        if f"'{name}'" in message:
            return name
    return "body"


def validate_heartbeat(body: Any, instrument: Instrument) -> dict[str, Any]:
    """The heartbeat with its times parsed, or a `ValidationError` (422) naming the first bad
    field (``errors`` lists them all): the schema's bounds, times that are RFC 3339 with a zone
    and within the dates the LIMS accepts, and the instrument named as the one in the URL."""
    errors: list[dict[str, object]] = []
    for err in sorted(_validator().iter_errors(body), key=lambda e: list(map(str, e.path))):
        field = _field(list(err.path), err.message, body)
        errors.append({"field": field, "message": f"{field}: {err.message}"})
    if not errors:
        if body["instrument_id"] != instrument.code:
            errors.append({"field": "instrument_id", "message":
                           f"instrument_id: this heartbeat is for {instrument.code!r}, not for"
                           f" {body['instrument_id']!r}"})
        for name in _TIMES:
            text = body.get(name)
            if text is None:
                continue
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                value = None
            if value is None or value.tzinfo is None or not DATE_MIN <= value.date() <= DATE_MAX:
                errors.append({"field": name, "message":
                               f"{name}: {text!r} is not an RFC 3339 date-time with a zone"
                               f" between {DATE_MIN} and {DATE_MAX}"})
    if errors:
        raise ValidationError(str(errors[0]["message"]), field=str(errors[0]["field"]),
                              errors=errors)
    return {**body, **{n: ensure_utc(datetime.fromisoformat(body[n]))
                       for n in _TIMES if body.get(n) is not None}}


def record_heartbeat(session: Session, *, instrument: Instrument, now: datetime,
                     heartbeat: dict[str, Any]) -> None:
    """Keep this heartbeat (validated by `validate_heartbeat`) as the instrument's state."""
    row = {
        "instrument_id": instrument.id,
        "received_at": now,
        "driver_version": heartbeat["driver_version"],
        "started_at": heartbeat.get("started_at"),
        "port_open": heartbeat["port_open"],
        "last_error": heartbeat.get("last_error"),
        "last_bytes_at": heartbeat.get("last_bytes_at"),
        "last_reading_at": heartbeat.get("last_reading_at"),
        "spool_depth": heartbeat["spool_depth"],
        "spool_failed": heartbeat.get("spool_failed", 0),
        "oldest_unsent_seconds": heartbeat.get("oldest_unsent_seconds"),
        "quarantined_since_start": heartbeat.get("quarantined_since_start", 0),
    }
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[
        session.get_bind().dialect.name]
    stmt = insert(InstrumentHealth.__table__).values(**row)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["instrument_id"],
        set_={k: stmt.excluded[k] for k in row if k != "instrument_id"}))
    session.flush()


# -- equipment records (ISO/IEC 17025 §6.4) -------------------------------------------------------

EQUIPMENT_ENTITY = "equipment"
#: A certificate file is a PDF or a scan: recognised by its first bytes, not by its name.
CERTIFICATE_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png",
                     b"\xff\xd8\xff": "image/jpeg"}
MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024


def _audit(session: Session, equipment: Equipment, *, actor: User, now: datetime, action: str,
           changes: dict[str, Any], reason: str | None = None) -> None:
    record_event(session, actor=actor, now=now, action=action, entity_type=EQUIPMENT_ENTITY,
                 entity_id=equipment.id, entity_label=equipment.code, changes=changes,
                 reason=reason)


def register_equipment(session: Session, *, actor: User, now: datetime, code: str, name: str,
                       location: str = "", serial_number: str = "",
                       instrument: Instrument | None = None) -> Equipment:
    """A new piece of equipment, in service (it is registered when it arrives calibrated)."""
    code = code.strip()
    require_code(code, field="code")
    if not code or not name.strip():
        raise ValidationError(_("Equipment needs a code and a name."), field="code" if not code
                              else "name")
    if session.scalar(sa.select(Equipment.id).where(Equipment.code == code)) is not None:
        raise ConflictError(_("Equipment %(code)s is already registered.", code=code), field="code")
    equipment = Equipment(code=code, name=name.strip(), location=location.strip(),
                          serial_number=serial_number.strip(),
                          instrument_id=instrument.id if instrument else None,
                          status=EquipmentStatus.IN_SERVICE, created_at=now)
    session.add(equipment)
    session.flush()
    _audit(session, equipment, actor=actor, now=now, action="equipment_registered",
           changes={"code": code, "name": equipment.name,
                    "instrument": instrument.code if instrument else None})
    return equipment


def set_equipment_status(session: Session, *, actor: User, now: datetime, equipment: Equipment,
                         in_service: bool, reason: str) -> Equipment:
    """Take equipment out of service or put it back; both need a reason (audited)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why (e.g. the repair report or the failed check)."),
                              field="reason")
    require_text(reason, field="reason")
    equipment = lock(session, equipment)
    wanted = EquipmentStatus.IN_SERVICE if in_service else EquipmentStatus.OUT_OF_SERVICE
    if equipment.status is wanted:
        raise ConflictError(_("Equipment %(code)s is already %(status)s.", code=equipment.code,
                              status=label(wanted).lower()), field="status")
    before = equipment.status
    equipment.status, equipment.status_reason = wanted, reason
    _audit(session, equipment, actor=actor, now=now, action="equipment_status_changed",
           changes={"status": {"before": before.value, "after": wanted.value}}, reason=reason)
    session.flush()
    return equipment


def certificate_type(data: bytes) -> str | None:
    """The media type of a certificate file from its first bytes, or None if not a PDF/image."""
    return next((kind for magic, kind in CERTIFICATE_TYPES.items() if data.startswith(magic)),
                None)


def record_calibration(session: Session, *, actor: User, now: datetime, equipment: Equipment,
                       calibrated_on: date, valid_until: date, performed_by: str,
                       outcome: CalibrationOutcome, certificate_no: str = "",
                       file_name: str | None = None, file_data: bytes | None = None
                       ) -> Calibration:
    """A calibration certificate. Refused: valid-until before the calibration date, a date out
    of range, a file that is not a PDF or an image (by content), or one over 10 MB."""
    for name, value in (("calibrated_on", calibrated_on), ("valid_until", valid_until)):
        problem = date_problem(value)
        if problem:
            raise ValidationError(problem, field=name)
    if valid_until < calibrated_on:
        raise ValidationError(_("Valid until must not be before the calibration date."),
                              field="valid_until")
    if not performed_by.strip():
        raise ValidationError(_("Say who calibrated it."), field="performed_by")
    file_type = None
    if file_data is not None:
        file_type = certificate_type(file_data)
        if file_type is None:
            raise ValidationError(_("The certificate must be a PDF, PNG or JPEG file."),
                                  field="file")
        if len(file_data) > MAX_CERTIFICATE_BYTES:
            raise ValidationError(_("The certificate file is larger than 10 MB."), field="file")
    equipment = lock(session, equipment)
    row = Calibration(equipment_id=equipment.id, calibrated_on=calibrated_on,
                      valid_until=valid_until, performed_by=performed_by.strip(), outcome=outcome,
                      certificate_no=certificate_no.strip(), file_name=file_name,
                      file_type=file_type, file_data=file_data, recorded_at=now,
                      recorded_by_id=actor.id)
    session.add(row)
    session.flush()
    _audit(session, equipment, actor=actor, now=now, action="calibration_recorded",
           changes={"calibrated_on": calibrated_on.isoformat(),
                    "valid_until": valid_until.isoformat(), "outcome": outcome.value,
                    "performed_by": row.performed_by, "certificate_no": row.certificate_no,
                    "file": file_name})
    return row


def record_maintenance(session: Session, *, actor: User, now: datetime, equipment: Equipment,
                       kind: MaintenanceKind, planned_on: date | None = None,
                       done_on: date | None = None, performed_by: str = "", notes: str = ""
                       ) -> MaintenanceEntry:
    """A verification or maintenance, planned and/or done."""
    if planned_on is None and done_on is None:
        raise ValidationError(_("Give the planned date, the date done, or both."),
                              field="planned_on")
    for name, value in (("planned_on", planned_on), ("done_on", done_on)):
        problem = date_problem(value)
        if problem:
            raise ValidationError(problem, field=name)
    equipment = lock(session, equipment)
    entry = MaintenanceEntry(equipment_id=equipment.id, kind=kind, planned_on=planned_on,
                             done_on=done_on, performed_by=performed_by.strip(),
                             notes=notes.strip(), recorded_at=now, recorded_by_id=actor.id)
    session.add(entry)
    session.flush()
    _audit(session, equipment, actor=actor, now=now, action="maintenance_recorded",
           changes={"kind": kind.value,
                    "planned_on": planned_on.isoformat() if planned_on else None,
                    "done_on": done_on.isoformat() if done_on else None,
                    "performed_by": entry.performed_by})
    return entry
