"""Home page, language switch and the health check."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

import sqlalchemy as sa

from lims.core.templating import safe_next
from lims.extensions import db

bp = Blueprint("core", __name__)


@bp.get("/")
@login_required
def index() -> str:
    return render_template("index.html")


@bp.post("/language")
def set_language() -> Response:
    code = request.form.get("language", "")
    if code not in current_app.config["LANGUAGES"]:
        abort(400, f"unknown language '{code}'")
    session["language"] = code
    home = url_for("core.index") if current_user.is_authenticated else url_for("auth.login")
    return redirect(safe_next(request.form.get("next"), home))


@bp.get("/healthz")
def health() -> dict[str, str]:
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
