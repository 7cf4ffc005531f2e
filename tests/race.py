"""The race fixture: N threads released together by a barrier, each with its own app context
(so its own session and database connection), calling the real service or the real HTTP layer.

It reproduces what several gunicorn workers over one PostgreSQL database do when people click
the same thing within the same few milliseconds: every thread first reads the rows as its
request would (``prepare``), then all act at once (``act``) and commit. A thread that a service
refuses rolls back, as the error handlers do. The outcome of each thread is returned in order:
what ``act`` returned, or the exception it raised.

Races need real commits seen by several connections, so the fixture ``race_app`` is an app over
its own migrated database (one per test module); the race tests run on PostgreSQL only — SQLite
serialises every writing request at BEGIN IMMEDIATE, so there is no race to lose there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lims.core.errors import LimsError
from lims.extensions import db
from tests.conftest import fresh_database, is_postgres, make_app, migrate_and_seed

P = TypeVar("P")

JOIN_TIMEOUT_S = 60

needs_postgres = pytest.mark.skipif(
    not is_postgres(),
    reason="race tests need concurrent writers: set LIMS_TEST_DATABASE_URL to a PostgreSQL server"
           " (SQLite serialises writing requests, so there is nothing to race)",
)


@pytest.fixture(scope="module")
def race_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app over a fresh migrated database whose commits are real (no rolled-back outer
    transaction): what one test commits, every thread's connection sees."""
    tmp: Path = tmp_path_factory.mktemp("race")
    with fresh_database(tmp) as url:
        migrate_and_seed(make_app(url))
        app = make_app(url)
        yield app
        with app.app_context():
            db.engine.dispose()


def race(app: Flask, n: int, prepare: Callable[[int], P],
         act: Callable[[int, P], Any]) -> list[Any]:
    """Run ``prepare(i)`` then, all threads together, ``act(i, prepared)`` in ``n`` threads, each
    inside its own POST request context; commit after ``act``, roll back on an exception.
    Returns per thread what ``act`` returned or the exception it raised (``LimsError`` for a
    refusal; anything else is a failure the test reports)."""
    barrier = threading.Barrier(n, timeout=JOIN_TIMEOUT_S)
    outcomes: list[Any] = [None] * n

    def worker(i: int) -> None:
        try:
            with app.test_request_context(method="POST"):
                prepared = prepare(i)
                barrier.wait()
                try:
                    outcomes[i] = act(i, prepared)
                    db.session.commit()
                except BaseException:
                    db.session.rollback()
                    raise
        except BaseException as exc:  # handed to the main thread
            outcomes[i] = exc

    threads = [threading.Thread(target=worker, args=(i,), name=f"race-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a racing thread hung (deadlock?)"
    return outcomes


def race_clients(clients: list[FlaskClient],
                 request: Callable[[FlaskClient, int], Any]) -> list[Any]:
    """The same race through the HTTP layer: one test client per thread (each logged in as
    the test wants, and reusable across rounds); returns what each ``request(client, i)``
    returned (e.g. the status code) or the exception it raised."""
    barrier = threading.Barrier(len(clients), timeout=JOIN_TIMEOUT_S)
    outcomes: list[Any] = [None] * len(clients)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = request(clients[i], i)
        except BaseException as exc:  # handed to the main thread
            outcomes[i] = exc

    threads = [threading.Thread(target=worker, args=(i,), name=f"race-http-{i}")
               for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a racing thread hung (deadlock?)"
    return outcomes


def split(outcomes: list[Any]) -> tuple[list[Any], list[LimsError]]:
    """(winners' return values, refusals); any other exception fails the test here."""
    unexpected = [o for o in outcomes if isinstance(o, BaseException)
                  and not isinstance(o, LimsError)]
    if unexpected:
        raise AssertionError(f"unexpected errors in racing threads: {unexpected!r}") from (
            unexpected[0])
    refused = [o for o in outcomes if isinstance(o, LimsError)]
    return [o for o in outcomes if not isinstance(o, BaseException)], refused


def school_cluster(session: Any, now: Any) -> Any:
    """A 2026 survey round in KZ-11 with one school cluster (added to ``session``, not committed):
    the place where the race tests register their samples."""
    from datetime import date

    import sqlalchemy as sa

    from lims.monitoring.models import (
        Cluster,
        District,
        PopulationGroup,
        Programme,
        Region,
        SurveyRound,
    )

    region = session.scalars(sa.select(Region).where(Region.iso_code == "KZ-11")).one()
    survey_round = SurveyRound(
        programme=Programme(code="NIS", name="National iodine survey", created_at=now),
        code="R-2026", name="2026", period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31), created_at=now, status="active", regions=[region],
        groups=list(session.scalars(sa.select(PopulationGroup))))
    district = District(region=region, code="D1", name_en="D", name_kk="D", name_ru="D")
    cluster = Cluster(round=survey_round, district=district, region=region, code="C-1",
                      name="School 1", site_type="school", target_count=1000)
    session.add(cluster)
    return cluster
