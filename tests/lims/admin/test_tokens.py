"""API tokens through the admin pages: the secret is shown once and stored only as a SHA-256."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.audit.service import events_for
from lims.auth.models import ApiToken, User
from lims.core.permissions import Role


@pytest.fixture()
def admin_client(
    make_user: Callable[..., User], login: Callable[[User], FlaskClient]
) -> FlaskClient:
    return login(make_user(Role.ADMIN, username="keeper"))


def create_token(client: FlaskClient, name: str = "Titrator 2") -> tuple[str, str]:
    response = client.post("/admin/tokens/new", data={"name": name})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    match = re.search(r'value="(lims_[A-Za-z0-9_-]+)"', html)
    assert match, html
    return match.group(1), html


def test_secret_shown_once_and_stored_hashed(admin_client: FlaskClient, session: Session) -> None:
    secret, html = create_token(admin_client)
    assert "shown only this once" in html
    token = session.scalars(sa.select(ApiToken).where(ApiToken.name == "Titrator 2")).one()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(token.prefix) and len(secret) > len(token.prefix) + 20
    assert events_for(session, "api_token", token.id)[0].action == "token_created"
    # never again: neither the list nor any later page carries it
    listing = admin_client.get("/admin/tokens").get_data(as_text=True)
    assert token.prefix in listing and secret not in listing
    assert secret not in admin_client.get("/").get_data(as_text=True)  # not left in a flash
    # and it works
    whoami = admin_client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert whoami.get_json()["name"] == "Titrator 2"


def test_token_needs_a_name(admin_client: FlaskClient, session: Session) -> None:
    response = admin_client.post("/admin/tokens/new", data={"name": "   "})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_list_shows_creator_and_use(admin_client: FlaskClient) -> None:
    secret, _html = create_token(admin_client, "Photometer A")
    admin_client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    html = admin_client.get("/admin/tokens").get_data(as_text=True)
    row = next(r for r in html.split("<tr>") if "Photometer A" in r)
    assert "keeper" in row and "never" not in row and "Revoke" in row


def test_revoke_asks_then_revokes(admin_client: FlaskClient, session: Session) -> None:
    secret, _html = create_token(admin_client)
    token = session.scalars(sa.select(ApiToken)).one()
    confirm = admin_client.get(f"/admin/tokens/{token.id}/revoke")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert token.revoked_at is None  # a GET changes nothing
    response = admin_client.post(f"/admin/tokens/{token.id}/revoke")
    assert response.status_code == 302
    session.refresh(token)
    assert token.revoked_at is not None
    assert events_for(session, "api_token", token.id)[-1].action == "token_revoked"
    refused = admin_client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    again = admin_client.post(f"/admin/tokens/{token.id}/revoke", follow_redirects=True)
    assert "already revoked" in again.get_data(as_text=True)


def test_unknown_token_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/tokens/987654/revoke").status_code == 404
