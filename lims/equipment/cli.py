"""``lims equipment``: equipment records from the command line (register, status, calibration,
verification and maintenance, what falls due)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from lims.capture.cli import _admin
from lims.capture.models import Instrument
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.equipment import service
from lims.equipment.models import CalibrationOutcome, Equipment, MaintenanceKind
from lims.equipment.queries import equipment_due
from lims.extensions import db

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("equipment")
def equipment_group() -> None:
    """Equipment records (ISO/IEC 17025 §6.4): calibrations, checks, maintenance."""


def _equipment(code: str) -> Equipment:
    found = db.session.scalar(sa.select(Equipment).where(Equipment.code == code))
    if found is None:
        raise click.ClickException(f"no equipment with code {code!r}")
    return found


def _commit(action: Callable[[], Any], done: str) -> None:
    try:
        action()
    except LimsError as error:
        db.session.rollback()
        where = f" ({error.field})" if error.field else ""
        raise click.ClickException(f"{error.message}{where}") from error
    db.session.commit()
    click.echo(done)


@equipment_group.command("register")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--location", default="")
@click.option("--serial-number", default="")
@click.option("--instrument", "instrument_code", help="The instrument it is (code), if any.")
@click.option("--by", "by_username", required=True, help="the admin who registers it")
@with_appcontext
def register(code: str, name: str, location: str, serial_number: str,
             instrument_code: str | None, by_username: str) -> None:
    """Register a piece of equipment (in service)."""
    instrument = None
    if instrument_code:
        instrument = db.session.scalar(sa.select(Instrument).where(Instrument.code == instrument_code))
        if instrument is None:
            raise click.ClickException(f"no instrument with code {instrument_code!r}")
    _commit(lambda: service.register_equipment(
        db.session, actor=_admin(by_username), now=now_utc(), code=code, name=name,
        location=location, serial_number=serial_number, instrument=instrument),
        f"equipment {code} registered")


@equipment_group.command("status")
@click.argument("code")
@click.option("--in-service/--out-of-service", required=True)
@click.option("--reason", required=True, help="Why (required both ways).")
@click.option("--by", "by_username", required=True)
@with_appcontext
def status(code: str, in_service: bool, reason: str, by_username: str) -> None:
    """Take equipment out of service, or put it back."""
    _commit(lambda: service.set_equipment_status(
        db.session, actor=_admin(by_username), now=now_utc(), equipment=_equipment(code),
        in_service=in_service, reason=reason),
        f"equipment {code} {'in service' if in_service else 'out of service'}")


@equipment_group.command("calibrate")
@click.argument("code")
@click.option("--on", "calibrated_on", type=_DATE, required=True)
@click.option("--until", "valid_until", type=_DATE, required=True)
@click.option("--performed-by", required=True)
@click.option("--outcome", type=click.Choice([o.value for o in CalibrationOutcome]),
              default="pass", show_default=True)
@click.option("--certificate-no", default="")
@click.option("--file", "file_path", type=click.Path(exists=True, dir_okay=False),
              help="The certificate (PDF, PNG or JPEG).")
@click.option("--by", "by_username", required=True)
@with_appcontext
def calibrate(code: str, calibrated_on: datetime, valid_until: datetime, performed_by: str,
              outcome: str, certificate_no: str, file_path: str | None, by_username: str) -> None:
    """Record a calibration certificate."""
    path = Path(file_path) if file_path else None
    _commit(lambda: service.record_calibration(
        db.session, actor=_admin(by_username), now=now_utc(), equipment=_equipment(code),
        calibrated_on=calibrated_on.date(), valid_until=valid_until.date(),
        performed_by=performed_by, outcome=CalibrationOutcome(outcome),
        certificate_no=certificate_no, file_name=path.name if path else None,
        file_data=path.read_bytes() if path else None),
        f"calibration of {code} recorded")


@equipment_group.command("maintenance")
@click.argument("code")
@click.option("--kind", type=click.Choice([k.value for k in MaintenanceKind]), required=True)
@click.option("--planned", "planned_on", type=_DATE)
@click.option("--done", "done_on", type=_DATE)
@click.option("--performed-by", default="")
@click.option("--notes", default="")
@click.option("--by", "by_username", required=True)
@with_appcontext
def maintenance(code: str, kind: str, planned_on: datetime | None, done_on: datetime | None,
                performed_by: str, notes: str, by_username: str) -> None:
    """Record a verification or maintenance, planned and/or done."""
    _commit(lambda: service.record_maintenance(
        db.session, actor=_admin(by_username), now=now_utc(), equipment=_equipment(code),
        kind=MaintenanceKind(kind), planned_on=planned_on.date() if planned_on else None,
        done_on=done_on.date() if done_on else None, performed_by=performed_by, notes=notes),
        f"{kind} of {code} recorded")


@equipment_group.command("due")
@click.option("--days", default=30, show_default=True, type=click.IntRange(0, 3660))
@with_appcontext
def due(days: int) -> None:
    """Calibrations, verifications and maintenance due within DAYS (or overdue)."""
    today: date = now_utc().date()
    items = equipment_due(db.session, today, days)
    for item in items:
        click.echo(f"{item.due_on.isoformat()}  {item.code:<16} {item.what:<13} {item.name}")
    if not items:
        click.echo(f"nothing due in the next {days} days")
