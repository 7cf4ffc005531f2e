"""The language switch and the health check (the home page is `lims.home`)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user
from werkzeug.wrappers import Response

from lims.auth.security import current_actor
from lims.auth.services import set_user_language
from lims.core.dt import now_utc
from lims.core.templating import safe_next
from lims.extensions import db

bp = Blueprint("core", __name__)


@bp.post("/language")
def set_language() -> Response:
    """Switch the language: kept in the session (so the login page follows it) and, for a
    logged-in person, on their account (audited), so it follows them to every computer."""
    code = request.form.get("language", "")
    if code not in current_app.config["LANGUAGES"]:
        abort(400, _("This language is not offered."))
    session["language"] = code
    if current_user.is_authenticated:
        set_user_language(db.session, actor=current_actor(), now=now_utc(), language=code)
        db.session.commit()
    refresh()  # a locale chosen earlier in this context is stale now
    home = url_for("home.index") if current_user.is_authenticated else url_for("auth.login")
    return redirect(safe_next(request.form.get("next"), home))


@bp.get("/healthz")
def health() -> dict[str, str]:
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
