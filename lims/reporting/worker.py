"""The report worker loop: claim a queued job, build it, repeat (``lims report worker``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
from flask import Flask

from lims.core.dt import now_utc
from lims.extensions import db
from lims.reporting.jobs import (
    NOTIFY_CHANNEL,
    PDF_ISSUED,
    attach_tables,
    build_pdf,
    build_tables,
    claim_next,
    fail_job,
    issue_pdf,
    recover_abandoned,
)
from lims.reporting.models import ReportJob

log = logging.getLogger(__name__)
#: The longest wait between tries while the database fails.
MAX_BACKOFF = 60.0
#: With ``once``, how many database errors in a row are waited out before giving up.
ONCE_TRIES = 5


def progress_writer(job_id: int) -> Callable[[int, str], None]:
    """Progress goes through a short transaction of its own, so the page sees it at once while
    the build's own transaction (reading, then storing the PDF) is still open."""

    def write(percent: int, message: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(sa.update(ReportJob).where(ReportJob.id == job_id)
                         .values(progress=percent, progress_message=message[:300],
                                 heartbeat_at=now_utc()))
        log.info("report %s: %d%% %s", job_id, percent, message)

    return write


def run_one(extra_progress: Callable[[int, str], None] | None = None) -> ReportJob | None:
    """Build the oldest queued job, if any; returns it (done or failed)."""
    session = db.session
    job = claim_next(session, now=now_utc())
    if job is None:
        return None
    write = progress_writer(job.id)

    def progress(percent: int, message: str) -> None:
        write(percent, message)
        if extra_progress is not None:
            extra_progress(percent, message)

    job_id = job.id
    try:
        built = build_pdf(session, job, now=now_utc, progress=progress)
        # End the reading transaction before writing: SQLite cannot turn a read snapshot that
        # the progress writes have overtaken into a write.
        session.rollback()
        # The PDF is what the ministry waits for: issue it first, then write the spreadsheet and
        # the results (seconds at national scale) from the same frames.
        issue_pdf(session, session.get_one(ReportJob, job_id), built, now=now_utc())
        session.commit()
        log.info("report %s: PDF issued as version %s", job_id, built.version)
        if extra_progress is not None:
            extra_progress(90, PDF_ISSUED)
        xlsx, results_zip = build_tables(built.data, built.lang)
        attach_tables(session, session.get_one(ReportJob, job_id), xlsx, results_zip, now=now_utc())
        session.commit()
    except Exception as error:  # a failed report must be marked failed, whatever broke
        log.exception("report %s failed", job_id)
        fail_job(session, job_id, now=now_utc(), error=f"{type(error).__name__}: {error}")
    return session.get(ReportJob, job_id)


def run_worker(app: Flask, *, once: bool = False, poll: float = 2.0,
               should_stop: Callable[[], bool] = lambda: False) -> int:
    """Work until stopped (or, with ``once``, until the queue is empty); returns jobs built.

    On PostgreSQL an idle worker LISTENs for the NOTIFY of a new request and starts at once;
    ``poll`` then only bounds how long it waits before looking again (and checking
    ``should_stop``). Elsewhere it looks every ``poll`` seconds."""
    built = 0
    failures = 0
    with app.app_context():
        engine = db.engine
    with _wake_up_call(engine) as wait:
        while not should_stop():
            try:
                with app.app_context():
                    for job_id in recover_abandoned(db.session, now=now_utc()):
                        log.warning("report %s: its worker stopped responding; recovered", job_id)
                    job = run_one()
            except sa.exc.SQLAlchemyError as error:
                # A locked or unreachable database is a passing state: the worker waits and
                # looks again rather than die and leave every later report queued.
                failures += 1
                if once and failures > ONCE_TRIES:
                    raise  # a one-off run reports a database that stays down
                delay = min(poll * 2 ** min(failures, 10), MAX_BACKOFF)
                log.warning("report worker: database error (%s), next try in %.0f s",
                            str(error).splitlines()[0][:200], delay)
                time.sleep(delay)
                continue
            failures = 0
            if job is not None:
                built += 1
                continue
            if once:
                break
            try:
                wait(poll)
            except psycopg.Error as error:  # the LISTEN connection was lost (server restart)
                log.warning("report worker: lost the wake-up connection (%s); polling every %.0f s",
                            type(error).__name__, poll)
                wait = time.sleep
    return built


@contextmanager
def _wake_up_call(engine: sa.Engine) -> Iterator[Callable[[float], None]]:
    """A function that waits up to its argument in seconds, returning early when a report is
    requested (PostgreSQL LISTEN on a connection of its own, listening before the first look at
    the queue, so no request is missed; plain sleep elsewhere)."""
    if engine.dialect.name != "postgresql":
        yield time.sleep
        return
    raw = engine.raw_connection()
    listener = raw.driver_connection
    raw.detach()  # autocommit and LISTEN stay with this connection, never go back to the pool
    try:
        listener.autocommit = True
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")

        def wait(seconds: float) -> None:
            for _ in listener.notifies(timeout=seconds, stop_after=1):
                break

        yield wait
    finally:
        listener.close()
