"""Account rules: password strength and hashing, users with several roles, login throttling and
lockout, API tokens. Services are called directly with a fixed clock."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from lims.audit.service import events_for
from lims.auth.models import User
from lims.auth.services import (
    TOKEN_PREFIX,
    authenticate,
    change_own_password,
    check_password_strength,
    create_api_token,
    create_user,
    find_active_token,
    get_user_by_username,
    hash_password,
    revoke_api_token,
    unlock_user,
    update_user,
)
from lims.core.errors import ConflictError, NotFoundError, ValidationError
from lims.core.permissions import Permission, Role
from tests.conftest import FIXED_NOW
from tests.factories import PASSWORD

LOCKOUT = timedelta(minutes=15)


def login_attempt(session: Session, username: str, password: str, *, at=FIXED_NOW):  # type: ignore[no-untyped-def]
    return authenticate(
        session, username=username, password=password, now=at, max_failures=3, lockout=LOCKOUT
    )


# --- passwords -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-1", "at least 10 characters"),
        ("xx-zhanna-xx", "must not contain the username"),
        ("XX-ZHANNA-XX", "must not contain the username"),
        ("abababababab", "too repetitive"),
    ],
)
def test_weak_passwords_refused(password: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        check_password_strength(password, "Zhanna")
    assert caught.value.field == "password"


def test_strength_error_names_the_given_field() -> None:
    with pytest.raises(ValidationError) as caught:
        check_password_strength("short", "x", field="new_password")
    assert caught.value.field == "new_password"


def test_hashes_are_salted_scrypt() -> None:
    first, second = hash_password("iodised-salt-9"), hash_password("iodised-salt-9")
    assert first.startswith("scrypt:") and first != second
    assert check_password_hash(first, "iodised-salt-9")
    assert not check_password_hash(first, "iodised-salt-8")
    assert "iodised" not in first


# --- users ---------------------------------------------------------------------------------------


def test_user_with_several_roles(session: Session) -> None:
    user = create_user(
        session,
        actor=None,
        now=FIXED_NOW,
        username="aliya",
        password=PASSWORD,
        roles=[Role.TECHNICIAN, Role.REVIEWER, Role.TECHNICIAN],
    )
    assert user.roles == {Role.TECHNICIAN, Role.REVIEWER}
    assert user.can(Permission.RECEIVE_SAMPLES) and user.can(Permission.REVIEW_RESULTS)
    assert not user.can(Permission.MANAGE_USERS)
    [event] = events_for(session, "user", user.id)
    assert event.action == "user_created" and event.actor_name == "system"
    assert event.changes["roles"] == ["reviewer", "technician"]
    assert PASSWORD not in str(event.changes)


@pytest.mark.parametrize(
    ("kwargs", "field", "error"),
    [
        ({"username": "has space"}, "username", ValidationError),
        ({"username": ""}, "username", ValidationError),
        ({"username": "x" * 81}, "username", ValidationError),
        ({"roles": []}, "roles", ValidationError),
        ({"password": "tiny"}, "password", ValidationError),
    ],
)
def test_create_user_refusals(
    session: Session, kwargs: dict[str, object], field: str, error: type[Exception]
) -> None:
    values: dict[str, object] = {
        "username": "bolat",
        "password": PASSWORD,
        "roles": [Role.MINISTRY],
    }
    values.update(kwargs)
    with pytest.raises(error) as caught:
        create_user(session, actor=None, now=FIXED_NOW, **values)  # type: ignore[arg-type]
    assert caught.value.field == field  # type: ignore[attr-defined]


def test_usernames_are_unique_ignoring_case(
    session: Session, make_user: Callable[..., User]
) -> None:
    make_user(username="Marat")
    with pytest.raises(ConflictError, match="already exists"):
        create_user(
            session,
            actor=None,
            now=FIXED_NOW,
            username="marat",
            password=PASSWORD,
            roles=[Role.MINISTRY],
        )
    assert get_user_by_username(session, "MARAT") is not None


def test_update_user_audits_before_and_after(
    session: Session, make_user: Callable[..., User]
) -> None:
    admin, user = make_user(Role.ADMIN), make_user(Role.TECHNICIAN, full_name="A")
    update_user(
        session,
        actor=admin,
        now=FIXED_NOW,
        user=user,
        full_name="B",
        roles=[Role.TECHNICIAN, Role.MINISTRY],
    )
    event = events_for(session, "user", user.id)[-1]
    assert event.actor_name == admin.username
    assert event.changes == {
        "full_name": {"before": "A", "after": "B"},
        "roles": {"before": ["technician"], "after": ["ministry", "technician"]},
    }


def test_update_without_change_writes_no_event(
    session: Session, make_user: Callable[..., User]
) -> None:
    admin, user = make_user(Role.ADMIN), make_user(Role.TECHNICIAN)
    before = len(events_for(session, "user", user.id))
    update_user(
        session, actor=admin, now=FIXED_NOW, user=user, roles=[Role.TECHNICIAN], is_active=True
    )
    assert len(events_for(session, "user", user.id)) == before


def test_admin_cannot_lock_themselves_out(session: Session, make_user: Callable[..., User]) -> None:
    admin = make_user(Role.ADMIN)
    with pytest.raises(ValidationError, match="own admin role"):
        update_user(session, actor=admin, now=FIXED_NOW, user=admin, roles=[Role.TECHNICIAN])
    with pytest.raises(ValidationError, match="deactivate your own account"):
        update_user(session, actor=admin, now=FIXED_NOW, user=admin, is_active=False)


def test_change_own_password(session: Session, make_user: Callable[..., User]) -> None:
    user = make_user(Role.TECHNICIAN)
    with pytest.raises(ValidationError) as caught:
        change_own_password(
            session,
            actor=user,
            now=FIXED_NOW,
            current_password="nope",
            new_password="another-good-1",
        )
    assert caught.value.field == "current_password"
    with pytest.raises(ValidationError, match="must differ"):
        change_own_password(
            session, actor=user, now=FIXED_NOW, current_password=PASSWORD, new_password=PASSWORD
        )
    with pytest.raises(ValidationError) as caught:
        change_own_password(
            session, actor=user, now=FIXED_NOW, current_password=PASSWORD, new_password="short"
        )
    assert caught.value.field == "new_password"
    change_own_password(
        session, actor=user, now=FIXED_NOW, current_password=PASSWORD, new_password="another-good-1"
    )
    assert check_password_hash(user.password_hash, "another-good-1")


# --- login throttling ----------------------------------------------------------------------------


def test_login_succeeds_and_records_time(session: Session, make_user: Callable[..., User]) -> None:
    user = make_user(username="Dias")
    outcome = login_attempt(session, "  dias ", PASSWORD)
    assert outcome.user is user and outcome.error is None
    assert user.last_login_at == FIXED_NOW


def test_unknown_user_and_wrong_password_look_alike(
    session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user()
    assert (
        login_attempt(session, "nobody-here", PASSWORD).error
        == login_attempt(session, user.username, "wrong-password").error
    )


def test_lockout_after_repeated_failures(session: Session, make_user: Callable[..., User]) -> None:
    user = make_user()
    for _ in range(3):
        assert login_attempt(session, user.username, "wrong-password").user is None
    assert user.locked_until == FIXED_NOW + LOCKOUT
    assert events_for(session, "user", user.id)[-1].action == "account_locked"
    # even the right password is refused while locked, and the message says for how long
    locked = login_attempt(session, user.username, PASSWORD, at=FIXED_NOW + timedelta(minutes=5))
    assert locked.user is None and "locked for 11 more minutes" in (locked.error or "")
    # once the lock has run out the right password works again
    later = login_attempt(
        session, user.username, PASSWORD, at=FIXED_NOW + LOCKOUT + timedelta(seconds=1)
    )
    assert later.user is user and user.locked_until is None and user.failed_logins == 0


def test_a_success_resets_the_failure_count(
    session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user()
    login_attempt(session, user.username, "wrong-password")
    login_attempt(session, user.username, "wrong-password")
    login_attempt(session, user.username, PASSWORD)
    login_attempt(session, user.username, "wrong-password")
    assert user.failed_logins == 1 and user.locked_until is None


def test_deactivated_user_is_refused(session: Session, make_user: Callable[..., User]) -> None:
    user = make_user()
    user.is_active = False
    assert login_attempt(session, user.username, PASSWORD).error == "this account is deactivated"


def test_unlock(session: Session, make_user: Callable[..., User]) -> None:
    admin, user = make_user(Role.ADMIN), make_user()
    with pytest.raises(ConflictError, match="is not locked"):
        unlock_user(session, actor=admin, now=FIXED_NOW, user=user)
    user.locked_until, user.failed_logins = FIXED_NOW + LOCKOUT, 2
    unlock_user(session, actor=admin, now=FIXED_NOW, user=user)
    assert user.locked_until is None and user.failed_logins == 0
    assert login_attempt(session, user.username, PASSWORD).user is user
    assert events_for(session, "user", user.id)[-1].action == "user_unlocked"


# --- API tokens ----------------------------------------------------------------------------------


def test_token_is_stored_as_sha256_only(session: Session, make_user: Callable[..., User]) -> None:
    admin = make_user(Role.ADMIN)
    token, secret = create_api_token(session, actor=admin, now=FIXED_NOW, name=" Photometer ")
    assert secret.startswith(TOKEN_PREFIX) and token.name == "Photometer"
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (token.prefix, token.token_hash)
    assert find_active_token(session, secret) is token
    assert find_active_token(session, secret + "x") is None
    _other, other_secret = create_api_token(session, actor=admin, now=FIXED_NOW, name="Photometer")
    assert other_secret != secret


def test_revoked_token_is_refused(session: Session, make_user: Callable[..., User]) -> None:
    admin = make_user(Role.ADMIN)
    token, secret = create_api_token(session, actor=admin, now=FIXED_NOW, name="Titrator")
    revoke_api_token(session, actor=admin, now=FIXED_NOW, token_id=token.id)
    assert find_active_token(session, secret) is None
    with pytest.raises(ConflictError):
        revoke_api_token(session, actor=admin, now=FIXED_NOW, token_id=token.id)
    with pytest.raises(NotFoundError):
        revoke_api_token(session, actor=admin, now=FIXED_NOW, token_id=987654)
    assert [e.action for e in events_for(session, "api_token", token.id)] == [
        "token_created",
        "token_revoked",
    ]


def test_token_needs_a_name(session: Session, make_user: Callable[..., User]) -> None:
    with pytest.raises(ValidationError) as caught:
        create_api_token(session, actor=make_user(Role.ADMIN), now=FIXED_NOW, name="  ")
    assert caught.value.field == "name"
