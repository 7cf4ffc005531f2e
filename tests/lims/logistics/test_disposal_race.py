"""Two people dispose of the same sample at the same moment (PostgreSQL): one disposal record
and one audit event; the other is told it was disposed of already."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from lims.audit.models import AuditEvent
from lims.auth import services as auth
from lims.auth.models import User
from lims.core.errors import ConflictError
from lims.core.permissions import Role
from lims.extensions import db
from lims.logistics import disposal, storage
from lims.logistics.storage_models import (
    Aliquot,
    AliquotState,
    RetentionRule,
    SampleDisposal,
    UnitLevel,
)
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW
from tests.race import needs_postgres, race, school_cluster, split

N = 2


@needs_postgres
def test_concurrent_disposals_make_one(race_app: Flask) -> None:
    with race_app.app_context():
        users = [auth.create_user(db.session, actor=None, now=FIXED_NOW, username=f"disp-{i}",
                                  password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
                 for i in range(2 * N)]
        cluster = school_cluster(db.session, FIXED_NOW)
        db.session.flush()
        disposal.set_retention(db.session, actor=users[0], now=FIXED_NOW, kind=SampleKind.SALT,
                               survey_round=None, days=30)
        freezer = storage.create_unit(db.session, actor=users[0], now=FIXED_NOW,
                                      level=UnitLevel.FREEZER, code="DISP-F")
        rack = storage.create_unit(db.session, actor=users[0], now=FIXED_NOW,
                                   level=UnitLevel.RACK, code="DISP-R", parent=freezer)
        box = storage.create_unit(db.session, actor=users[0], now=FIXED_NOW, level=UnitLevel.BOX,
                                  code="DISP-B", parent=rack, n_rows=2, n_cols=2,
                                  sample_kind=SampleKind.SALT)
        sample = Sample(accession="S-2025-000001", kind=SampleKind.SALT,
                        status=SampleStatus.VERIFIED, cluster_id=cluster.id,
                        round_id=cluster.round.id, region_id=cluster.region_id,
                        collected_at=FIXED_NOW - timedelta(days=90), registered_at=FIXED_NOW,
                        received_at=FIXED_NOW - timedelta(days=80), salt_source="household")
        db.session.add(sample)
        db.session.flush()
        storage.place(db.session, actor=users[0], now=FIXED_NOW, box=box,
                      scanned=sample.accession)
        db.session.commit()
        ids, sample_id = [u.id for u in users], sample.id

    def prepare(i: int) -> tuple[User, User]:
        return db.session.get(User, ids[i]), db.session.get(User, ids[N + i])

    def act(i: int, people: tuple[User, User]) -> int:
        actor, witness = people
        disposal.dispose(db.session, actor=actor, now=FIXED_NOW, scanned="S-2025-000001",
                         reason=f"retention over, person {i}", witness=witness)
        return i

    winners, refused = split(race(race_app, N, prepare, act))
    assert len(winners) == 1 and len(refused) == N - 1
    assert all(isinstance(error, ConflictError) for error in refused)
    with race_app.app_context():
        record = db.session.scalars(sa.select(SampleDisposal)
                                    .where(SampleDisposal.sample_id == sample_id)).one()
        assert record.reason == f"retention over, person {winners[0]}"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "sample_disposed", AuditEvent.entity_id == sample_id)) == 1
        assert db.session.get(Sample, sample_id).status is SampleStatus.VERIFIED
        tube = db.session.scalars(sa.select(Aliquot).where(Aliquot.sample_id == sample_id)).one()
        assert tube.state is AliquotState.DISPOSED and tube.box_id is None


@needs_postgres
def test_one_retention_rule_when_set_twice_at_once(race_app: Flask) -> None:
    """Two managers set the urine default at the same moment: one rule row; the one who came
    second is told someone changed it meanwhile (a 409), never a server error."""
    with race_app.app_context():
        ids = [auth.create_user(db.session, actor=None, now=FIXED_NOW, username=f"ret-{i}",
                                password="correct-horse-battery-9", roles=[Role.ADMIN]).id
               for i in range(N)]
        db.session.commit()

    def act(i: int, actor: User) -> int:
        disposal.set_retention(db.session, actor=actor, now=FIXED_NOW, kind=SampleKind.URINE,
                               survey_round=None, days=100 + i)
        return i

    winners, refused = split(race(race_app, N, lambda i: db.session.get(User, ids[i]), act))
    assert len(winners) + len(refused) == N and winners
    assert all(isinstance(error, ConflictError) for error in refused)
    with race_app.app_context():
        rules = db.session.scalars(sa.select(RetentionRule).where(
            RetentionRule.kind == SampleKind.URINE, RetentionRule.round_id.is_(None))).all()
        assert len(rules) == 1 and rules[0].days in {100 + w for w in winners}
