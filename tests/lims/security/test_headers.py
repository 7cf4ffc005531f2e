"""Security headers on every kind of response, the templates' freedom from inline script and
style (what lets the policy be strict), and the cookie flags per configuration."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.wrappers import Response

from lims.auth.models import User
from lims.auth.services import create_user
from lims.core.headers import SECURITY_HEADERS
from lims.core.permissions import Role
from lims.extensions import db
from tests.conftest import FIXED_NOW, isolated, make_app
from tests.factories import PASSWORD

LIMS = Path(__file__).resolve().parents[3] / "lims"


@contextmanager
def own_app(database_url: str, **overrides: Any) -> Iterator[Flask]:
    """An app of its own configuration, on the test database inside a rolled-back transaction,
    with one user (``cookie-user``) to log in."""
    app = make_app(database_url, **overrides)
    try:
        with isolated(app), app.app_context():
            create_user(db.session, actor=None, now=FIXED_NOW, username="cookie-user",
                        password=PASSWORD, roles=[Role.TECHNICIAN])
            db.session.commit()
            yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def assert_secured(response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_html_pages_json_and_static_files_carry_the_headers(
        client: FlaskClient, make_user: Callable[..., User],
        login: Callable[[User], FlaskClient]) -> None:
    assert_secured(client.get("/login"))                      # HTML, anonymous
    with client.get("/static/lims.css") as static:            # static file
        assert_secured(static)
    assert_secured(client.get("/api/v1/openapi.json"))        # JSON
    login(make_user(Role.ADMIN))
    for path in ("/", "/samples/", "/coverage"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert_secured(response)


def test_file_downloads_carry_the_headers(client: FlaskClient, make_user: Callable[..., User],
                                          login: Callable[[User], FlaskClient]) -> None:
    login(make_user(Role.TECHNICIAN))
    with client.get("/samples/batch/template-urine.csv") as response:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        assert_secured(response)


def test_error_pages_carry_the_headers(client: FlaskClient) -> None:
    assert_secured(client.get("/no-such-page"))                                   # HTML 404
    assert_secured(client.get("/api/v1/whoami"))                                  # JSON 401
    assert_secured(client.get("/logout"))                                         # 405
    assert_secured(client.post("/api/v1/readings", data="x{",
                               headers={"Authorization": "Bearer nope"}))


def test_an_unexpected_error_page_carries_the_headers(database_url: str) -> None:
    app = make_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    with isolated(app):
        response = app.test_client().get("/boom")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 500 and "nothing was saved" in response.get_data(as_text=True)
    assert_secured(response)


def test_a_view_may_set_its_own_value(database_url: str) -> None:
    app = make_app(database_url)

    @app.get("/framed")
    def framed() -> Response:
        return Response("ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    with isolated(app):
        response = app.test_client().get("/framed")
    with app.app_context():
        db.engine.dispose()
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


TEMPLATES = sorted(LIMS.glob("**/templates/**/*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(LIMS)))
def test_templates_have_no_inline_script_or_style(template: Path) -> None:
    """The policy refuses inline scripts, inline event handlers and style attributes: a template
    with one would break under it (behaviour goes to lims/static/*.js, looks to lims.css)."""
    text = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert not re.search(r"""\bstyle\s*=\s*["']""", text), "style attribute"
    assert "<style" not in text and "javascript:" not in text
    assert len(TEMPLATES) > 40


# --- cookies ------------------------------------------------------------------------------

def cookie_flags(response: Response, name: str) -> set[str]:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no {name} cookie set")


def test_cookies_are_secure_outside_testing_and_debug(database_url: str) -> None:
    production = make_app(database_url, TESTING=False)
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_SECURE"] is True
    testing = make_app(database_url)
    assert testing.config["SESSION_COOKIE_SECURE"] is False
    assert testing.config["REMEMBER_COOKIE_SECURE"] is False
    demo = make_app(database_url, TESTING=False, SESSION_COOKIE_SECURE=False)  # instance/lims.toml
    assert demo.config["REMEMBER_COOKIE_SECURE"] is False
    mixed = make_app(database_url, TESTING=False, REMEMBER_COOKIE_SECURE=False)
    assert mixed.config["SESSION_COOKIE_SECURE"] is True
    assert mixed.config["REMEMBER_COOKIE_SECURE"] is False


def test_login_sets_secure_httponly_cookies_in_production(database_url: str) -> None:
    with own_app(database_url, TESTING=False, WTF_CSRF_ENABLED=False) as app:
        response = app.test_client().post("/login", base_url="https://lims.example",
                                          data={"username": "cookie-user", "password": PASSWORD,
                                                "remember": "y"})
    assert response.status_code == 302
    for cookie in ("session", "remember_token"):
        flags = cookie_flags(response, cookie)
        assert {"secure", "httponly", "samesite"} <= flags, (cookie, flags)


def test_demo_cookies_work_over_plain_http(database_url: str) -> None:
    with own_app(database_url, TESTING=False, WTF_CSRF_ENABLED=False,
                 SESSION_COOKIE_SECURE=False) as app:
        client = app.test_client()
        response = client.post("/login", data={"username": "cookie-user", "password": PASSWORD,
                                               "remember": "y"})
        assert "secure" not in cookie_flags(response, "session")
        assert "secure" not in cookie_flags(response, "remember_token")
        assert client.get("/").status_code == 200  # logged in over http


def test_cookie_secure_must_be_a_boolean(database_url: str) -> None:
    from lims.config import ConfigError

    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        make_app(database_url, SESSION_COOKIE_SECURE="yes")
