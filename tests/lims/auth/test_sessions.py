"""Sessions end when they should: a cookie saved before logout (session or remember-me), or held
by a user who is then locked, deactivated or given other roles, opens nothing; ``next=`` leads only
to this site; a lock is not told to whoever does not know the password."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.auth.services import update_user
from lims.core.permissions import Role
from tests.conftest import FIXED_NOW
from tests.factories import PASSWORD

REMEMBER = "remember_token"


def replay(app: Flask, cookies: dict[str, str], path: str = "/samples/") -> int:
    """A fresh browser that was given only ``cookies`` opens ``path``: its status code."""
    g.pop("_login_user", None)  # the test's app context outlives requests; forget the cached user
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    response = browser.get(path)
    g.pop("_login_user", None)
    return response.status_code if response.status_code != 302 else (
        302 if response.headers["Location"].startswith("/login") else 303)


def logged_in(client: FlaskClient, user: User, *, remember: bool = True) -> dict[str, str]:
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "remember": "y" if remember else ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    cookies = {"session": client.get_cookie("session").value}  # type: ignore[union-attr]
    if remember:
        cookies[REMEMBER] = client.get_cookie(REMEMBER).value  # type: ignore[union-attr]
    return cookies


def test_remember_cookie_is_short_and_same_site(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "remember": "y"})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER))
    assert "SameSite=Lax" in header and "HttpOnly" in header
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)


def test_logout_ends_the_saved_session_and_remember_cookies(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], session: Session
) -> None:
    user = make_user()
    session.commit()
    saved = logged_in(client, user)
    assert replay(app, {"session": saved["session"]}) == 200
    assert replay(app, {REMEMBER: saved[REMEMBER]}) == 200  # remember-me alone logs in
    response = client.post("/logout")
    assert any(h.startswith(f"{REMEMBER}=;") for h in response.headers.getlist("Set-Cookie"))
    assert replay(app, {"session": saved["session"]}) == 302
    assert replay(app, {REMEMBER: saved[REMEMBER]}) == 302
    assert replay(app, saved) == 302
    # logging in again works, with new cookies
    assert replay(app, logged_in(app.test_client(), user)) == 200


@pytest.mark.parametrize("change", ["lock", "deactivate", "roles", "password"])
def test_a_lock_or_an_admin_change_ends_the_users_sessions(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], session: Session, change: str
) -> None:
    admin = make_user(Role.ADMIN)
    user = make_user(Role.TECHNICIAN)
    session.commit()
    saved = logged_in(client, user)
    assert replay(app, saved) == 200
    if change == "lock":
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            app.test_client().post("/login", data={"username": user.username, "password": "x" * 12})
        assert user.locked_until is not None
    else:
        fields: dict[str, object] = {
            "deactivate": {"is_active": False},
            "roles": {"roles": [Role.TECHNICIAN, Role.REVIEWER]},
            "password": {"new_password": "another-long-pass-7"},
        }[change]  # type: ignore[assignment]
        update_user(session, actor=admin, now=FIXED_NOW, user=user, **fields)  # type: ignore[arg-type]
        session.commit()
    assert replay(app, {"session": saved["session"]}) == 302
    assert replay(app, {REMEMBER: saved[REMEMBER]}) == 302


def test_lock_is_told_only_to_the_right_password(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"username": user.username, "password": "wrong-password"})
    locked_wrong = client.post("/login", data={"username": user.username, "password": "nope-nope"})
    unknown = client.post("/login", data={"username": "nobody-at-all", "password": "nope-nope"})
    assert locked_wrong.status_code == unknown.status_code == 401
    for response in (locked_wrong, unknown):
        html = response.get_data(as_text=True)
        assert "unknown username or wrong password" in html and "locked" not in html
    right = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert right.status_code == 401 and "too many failed logins" in right.get_data(as_text=True)


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r/evil.example/",
        "/\r\nSet-Cookie: x=1",
        "\t//evil.example/",
        "/%09/evil.example/",  # double-encoded: stays a path on this site
        "https://evil.example/",
        "HTTPS:evil.example",
        "javascript:alert(1)",
        "evil.example",
        "///evil.example/",
        "/\x00/evil.example",
        "/\x7f/evil.example",
        "/" + "a" * 5000,
    ],
)
def test_redirect_after_login_goes_only_to_this_site(
    client: FlaskClient, make_user: Callable[..., User], next_url: str
) -> None:
    user = make_user()
    response = client.post("/login", query_string={"next": next_url},
                           data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert not any(ord(c) < 0x20 for c in location)
    assert location in ("/", next_url)


@pytest.mark.parametrize("raw", ["%2F%09%2Fevil.example%2F", "%2F%0A%2Fevil.example", "%2F%0D%2Fx",
                                 "%2F%5Cevil.example", "%2F%2F%65vil.example"])
def test_encoded_next_in_the_query_string(
    client: FlaskClient, make_user: Callable[..., User], raw: str
) -> None:
    user = make_user()
    response = client.post(f"/login?next={raw}",
                           data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
