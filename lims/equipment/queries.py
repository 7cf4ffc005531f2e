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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from instruments.health import classify
from lims.capture.models import Instrument, Protocol
from lims.capture.reasons import Reason
from lims.equipment.models import (
    Calibration,
    CalibrationOutcome,
    Equipment,
    EquipmentStatus,
    InstrumentHealth,
    MaintenanceEntry,
)

__all__ = ["WatchSettings", "DriverState", "InstrumentAlert", "watch_settings", "driver_states",
           "instrument_alerts", "DRIVER_PROTOCOLS", "EquipmentProblem", "problem_of", "problem_reason",
           "equipment_for_instrument", "instrument_problem", "DueItem", "equipment_due",
           "equipment_annex", "calibration_words", "status_words", "RegisterRow",
           "equipment_register"]

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


# -- equipment records ---------------------------------------------------------------------------

def N_(text: str) -> str:  # babel's default marker: extracted, worded by the caller's catalogue
    return text


#: The calibration status as a report prints it (in the report's language, ``gettext``).
CALIBRATION_WORDS = {
    "valid": N_("calibrated until %(date)s"),
    "lapsed": N_("calibration lapsed on %(date)s"),
    "none": N_("no calibration on record"),
}
STATUS_WORDS = {EquipmentStatus.IN_SERVICE: N_("In service"),
                EquipmentStatus.OUT_OF_SERVICE: N_("Out of service")}

@dataclass(frozen=True)
class EquipmentProblem:
    """Why equipment may not be used on a day: ``out_of_service`` (with the reason given) or
    ``calibration_lapsed`` (no passing calibration covers the day; ``valid_until`` is the end of
    the last one, None if it was never calibrated)."""

    code: str
    equipment: str
    day: date
    reason: str = ""
    valid_until: date | None = None


def problem_of(equipment: Equipment, calibrations: list[Calibration], day: date
               ) -> EquipmentProblem | None:
    """The rule itself, on rows already read (ISO/IEC 17025 §6.4: equipment is used only in
    service and within a valid calibration)."""
    if equipment.status is EquipmentStatus.OUT_OF_SERVICE:
        return EquipmentProblem("out_of_service", equipment.code, day,
                                reason=equipment.status_reason or "")
    passing = [c for c in calibrations if c.outcome is CalibrationOutcome.PASS]
    if any(c.calibrated_on <= day <= c.valid_until for c in passing):
        return None
    earlier = [c.valid_until for c in passing if c.valid_until < day]
    return EquipmentProblem("calibration_lapsed", equipment.code, day,
                            valid_until=max(earlier) if earlier else None)


def problem_reason(problem: EquipmentProblem) -> Reason:
    """The problem as an inbox reason (`lims.capture.reasons`), worded in the reader's language
    by ``.text()`` and in English for the API by ``.english()``."""
    params: dict[str, Any] = {"equipment": problem.equipment, "day": problem.day.isoformat()}
    if problem.code == "out_of_service":
        return Reason("equipment_out_of_service", {**params, "reason": problem.reason})
    if problem.valid_until is None:
        return Reason("equipment_not_calibrated", params)
    return Reason("equipment_calibration_lapsed",
                  {**params, "valid_until": problem.valid_until.isoformat()})


def equipment_for_instrument(session: Session, instrument_id: int
                             ) -> tuple[Equipment, list[Calibration]] | None:
    """The equipment record of an instrument and its calibrations (None: no record kept)."""
    equipment = session.scalar(sa.select(Equipment).where(Equipment.instrument_id == instrument_id))
    if equipment is None:
        return None
    calibrations = list(session.scalars(sa.select(Calibration).where(
        Calibration.equipment_id == equipment.id)))
    return equipment, calibrations


def instrument_problem(session: Session, instrument_id: int, day: date
                       ) -> EquipmentProblem | None:
    """Whether an instrument may be used on `day`; instruments without an equipment record are
    not judged (the record is what the lab keeps; nothing is assumed without it)."""
    found = equipment_for_instrument(session, instrument_id)
    return None if found is None else problem_of(found[0], found[1], day)


@dataclass(frozen=True)
class DueItem:
    """For the home dashboard: a calibration running out, or a verification or maintenance
    planned, within the coming days (or overdue)."""

    equipment_id: int
    code: str
    name: str
    what: str  # calibration | verification | maintenance
    due_on: date


