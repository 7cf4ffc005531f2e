from __future__ import annotations

import sqlalchemy as sa

from lims.monitoring.models import Region


def test_regions_seeded(session):
    assert session.scalar(sa.select(sa.func.count()).select_from(Region)) == 20


def test_login_page(client):
    assert client.get("/login").status_code == 200


def test_login_and_home(client, make_user, login):
    user = make_user()
    login(user)
    assert client.get("/").status_code == 200
