"""Login and logout through the pages, with throttling, safe redirects and (in an app of its own)
CSRF protection switched on."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lims.auth.models import User
from lims.auth.services import create_user
from lims.core.permissions import Role
from lims.extensions import db
from tests.conftest import FIXED_NOW, isolated, make_app
from tests.factories import PASSWORD


def test_login_page(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert 'name="username"' in html and 'type="password"' in html


def test_login_then_logout(client: FlaskClient, make_user: Callable[..., User]) -> None:
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/login").headers["Location"] == "/"  # already logged in
    assert client.get("/logout").status_code == 405  # logging out changes state: POST only
    response = client.post("/logout", follow_redirects=True)
    assert "You are logged out." in response.get_data(as_text=True)
    assert client.get("/").headers["Location"].startswith("/login?next=")


def test_wrong_password(client: FlaskClient, make_user: Callable[..., User]) -> None:
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": "nope-nope"})
    assert response.status_code == 401
    assert "unknown username or wrong password" in response.get_data(as_text=True)


def test_missing_fields_are_named(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # at each field, and again in the error summary above the form, linked to the field
    summary = html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert html.count("This field is required.") == 4
    assert 'href="#username">Username: This field is required.' in summary
    assert 'href="#password">Password: This field is required.' in summary
    assert 'aria-invalid="true"' in html and 'aria-describedby="username-error"' in html


def test_lockout_through_the_page(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"username": user.username, "password": "wrong-password"})
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 401
    assert "too many failed logins" in response.get_data(as_text=True)
    assert user.locked_until is not None


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/samples/", "/samples/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("https://evil.example/", "/"),
    ],
)
def test_redirect_after_login_stays_on_site(
    client: FlaskClient, make_user: Callable[..., User], next_url: str, landing: str
) -> None:
    user = make_user()
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"username": user.username, "password": PASSWORD},
    )
    assert response.headers["Location"] == landing


def test_own_password_page_needs_login(client: FlaskClient) -> None:
    assert client.get("/account/password").headers["Location"].startswith("/login?next=")


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def csrf_app(database_url: str) -> Iterator[Flask]:
    application = make_app(database_url, WTF_CSRF_ENABLED=True)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture()
def csrf_client(csrf_app: Flask) -> Iterator[FlaskClient]:
    with isolated(csrf_app), csrf_app.app_context():
        create_user(
            db.session,
            actor=None,
            now=FIXED_NOW,
            username="csrf-user",
            password=PASSWORD,
            roles=[Role.ADMIN],
        )
        yield csrf_app.test_client()


def csrf_token(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, html
    return match.group(1)


def test_login_form_refuses_a_post_without_csrf_token(csrf_client: FlaskClient) -> None:
    response = csrf_client.post("/login", data={"username": "csrf-user", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert csrf_client.get("/").status_code == 302  # not logged in


def test_login_form_accepts_its_own_csrf_token(csrf_client: FlaskClient) -> None:
    token = csrf_token(csrf_client, "/login")
    response = csrf_client.post(
        "/login", data={"username": "csrf-user", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    # other forms are protected too: logout and an admin form without the token are refused
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.post("/admin/tokens/new", data={"name": "sneaky"}).status_code == 400
    assert (
        csrf_client.post("/logout", data={"csrf_token": csrf_token(csrf_client, "/")}).status_code
        == 302
    )


def test_password_reset_by_admin_ends_the_users_other_sessions(client, make_user, login, session):
    from lims.auth.services import update_user
    from lims.core.permissions import Role
    from tests.conftest import FIXED_NOW

    admin = make_user(Role.ADMIN)
    tech = make_user(Role.TECHNICIAN)
    session.commit()
    login(tech)
    assert client.get("/").status_code == 200
    update_user(session, actor=admin, now=FIXED_NOW, user=tech, new_password="another-long-pass-7")
    session.commit()
    from flask import g

    g.pop("_login_user", None)  # the test's app context outlives requests; forget the cached user
    assert client.get("/").status_code == 302  # the old session cookie no longer logs in
