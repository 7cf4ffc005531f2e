"""The home dashboard's backup panel for administrators: the last successful backup, red after
26 hours without one or when the latest attempt failed (``lims.backup.queries``).

Registered with the dashboard's ``@panel`` when the admin views are imported."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.backup.queries import backup_status
from lims.core.permissions import Permission
from lims.home.panels import Link, Panel, panel, tile


@panel("backups", Permission.MANAGE_USERS)
def backups(session: Session, actor: User, now: datetime) -> Panel:
    status = backup_status(session, now)
    page = url_for("admin.backups")
    result = Panel(_("Backups"))
    if status.red:
        result.tiles.append(tile(_("Backup problems"), 1, page, alert=True))
    last = status.last_ok
    result.links.append(Link(
        _("Last successful backup"), page,
        format_datetime(last.finished_at) if last is not None else _("none yet")))
    if status.last_failure is not None:
        result.links.append(Link(_("Last failed backup"), page,
                                 format_datetime(status.last_failure.finished_at)))
    return result
