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
from lims.monitoring.models import Cluster
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW
from tests.race import needs_postgres, race, school_cluster, split

N = 4


def _base(app: Flask) -> list[int]:
    """The module's technicians, its school cluster and its rack RACE-R (made once)."""
    with app.app_context():
        ids = list(db.session.scalars(sa.select(User.id).where(User.username.like("fill-%"))
                                      .order_by(User.id)))
        if ids:
            return ids
        users = [auth.create_user(db.session, actor=None, now=FIXED_NOW, username=f"fill-{i}",
                                  password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
                 for i in range(N)]
        school_cluster(db.session, FIXED_NOW)
        freezer = storage.create_unit(db.session, actor=users[0], now=FIXED_NOW,
                                      level=UnitLevel.FREEZER, code="RACE-F")
        storage.create_unit(db.session, actor=users[0], now=FIXED_NOW, level=UnitLevel.RACK,
                            code="RACE-R", parent=freezer)
        db.session.commit()
        return [u.id for u in users]


def _salt(accession: str) -> Sample:
    """A received salt sample of the module's cluster."""
    cluster = db.session.scalars(sa.select(Cluster).where(Cluster.code == "C-1")).one()
    sample = Sample(accession=accession, kind=SampleKind.SALT, status=SampleStatus.RECEIVED,
                    cluster_id=cluster.id, round_id=cluster.round_id, region_id=cluster.region_id,
                    collected_at=FIXED_NOW - timedelta(days=2), registered_at=FIXED_NOW,
                    received_at=FIXED_NOW, salt_source="household")
    db.session.add(sample)
    return sample


def _setup(app: Flask, rounds: int) -> tuple[list[int], int, list[list[str]]]:
    """Users, one 3 × 3 box per round, and N received samples per round."""
    user_ids = _base(app)
    with app.app_context():
        users = [db.session.get(User, i) for i in user_ids]
        rack = db.session.scalars(sa.select(StorageUnit).where(StorageUnit.code == "RACE-R")).one()
        accessions: list[list[str]] = []
        for r in range(rounds):
            storage.create_unit(db.session, actor=users[0], now=FIXED_NOW, level=UnitLevel.BOX,
                                code=f"RACE-B{r}", parent=rack, n_rows=3, n_cols=3,
                                sample_kind=SampleKind.SALT)
            accessions.append([_salt(f"S-2026-{r:03d}{i:03d}").accession for i in range(N)])
        db.session.commit()
        return [u.id for u in users], rack.id, accessions


@needs_postgres
def test_fill_in_order_gives_each_its_own_position(race_app: Flask) -> None:
    user_ids, _rack, accessions = _setup(race_app, rounds=5)
    for r in range(5):
        def prepare(i: int, code: str = f"RACE-B{r}") -> tuple[User, StorageUnit]:
            box = db.session.scalars(sa.select(StorageUnit).where(StorageUnit.code == code)).one()
            return db.session.get(User, user_ids[i]), box

        def act(i: int, loaded: tuple[User, StorageUnit],
                batch: list[str] = accessions[r]) -> str | None:
            actor, box = loaded
            return storage.place(db.session, actor=actor, now=FIXED_NOW, box=box,
                                 scanned=batch[i]).position

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
    user_ids = _base(race_app)
    with race_app.app_context():
        actor = db.session.get(User, user_ids[0])
        rack = db.session.scalars(sa.select(StorageUnit).where(StorageUnit.code == "RACE-R")).one()
        box = storage.create_unit(db.session, actor=actor, now=FIXED_NOW, level=UnitLevel.BOX,
                                  code="RACE-NAMED", parent=rack, n_rows=2, n_cols=2,
                                  sample_kind=SampleKind.SALT)
        accessions = [_salt(f"S-2026-9{i:05d}").accession for i in range(N)]
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


@needs_postgres
def test_one_sample_into_two_boxes_at_once(race_app: Flask) -> None:
    """Two technicians scan the same sample into different boxes at the same moment: one
    placement, one refusal (the sample lock), never two tube rows for one container."""
    user_ids = _base(race_app)
    with race_app.app_context():
        actor = db.session.get(User, user_ids[0])
        rack = db.session.scalars(sa.select(StorageUnit).where(StorageUnit.code == "RACE-R")).one()
        boxes = [storage.create_unit(db.session, actor=actor, now=FIXED_NOW,
                                     level=UnitLevel.BOX, code=f"RACE-TWO-{i}", parent=rack,
                                     n_rows=2, n_cols=2, sample_kind=SampleKind.SALT).id
                 for i in range(2)]
        sample = _salt("S-2026-888888")
        db.session.commit()
        sample_id = sample.id

    def prepare(i: int) -> tuple[User, StorageUnit]:
        return db.session.get(User, user_ids[i]), db.session.get(StorageUnit, boxes[i])

    def act(i: int, loaded: tuple[User, StorageUnit]) -> str | None:
        actor, box = loaded
        return storage.place(db.session, actor=actor, now=FIXED_NOW, box=box,
                             scanned="S-2026-888888").position

    winners, refused = split(race(race_app, 2, prepare, act))
    assert len(winners) == 1 and len(refused) == 1 and isinstance(refused[0], ConflictError)
    with race_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Aliquot)
                                 .where(Aliquot.sample_id == sample_id)) == 1


@needs_postgres
def test_one_tube_checked_out_once(race_app: Flask) -> None:
    """Four technicians take the same tube for their runs at once: one checkout, one event."""
    user_ids = _base(race_app)
    with race_app.app_context():
        actor = db.session.get(User, user_ids[0])
        rack = db.session.scalars(sa.select(StorageUnit).where(StorageUnit.code == "RACE-R")).one()
        box = storage.create_unit(db.session, actor=actor, now=FIXED_NOW, level=UnitLevel.BOX,
                                  code="RACE-OUT", parent=rack, n_rows=2, n_cols=2,
                                  sample_kind=SampleKind.SALT)
        tube_id = storage.place(db.session, actor=actor, now=FIXED_NOW, box=box,
                                scanned=_salt("S-2026-777777").accession).id
        db.session.commit()

    def prepare(i: int) -> tuple[User, Aliquot]:
        return db.session.get(User, user_ids[i]), db.session.get(Aliquot, tube_id)

    def act(i: int, loaded: tuple[User, Aliquot]) -> int:
        actor, tube = loaded
        storage.check_out(db.session, actor=actor, now=FIXED_NOW, tube=tube, purpose=f"run {i}")
        return i

    winners, refused = split(race(race_app, N, prepare, act))
    assert len(winners) == 1 and len(refused) == N - 1
    with race_app.app_context():
        tube = db.session.get(Aliquot, tube_id)
        assert tube.checked_out_for == f"run {winners[0]}"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "aliquot_checked_out", AuditEvent.entity_id == tube_id)) == 1
