"""Accession numbers under concurrent intake: many threads, each with its own connection and
transaction, register and commit at the same time; the numbers must be distinct and gap-free.
On PostgreSQL the counter row's lock does it; on SQLite, the write lock taken at the first write."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from lims.auth.services import create_user
from lims.core.permissions import Role
from lims.extensions import db
from lims.monitoring.models import Cluster, District, PopulationGroup, Programme, Region, SurveyRound
from lims.samples.accession import parse_accession
from lims.samples.models import AccessionCounter, Sample, SampleKind
from lims.samples.registration import register_salt_sample, register_urine_sample
from tests.conftest import FIXED_NOW, make_app

THREADS = 8
PER_THREAD = 25


def set_up(app) -> tuple[int, int]:
    """A user and a cluster, committed so every connection sees them."""
    with app.app_context():
        session = db.session
        region = session.scalars(sa.select(Region).where(Region.iso_code == "KZ-11")).one()
        survey_round = SurveyRound(
            programme=Programme(code="NIS", name="National iodine survey", created_at=FIXED_NOW),
            code="R-2026", name="2026", period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
            created_at=FIXED_NOW, status="active", regions=[region],
            groups=list(session.scalars(sa.select(PopulationGroup))),
        )
        district = District(region=region, code="D1", name_en="D", name_kk="D", name_ru="D")
        cluster = Cluster(round=survey_round, district=district, region=region, code="C-1", name="School 1",
                          site_type="school", target_count=THREADS * PER_THREAD)
        session.add(cluster)
        user = create_user(session, actor=None, now=FIXED_NOW, username="tech", password="correct-horse-9",
                           roles=[Role.TECHNICIAN])
        session.commit()
        return user.id, cluster.id


def run_in_parallel(app, work: Callable[[int, int], None]) -> list[BaseException]:
    """``work(thread, i)`` PER_THREAD times in each of THREADS threads, each call in its own app
    and request context (so its own session and connection) and committed on its own."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(thread: int) -> None:
        try:
            barrier.wait()
            for i in range(PER_THREAD):
                with app.test_request_context(method="POST"):  # intake is a POST
                    work(thread, i)
                    db.session.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return errors


def registered_numbers(app, kind: SampleKind) -> list[int]:
    with app.app_context():
        accessions = db.session.scalars(sa.select(Sample.accession).where(Sample.kind == kind)).all()
        counter = db.session.get(AccessionCounter, (kind, FIXED_NOW.year))
        assert counter is not None and counter.last_value == len(accessions)
    parsed = [parse_accession(a) for a in accessions]
    assert all(p is not None and p[1] == FIXED_NOW.year for p in parsed)
    return sorted(p[2] for p in parsed if p is not None)


def test_parallel_intake_gets_distinct_consecutive_numbers(new_database):
    app = make_app(new_database())
    user_id, cluster_id = set_up(app)
    collected = FIXED_NOW - timedelta(hours=1)

    def register(thread: int, i: int) -> None:
        from lims.auth.models import User

        actor = db.session.get(User, user_id)
        if i % 5 == 0:
            register_salt_sample(db.session, actor=actor, now=FIXED_NOW, cluster_id=cluster_id,
                                 household_code=f"H-{thread}-{i}", salt_source="household", brand=None,
                                 packaging=None, iodized_per_label=None, collected_at=collected)
        else:
            register_urine_sample(db.session, actor=actor, now=FIXED_NOW, cluster_id=cluster_id,
                                  participant_code=f"P-{thread}-{i}", age_months=100, sex="F",
                                  physiological_status="none", population_group_code="SAC",
                                  household_code=f"H-{thread}-{i}", volume_ml=Decimal("3"),
                                  container="cryovial", collected_at=collected)

    errors = run_in_parallel(app, register)
    assert errors == []
    urine = registered_numbers(app, SampleKind.URINE)
    salt = registered_numbers(app, SampleKind.SALT)
    assert urine == list(range(1, THREADS * PER_THREAD * 4 // 5 + 1))
    assert salt == list(range(1, THREADS * PER_THREAD // 5 + 1))
    with app.app_context():
        db.engine.dispose()


def test_parallel_blocks_of_numbers_do_not_overlap(new_database):
    """Batches take a block each, first-of-the-year counter creation included (ON CONFLICT).
    On PostgreSQL the counter row lock serialises them; on SQLite a POST's transaction takes the
    write lock when it begins (lims.extensions), so writers queue instead of failing."""
    from lims.samples.registration import next_accession_numbers

    app = make_app(new_database())
    blocks: list[list[int]] = []

    def take_block(thread: int, i: int) -> None:
        blocks.append(next_accession_numbers(db.session, SampleKind.URINE, 2040, count=thread + 1))

    assert run_in_parallel(app, take_block) == []
    numbers = sorted(n for block in blocks for n in block)
    assert numbers == list(range(1, PER_THREAD * sum(range(1, THREADS + 1)) + 1))
    assert all(block == list(range(block[0], block[0] + len(block))) for block in blocks)
    with app.app_context():
        db.engine.dispose()
