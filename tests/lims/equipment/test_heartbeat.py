"""Driver health: ``POST /api/v1/instruments/{code}/heartbeat`` keeps one row per instrument, the
Instruments page shows each driver's state, and `instrument_alerts` lists the silent ones during
working hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import ApiToken, User
from lims.auth.services import create_api_token, revoke_api_token
from lims.capture.models import Instrument, Protocol
from lims.capture.service import InstrumentFields, update_instrument
from lims.core.dt import now_utc
from lims.core.permissions import Role
from lims.equipment.models import InstrumentHealth
from lims.equipment.queries import driver_states, instrument_alerts, watch_settings
from lims.equipment.service import record_heartbeat, validate_heartbeat
from tests.conftest import FIXED_NOW

MakeInstrument = Callable[..., tuple[Instrument, str | None]]


def beat(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "instrument_id": "X", "driver_version": "0.1.0", "started_at": "2026-05-14T08:00:00+00:00",
        "port_open": True, "last_error": None, "last_bytes_at": "2026-05-14T08:29:58+00:00",
        "last_reading_at": "2026-05-14T08:29:59+00:00", "spool_depth": 0, "spool_failed": 0,
        "oldest_unsent_seconds": None, "quarantined_since_start": 0}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def post(client: FlaskClient, code: str, secret: str | None, body: Any, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.post(f"/api/v1/instruments/{code}/heartbeat", json=body, headers=headers, **kwargs)


def health(session: Session, instrument: Instrument) -> list[InstrumentHealth]:
    session.expire_all()
    return list(session.scalars(sa.select(InstrumentHealth).where(
        InstrumentHealth.instrument_id == instrument.id)))


def test_heartbeats_keep_one_row_per_instrument(client: FlaskClient, session: Session,
                                                make_instrument: MakeInstrument) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    first = post(client, instrument.code, secret, beat(instrument_id=instrument.code))
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["instrument_id"] == instrument.code
    second = post(client, instrument.code, secret, beat(
        instrument_id=instrument.code, port_open=False, last_error="could not open port /dev/ttyUSB0",
        spool_depth=12, oldest_unsent_seconds=42.5, quarantined_since_start=3))
    assert second.status_code == 200
    [row] = health(session, instrument)
    assert (row.port_open, row.last_error, row.spool_depth, row.oldest_unsent_seconds,
            row.quarantined_since_start) == (False, "could not open port /dev/ttyUSB0", 12, 42.5, 3)
    assert row.last_reading_at == datetime(2026, 5, 14, 8, 29, 59, tzinfo=UTC)
    assert abs((row.received_at - now_utc()).total_seconds()) < 60


@pytest.mark.parametrize(("changes", "field"), [
    ({"spool_depth": -1}, "spool_depth"),
    ({"spool_depth": 10**12}, "spool_depth"),
    ({"spool_depth": "12"}, "spool_depth"),
    ({"spool_depth": True}, "spool_depth"),
    ({"port_open": "yes"}, "port_open"),
    ({"oldest_unsent_seconds": -5}, "oldest_unsent_seconds"),
    ({"last_error": "x" * 1001}, "last_error"),
    ({"driver_version": ...}, "driver_version"),
    ({"colour": "blue"}, "colour"),
    ({"last_bytes_at": "yesterday"}, "last_bytes_at"),
    ({"last_bytes_at": "2026-05-14T08:00:00"}, "last_bytes_at"),  # no zone
    ({"started_at": "0001-01-01T00:00:00+00:00"}, "started_at"),
    ({"instrument_id": "SOMEONE-ELSE"}, "instrument_id"),
])
def test_nonsense_fields_are_a_422_naming_the_field(
        client: FlaskClient, session: Session, make_instrument: MakeInstrument,
        changes: dict[str, Any], field: str) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    body = beat(instrument_id=instrument.code)
    body.update({k: v for k, v in changes.items() if v is not ...})
    for k in [k for k, v in changes.items() if v is ...]:
        del body[k]
    response = post(client, instrument.code, secret, body)
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["field"] == field and field in problem["detail"]
    assert health(session, instrument) == []


def test_not_json_at_all(client: FlaskClient, make_instrument: MakeInstrument) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    url = f"/api/v1/instruments/{instrument.code}/heartbeat"
    assert client.post(url, data='{"spool_depth": NaN}', headers=headers).status_code == 422
    assert client.post(url, data="[1, 2]", headers=headers).get_json()["field"] == "body"
    assert client.post(url, data="x", headers={"Authorization": f"Bearer {secret}"}
                       ).status_code == 415


def test_refused_like_a_reading(client: FlaskClient, session: Session, admin: User,
                                make_instrument: MakeInstrument) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    other, other_secret = make_instrument(Protocol.ASTM)
    assert post(client, "NO-SUCH-1", secret, beat(instrument_id="NO-SUCH-1")).status_code == 404
    assert post(client, instrument.code, None, beat(instrument_id=instrument.code)).status_code == 401
    # another instrument's token, even with the body naming the right instrument
    response = post(client, instrument.code, other_secret, beat(instrument_id=instrument.code))
    assert response.status_code == 403
    # a user's token (no instrument)
    _, user_secret = create_api_token(session, actor=admin, now=FIXED_NOW, name="script")
    session.commit()
    assert post(client, instrument.code, user_secret, beat(instrument_id=instrument.code)
                ).status_code == 403
    # out of service
    update_instrument(session, actor=admin, now=FIXED_NOW, instrument=other, is_active=False,
                      fields=InstrumentFields(other.code, other.name, other.protocol))
    session.commit()
    assert post(client, other.code, other_secret, beat(instrument_id=other.code)).status_code == 403
    # revoked
    token = session.scalar(sa.select(ApiToken).where(ApiToken.id == instrument.api_token_id))
    revoke_api_token(session, actor=admin, now=FIXED_NOW, token_id=token.id)
    session.commit()
    assert post(client, instrument.code, secret, beat(instrument_id=instrument.code)
                ).status_code == 401
    assert health(session, instrument) == [] and health(session, other) == []


def _state(session: Session, instrument: Instrument, when: datetime, **changes: Any) -> None:
    record_heartbeat(session, instrument=instrument, now=when,
                     heartbeat=validate_heartbeat(beat(instrument_id=instrument.code, **changes),
                                                  instrument))


def test_instruments_page_and_alerts(client: FlaskClient, session: Session, login,
                                     make_user: Callable[..., User], app,
                                     make_instrument: MakeInstrument) -> None:
    online, _ = make_instrument(Protocol.ASTM, code="HB-ONLINE")
    port_down, _ = make_instrument(Protocol.ASTM, code="HB-PORT")
    backlog, _ = make_instrument(Protocol.BIORAD, code="HB-BACKLOG")
    silent, _ = make_instrument(Protocol.METROHM, code="HB-SILENT")
    never, _ = make_instrument(Protocol.MTSICS, code="HB-NEVER")
    manual, _ = make_instrument(Protocol.MANUAL, code="HB-MANUAL")
    now = now_utc()
    _state(session, online, now - timedelta(seconds=5), spool_depth=2, oldest_unsent_seconds=3)
    _state(session, port_down, now, port_open=False, last_error="[Errno 2] No such file: /dev/ttyS9")
    _state(session, backlog, now, spool_depth=345, oldest_unsent_seconds=3600, spool_failed=1)
    _state(session, silent, now - timedelta(minutes=47))
    session.commit()

    with app.test_request_context():
        settings = watch_settings()
        states = {d.instrument.code: d for d in driver_states(session, now, settings)}
    assert {c: states[c].state for c in ("HB-ONLINE", "HB-PORT", "HB-BACKLOG", "HB-SILENT",
                                         "HB-NEVER")} == {
        "HB-ONLINE": "online", "HB-PORT": "port_down", "HB-BACKLOG": "backlog",
        "HB-SILENT": "silent", "HB-NEVER": "never"}
    assert states["HB-SILENT"].silent_minutes == 47 and "HB-MANUAL" not in states

    login(make_user(Role.TECHNICIAN))
    page = client.get("/equipment/instruments")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for expected in ("silent for 47 min", "port down", "spool backing up", "online",
                     "never reported", "No such file: /dev/ttyS9", "345"):
        assert expected in text, expected
    assert "HB-MANUAL" not in text

    # the dashboard's alert: silent longer than its limit, during working hours only
    working = datetime(2026, 5, 14, 8, 30, tzinfo=UTC)  # Thursday 13:30 in Almaty
    night = datetime(2026, 5, 14, 20, 0, tzinfo=UTC)  # 01:00 in Almaty
    saturday = datetime(2026, 5, 16, 6, 0, tzinfo=UTC)
    rows = session.scalars(sa.select(InstrumentHealth).where(InstrumentHealth.instrument_id.in_(
        [online.id, silent.id]))).all()
    for row in rows:  # shift the two reports into the test's fixed week
        row.received_at = working - (now - row.received_at)
    session.commit()
    with app.test_request_context():
        alerts = [a for a in instrument_alerts(session, working) if a.code.startswith("HB-")]
        assert [(a.code, a.silent_minutes, a.limit_minutes) for a in alerts] == [
            ("HB-SILENT", 47, 10.0)]
        assert not [a for a in instrument_alerts(session, night)
                    if a.code.startswith("HB-")]
        assert not [a for a in instrument_alerts(session, saturday) if a.code.startswith("HB-")]
        # a longer limit for that instrument: not an alert any more
        longer = watch_settings({**app.config, "INSTRUMENT_SILENT_LIMITS": {"HB-SILENT": 60}})
        assert not [a for a in instrument_alerts(session, working, longer)
                    if a.code.startswith("HB-")]
