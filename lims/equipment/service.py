"""Recording a driver's heartbeat: validate it whole, then upsert the instrument's one row.

A heartbeat is telemetry, not a decision: it is not written to the audit trail (every few
seconds per instrument would bury the decisions people make), in the same way as an instrument's
``last_seen_at``. The upsert is one ``INSERT … ON CONFLICT DO UPDATE`` statement, atomic on both
SQLite and PostgreSQL, so two heartbeats crossing (a driver restarted while its old process
still reports) leave one row holding one of them, never an error and never two rows.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from instruments.health import HEARTBEAT_SCHEMA
from lims.capture.models import Instrument
from lims.core.dt import ensure_utc
from lims.core.errors import ValidationError
from lims.core.inputs import DATE_MAX, DATE_MIN
from lims.equipment.models import InstrumentHealth

__all__ = ["validate_heartbeat", "record_heartbeat"]

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
