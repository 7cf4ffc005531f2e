"""Two technicians type the first value of one salt sample at the same moment (PostgreSQL):
exactly one value is saved; the other is asked whether to add a replicate or replace it (409),
never a second current value or a silent overwrite."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from lims.analysis import catalogue, review
from lims.analysis.models import Result
from lims.auth import services as auth
from lims.auth.models import User
from lims.core.errors import ConfirmationRequired
from lims.core.permissions import Role
from lims.extensions import db
from lims.monitoring.models import Cluster
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SaltSource, Sample, SampleKind
from tests.conftest import FIXED_NOW as NOW
from tests.race import (  # noqa: F401 - race_app: fixture
    needs_postgres,
    race,
    race_app,
    school_cluster,
    split,
)

pytestmark = [pytest.mark.postgres, needs_postgres]

REPEAT = 10
N = 4
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def lab(race_app: Flask) -> tuple[list[int], int, int]:  # noqa: F811 - the fixture imported above
    """Technicians, a cluster and the method catalogue, committed once."""
    with race_app.app_context():
        session = db.session
        cluster = school_cluster(session, NOW)
        techs = [auth.create_user(session, actor=None, now=NOW, username=f"tech{i}",
                                  password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
                 for i in range(N)]
        catalogue.seed_methods(session, now=NOW)
        session.flush()
        wyd = catalogue.current_version(session, "SALT-WYD").id
        session.commit()
        return [t.id for t in techs], cluster.id, wyd


def _sample(app: Flask, cluster_id: int) -> int:
    with app.app_context():
        cluster = db.session.get(Cluster, cluster_id)
        sample = Sample(kind=SampleKind.SALT, status=SampleStatus.RECEIVED, cluster_id=cluster.id,
                        round_id=cluster.round_id, region_id=cluster.region_id,
                        accession=f"S-2026-{next(_numbers):06d}",
                        salt_source=SaltSource.HOUSEHOLD, collected_at=NOW - timedelta(days=2),
                        registered_at=NOW, received_at=NOW)
        db.session.add(sample)
        db.session.commit()
        return sample.id


def test_two_first_values_for_one_sample_save_one_and_ask_the_other(
        race_app: Flask, lab: tuple[list[int], int, int]) -> None:
    techs, cluster_id, wyd_id = lab
    from lims.analysis.models import MethodVersionRow

    for _ in range(REPEAT):
        sample_id = _sample(race_app, cluster_id)

        def act(i: int, _: None) -> int:
            return review.enter_direct_result(
                db.session, actor=db.session.get(User, techs[i]), now=NOW,
                sample=db.session.get(Sample, sample_id),
                method_version=db.session.get(MethodVersionRow, wyd_id),
                values=[20.0 + i]).id

        won, refused = split(race(race_app, N, lambda i: None, act))
        assert len(won) == 1 and len(refused) == N - 1
        assert all(isinstance(e, ConfirmationRequired) and e.http_status == 409 for e in refused)
        with race_app.app_context():
            rows = db.session.scalars(sa.select(Result).where(Result.sample_id == sample_id)).all()
            assert [r.id for r in rows] == won and rows[0].is_current
