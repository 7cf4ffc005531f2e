"""The home dashboard's equipment panel: drivers silent past their limit during working hours,
and calibrations, verifications and maintenance due within 30 days (or overdue).

Registered with the dashboard's ``@panel`` when the equipment views are imported; it reads this
room's queries only. Nothing is shown when nothing needs doing, so the panel is an alarm, not
a report."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Permission
from lims.equipment.queries import equipment_due, instrument_alerts
from lims.home.panels import Link, Panel, local_today, panel, tile

DUE_DAYS = 30
DUE_WHAT = {
    "calibration": _l("calibration"),
    "verification": _l("verification"),
    "maintenance": _l("maintenance"),
}


@panel("equipment", Permission.ANALYSE_SAMPLES, Permission.MANAGE_REFERENCE)
def equipment(session: Session, actor: User, now: datetime) -> Panel | None:
    silent = instrument_alerts(session, now)
    today = local_today(now)
    due = equipment_due(session, today, DUE_DAYS)
    if not silent and not due:
        return None
    health = url_for("equipment.instruments")
    result = Panel(_("Instruments and equipment"))
    result.tiles.append(tile(_("Instrument drivers silent"), len(silent), health, alert=True))
    result.tiles.append(tile(_("Calibrations and maintenance due in %(days)d days",
                               days=DUE_DAYS), len(due), url_for("equipment.equipment_list"),
                             alert=True))
    result.links += [Link(f"{a.code} · {a.name}", health,
                          _("silent for %(minutes)d min (limit %(limit)d min)",
                            minutes=a.silent_minutes, limit=round(a.limit_minutes)))
                     for a in silent]
    result.links += [Link(f"{d.code} · {d.name}",
                          url_for("equipment.equipment_detail", equipment_id=d.equipment_id),
                          (_("%(what)s overdue since %(day)s", what=DUE_WHAT[d.what],
                             day=format_date(d.due_on)) if d.due_on < today else
                           _("%(what)s due on %(day)s", what=DUE_WHAT[d.what],
                             day=format_date(d.due_on))))
                     for d in due]
    return result
