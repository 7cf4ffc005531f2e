"""Two reviewers send the same EQUIP round at the same moment, and two record the scheme's
target for the same material: one submission and one evaluation, each with one audit event;
the others are told it is done already — never two submissions, never two current verdicts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from lims.audit.models import AuditEvent
from lims.auth import services as auth
from lims.auth.models import User
from lims.core.errors import ConflictError, LimsError
from lims.core.permissions import Role
from lims.eqa import external
from lims.eqa.external_models import (
    ExternalEvaluation,
    ExternalMaterial,
    ExternalRound,
    ExternalRoundStatus,
)
from lims.extensions import db
from tests.conftest import FIXED_NOW
from tests.lims.eqa.external_helpers import analyse, make_round, make_scheme
from tests.race import needs_postgres, race, split

N = 4


@needs_postgres
def test_concurrent_submissions_and_verdicts_make_one(race_app: Flask) -> None:
    with race_app.app_context():
        tech = auth.create_user(db.session, actor=None, now=FIXED_NOW, username="eqa-tech",
                                password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
        reviewer = auth.create_user(db.session, actor=None, now=FIXED_NOW,
                                    username="eqa-reviewer",
                                    password="correct-horse-battery-9", roles=[Role.REVIEWER])
        scheme = make_scheme(db.session, tech, FIXED_NOW)
        rnd = make_round(db.session, tech, FIXED_NOW, scheme)
        material = external.register_material(db.session, actor=tech, now=FIXED_NOW,
                                              external_round=rnd, code="A1")
        analyse(db.session, tech, reviewer, FIXED_NOW, material,
                [(101.0, 99.0), (104.0, 98.0), (100.0, 102.0)])
        db.session.commit()
        reviewer_id, round_id, material_id = reviewer.id, rnd.id, material.id

    def prepare_round(i: int) -> tuple[User, ExternalRound]:
        return db.session.get(User, reviewer_id), db.session.get(ExternalRound, round_id)

    def submit(i: int, loaded: tuple[User, ExternalRound]) -> int:
        actor, external_round = loaded
        external.submit_round(db.session, actor=actor, now=FIXED_NOW,
                              external_round=external_round)
        return i

    winners, refused = split(race(race_app, N, prepare_round, submit))
    assert len(winners) == 1 and len(refused) == N - 1
    assert all(isinstance(error, ConflictError) for error in refused)

    def prepare_material(i: int) -> tuple[User, ExternalMaterial]:
        return db.session.get(User, reviewer_id), db.session.get(ExternalMaterial, material_id)

    def evaluate(i: int, loaded: tuple[User, ExternalMaterial]) -> int:
        actor, item = loaded
        external.record_evaluation(db.session, actor=actor, now=FIXED_NOW, material=item,
                                   target=100.0 + i)
        return i

    winners, refused = split(race(race_app, N, prepare_material, evaluate))
    assert len(winners) == 1 and len(refused) == N - 1
    # the later ones find a target recorded: a correction needs a reason
    assert all(isinstance(error, LimsError) for error in refused)
    with race_app.app_context():
        stored = db.session.get(ExternalRound, round_id)
        assert stored.status is ExternalRoundStatus.EVALUATED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalEvaluation)) == 1
        for action in ("eqa_external_round_submitted", "eqa_external_evaluation_recorded"):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
                AuditEvent.action == action, AuditEvent.entity_id == round_id)) == 1
