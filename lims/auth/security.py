"""Glue between Flask-Login and our permissions: the user loader and the view guards."""

from __future__ import annotations

import functools
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
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.is_active else None


def current_actor() -> User:
    """The logged-in user as a model instance, to pass to services as ``actor``."""
    return cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


def permission_required(permission: Permission) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


class TokenRequired(LimsError):
    http_status = 401
    title = "Unauthorized"


def token_required(view: F) -> F:
    """Machine endpoints: ``Authorization: Bearer <token>``. The token row is put on ``g``."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from lims.auth.services import find_active_token

        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise TokenRequired("send an API token as 'Authorization: Bearer <token>'")
        token = find_active_token(db.session, secret.strip())
        if token is None:
            raise TokenRequired("the API token is unknown or revoked")
        token.last_used_at = now_utc()
        g.api_token = cast(ApiToken, token)
        return view(*args, **kwargs)

    return cast(F, wrapped)
