"""Login, logout and the own-password page."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from lims.auth.forms import LoginForm, PasswordChangeForm
from lims.auth.security import current_actor
from lims.auth.services import (
    MIN_PASSWORD_LENGTH,
    authenticate,
    change_own_password,
    end_user_sessions,
)
from lims.auth.throttle import ThrottleLimits
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.core.idempotency import idempotency_exempt
from lims.core.templating import safe_next
from lims.extensions import db

bp = Blueprint("auth", __name__, template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
@idempotency_exempt  # a replayed login would not log the second request's browser in
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        outcome = authenticate(
            db.session,
            username=form.username.data or "",
            password=form.password.data or "",
            now=now_utc(),
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout=timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]),
            address=request.remote_addr or "",
            throttle=ThrottleLimits(
                window=timedelta(minutes=current_app.config["LOGIN_THROTTLE_MINUTES"]),
                per_address=current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
                per_username=current_app.config["LOGIN_MAX_FAILURES_PER_USERNAME"]),
        )
        db.session.commit()
        if outcome.user is not None:
            login_user(outcome.user, remember=bool(form.remember.data))
            return redirect(safe_next(request.args.get("next"), url_for("home.index")))
        flash(outcome.error or _("Login failed"), "error")
        return render_template("auth/login.html", form=form), 429 if outcome.throttled else 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    user = current_actor()
    language = user.language or session.get("language")  # the login page keeps it
    end_user_sessions(db.session, user=user)
    db.session.commit()
    session.clear()  # nothing of this user's work (e.g. the receipt list) outlives the login
    logout_user()  # after the clear: it leaves the mark that deletes the remember-me cookie
    if language:
        session["language"] = language
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response | tuple[str, int]:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user = current_actor()
            change_own_password(db.session, actor=user, now=now_utc(),
                                current_password=form.current_password.data or "",
                                new_password=form.new_password.data or "")
        except LimsError as error:
            db.session.rollback()
            if not form.attach_error(error):
                flash(error.message, "error")
        else:
            db.session.commit()
            login_user(user)  # this session carries on; every other one of this user ends
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("home.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form,
                           min_length=MIN_PASSWORD_LENGTH), status
