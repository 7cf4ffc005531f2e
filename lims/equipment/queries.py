"""What the Instruments page and the home dashboard read about the drivers' health.

The state of a driver is computed when it is read, from its latest heartbeat and the LIMS's own
clock (`instruments.health.classify`, the same rule ``lims-driver status`` applies on the lab
PC): a heartbeat older than the instrument's limit makes it *silent* — whatever the last report
said, nobody is listening to the instrument any more.

Settings (``lims.config``): ``INSTRUMENT_SILENT_MINUTES`` (default limit),
``INSTRUMENT_SILENT_LIMITS`` (``{code: minutes}`` per instrument), ``INSTRUMENT_BACKLOG_MINUTES``
(how long the oldest unsent item may wait before the spool counts as backing up), and the
working hours during which a silent driver raises an alert (``WORKING_HOURS`` ``"08:00-18:00"``,
``WORKING_DAYS`` ISO weekdays, in ``BABEL_DEFAULT_TIMEZONE``): a driver PC switched off at night
or at the weekend is not an alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from instruments.health import classify
from lims.capture.models import Instrument, Protocol
from lims.equipment.models import InstrumentHealth

__all__ = ["WatchSettings", "DriverState", "InstrumentAlert", "watch_settings", "driver_states",
           "instrument_alerts", "DRIVER_PROTOCOLS"]

#: Instruments whose data come through a driver (the others are keyed in or uploaded).
DRIVER_PROTOCOLS = (Protocol.ASTM, Protocol.BIORAD, Protocol.METROHM, Protocol.MTSICS)


@dataclass(frozen=True)
class WatchSettings:
    silent_minutes: float
    limits: Mapping[str, float]
    backlog_minutes: float
    day_start: time
    day_end: time
    working_days: frozenset[int]
    timezone: ZoneInfo

    def limit_for(self, code: str) -> float:
        return float(self.limits.get(code, self.silent_minutes))

    def working(self, now: datetime) -> bool:
        local = now.astimezone(self.timezone)
        return (local.isoweekday() in self.working_days
                and self.day_start <= local.time().replace(tzinfo=None) < self.day_end)


def watch_settings(config: Mapping[str, Any] | None = None) -> WatchSettings:
    """The settings from the app's configuration (or the mapping given)."""
    c = config if config is not None else current_app.config
    start, _, end = str(c["WORKING_HOURS"]).partition("-")
    return WatchSettings(
        silent_minutes=float(c["INSTRUMENT_SILENT_MINUTES"]),
        limits={str(k): float(v) for k, v in dict(c["INSTRUMENT_SILENT_LIMITS"]).items()},
        backlog_minutes=float(c["INSTRUMENT_BACKLOG_MINUTES"]),
        day_start=time.fromisoformat(start.strip()),
        day_end=time.fromisoformat(end.strip()),
        working_days=frozenset(int(d) for d in c["WORKING_DAYS"]),
        timezone=ZoneInfo(str(c["BABEL_DEFAULT_TIMEZONE"])),
    )


@dataclass(frozen=True)
class DriverState:
    """One row of the Instruments page."""

    instrument: Instrument
    health: InstrumentHealth | None
    #: never | silent | port_down | backlog | online (`instruments.health.STATES`)
    state: str
    #: minutes since the last heartbeat (None: never reported)
    silent_minutes: int | None
    limit_minutes: float


@dataclass(frozen=True)
class InstrumentAlert:
    """For the home dashboard: a driver silent longer than its limit during working hours."""

    instrument_id: int
    code: str
    name: str
    silent_minutes: int
    limit_minutes: float
    last_heartbeat_at: datetime


def driver_states(session: Session, now: datetime, settings: WatchSettings | None = None
                  ) -> list[DriverState]:
    """Every instrument in service that has a driver (or has reported), worst state first."""
    settings = settings or watch_settings()
    rows = session.execute(
        sa.select(Instrument, InstrumentHealth)
        .outerjoin(InstrumentHealth, InstrumentHealth.instrument_id == Instrument.id)
        .where(Instrument.is_active,
               sa.or_(Instrument.protocol.in_(DRIVER_PROTOCOLS),
                      InstrumentHealth.instrument_id.is_not(None)))
        .order_by(Instrument.code)
    ).all()
    out: list[DriverState] = []
    for instrument, health in rows:
        limit = settings.limit_for(instrument.code)
        age = None if health is None else max(0.0, (now - health.received_at).total_seconds())
        state = classify(
            age_seconds=age, silent_after_seconds=limit * 60,
            port_open=bool(health and health.port_open),
            oldest_unsent_seconds=health.oldest_unsent_seconds if health else None,
            backlog_after_seconds=settings.backlog_minutes * 60)
        out.append(DriverState(instrument, health, state,
                               None if age is None else int(age // 60), limit))
    order = {s: i for i, s in enumerate(("silent", "port_down", "backlog", "never", "online"))}
    return sorted(out, key=lambda d: order[d.state])


def instrument_alerts(session: Session, now: datetime, settings: WatchSettings | None = None
                      ) -> list[InstrumentAlert]:
    """Drivers silent longer than their configured limit, if `now` is within working hours
    (none outside them); instruments that never reported are not alerts (no driver yet)."""
    settings = settings or watch_settings()
    if not settings.working(now):
        return []
    return [
        InstrumentAlert(d.instrument.id, d.instrument.code, d.instrument.name,
                        d.silent_minutes or 0, d.limit_minutes, d.health.received_at)
        for d in driver_states(session, now, settings)
        if d.state == "silent" and d.health is not None
    ]
