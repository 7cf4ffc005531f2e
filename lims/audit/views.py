"""The audit trail page: every event of the LIMS, sortable, filtered and exported by the list
machinery. Reading it is for the people who answer for the records: reviewers and admins."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.wrappers import Response

from lims.audit.queries import AUDIT_LIST
from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.listing import Page, list_page
from lims.core.permissions import Permission
from lims.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")

#: Where an event's record is shown, by its entity type: (endpoint, URL argument, from what).
RECORD_PAGES = {
    "sample": ("samples.detail", "accession", "entity"),
    "result": ("analysis.result", "result_id", "entity_id"),
    "analytical_run": ("analysis.run", "run_id", "entity_id"),
    "instrument_reading": ("capture.reading", "reading_id", "entity_id"),
}


@bp.get("/")
@permission_required(Permission.REVIEW_RESULTS, Permission.MANAGE_USERS)
def index() -> str | Response:
    page = list_page(db.session, AUDIT_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    return render_template("audit/list.html", page=page, record_pages=RECORD_PAGES)
