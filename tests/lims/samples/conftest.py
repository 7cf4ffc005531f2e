from __future__ import annotations

import pytest


@pytest.fixture()
def cluster(make_cluster):
    return make_cluster()


@pytest.fixture()
def actor(make_user):
    return make_user()
