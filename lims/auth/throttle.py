"""Login throttle: failed logins counted per client address and per username typed, within a
sliding window, in the database (so every gunicorn worker and host sees the same counts).

It complements the per-account lockout in ``services.authenticate``: the lockout stops guessing
one existing account's password; the throttle also slows a sweep of many names from one address,
spraying one password over many addresses, and guessing during a lockout. Unknown usernames are
counted like known ones, and a throttled login gets the same answer for both, so the throttle
tells nobody which names exist. Counting and recording are not atomic: concurrent attempts may
overshoot a limit by the number of workers, which a throttle can afford (the lockout counts under
a row lock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.auth.models import LoginFailure, ThrottleScope


#: Stale failures deleted per failed login: after a burst, the table shrinks within a few logins.
PRUNE_AT_ONCE = 500


@dataclass(frozen=True)
class ThrottleLimits:
    window: timedelta
    per_address: int
    per_username: int


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _keys(address: str, username: str) -> dict[ThrottleScope, str]:
    return {ThrottleScope.ADDRESS: _key(address or "-"),
            ThrottleScope.USERNAME: _key(username.strip().lower())}


def login_throttled(session: Session, *, address: str, username: str, now: datetime,
                    limits: ThrottleLimits) -> bool:
    """Whether a login from ``address`` for ``username`` must be refused without checking the
    password: either has had its limit of failures within the window."""
    since = now - limits.window
    for scope, key in _keys(address, username).items():
        limit = limits.per_address if scope is ThrottleScope.ADDRESS else limits.per_username
        failures = session.scalar(
            sa.select(sa.func.count()).select_from(LoginFailure)
            .where(LoginFailure.scope == scope, LoginFailure.key == key,
                   LoginFailure.failed_at > since))
        if (failures or 0) >= limit:
            return True
    return False


def record_login_failure(session: Session, *, address: str, username: str, now: datetime,
                         limits: ThrottleLimits) -> None:
    """Count a failed login against both its address and its username, and drop the failures
    that have left the window, so the table stays as small as the window. A login refused by
    the throttle is not counted: it tested no password, and the block lifts as the window
    slides."""
    # At most a few hundred at a time, and only rows no other login is deleting (SKIP LOCKED on
    # PostgreSQL), so concurrent failed logins never wait for, or deadlock on, each other.
    stale = (sa.select(LoginFailure.id).where(LoginFailure.failed_at <= now - limits.window)
             .limit(PRUNE_AT_ONCE).with_for_update(skip_locked=True))
    session.execute(sa.delete(LoginFailure).where(LoginFailure.id.in_(stale.scalar_subquery())))
    session.add_all(LoginFailure(scope=scope, key=key, failed_at=now)
                    for scope, key in _keys(address, username).items())
    session.flush()
