"""The home dashboard's external-EQA panel: rounds of a scheme (CDC EQUIP) whose results are not
yet sent and whose deadline is within two weeks or past. Nothing is shown when nothing is due,
so the panel is an alarm, not a report."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Permission
from lims.eqa.external_queries import rounds_due
from lims.home.panels import Link, Panel, local_today, panel, tile

DUE_DAYS = 14


@panel("eqa_external", Permission.ANALYSE_SAMPLES, Permission.REVIEW_RESULTS)
def eqa_external(session: Session, actor: User, now: datetime) -> Panel | None:
    today = local_today(now)
    due = rounds_due(session, today, DUE_DAYS)
    if not due:
        return None
    result = Panel(_("External quality assessment"))
    result.tiles.append(tile(_("Rounds due in %(days)d days, results not sent", days=DUE_DAYS),
                             len(due), url_for("eqa_external.index"), alert=True))
    result.links += [
        Link(f"{r.scheme.code} · {r.code}",
             url_for("eqa_external.round_detail", external_round_id=r.id),
             _("overdue since %(day)s", day=format_date(r.deadline)) if r.deadline < today
             else _("due on %(day)s", day=format_date(r.deadline)))
        for r in due]
    return result
