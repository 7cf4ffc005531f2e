"""User accounts, login throttling and API tokens. Services flush and never commit."""

from __future__ import annotations

import functools
import gzip
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from lims.audit.service import apply_changes, record_event
from lims.auth.models import ApiToken, User, UserRole
from lims.auth.throttle import ThrottleLimits, login_throttled, record_login_failure
from lims.core.errors import ConflictError, NotFoundError, ValidationError
from lims.core.i18n import SUPPORTED_LANGUAGES
from lims.core.locking import lock
from lims.core.permissions import Role

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "lims_"
# A hash that takes as long to check as a real one, so unknown usernames cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-at-all")


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt with a per-password salt


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 20,000 passwords people choose most (lower-cased; lims/data/common-passwords.README
    says where the list comes from): the first ones any guessing attack tries."""
    data = resources.files("lims.data").joinpath("common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split())


def check_password_strength(password: str, username: str, *, field: str = "password") -> None:
    """Refuse short, common, repetitive or username-bearing passwords; ``field`` names the input
    the password came from, so the message lands on it."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _("password must be at least %(num)d characters", num=MIN_PASSWORD_LENGTH), field=field
        )
    if password.strip().lower() in common_passwords():
        raise ValidationError(_("this password is one of the most common ones: choose another"),
                              field=field)
    if username.lower() in password.lower():
        raise ValidationError(_("password must not contain the username"), field=field)
    if len(set(password)) < 5:
        raise ValidationError(_("password is too repetitive"), field=field)


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(sa.select(User).where(sa.func.lower(User.username) == username.lower()))


