"""A laboratory's script retrying, or two of its staff clicking Submit at the same moment: the same
laboratory submitting the same material several times at once stores one result and one audit
event; the others are told it was already submitted (never an IntegrityError from the partial
unique index, which is only the last line behind the enrolment lock). Likewise a late correction
sent twice at once waits once for the provider."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.core.errors import ConflictError
from lims.core.permissions import Role
from lims.eqa.models import CorrectionStatus, EqaEnrolment, EqaLabAccount, EqaLaboratory, EqaResult
from lims.eqa.submissions import (
    ResultEntry,
    correct_result,
    decide_correction,
    link_participant_account,
    submit_result,
)
from lims.extensions import db
from tests.conftest import FIXED_NOW
from tests.lims.eqa.participants import build_world, user
from tests.race import needs_postgres, race, split

N = 4


def _setup(race_app: Flask) -> tuple[int, int, str]:
    with race_app.app_context():
        world = build_world(db.session, FIXED_NOW)
        db.session.commit()
        return world.participants[0].id, world.enrolments[0].id, world.code(0, 0)


def _submit_at_once(race_app: Flask) -> None:
    user_id, enrolment_id, code = _setup(race_app)

    def prepare(i: int) -> tuple[User, EqaEnrolment]:
        return db.session.get(User, user_id), db.session.get(EqaEnrolment, enrolment_id)

    def act(i: int, loaded: tuple[User, EqaEnrolment]) -> float:
        actor, enrolment = loaded
        return submit_result(db.session, actor=actor, now=FIXED_NOW, enrolment=enrolment,
                             entry=ResultEntry(sample_code=code, value=str(100 + i),
                                               unit="µg/L", method="icp_ms")).value

    winners, refused = split(race(race_app, N, prepare, act))
    assert len(winners) == 1 and len(refused) == N - 1
    assert all(isinstance(error, ConflictError) for error in refused)
    with race_app.app_context():
        stored = db.session.scalars(sa.select(EqaResult.value).where(
            EqaResult.enrolment_id == enrolment_id)).all()
        assert stored == winners
        events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "eqa_result_submitted",
            AuditEvent.entity_label.contains(code)))
        assert events == 1


@needs_postgres
def test_the_same_material_submitted_at_once_is_stored_once(race_app: Flask) -> None:
    for _attempt in range(3):  # a fresh world each time: the race is lost in different orders
        _submit_at_once(race_app)


@needs_postgres
def test_a_late_correction_sent_twice_at_once_waits_once(race_app: Flask) -> None:
    user_id, enrolment_id, code = _setup(race_app)
    with race_app.app_context():
        submit_result(db.session, actor=db.session.get(User, user_id), now=FIXED_NOW,
                      enrolment=db.session.get(EqaEnrolment, enrolment_id),
                      entry=ResultEntry(sample_code=code, value="100", unit="µg/L",
                                        method="icp_ms"))
        db.session.commit()
    late = FIXED_NOW + timedelta(days=30)

    def prepare(i: int) -> tuple[User, EqaEnrolment]:
        return db.session.get(User, user_id), db.session.get(EqaEnrolment, enrolment_id)

    def act(i: int, loaded: tuple[User, EqaEnrolment]) -> int:
        actor, enrolment = loaded
        return correct_result(db.session, actor=actor, now=late, enrolment=enrolment,
                              entry=ResultEntry(sample_code=code, value=str(110 + i),
                                                unit="µg/L", method="icp_ms"),
                              reason=f"recalculated by person {i}").version

    winners, refused = split(race(race_app, N, prepare, act))
    assert winners == [2] and len(refused) == N - 1
    assert all(isinstance(error, ConflictError) for error in refused)
    with race_app.app_context():
        pending = db.session.scalars(sa.select(EqaResult).where(
            EqaResult.enrolment_id == enrolment_id,
            EqaResult.correction_status == CorrectionStatus.PENDING)).all()
        assert len(pending) == 1


@needs_postgres
def test_one_account_linked_to_two_laboratories_at_once_belongs_to_one(race_app: Flask) -> None:
    with race_app.app_context():
        world = build_world(db.session, FIXED_NOW)
        newcomer = user(db.session, FIXED_NOW, Role.EQA_PARTICIPANT)
        db.session.commit()
        provider_id, newcomer_id = world.provider.id, newcomer.id
        lab_ids = [lab.id for lab in world.labs]

    def prepare(i: int) -> tuple[User, User, EqaLaboratory]:
        return (db.session.get(User, provider_id), db.session.get(User, newcomer_id),
                db.session.get(EqaLaboratory, lab_ids[i % len(lab_ids)]))

    def act(i: int, loaded: tuple[User, User, EqaLaboratory]) -> int:
        provider, account, laboratory = loaded
        return link_participant_account(db.session, actor=provider, now=FIXED_NOW,
                                        laboratory=laboratory, user=account).laboratory_id

    winners, refused = split(race(race_app, N, prepare, act))
    assert len(winners) == 1 and all(isinstance(e, ConflictError) for e in refused)
    with race_app.app_context():
        assert db.session.scalars(sa.select(EqaLabAccount.laboratory_id).where(
            EqaLabAccount.user_id == newcomer_id)).all() == winners


@needs_postgres
def test_two_decisions_on_one_late_correction_make_one(race_app: Flask) -> None:
    """Two of the provider's staff decide the same late correction at once, one accepting, one
    refusing: one decision stands, with one audit event; the other is told it is decided."""
    with race_app.app_context():
        world = build_world(db.session, FIXED_NOW)
        entry = ResultEntry(sample_code=world.code(0, 0), value="100", unit="µg/L",
                            method="icp_ms")
        submit_result(db.session, actor=world.participants[0], now=FIXED_NOW,
                      enrolment=world.enrolments[0], entry=entry)
        pending = correct_result(db.session, actor=world.participants[0],
                                 now=FIXED_NOW + timedelta(days=30),
                                 enrolment=world.enrolments[0], entry=entry, reason="re-run")
        db.session.commit()
        provider_id, pending_id = world.provider.id, pending.id

    def prepare(i: int) -> tuple[User, EqaResult]:
        return db.session.get(User, provider_id), db.session.get(EqaResult, pending_id)

    def act(i: int, loaded: tuple[User, EqaResult]) -> str:
        provider, correction = loaded
        return decide_correction(db.session, actor=provider, now=FIXED_NOW + timedelta(days=31),
                                 correction=correction, accept=i % 2 == 0,
                                 reason=f"decided by person {i}").correction_status.value

    winners, refused = split(race(race_app, N, prepare, act))
    assert len(winners) == 1 and all(isinstance(e, ConflictError) for e in refused)
    with race_app.app_context():
        stored = db.session.get(EqaResult, pending_id)
        assert stored.correction_status.value == winners[0]
        assert stored.is_current is (winners[0] == "accepted")
        decisions = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.entity_id == pending_id,
            AuditEvent.action.in_(("eqa_correction_accepted", "eqa_correction_refused"))))
        assert decisions == 1
