"""Administration pages: user accounts (roles, activation, password reset, unlock) and API
tokens for machines. Everything here needs ``Permission.MANAGE_USERS``; the rules and the audit
events live in ``lims.auth.services``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from lims.audit.service import events_for
from lims.auth import services
from lims.auth.forms import TokenCreateForm, UserCreateForm, UserEditForm
from lims.auth.models import ApiToken, User
from lims.auth.security import current_actor, permission_required
from lims.backup import panels as _dashboard_panel  # noqa: F401  (registers its panel)
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.core.forms import LimsForm
from lims.core.permissions import Permission
from lims.core.templating import showing_secret
from lims.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

PageResult = str | Response | tuple[str, int]


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, _("There is no user with id %(id)s.", id=user_id))
    return user


def _refused(form: LimsForm, error: LimsError) -> None:
    """Undo the attempt and show the service's message on its field (or as a flash)."""
    db.session.rollback()
    if not form.attach_error(error):
        flash(error.message, "error")


def _status() -> int:
    """A re-rendered form after a POST failed; a GET shows the page."""
    return 422 if request.method == "POST" else 200


# --- users ---------------------------------------------------------------------------------------


@bp.get("/users")
@permission_required(Permission.MANAGE_USERS)
def users() -> str:
    rows = db.session.scalars(sa.select(User).order_by(sa.func.lower(User.username)))
    return render_template("admin/users.html", users=list(rows), now=now_utc())


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def new_user() -> PageResult:
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                db.session,
                actor=current_actor(),
                now=now_utc(),
                username=form.username.data or "",
                password=form.password.data or "",
                roles=form.selected_roles(),
                full_name=form.full_name.data or "",
                email=form.email.data or None,
            )
        except LimsError as error:
            _refused(form, error)
        else:
            db.session.commit()
            flash(_("User %(username)s created.", username=user.username), "success")
            return redirect(url_for(".users"))
    return render_template(
        "admin/user_new.html", form=form, min_length=services.MIN_PASSWORD_LENGTH
    ), _status()


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def edit_user(user_id: int) -> PageResult:
    user = _user_or_404(user_id)
    if request.method == "POST":
        form = UserEditForm()
    else:
        form = UserEditForm(
            data={
                "full_name": user.full_name,
                "email": user.email,
                "roles": sorted(r.value for r in user.roles),
                "is_active": user.is_active,
            }
        )
    if form.validate_on_submit():
        try:
            services.update_user(
                db.session,
                actor=current_actor(),
                now=now_utc(),
                user=user,
                roles=form.selected_roles(),
                full_name=form.full_name.data or "",
                email=form.email.data or "",
                is_active=bool(form.is_active.data),
                new_password=form.new_password.data or None,
            )
        except LimsError as error:
            _refused(form, error)
        else:
            db.session.commit()
            if user.id == current_actor().id:
                login_user(user)  # an admin's own change ends their other sessions, not this one
            flash(_("User %(username)s saved.", username=user.username), "success")
            return redirect(url_for(".edit_user", user_id=user.id))
    now = now_utc()
    return render_template(
        "admin/user_edit.html",
        form=form,
        user=user,
        now=now,
        locked=user.locked_until is not None and user.locked_until > now,
        events=events_for(db.session, "user", user.id),
        unlock_form=LimsForm(formdata=None),
        min_length=services.MIN_PASSWORD_LENGTH,
    ), _status()


@bp.post("/users/<int:user_id>/unlock")
@permission_required(Permission.MANAGE_USERS)
def unlock_user(user_id: int) -> Response:
    user = _user_or_404(user_id)
    if LimsForm().validate_on_submit():
        try:
            services.unlock_user(db.session, actor=current_actor(), now=now_utc(), user=user)
        except LimsError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("%(username)s can log in again.", username=user.username), "success")
    return redirect(url_for(".edit_user", user_id=user_id))


# --- API tokens ----------------------------------------------------------------------------------


def _token_or_404(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404, _("There is no API token with id %(id)s.", id=token_id))
    return token


@bp.get("/tokens")
@permission_required(Permission.MANAGE_USERS)
def tokens() -> str:
    rows = db.session.scalars(
        sa.select(ApiToken).options(selectinload(ApiToken.created_by)).order_by(ApiToken.id.desc())
    )
    return render_template("admin/tokens.html", tokens=list(rows))


@bp.route("/tokens/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def new_token() -> PageResult:
    form = TokenCreateForm()
    if form.validate_on_submit():
        try:
            token, secret = services.create_api_token(
                db.session, actor=current_actor(), now=now_utc(), name=form.name.data or ""
            )
        except LimsError as error:
            _refused(form, error)
        else:
            db.session.commit()
            return showing_secret(
                render_template("admin/token_created.html", token=token, secret=secret))
    return render_template("admin/token_new.html", form=form), _status()


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def revoke_token(token_id: int) -> PageResult:
    token = _token_or_404(token_id)
    form = LimsForm()
    if form.validate_on_submit():
        try:
            services.revoke_api_token(
                db.session, actor=current_actor(), now=now_utc(), token_id=token.id
            )
        except LimsError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Token %(name)s revoked: it no longer works.", name=token.name), "success")
        return redirect(url_for(".tokens"))
    return render_template("admin/token_revoke.html", token=token, form=form)


# --- backups -------------------------------------------------------------------------------------


@bp.get("/backups")
@permission_required(Permission.MANAGE_USERS)
def backups() -> str:
    """The last successful backup (red after 26 hours without one, or when the latest failed),
    the recent runs and the audit chain's head; backups themselves run from ``lims backup``."""
    from lims.audit.sealing import head_text
    from lims.backup.queries import backup_status, recent_runs

    return render_template("admin/backups.html", status=backup_status(db.session, now_utc()),
                           runs=recent_runs(db.session),
                           audit_head=head_text(db.session.connection()))
