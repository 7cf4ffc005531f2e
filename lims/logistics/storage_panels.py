"""The home dashboard's storage panel: tubes checked out for a run and not returned within
``STORAGE_CHECKOUT_DAYS`` days (a key of ``lims.toml``; 7 when not set). Shown only when there
are some: an alarm, not a report."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Permission
from lims.home.panels import COUNT_CAP, Link, Panel, panel, tile
from lims.logistics.storage_queries import overdue_checkouts

DEFAULT_CHECKOUT_DAYS = 7
#: Lines listed on the panel (the tile counts up to the dashboard's cap).
SHOWN = 10


def checkout_days() -> int:
    """The configured limit, bounded to 1–365 days whatever the file says."""
    try:
        days = int(current_app.config.get("STORAGE_CHECKOUT_DAYS", DEFAULT_CHECKOUT_DAYS))
    except (TypeError, ValueError):
        days = DEFAULT_CHECKOUT_DAYS
    return min(max(days, 1), 365)


@panel("storage_checkouts", Permission.ANALYSE_SAMPLES, Permission.RECEIVE_SAMPLES)
def storage_checkouts(session: Session, actor: User, now: datetime) -> Panel | None:
    days = checkout_days()
    late = overdue_checkouts(session, now, days, limit=COUNT_CAP + 1)
    if not late:
        return None
    desk = url_for("storage.desk")
    result = Panel(_("Samples out of storage"))
    result.tiles.append(tile(_("Checked out and not returned in %(days)d days", days=days),
                             len(late), desk, alert=True))
    result.links += [Link(t.label, desk, _("since %(day)s, by %(user)s", day=format_date(
        t.checked_out_at), user=t.checked_out_by.username if t.checked_out_by else "—"))
        for t in late[:SHOWN]]
    return result
