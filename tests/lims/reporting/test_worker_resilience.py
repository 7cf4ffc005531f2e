"""The report worker never dies of a passing database error: it logs one line, waits and carries
on; and the reports page says when reports wait because no worker runs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.dt import now_utc
from lims.core.permissions import Role
from lims.extensions import db
from lims.reporting import worker
from lims.reporting.data import ReportScope
from lims.reporting.jobs import ReportRequest, request_report
from lims.reporting.models import JobStatus, ReportJob
from lims.reporting.worker import run_worker
from tests.lims.reporting.test_jobs import report_app, round_id  # noqa: F401 - the fixture

LOCK_WAIT_MS = 100


def queue_report(app: Flask) -> int:
    with app.app_context():
        job = request_report(db.session, actor=None, now=now_utc(), request=ReportRequest(
            ReportScope(round_id=round_id(app)), lang="en"))
        db.session.commit()
        return job.id


def status_of(app: Flask, job_id: int) -> JobStatus:
    with app.app_context():
        return db.session.get_one(ReportJob, job_id).status


def work_until_done(app: Flask, job_id: int, timeout: float = 60) -> threading.Thread:
    """A worker in a thread of its own, polling briskly, stopped once the job is done."""
    deadline = time.monotonic() + timeout

    def stop() -> bool:
        if time.monotonic() > deadline:
            return True
        try:
            return status_of(app, job_id) is JobStatus.DONE
        except sa.exc.OperationalError:  # PostgreSQL: the lock keeps this look out too
            return False

    thread = threading.Thread(target=lambda: run_worker(app, poll=0.05, should_stop=stop))
    thread.start()
    return thread


@contextmanager
def impatient_connections(app: Flask) -> Iterator[None]:
    """The app's connections give up waiting for a lock after LOCK_WAIT_MS (SQLite's
    busy_timeout, PostgreSQL's lock_timeout)."""
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "connect")
    def impatient(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        else:
            cursor.execute(f"SET lock_timeout = '{LOCK_WAIT_MS}ms'")
            dbapi_connection.commit()
        cursor.close()

    engine.dispose()  # every connection from now on is an impatient one
    try:
        yield
    finally:
        sa.event.remove(engine, "connect", impatient)
        engine.dispose()


@contextmanager
def lock_held(app: Flask) -> Iterator[None]:
    """Another connection holds the lock the worker needs (SQLite's write lock, or the whole
    report_jobs table on PostgreSQL)."""
    with app.app_context():
        blocker = sa.create_engine(db.engine.url)
    try:
        with blocker.connect() as conn:
            if blocker.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN EXCLUSIVE")
            else:
                conn.begin()
                conn.exec_driver_sql("LOCK TABLE report_jobs IN ACCESS EXCLUSIVE MODE")
            yield
            conn.rollback()
    finally:
        blocker.dispose()


def test_the_worker_survives_a_lock_held_past_its_wait(
    report_app: Flask, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    job_id = queue_report(report_app)
    caplog.set_level(logging.WARNING, logger=worker.__name__)
    with impatient_connections(report_app):
        with lock_held(report_app):
            thread = work_until_done(report_app, job_id)
            time.sleep(1.5)  # several tries fail meanwhile
            assert thread.is_alive()
        thread.join(timeout=90)
    assert not thread.is_alive()
    assert status_of(report_app, job_id) is JobStatus.DONE
    errors = [r for r in caplog.records if "database error" in r.getMessage()]
    assert errors and all("\n" not in r.getMessage() for r in errors)  # one line each


def test_the_worker_survives_a_database_error_and_builds_the_next_job(
    report_app: Flask, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    real_claim = worker.claim_next
    failures = iter([sa.exc.OperationalError("UPDATE report_jobs", {}, Exception("gone away"))] * 3)

    def flaky_claim(*args: Any, **kwargs: Any) -> ReportJob | None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(worker, "claim_next", flaky_claim)
    job_id = queue_report(report_app)
    work_until_done(report_app, job_id).join(timeout=90)
    assert status_of(report_app, job_id) is JobStatus.DONE


def _queued(session: Session, *, now: Any, request: ReportRequest) -> ReportJob:
    """A request as it waits in the queue (the listing is under test, not the scope's data:
    ``request_report`` would refuse this empty database's scope)."""
    job = ReportJob(kind="monitoring", params=request.params(), params_key=request.key,
                    lang=request.lang, title="report", status=JobStatus.QUEUED, progress=0,
                    progress_message="waiting for a worker", requested_at=now)
    session.add(job)
    session.flush()
    return job


@pytest.mark.parametrize("worked_before", [False, True])
def test_the_page_says_when_no_worker_runs(
    session: Session, make_user: Callable[..., User], login: Callable[[User], FlaskClient],
    worked_before: bool,
) -> None:
    client = login(make_user(Role.MINISTRY))
    scope = ReportScope(year=2026)
    now = now_utc()
    if worked_before:
        done = _queued(session, now=now - timedelta(hours=3),
                              request=ReportRequest(scope, lang="ru"))
        done.status, done.started_at = JobStatus.FAILED, now - timedelta(hours=2, minutes=58)
        done.finished_at = now - timedelta(hours=2, minutes=57)
    _queued(session, now=now - timedelta(minutes=1),
                   request=ReportRequest(scope, lang="en"))
    session.commit()
    page = client.get("/reports/").get_data(as_text=True)
    assert "Reports are waiting" not in page  # a minute is not long: a worker may be starting
    _queued(session, now=now - timedelta(minutes=5),
                   request=ReportRequest(scope, lang="kk"))
    session.commit()
    page = client.get("/reports/").get_data(as_text=True)
    if worked_before:
        assert "Reports are waiting: no report worker has been running since" in page
    else:
        assert "Reports are waiting: no report worker has run yet." in page


def test_the_worker_polls_when_its_wake_up_connection_is_lost(
    report_app: Flask, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    """PostgreSQL: the LISTEN connection dies (a server restart, a proxy timeout); the worker
    says so once and keeps building by polling."""
    with report_app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; elsewhere the worker polls anyway")
    caplog.set_level(logging.WARNING, logger=worker.__name__)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: run_worker(report_app, poll=0.2,
                                                        should_stop=stop.is_set))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        killed = 0
        while not killed and time.monotonic() < deadline:
            with engine.connect() as conn:
                killed = len(conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query LIKE 'LISTEN%' AND datname = current_database()")).all())
            time.sleep(0.1)
        assert killed
        job_id = queue_report(report_app)
        deadline = time.monotonic() + 60
        while status_of(report_app, job_id) is not JobStatus.DONE and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status_of(report_app, job_id) is JobStatus.DONE
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=60)
    assert sum("lost the wake-up connection" in r.getMessage() for r in caplog.records) == 1