def create_user(
    session: Session,
    *,
    actor: User | None,
    now: datetime,
    username: str,
    password: str,
    roles: Iterable[Role],
    full_name: str = "",
    email: str | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 80 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise ValidationError(
            _("username must be 1–80 letters, digits, '.', '_' or '-'"), field="username"
        )
    if get_user_by_username(session, username) is not None:
        raise ConflictError(_("a user named '%(username)s' already exists", username=username),
                            field="username")
    check_password_strength(password, username)
    role_set = sorted(set(roles))
    if not role_set:
        raise ValidationError(_("a user needs at least one role"), field="roles")
    user = User(
        username=username,
        full_name=full_name,
        email=email or None,
        password_hash=hash_password(password),
        created_at=now,
        is_active=True,
        failed_logins=0,
    )
    user.role_links = [UserRole(role=r) for r in role_set]
    session.add(user)
    session.flush()
    record_event(
        session,
        actor=actor,
        now=now,
        action="user_created",
        entity_type="user",
        entity_id=user.id,
        entity_label=user.username,
        changes={"roles": [r.value for r in role_set], "full_name": full_name},
    )
    return user


def update_user(
    session: Session,
    *,
    actor: User,
    now: datetime,
    user: User,
    roles: Iterable[Role] | None = None,
    full_name: str | None = None,
    email: str | None = None,
    is_active: bool | None = None,
    new_password: str | None = None,
) -> User:
    changes: dict[str, object] = {}
    fields: dict[str, object] = {}
    if full_name is not None:
        fields["full_name"] = full_name
    if email is not None:
        fields["email"] = email or None
    if is_active is not None:
        if not is_active and user.id == actor.id:
            raise ValidationError(_("you cannot deactivate your own account"), field="is_active")
        fields["is_active"] = is_active
    changes.update(apply_changes(user, fields))
    if roles is not None:
        new_roles = set(roles)
        if not new_roles:
            raise ValidationError(_("a user needs at least one role"), field="roles")
        if user.id == actor.id and Role.ADMIN in user.roles and Role.ADMIN not in new_roles:
            raise ValidationError(_("you cannot remove your own admin role"), field="roles")
        old_roles = set(user.roles)
        if new_roles != old_roles:
            user.role_links = [UserRole(role=r) for r in sorted(new_roles)]
            changes["roles"] = {
                "before": sorted(r.value for r in old_roles),
                "after": sorted(r.value for r in new_roles),
            }
    if new_password:
        check_password_strength(new_password, user.username, field="new_password")
        user.password_hash = hash_password(new_password)
        user.failed_logins = 0
        user.locked_until = None
        changes["password"] = "changed"
    if changes.keys() & {"roles", "is_active", "password"}:
        # Whoever held a session of this user held it with the old rights: it ends.
        user.end_sessions()
    if changes:
        session.flush()
        record_event(
            session,
            actor=actor,
            now=now,
            action="user_updated",
            entity_type="user",
            entity_id=user.id,
            entity_label=user.username,
            changes=changes,
        )
    return user


def unlock_user(session: Session, *, actor: User, now: datetime, user: User) -> User:
    """Lift a lockout from failed logins before it expires (an admin vouches for the user)."""
    lock(session, user)
    if user.locked_until is None or user.locked_until <= now:
        raise ConflictError(_("the account '%(username)s' is not locked", username=user.username))
    before = user.locked_until
    user.locked_until = None
    user.failed_logins = 0
    session.flush()
    record_event(
        session,
        actor=actor,
        now=now,
        action="user_unlocked",
        entity_type="user",
        entity_id=user.id,
        entity_label=user.username,
        changes={"locked_until": {"before": before, "after": None}},
    )
    return user


def change_own_password(
    session: Session, *, actor: User, now: datetime, current_password: str, new_password: str
) -> User:
    """A user replaces their own password; the current one is asked again so a session left
    open on a shared lab PC cannot be used to take the account over."""
    if not check_password_hash(actor.password_hash, current_password):
        raise ValidationError(_("the current password is wrong"), field="current_password")
    if check_password_hash(actor.password_hash, new_password):
        raise ValidationError(_("the new password must differ from the current one"),
                              field="new_password")
    check_password_strength(new_password, actor.username, field="new_password")
    actor.password_hash = hash_password(new_password)
    actor.end_sessions()
    session.flush()
    record_event(
        session,
        actor=actor,
        now=now,
        action="password_changed",
        entity_type="user",
        entity_id=actor.id,
        entity_label=actor.username,
    )
    return actor


def end_user_sessions(session: Session, *, user: User) -> User:
    """Logout: every session and remember-me cookie of ``user`` stops working, so a cookie
    copied before the logout opens nothing afterwards (not audited: it is no change of data)."""
    user.end_sessions()
    session.flush()
    return user


def set_user_language(session: Session, *, actor: User, now: datetime, language: str) -> User:
    """Remember the language a person chose, so every device they log in on speaks it. The
    caller checks ``language`` against the configured languages (a deployment may offer fewer
    than the database allows)."""
    if language not in SUPPORTED_LANGUAGES:
        raise ValidationError(_("This language is not offered."), field="language")
    changes = apply_changes(actor, {"language": language})
    if changes:
        session.flush()
        record_event(session, actor=actor, now=now, action="language_changed", entity_type="user",
                     entity_id=actor.id, entity_label=actor.username, changes=changes)
    return actor


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    error: str | None
    throttled: bool = False


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    max_failures: int,
    lockout: timedelta,
    address: str = "",
    throttle: ThrottleLimits | None = None,
) -> LoginOutcome:
    """Check a password, first through the login throttle (failures per client ``address`` and
    per username typed, see ``lims.auth.throttle``) when ``throttle`` is given: a throttled login
    is refused before its password is looked at, with the same answer for every name. Every
    failed login then counts towards the throttle."""
    if throttle is not None and login_throttled(session, address=address, username=username,
                                                now=now, limits=throttle):
        minutes = max(1, int(throttle.window.total_seconds() // 60))
        return LoginOutcome(None, ngettext(
            "too many failed logins from this computer or for this username: wait %(num)d minute"
            " and try again",
            "too many failed logins from this computer or for this username: wait %(num)d minutes"
            " and try again", minutes), throttled=True)
    outcome = _check_password(session, username=username, password=password, now=now,
                              max_failures=max_failures, lockout=lockout)
    if outcome.user is None and throttle is not None:
        record_login_failure(session, address=address, username=username, now=now,
                             limits=throttle)
    return outcome


def _check_password(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    max_failures: int,
    lockout: timedelta,
) -> LoginOutcome:
    """Check a password with the per-account lockout: after ``max_failures`` wrong passwords in
    a row the account is locked for ``lockout`` and its sessions end. The counters live in the
    database, so the limit holds across gunicorn workers.

    An unknown name, a wrong password and a wrong password for a locked account get the same
    message, so nobody learns which names exist or are locked; the lock is told only to whoever
    gives the right password (and shown to admins)."""
    generic = _("unknown username or wrong password")
    user = get_user_by_username(session, username.strip())
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return LoginOutcome(None, generic)
    password_ok = check_password_hash(user.password_hash, password)
    if user.locked_until is not None and user.locked_until > now:
        if not password_ok:
            return LoginOutcome(None, generic)
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginOutcome(None, ngettext(
            "too many failed logins: this account is locked for %(num)d more minute",
            "too many failed logins: this account is locked for %(num)d more minutes", minutes))
    if not password_ok:
        lock(session, user)  # concurrent wrong passwords each count, and lock the account once
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
            user.end_sessions()
            record_event(
                session,
                actor=None,
                now=now,
                action="account_locked",
                entity_type="user",
                entity_id=user.id,
                entity_label=user.username,
                changes={"locked_until": user.locked_until},
            )
        session.flush()
        return LoginOutcome(None, generic)
    if not user.is_active:
        return LoginOutcome(None, _("this account is deactivated"))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return LoginOutcome(user, None)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(
    session: Session, *, actor: User, now: datetime, name: str
) -> tuple[ApiToken, str]:
    """Return the token row and its secret. The secret is never stored and cannot be shown again."""
    name = name.strip()
    if not name:
        raise ValidationError(_("a token needs a name"), field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(secret),
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        actor=actor,
        now=now,
        action="token_created",
        entity_type="api_token",
        entity_id=token.id,
        entity_label=token.name,
        changes={"prefix": token.prefix},
    )
    return token, secret


def revoke_api_token(session: Session, *, actor: User, now: datetime, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(_("no API token with id %(id)s", id=token_id))
    lock(session, token)
    if token.revoked_at is not None:
        raise ConflictError(_("this token is already revoked"))
    token.revoked_at = now
    session.flush()
    record_event(
        session,
        actor=actor,
        now=now,
        action="token_revoked",
        entity_type="api_token",
        entity_id=token.id,
        entity_label=token.name,
    )
    return token


# ``last_used_at`` is written at most this often per token, so a busy instrument does not turn
# every API read into a database write.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def record_token_use(session: Session, *, token: ApiToken, now: datetime) -> None:
    """Note that a token was used (to the minute); not audited, it would flood the trail."""
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        token.last_used_at = now
        session.flush()


def find_active_token(session: Session, secret: str) -> ApiToken | None:
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None:
        return None
    return token
