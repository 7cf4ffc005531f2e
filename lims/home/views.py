"""The home dashboard and the header search: thin views over ``panels`` and ``search``."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from lims.auth.security import current_actor
from lims.core.dt import now_utc
from lims.core.permissions import Permission
from lims.extensions import db
from lims.home.panels import panels_for, survey_progress
from lims.home.search import MAX_QUERY, search

bp = Blueprint("home", __name__, template_folder="templates")


@bp.get("/")
@login_required
def index() -> str | Response:
    """A participating laboratory's account (EQA) has no lab work to show: its home is its own
    rounds, where it was going anyway."""
    actor = current_actor()
    if actor.permissions == {Permission.SUBMIT_EQA_RESULTS}:
        return redirect(url_for("eqa_lab.index"))
    return render_template("home/index.html", panels=panels_for(db.session, actor, now_utc()))


@bp.get("/home/survey-progress", endpoint="survey_progress")
@login_required
def survey_progress_json() -> dict[str, str]:
    """The survey panel's figure, fetched by ``home.js`` after the dashboard is shown."""
    return survey_progress(db.session) or {"label": "", "note": ""}


@bp.get("/search")
@login_required
def find() -> str | Response:
    """One hit jumps there (a scanned accession opens its sample); several are listed by kind
    with their counts; nothing found says so."""
    outcome = search(db.session, current_actor(), request.args.get("q"))
    hit = outcome.only_hit
    if hit is not None:
        return redirect(hit.url)
    return render_template("home/search.html", outcome=outcome, max_query=MAX_QUERY)
