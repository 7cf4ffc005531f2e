"""Technicians filling one box at the same moment (PostgreSQL): never two tubes in one position.

"Fill in order" reads the free positions and takes the first; without the box lock every
racing thread reads the same first free position. With it they queue: each gets its own
position, and racing for one named position gives one placement and refusals for the rest."""

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
from lims.logistics import storage
from lims.logistics.storage_models import Aliquot, StorageUnit, UnitLevel
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW
from tests.race import needs_postgres, race, school_cluster, split

N = 4


def _setup(app: Flask, rounds: int) -> tuple[list[int], int, list[list[str]]]:
    """Users, one 3 × 3 box per round, and N received samples per round."""
    with app.app_context():
        users = [auth.create_user(db.session, actor=None, now=FIXED_NOW, username=f"fill-{i}",
                                  password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
                 for i in range(N)]
        cluster = school_cluster(db.session, FIXED_NOW)
        db.session.flush()
        freezer = storage.create_unit(db.session, actor=users[0], now=FIXED_NOW,
                                      level=UnitLevel.FREEZER, code="RACE-F")
        rack = storage.create_unit(db.session, actor=users[0], now=FIXED_NOW,
                                   level=UnitLevel.RACK, code="RACE-R", parent=freezer)
        accessions: list[list[str]] = []
        for r in range(rounds):
            storage.create_unit(db.session, actor=users[0], now=FIXED_NOW, level=UnitLevel.BOX,
                                code=f"RACE-B{r}", parent=rack, n_rows=3, n_cols=3,
                                sample_kind=SampleKind.SALT)
            batch = []
            for i in range(N):
                sample = Sample(accession=f"S-2026-{r:03d}{i:03d}", kind=SampleKind.SALT,
                                status=SampleStatus.RECEIVED, cluster=cluster,
                                round_id=cluster.round.id, region_id=cluster.region_id,
                                collected_at=FIXED_NOW - timedelta(days=2),
                                registered_at=FIXED_NOW, received_at=FIXED_NOW,
                                salt_source="household")
                db.session.add(sample)
                batch.append(sample.accession)
            accessions.append(batch)
        db.session.commit()
        return [u.id for u in users], rack.id, accessions


@needs_postgres
def test_fill_in_order_gives_each_its_own_position(race_app: Flask) -> None:
    user_ids, _rack, accessions = _setup(race_app, rounds=5)
    for r in range(5):
        def prepare(i: int) -> tuple[User, StorageUnit]:
            box = db.session.scalars(sa.select(StorageUnit)
                                     .where(StorageUnit.code == f"RACE-B{r}")).one()
            return db.session.get(User, user_ids[i]), box

        def act(i: int, loaded: tuple[User, StorageUnit]) -> str | None:
            actor, box = loaded
            return storage.place(db.session, actor=actor, now=FIXED_NOW, box=box,
                                 scanned=accessions[r][i]).position

        winners, refused = split(race(race_app, N, prepare, act))
        assert not refused and sorted(winners) == ["A1", "A2", "A3", "B1"]
        with race_app.app_context():
            rows = db.session.execute(
                sa.select(Aliquot.pos_row, Aliquot.pos_col).join(StorageUnit,
                                                                 StorageUnit.id == Aliquot.box_id)
                .where(StorageUnit.code == f"RACE-B{r}")).all()
            assert len(rows) == N == len(set(rows))


@needs_postgres
def test_one_named_position_one_placement(race_app: Flask) -> None:
    with race_app.app_context():
        user_ids = list(db.session.scalars(sa.select(User.id).where(User.username.like("fill-%"))
                                           .order_by(User.id)))
    if not user_ids:
        user_ids, _rack, _acc = _setup(race_app, rounds=0)
    with race_app.app_context():
        actor = db.session.get(User, user_ids[0])
        rack = db.session.scalars(sa.select(StorageUnit).where(StorageUnit.code == "RACE-R")).one()
        cluster_sample = db.session.scalars(sa.select(Sample).limit(1)).first()
        box = storage.create_unit(db.session, actor=actor, now=FIXED_NOW, level=UnitLevel.BOX,
                                  code="RACE-NAMED", parent=rack, n_rows=2, n_cols=2,
                                  sample_kind=SampleKind.SALT)
        accessions = []
        for i in range(N):
            sample = Sample(accession=f"S-2026-9{i:05d}", kind=SampleKind.SALT,
                            status=SampleStatus.RECEIVED, cluster_id=cluster_sample.cluster_id,
                            round_id=cluster_sample.round_id, region_id=cluster_sample.region_id,
                            collected_at=FIXED_NOW, registered_at=FIXED_NOW,
                            received_at=FIXED_NOW, salt_source="household")
            db.session.add(sample)
            accessions.append(sample.accession)
        db.session.commit()
        box_id = box.id

    def prepare(i: int) -> tuple[User, StorageUnit]:
        return db.session.get(User, user_ids[i]), db.session.get(StorageUnit, box_id)

    def act(i: int, loaded: tuple[User, StorageUnit]) -> str | None:
        actor, box = loaded
        return storage.place(db.session, actor=actor, now=FIXED_NOW, box=box,
                             scanned=accessions[i], position="B2").label

    winners, refused = split(race(race_app, N, prepare, act))
    assert len(winners) == 1 and len(refused) == N - 1
    assert all(isinstance(e, ConflictError) for e in refused)
    with race_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Aliquot)
                                 .where(Aliquot.box_id == box_id)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "aliquot_placed", AuditEvent.entity_label.in_(accessions))) == 1
