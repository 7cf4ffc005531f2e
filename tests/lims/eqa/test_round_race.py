"""Provider staff dispatching (then closing, then scoring) one round at the same moment: one
change and one audit event, the others told the round has moved on — never two dispatch events,
never a second set of sample codes, never two current scores for one result."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from lims.audit.models import AuditEvent
from lims.auth import services as auth
from lims.auth.models import User
from lims.core.errors import InvalidTransition
from lims.core.permissions import Role
from lims.eqa import service
from lims.eqa.models import EqaRound, EqaSampleCode, EqaScore, RoundStatus, ValueSource
from lims.extensions import db
from tests.conftest import FIXED_NOW
from tests.lims.eqa.room import add_result, planned_round
from tests.race import needs_postgres, race, split

N = 4


def _status_race(app: Flask, user_ids: list[int], round_id: int, to: RoundStatus) -> None:
    def prepare(i: int) -> tuple[User, EqaRound]:
        round_ = db.session.get(EqaRound, round_id)
        assert round_ is not None and round_.status is not to  # each reads the old status
        return db.session.get(User, user_ids[i]), round_

    def act(i: int, loaded: tuple[User, EqaRound]) -> int:
        actor, round_ = loaded
        service.change_round_status(db.session, actor=actor, now=FIXED_NOW, round_=round_, to=to)
        return i

    winners, refused = split(race(app, N, prepare, act))
    assert len(winners) == 1 and len(refused) == N - 1
    assert all(isinstance(error, InvalidTransition) for error in refused)
    with app.app_context():
        changes = db.session.scalars(sa.select(AuditEvent.changes).where(
            AuditEvent.action == "eqa_round_status_changed", AuditEvent.entity_id == round_id))
        assert [c["status"]["after"] for c in changes].count(to.value) == 1


@needs_postgres
def test_concurrent_round_transitions_make_one(race_app: Flask) -> None:
    with race_app.app_context():
        users = [auth.create_user(db.session, actor=None, now=FIXED_NOW, username=f"eqa-race-{i}",
                                  password="correct-horse-battery-9",
                                  roles=[Role.ADMIN if i % 2 else Role.REVIEWER])
                 for i in range(N)]
        db.session.commit()
        user_ids = [u.id for u in users]
        built = planned_round(db.session, users[0], labs=3)
        db.session.commit()
        round_id = built.round.id

    _status_race(race_app, user_ids, round_id, RoundStatus.DISPATCHED)
    with race_app.app_context():
        codes = db.session.scalar(sa.select(sa.func.count()).select_from(EqaSampleCode)
                                  .where(EqaSampleCode.enrolment.has(round_id=round_id)))
        assert codes == 3 * 2  # made once, by the one dispatch that happened
        round_ = db.session.get(EqaRound, round_id)
        admin = db.session.get(User, user_ids[1])
        for enrolment in round_.enrolments:
            for material in round_.materials:
                add_result(db.session, admin, enrolment, material, 100.0)
        for material in round_.materials:
            service.assign_value(db.session, actor=admin, now=FIXED_NOW, material=material,
                                 source=ValueSource.FORMULATION, x_pt=100.0, u_x_pt=1.0)
        db.session.commit()
    _status_race(race_app, user_ids, round_id, RoundStatus.CLOSED)

    def prepare(i: int) -> tuple[User, EqaRound]:
        return db.session.get(User, user_ids[i]), db.session.get(EqaRound, round_id)

    def act(i: int, loaded: tuple[User, EqaRound]) -> int:
        actor, round_ = loaded
        return service.score_round(db.session, actor=actor, now=FIXED_NOW, round_=round_)

    winners, refused = split(race(race_app, N, prepare, act))
    assert winners == [6] * N and not refused  # each scoring replaces the one before it
    with race_app.app_context():
        current = db.session.scalar(sa.select(sa.func.count()).select_from(EqaScore).where(
            EqaScore.is_current.is_(True), EqaScore.material_id.in_(
                [m.id for m in db.session.get(EqaRound, round_id).materials])))
        assert current == 6


@needs_postgres
def test_dispatch_and_a_failing_homogeneity_study_never_both_succeed(race_app: Flask) -> None:
    """A material's failing verdict recorded while the round is being dispatched: either the
    dispatch comes first (the study is refused: the round is no longer planned) or the study
    does (the dispatch is refused: a material failed) — never a dispatched failing material
    without an override."""
    failing = [(100.0 + 8 * (i % 2) - 4, 100.0 + 8 * (i % 2) - 4.2) for i in range(10)]
    with race_app.app_context():
        actor = auth.create_user(db.session, actor=None, now=FIXED_NOW, username="eqa-race-h",
                                 password="correct-horse-battery-9", roles=[Role.REVIEWER])
        db.session.commit()
        actor_id = actor.id
    for attempt in range(4):
        with race_app.app_context():
            built = planned_round(db.session, db.session.get(User, actor_id), labs=1,
                                  means=(100.0,))
            db.session.commit()
            round_id, material_id = built.round.id, built.materials[0].id

        def prepare(i: int, round_id: int = round_id) -> tuple[User, EqaRound]:
            return db.session.get(User, actor_id), db.session.get(EqaRound, round_id)

        def act(i: int, loaded: tuple[User, EqaRound], material_id: int = material_id) -> str:
            user, round_ = loaded
            if i == 0:
                service.change_round_status(db.session, actor=user, now=FIXED_NOW, round_=round_,
                                            to=RoundStatus.DISPATCHED)
                return "dispatched"
            material = next(m for m in round_.materials if m.id == material_id)
            service.record_homogeneity(db.session, actor=user, now=FIXED_NOW, material=material,
                                       pairs=failing)
            return "failing study"

        winners, refused = split(race(race_app, 2, prepare, act))
        assert len(winners) == 1 and len(refused) == 1, (attempt, winners, refused)
        with race_app.app_context():
            round_ = db.session.get(EqaRound, round_id)
            material = round_.materials[0]
            assert not (round_.status is RoundStatus.DISPATCHED
                        and material.homogeneity_passed is False
                        and material.override_reason is None)
