"""The home dashboard's panel for the EQA provider: dispatched rounds near or past their
deadline with the laboratories whose results are still missing, late corrections waiting for a
decision, and closed rounds not yet reported. Nothing is shown when nothing needs doing, so
the panel is an alarm, not a report; every figure is one indexed query, capped like the other
tiles."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Permission
from lims.eqa.models import RoundStatus
from lims.eqa.queries import closed_rounds, pending_corrections, rounds_due
from lims.home.panels import COUNT_CAP, Link, Panel, capped_count, local_today, panel, tile

DUE_DAYS = 7
#: Rounds named one by one under the tiles; the tiles count further (up to ``COUNT_CAP``).
LINKS_SHOWN = 10


@panel("eqa_provider", Permission.MANAGE_EQA)
def eqa_provider(session: Session, actor: User, now: datetime) -> Panel | None:
    today = local_today(now)
    due = rounds_due(session, today, DUE_DAYS, COUNT_CAP + 1)
    corrections = capped_count(session, pending_corrections())
    closed = closed_rounds(session, COUNT_CAP + 1)
    if not due and not corrections and not closed:
        return None
    result = Panel(_("EQA scheme"))
    result.tiles += [
        tile(_("Rounds with a deadline within %(days)d days or past", days=DUE_DAYS), len(due),
             url_for("eqa.index", status=RoundStatus.DISPATCHED.value),
             alert=any(r.missing for r in due)),
        tile(_("Late corrections waiting for a decision"), corrections,
             url_for("eqa_results.corrections"), alert=True),
        tile(_("Closed rounds not yet reported"), len(closed),
             url_for("eqa.index", status=RoundStatus.CLOSED.value)),
    ]
    for r in due[:LINKS_SHOWN]:
        when = (_("overdue since %(day)s", day=format_date(r.deadline)) if r.deadline < today
                else _("due on %(day)s", day=format_date(r.deadline)))
        result.links.append(Link(
            f"{r.programme_code} · {r.code}", url_for("eqa.round_detail", round_id=r.round_id),
            _("%(when)s; laboratories without every result: %(missing)d of %(enrolled)d",
              when=when, missing=r.missing, enrolled=r.enrolled)))
    result.links += [Link(f"{r.programme_code} · {r.code}",
                          url_for("eqa.round_detail", round_id=r.round_id),
                          _("scored, not reported") if r.scored else _("not scored"))
                     for r in closed[:LINKS_SHOWN]]
    return result
