"""The report worker loop: claim a queued job, build it, repeat (``lims report worker``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Self

import psycopg
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from lims.audit.sealing import Sealer
from lims.core.dt import now_utc
from lims.core.errors import ConflictError
from lims.extensions import db
from lims.reporting.jobs import (
    NOTIFY_CHANNEL,
    PDF_ISSUED,
    BuiltPdf,
    JobLost,
    attach_tables,
    beat,
    build_pdf,
    build_tables,
    claim_next,
    fail_job,
    issue_pdf,
    own_job,
    recover_abandoned,
    renumber,
)
from lims.reporting.models import ReportJob

log = logging.getLogger(__name__)
#: Builds of the same report issuing at once take versions one after another: a build whose
#: version was taken renders again under the next one, this many times at most.
ISSUE_ATTEMPTS = 5
#: The longest wait between tries while the database fails.
MAX_BACKOFF = 60.0
#: With ``once``, how many database errors in a row are waited out before giving up.
ONCE_TRIES = 5


class Heartbeat:
    """Beats for a claimed job every ``interval`` seconds from a thread of its own, so that the
    long steps (reading a million rows, the bootstrap, rendering the PDF) beat as well as the
    progress steps; ``lost`` is set when a beat finds the job no longer this claim's."""

    def __init__(self, engine: sa.Engine, job_id: int, worker: str, interval: float) -> None:
        self.engine, self.job_id, self.worker, self.interval = engine, job_id, worker, interval
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.engine.begin() as conn:
                    if not beat(conn, self.job_id, self.worker, now=now_utc()):
                        self.lost.set()
                        return
            except sa.exc.SQLAlchemyError:  # one missed beat; takeover needs several
                log.warning("report %s: heartbeat not written", self.job_id, exc_info=True)


def progress_writer(job_id: int, worker: str,
                    pulse: Heartbeat | None = None) -> Callable[[int, str], None]:
    """Progress goes through a short transaction of its own, so the page sees it at once while
    the build's own transaction (reading, then storing the PDF) is still open. It is a beat
    too, and where the job turns out lost the build stops (`JobLost`)."""

    def write(percent: int, message: str) -> None:
        if pulse is not None and pulse.lost.is_set():
            raise JobLost(f"report #{job_id} was taken over by another worker")
        with db.engine.begin() as conn:
            if not beat(conn, job_id, worker, now=now_utc(), progress=percent,
                        progress_message=message[:300]):
                raise JobLost(f"report #{job_id} was taken over by another worker")
        log.info("report %s: %d%% %s", job_id, percent, message)

    return write


def issue_next_version(session: Session, job_id: int, worker: str, built: BuiltPdf,
                       progress: Callable[[int, str], None]) -> BuiltPdf:
    """Issue the built PDF (committed); when a build of the same report requested at the same
    time issued its version first, render it again under the next one and retry, so that each
    build issues one version and none fails for having been second. Returns what was issued."""
    for attempt in range(1, ISSUE_ATTEMPTS + 1):
        try:
            issue_pdf(session, own_job(session, job_id, worker, now=now_utc()), built,
                      now=now_utc())
            session.commit()
            return built
        except (ConflictError, sa.exc.IntegrityError):  # that version was issued meanwhile
            session.rollback()
            if attempt == ISSUE_ATTEMPTS:
                raise
        progress(70, "another version of this report was issued meanwhile; numbering this one"
                     " again")
        built = renumber(session, session.get_one(ReportJob, job_id), built)
        session.rollback()
    raise AssertionError("unreachable")  # pragma: no cover


def run_one(extra_progress: Callable[[int, str], None] | None = None) -> ReportJob | None:
    """Build the oldest queued job, if any; returns it (done or failed, or as another worker
    left it when this one lost it)."""
    session = db.session
    job = claim_next(session, now=now_utc())
    if job is None:
        return None
    job_id, worker = job.id, job.worker or ""
    interval = float(current_app.config["REPORT_HEARTBEAT_SECONDS"])
    with Heartbeat(db.engine, job_id, worker, interval) as pulse:
        write = progress_writer(job_id, worker, pulse)

        def progress(percent: int, message: str) -> None:
            write(percent, message)
            if extra_progress is not None:
                extra_progress(percent, message)

        try:
            built = build_pdf(session, job, now=now_utc, progress=progress)
            # End the reading transaction before writing: SQLite cannot turn a read snapshot that
            # the progress writes have overtaken into a write.
            session.rollback()
            # The PDF is what the ministry waits for: issue it first, then write the spreadsheet
            # and the results (seconds at national scale) from the same frames.
            built = issue_next_version(session, job_id, worker, built, progress)
            log.info("report %s: PDF issued as version %s", job_id, built.version)
            if extra_progress is not None:
                extra_progress(90, PDF_ISSUED)
            xlsx, results_zip = build_tables(built.data, built.lang, built.params)
            attach_tables(session, own_job(session, job_id, worker, now=now_utc()), xlsx,
                          results_zip, now=now_utc())
            session.commit()
        except JobLost as lost:  # the job is another worker's now: leave it to it
            session.rollback()
            log.warning("%s; stopped building it", lost)
        except Exception as error:  # a failed report must be marked failed, whatever broke
            log.exception("report %s failed", job_id)
            fail_job(session, job_id, now=now_utc(), error=f"{type(error).__name__}: {error}",
                     worker=worker)
    return session.get(ReportJob, job_id)


def run_worker(app: Flask, *, once: bool = False, poll: float = 2.0,
               should_stop: Callable[[], bool] = lambda: False) -> int:
    """Work until stopped (or, with ``once``, until the queue is empty); returns jobs built.

    Before each look at the queue it takes over jobs whose worker stopped beating for
    ``REPORT_TAKEOVER_SECONDS``. On PostgreSQL an idle worker LISTENs for the NOTIFY of a new
    request and starts at once; ``poll`` then only bounds how long it waits before looking again
    (and checking ``should_stop``), so keep it well under the takeover time. Elsewhere it looks
    every ``poll`` seconds."""
    built = 0
    failures = 0
    with app.app_context():
        engine = db.engine
    stale_after = timedelta(seconds=float(app.config["REPORT_TAKEOVER_SECONDS"]))
    max_attempts = int(app.config["REPORT_MAX_ATTEMPTS"])
    sealer = PeriodicSealer(engine, float(app.config["AUDIT_SEAL_SECONDS"]))
    with _wake_up_call(engine) as wait:
        while not should_stop():
            try:
                with app.app_context():
                    for job_id in recover_abandoned(
                            db.session, now=now_utc(), stale_after=stale_after,
                            max_attempts=max_attempts):
                        log.warning("report %s: its worker stopped responding; recovered", job_id)
                    # after the takeover (seconds count there), before the build (whose cover
                    # prints the audit head)
                    sealer.maybe_run()
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


class PeriodicSealer:
    """The audit sealer (`lims.audit.sealing`) run from the worker's loop every ``interval``
    seconds; a database error only postpones it to the next round."""

    def __init__(self, engine: sa.Engine, interval: float) -> None:
        self.sealer, self.interval = Sealer(engine), interval
        self.due = time.monotonic()

    def maybe_run(self) -> None:
        if time.monotonic() < self.due:
            return
        self.due = time.monotonic() + self.interval
        try:
            sealed = self.sealer.run_once(now=now_utc())
        except sa.exc.SQLAlchemyError as error:
            log.warning("audit sealer: database error (%s); sealing next round",
                        str(error).splitlines()[0][:200])
            return
        if sealed:
            log.info("audit sealer: %d event(s) sealed", sealed)


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
