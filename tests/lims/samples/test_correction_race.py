"""Two people correct the same registration at the same moment (PostgreSQL, READ COMMITTED):
with the form's fingerprint, exactly one correction is saved and the other is refused with a
409; without it, both are saved one after the other and the second's audit "before" is the
first's "after" (no lost update, no audit lie)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from lims.audit.models import AuditEvent
from lims.auth import services as auth
from lims.auth.models import User
from lims.core.errors import ConflictError
from lims.core.permissions import Role
from lims.extensions import db
from lims.monitoring.models import Cluster
from lims.samples.corrections import Correction, correct_sample, fingerprint
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
def lab(race_app: Flask) -> tuple[int, int]:  # noqa: F811 - the fixture imported above
    """A technician and a cluster, committed once."""
    with race_app.app_context():
        session = db.session
        cluster = school_cluster(session, NOW)
        tech = auth.create_user(session, actor=None, now=NOW, username="tech",
                                password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
        session.commit()
        return tech.id, cluster.id


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


def _events(app: Flask, sample_id: int) -> list[dict]:
    with app.app_context():
        return [e.changes for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "sample_corrected",
                                        AuditEvent.entity_id == sample_id)
            .order_by(AuditEvent.id))]


def test_two_corrections_of_one_form_have_one_winner(race_app: Flask, lab: tuple[int, int]):
    tech_id, cluster_id = lab
    for _ in range(REPEAT):
        sample_id = _sample(race_app, cluster_id)

        def prepare(i: int) -> str:
            return fingerprint(db.session.get(Sample, sample_id))

        def act(i: int, seen: str) -> list[str]:
            return correct_sample(db.session, actor=db.session.get(User, tech_id), now=NOW,
                                  sample=db.session.get(Sample, sample_id), reason=f"typo {i}",
                                  correction=Correction(household_code=f"H-{i}"), seen=seen)

        won, refused = split(race(race_app, N, prepare, act))
        assert len(won) == 1 and len(refused) == N - 1
        assert all(isinstance(e, ConflictError) and e.http_status == 409 for e in refused)
        assert len(_events(race_app, sample_id)) == 1


def test_corrections_without_a_form_fingerprint_chain_their_audit(race_app: Flask,
                                                                   lab: tuple[int, int]):
    tech_id, cluster_id = lab
    for _ in range(REPEAT):
        sample_id = _sample(race_app, cluster_id)

        def act(i: int, _: None) -> list[str]:
            return correct_sample(db.session, actor=db.session.get(User, tech_id), now=NOW,
                                  sample=db.session.get(Sample, sample_id), reason=f"typo {i}",
                                  correction=Correction(household_code=f"H-{i}"))

        won, refused = split(race(race_app, N, lambda i: None, act))
        assert len(won) == N and not refused
        chain = [changes["household_code"] for changes in _events(race_app, sample_id)]
        assert chain[0]["before"] is None
        assert all(a["after"] == b["before"] for a, b in zip(chain, chain[1:], strict=False))
