"""``lims users create`` and ``lims tokens create``, run through Flask's CLI test runner."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from lims.auth.models import User
from lims.auth.services import find_active_token, get_user_by_username
from lims.cli import main
from lims.core.permissions import Role

GOOD_PASSWORD = "iodine-lab-2026"


@pytest.fixture()
def run(app: Flask, session: Session) -> Callable[..., Result]:
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args))

    return invoke


def test_users_create_with_several_roles(run: Callable[..., Result], session: Session) -> None:
    result = run(
        "users",
        "create",
        "saule",
        "--role",
        "technician",
        "--role",
        "reviewer",
        "--full-name",
        "Saule T.",
        "--password",
        GOOD_PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert "created user saule with roles reviewer, technician" in result.output
    user = get_user_by_username(session, "saule")
    assert user is not None and user.roles == {Role.TECHNICIAN, Role.REVIEWER}
    assert user.full_name == "Saule T." and check_password_hash(user.password_hash, GOOD_PASSWORD)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--role", "technician", "--password", "short"),
            "password must be at least 10 characters",
        ),
        (("--role", "wizard", "--password", GOOD_PASSWORD), "Invalid value for '--role'"),
        (("--password", GOOD_PASSWORD), "Missing option '--role'"),
    ],
)
def test_users_create_refuses_bad_input(
    run: Callable[..., Result], session: Session, args: tuple[str, ...], message: str
) -> None:
    result = run("users", "create", "timur", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert get_user_by_username(session, "timur") is None


def test_users_create_refuses_a_taken_name(
    run: Callable[..., Result], make_user: Callable[..., User]
) -> None:
    make_user(username="erlan")
    result = run("users", "create", "Erlan", "--role", "ministry", "--password", GOOD_PASSWORD)
    assert result.exit_code == 1 and "a user named 'Erlan' already exists" in result.output


def test_tokens_create_prints_the_secret_once(
    run: Callable[..., Result], session: Session, make_user: Callable[..., User]
) -> None:
    make_user(Role.ADMIN, username="boss")
    result = run("tokens", "create", "Photometer 3", "--by", "boss")
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    token = find_active_token(session, secret)
    assert (
        token is not None and token.name == "Photometer 3" and token.created_by.username == "boss"
    )


def test_tokens_create_needs_an_admin(
    run: Callable[..., Result], make_user: Callable[..., User]
) -> None:
    make_user(Role.TECHNICIAN, username="tech-only")
    result = run("tokens", "create", "Photometer 3", "--by", "tech-only")
    assert result.exit_code == 1 and "'tech-only' is not an admin user" in result.output


def test_demo_users_quiet_then_with_the_address(run: Callable[..., Result]) -> None:
    """``make run`` creates the accounts quietly, then prints them with the address last."""
    quiet = run("demo-users", "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""
    shown = run("demo-users", "--url", "http://127.0.0.1:5000/")
    lines = shown.output.strip().splitlines()
    assert "iodine-demo-2026" in lines[0] and any(line.split()[0] == "ministry" for line in lines)
    assert lines[-1].startswith("Open http://127.0.0.1:5000/")


def test_run_quiet_logs_server_errors_only(run: Callable[..., Result], monkeypatch) -> None:
    import logging
    from unittest import mock

    werkzeug_log = logging.getLogger("werkzeug")
    monkeypatch.setattr(werkzeug_log, "level", logging.NOTSET)
    with mock.patch("lims.cli.run_simple") as serve:
        result = run("run", "--quiet", "--port", "5999")
    assert result.exit_code == 0, result.output
    assert serve.call_args.args[:2] == ("127.0.0.1", 5999)
    assert werkzeug_log.level == logging.ERROR
    assert "Debug mode" not in result.output