def equipment_annex(session: Session, instrument_ids: list[int], day: date,
                    gettext: Callable[[str], str]) -> list[dict[str, str]]:
    """The equipment records of these instruments as the QA annex lists them: identity, status
    (with its reason) and calibration status on `day`, worded with `gettext` (the report's)."""
    rows: list[dict[str, str]] = []
    for equipment in session.scalars(sa.select(Equipment).where(
            Equipment.instrument_id.in_(sorted(set(instrument_ids)))).order_by(Equipment.code)):
        calibrations = list(session.scalars(sa.select(Calibration).where(
            Calibration.equipment_id == equipment.id)))
        rows.append({"equipment": f"{equipment.code} {equipment.name}",
                     "status": status_words(equipment, gettext),
                     "calibration": calibration_words(calibrations, day, gettext)})
    return rows


def calibration_words(calibrations: list[Calibration], day: date,
                      gettext: Callable[[str], str]) -> str:
    """The calibration status on `day` in words: valid until when, lapsed since when, or none."""
    passing = [c for c in calibrations if c.outcome is CalibrationOutcome.PASS]
    current = [c.valid_until for c in passing if c.calibrated_on <= day <= c.valid_until]
    ended = [c.valid_until for c in passing if c.valid_until < day]
    if current:
        return gettext(CALIBRATION_WORDS["valid"]) % {"date": max(current).isoformat()}
    if ended:
        return gettext(CALIBRATION_WORDS["lapsed"]) % {"date": max(ended).isoformat()}
    return gettext(CALIBRATION_WORDS["none"])


def status_words(equipment: Equipment, gettext: Callable[[str], str]) -> str:
    """In or out of service, with the reason when it is out."""
    status = gettext(STATUS_WORDS[equipment.status])
    if equipment.status is EquipmentStatus.OUT_OF_SERVICE and equipment.status_reason:
        status = f"{status}: {equipment.status_reason}"
    return status


@dataclass(frozen=True)
class RegisterRow:
    """One line of the equipment register: the record, its calibration problem today (None:
    usable), and the next date something falls due (calibration end or planned work)."""

    equipment: Equipment
    problem: EquipmentProblem | None
    calibration: str
    next_due: date | None
    next_what: str | None


def equipment_register(session: Session, today: date, gettext: Callable[[str], str]
                       ) -> list[RegisterRow]:
    """Every equipment record by code, with what `problem_of` says of it today and what falls
    due next; three queries whatever the number of records."""
    records = list(session.scalars(sa.select(Equipment).order_by(Equipment.code)))
    calibrations: dict[int, list[Calibration]] = {}
    for c in session.scalars(sa.select(Calibration)):
        calibrations.setdefault(c.equipment_id, []).append(c)
    planned: dict[int, list[MaintenanceEntry]] = {}
    for m in session.scalars(sa.select(MaintenanceEntry).where(
            MaintenanceEntry.done_on.is_(None)).order_by(MaintenanceEntry.planned_on)):
        planned.setdefault(m.equipment_id, []).append(m)
    rows = []
    for e in records:
        mine = calibrations.get(e.id, [])
        dues = [(m.planned_on, m.kind.value) for m in planned.get(e.id, [])
                if m.planned_on is not None]
        ends = [c.valid_until for c in mine if c.outcome is CalibrationOutcome.PASS]
        if ends:
            dues.append((max(ends), "calibration"))
        first = min(dues) if dues else (None, None)
        rows.append(RegisterRow(e, problem_of(e, mine, today),
                                calibration_words(mine, today, gettext), first[0], first[1]))
    return rows


def equipment_due(session: Session, today: date, days: int = 30) -> list[DueItem]:
    """Calibrations whose latest certificate ends within `days` (or has ended), and planned
    verifications and maintenance not yet done, due by then; soonest first. Equipment out of
    service is left out (it is not used until it is put back, with its own checks)."""
    until = today + timedelta(days=days)
    latest = (sa.select(Calibration.equipment_id, sa.func.max(Calibration.valid_until).label("end"))
              .where(Calibration.outcome == CalibrationOutcome.PASS)
              .group_by(Calibration.equipment_id).subquery())
    in_service = Equipment.status == EquipmentStatus.IN_SERVICE
    items = [DueItem(e.id, e.code, e.name, "calibration", end) for e, end in session.execute(
        sa.select(Equipment, latest.c.end).join(latest, latest.c.equipment_id == Equipment.id)
        .where(in_service, latest.c.end <= until))]
    items += [DueItem(e.id, e.code, e.name, m.kind.value, m.planned_on) for e, m in session.execute(
        sa.select(Equipment, MaintenanceEntry).join(MaintenanceEntry,
                                                    MaintenanceEntry.equipment_id == Equipment.id)
        .where(in_service, MaintenanceEntry.done_on.is_(None),
               MaintenanceEntry.planned_on <= until))]
    return sorted(items, key=lambda i: (i.due_on, i.code, i.what))
