"""The login throttle (failures per client address and per username, in the database) on top of
the lockout, and the password policy (length, common passwords)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import LoginFailure, User
from lims.auth.services import change_own_password, create_user, update_user
from lims.auth.throttle import ThrottleLimits, login_throttled, record_login_failure
from lims.core.errors import ValidationError
from lims.core.permissions import Role
from lims.extensions import db
from tests.conftest import FIXED_NOW, isolated
from tests.factories import PASSWORD

THROTTLED = "too many failed logins from this computer or for this username"


def post_login(client: FlaskClient, username: str, password: str,
               address: str = "192.0.2.10") -> tuple[int, str]:
    """The status and the flashed messages of a login attempt."""
    response = client.post("/login", data={"username": username, "password": password},
                           environ_base={"REMOTE_ADDR": address})
    page = response.get_data(as_text=True)
    flashes = re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', page)
    return response.status_code, " ".join(flashes)


@pytest.fixture()
def limits(app: Flask) -> dict[str, int]:
    return {"address": app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
            "username": app.config["LOGIN_MAX_FAILURES_PER_USERNAME"]}


def test_one_address_trying_many_names_is_throttled(
        client: FlaskClient, make_user: Callable[..., User], limits: dict[str, int]) -> None:
    user = make_user()
    for n in range(limits["address"]):
        status, _ = post_login(client, f"sweep-{n}", "wrong-password")
        assert status == 401
    status, page = post_login(client, user.username, PASSWORD)  # even the right password
    assert status == 429 and THROTTLED in page
    assert user.last_login_at is None
    status, _ = post_login(client, user.username, PASSWORD, address="198.51.100.7")
    assert status == 302  # another address is not held up


def test_one_name_from_many_addresses_is_throttled_alike_whether_it_exists_or_not(
        client: FlaskClient, make_user: Callable[..., User], limits: dict[str, int]) -> None:
    user = make_user()
    answers = {}
    for name in (user.username, "nobody-by-this-name"):
        for n in range(limits["username"]):
            post_login(client, name.upper() if n % 2 else name, "wrong-password",
                       address=f"203.0.113.{n}")
        answers[name] = post_login(client, name, "wrong-password", address="203.0.113.200")
    assert answers[user.username] == answers["nobody-by-this-name"]  # nothing to enumerate
    assert answers[user.username][0] == 429 and THROTTLED in answers[user.username][1]
    # the account was also locked (5 in a row) meanwhile: the throttle answers first, and
    # does not tell the right password apart during the lockout
    assert post_login(client, user.username, PASSWORD, address="203.0.113.201")[0] == 429


def test_failures_leave_the_window(session: Session) -> None:
    limits = ThrottleLimits(window=timedelta(minutes=15), per_address=3, per_username=100)
    for minute in range(3):
        record_login_failure(session, address="192.0.2.1", username=f"u{minute}",
                             now=FIXED_NOW + timedelta(minutes=minute), limits=limits)
    assert login_throttled(session, address="192.0.2.1", username="other",
                           now=FIXED_NOW + timedelta(minutes=3), limits=limits)
    assert not login_throttled(session, address="192.0.2.2", username="other",
                               now=FIXED_NOW + timedelta(minutes=3), limits=limits)
    later = FIXED_NOW + timedelta(minutes=15, seconds=1)  # the first failure has left
    assert not login_throttled(session, address="192.0.2.1", username="other", now=later,
                               limits=limits)
    record_login_failure(session, address="192.0.2.9", username="x",
                         now=later + timedelta(minutes=20), limits=limits)
    # old rows are dropped as new ones come; no typed text is stored
    rows = session.scalars(sa.select(LoginFailure)).all()
    assert len(rows) == 2 and all(len(r.key) == 64 and r.key != "x" for r in rows)


def test_a_successful_login_is_not_counted(client: FlaskClient, session: Session,
                                           make_user: Callable[..., User]) -> None:
    user = make_user()
    assert post_login(client, user.username, PASSWORD)[0] == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0


def test_behind_a_proxy_the_client_address_counts(database_url: str) -> None:
    from tests.conftest import make_app

    app = make_app(database_url, PROXY_HOPS=1)

    @app.get("/address")
    def address() -> str:
        from flask import request
        return request.remote_addr or ""

    with isolated(app):
        response = app.test_client().get("/address", headers={"X-Forwarded-For": "192.0.2.55"},
                                         environ_base={"REMOTE_ADDR": "127.0.0.1"})
    with app.app_context():
        db.engine.dispose()
    assert response.get_data(as_text=True) == "192.0.2.55"


# --- password policy ------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["1234567890", "Qwertyuiop", "iloveyou12", " Dragonball "])
def test_common_passwords_are_refused_at_creation(session: Session, password: str) -> None:
    with pytest.raises(ValidationError, match="most common") as caught:
        create_user(session, actor=None, now=FIXED_NOW, username="newcomer", password=password,
                    roles=[Role.TECHNICIAN])
    assert caught.value.field == "password"


def test_short_passwords_are_refused(session: Session) -> None:
    with pytest.raises(ValidationError, match="at least 10"):
        create_user(session, actor=None, now=FIXED_NOW, username="newcomer",
                    password="x7#kQ9!", roles=[Role.TECHNICIAN])


def test_common_passwords_are_refused_at_change(session: Session,
                                                make_user: Callable[..., User]) -> None:
    user = make_user()
    with pytest.raises(ValidationError, match="most common") as caught:
        change_own_password(session, actor=user, now=FIXED_NOW, current_password=PASSWORD,
                            new_password="password123")
    assert caught.value.field == "new_password"
    admin = make_user(Role.ADMIN)
    with pytest.raises(ValidationError, match="most common"):
        update_user(session, actor=admin, now=FIXED_NOW, user=user, new_password="football123")
    change_own_password(session, actor=user, now=FIXED_NOW, current_password=PASSWORD,
                        new_password="salt-iodine-titration-42")  # an uncommon one is taken


def test_the_password_page_names_the_common_password(client: FlaskClient,
                                                     make_user: Callable[..., User],
                                                     login: Callable[[User], FlaskClient]) -> None:
    login(make_user())
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "qwertyuiop",
        "confirm_password": "qwertyuiop"})
    assert response.status_code == 422
    assert "most common" in response.get_data(as_text=True)
