"""Administration of user accounts through the pages: list, create, edit, reset, unlock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from lims.audit.service import events_for
from lims.auth.models import User
from lims.auth.services import get_user_by_username
from lims.core.dt import now_utc
from lims.core.permissions import Role
from tests.factories import PASSWORD


@pytest.fixture()
def admin_client(
    make_user: Callable[..., User], login: Callable[[User], FlaskClient]
) -> FlaskClient:
    return login(make_user(Role.ADMIN, username="chief"))


def page(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def field_block(html: str, name: str) -> str:
    """The rendered ``<div class="field">`` of one input: its widget and its error list."""
    blocks = [b for b in html.split('<div class="field">')[1:] if f'name="{name}"' in b]
    assert len(blocks) == 1, f"no single field named {name}"
    return blocks[0]


def test_list_shows_accounts(
    admin_client: FlaskClient, make_user: Callable[..., User], session: Session
) -> None:
    locked = make_user(Role.TECHNICIAN, Role.REVIEWER, username="aigerim", full_name="Aigerim N.")
    locked.locked_until = now_utc() + timedelta(minutes=10)
    session.flush()
    html = page(admin_client.get("/admin/users"))
    assert "aigerim" in html and "Aigerim N." in html
    assert "Technician, Reviewer" in html or "Reviewer, Technician" in html
    assert 'class="badge rejected"' in html  # locked


def test_create_user_with_several_roles(admin_client: FlaskClient, session: Session) -> None:
    response = admin_client.post(
        "/admin/users/new",
        data={
            "username": "dana",
            "full_name": "Dana K.",
            "email": "dana@example.org",
            "password": "salt-and-iodine-42",
            "roles": ["technician", "reviewer"],
        },
    )
    assert response.status_code == 302
    user = get_user_by_username(session, "dana")
    assert user is not None and user.roles == {Role.TECHNICIAN, Role.REVIEWER}
    assert check_password_hash(user.password_hash, "salt-and-iodine-42")
    [event] = events_for(session, "user", user.id)
    assert event.action == "user_created" and event.actor_name == "chief"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"password": "short1"}, "password", "at least 10 characters"),
        ({"password": "dana-is-my-name"}, "password", "must not contain the username"),
        ({"roles": []}, "roles", "Choose at least one role."),
        ({"username": "dana k"}, "username", "letters, digits"),
        ({"username": "CHIEF"}, "username", "already exists"),
        ({"roles": ["overlord"]}, "roles", "is not a valid choice"),
    ],
)
def test_create_user_errors_are_on_the_field(
    admin_client: FlaskClient, session: Session, data: dict[str, object], field: str, message: str
) -> None:
    form = {"username": "dana", "password": "salt-and-iodine-42", "roles": ["technician"], **data}
    response = admin_client.post("/admin/users/new", data=form)
    assert response.status_code == 422
    assert message in field_block(page(response), field)
    count = session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.username.in_(["dana", "dana k"]))
    )
    assert count == 0


def test_edit_user_roles_and_deactivate(
    admin_client: FlaskClient, make_user: Callable[..., User], session: Session
) -> None:
    user = make_user(Role.TECHNICIAN, username="berik")
    roles = field_block(page(admin_client.get(f"/admin/users/{user.id}")), "roles")
    assert [line for line in roles.split("<li>") if "checked" in line] == [
        line for line in roles.split("<li>") if 'value="technician"' in line
    ]
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "full_name": "Berik S.",
            "email": "",
            "roles": ["reviewer", "ministry"],
            "is_active": "",
        },
    )
    assert response.status_code == 302
    session.refresh(user)
    assert user.roles == {Role.REVIEWER, Role.MINISTRY}
    assert not user.is_active and user.full_name == "Berik S."
    event = events_for(session, "user", user.id)[-1]
    assert event.action == "user_updated"
    assert event.changes["roles"] == {"before": ["technician"], "after": ["ministry", "reviewer"]}
    assert event.changes["is_active"] == {"before": True, "after": False}


def test_deactivated_user_cannot_log_in_and_is_logged_out(
    client: FlaskClient,
    make_user: Callable[..., User],
    login: Callable[[User], FlaskClient],
    session: Session,
) -> None:
    user = make_user(Role.TECHNICIAN)
    login(user)
    user.is_active = False
    session.flush()
    # The test's app context outlives requests, so drop Flask-Login's per-context cache of the
    # user, as a new request would in production.
    g.pop("_login_user", None)
    assert client.get("/").status_code == 302  # the session no longer loads the user
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 401 and "deactivated" in page(response)


def test_admin_resets_a_password(
    admin_client: FlaskClient, make_user: Callable[..., User], session: Session
) -> None:
    user = make_user(Role.TECHNICIAN, username="gulnar")
    user.failed_logins = 3
    session.flush()
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={"roles": ["technician"], "is_active": "y", "new_password": "fresh-start-2026"},
    )
    assert response.status_code == 302
    session.refresh(user)
    assert check_password_hash(user.password_hash, "fresh-start-2026")
    assert user.failed_logins == 0
    assert events_for(session, "user", user.id)[-1].changes["password"] == "changed"


def test_weak_reset_password_is_refused_on_its_field(
    admin_client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.TECHNICIAN)
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={"roles": ["technician"], "is_active": "y", "new_password": "aaaaaaaaaaaa"},
    )
    assert response.status_code == 422
    assert "password is too repetitive" in field_block(page(response), "new_password")


def test_admin_cannot_remove_own_admin_role(admin_client: FlaskClient, session: Session) -> None:
    me = get_user_by_username(session, "chief")
    assert me is not None
    response = admin_client.post(
        f"/admin/users/{me.id}", data={"roles": ["technician"], "is_active": "y"}
    )
    assert response.status_code == 422
    assert "you cannot remove your own admin role" in field_block(page(response), "roles")
    session.refresh(me)
    assert Role.ADMIN in me.roles


def test_unlock(
    admin_client: FlaskClient, make_user: Callable[..., User], session: Session
) -> None:
    user = make_user(Role.TECHNICIAN)
    user.locked_until = now_utc() + timedelta(minutes=10)
    session.flush()
    assert "Unlock now" in page(admin_client.get(f"/admin/users/{user.id}"))
    response = admin_client.post(f"/admin/users/{user.id}/unlock")
    assert response.status_code == 302
    session.refresh(user)
    assert user.locked_until is None
    assert events_for(session, "user", user.id)[-1].action == "user_unlocked"
    # a second unlock is refused with a message, not an error page
    response = admin_client.post(f"/admin/users/{user.id}/unlock", follow_redirects=True)
    assert "is not locked" in page(response)


def test_unknown_user_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/users/987654").status_code == 404


def test_own_password_change(
    client: FlaskClient,
    make_user: Callable[..., User],
    login: Callable[[User], FlaskClient],
    session: Session,
) -> None:
    user = make_user(Role.MINISTRY)
    login(user)
    assert client.get("/account/password").status_code == 200
    wrong = client.post(
        "/account/password",
        data={
            "current_password": "not-it",
            "new_password": "brand-new-pass-1",
            "confirm_password": "brand-new-pass-1",
        },
    )
    assert wrong.status_code == 422
    assert "the current password is wrong" in field_block(page(wrong), "current_password")
    differ = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "brand-new-pass-1",
            "confirm_password": "brand-new-pass-2",
        },
    )
    assert differ.status_code == 422 and "The two new passwords differ." in page(differ)
    ok = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "brand-new-pass-1",
            "confirm_password": "brand-new-pass-1",
        },
    )
    assert ok.status_code == 302
    session.refresh(user)
    assert check_password_hash(user.password_hash, "brand-new-pass-1")
    assert events_for(session, "user", user.id)[-1].action == "password_changed"
