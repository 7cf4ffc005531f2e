"""Glue between Flask-Login and our permissions: the user loader and the view guards."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, abort, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from lims.auth.models import ApiToken, User
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.core.permissions import Permission
from lims.extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        user_id, _, fingerprint = session_id.partition(".")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_active or not hmac.compare_digest(
                user.session_fingerprint, fingerprint):
            return None
        if user.locked_until is not None and user.locked_until > now_utc():
            return None  # a locked account opens nothing, by session or remember-me cookie
        return user


def current_actor() -> User:
    """The logged-in user as a model instance, to pass to services as ``actor``."""
    return cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


def permission_required(*permissions: Permission) -> Callable[[F], F]:
    """Log-in and permission guard: the user needs any one of ``permissions``. It runs before
    the view body, so a user lacking them gets 403 before any lookup could answer 404. The
    permissions are recorded on the view (``required_permissions``) for the access-matrix test,
    which derives every route's expected outcome from ``ROLE_PERMISSIONS``."""
    if not permissions:
        raise TypeError("permission_required needs at least one permission")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not any(current_user.can(p) for p in permissions):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permissions = frozenset(permissions)  # type: ignore[attr-defined]
        return cast(F, wrapped)

    return decorator


class TokenRequired(LimsError):
    http_status = 401
    title = "Unauthorized"
    page_title: object = _l("Please log in")


def token_required(view: F) -> F:
    """Machine endpoints: ``Authorization: Bearer <token>``, and only that (a browser session
    does not count). The token row is put on ``g``; its use is committed at once, so
    ``last_used_at`` is kept even when the view then fails. Marked ``authenticates_by_token``
    for the access-matrix test."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from lims.auth.services import find_active_token, record_token_use

        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise TokenRequired("send an API token as 'Authorization: Bearer <token>'")
        token = find_active_token(db.session, secret.strip())
        if token is None:
            raise TokenRequired("the API token is unknown or revoked")
        record_token_use(db.session, token=token, now=now_utc())
        db.session.commit()
        g.api_token = cast(ApiToken, token)
        return view(*args, **kwargs)

    wrapped.authenticates_by_token = True  # type: ignore[attr-defined]
    return cast(F, wrapped)
