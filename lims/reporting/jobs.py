"""Monitoring reports as background jobs: request, claim, build with progress, freeze.

Why a job table and not a thread in the web worker: a national report reads up to a million rows
and renders a long PDF (seconds), which must never hold a web worker; and the app keeps no state
in its processes, so any number of `lims report worker` processes on any host can share the
queue. A worker claims a job with one conditional UPDATE (the loser of a race updates nothing),
writes its progress through a connection of its own (so the page shows it while the build's
transaction is still open), and stores the result once: a done job is never changed again.
A building worker beats a heartbeat every few seconds (a thread of its own, so that long steps
beat too); a job whose worker died in the middle is taken over by the next worker that looks
(`recover_abandoned`), seconds after its last beat, and a worker that lost its job (taken over
while it was merely stalled) notices at its next beat and stops without touching it: every write
of a build is conditional on the job still being running under the claim's worker name.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
import socket
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from babel.support import NullTranslations
from flask import current_app
from flask_babel import force_locale, get_translations
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.audit.sealing import head_text
from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.errors import ConflictError, NotFoundError, ValidationError
from lims.monitoring.models import SurveyRound
from lims.reporting.data import (
    LAB_TIMEZONE,
    TREND_PERIODS,
    ReportScope,
    corrections_since,
    has_verified_results,
    load_frames,
    merged_units,
    region_names,
)
from lims.reporting.models import JobStatus, ReportJob
from lims.reporting.qa import qa_sections
from reports import exports
from reports.criteria import DEFAULT_FLAG_GROUPS, DEFAULT_SALT, SCHEMES
from reports.monitoring_report import (
    MonitoringData,
    ReportParams,
    prepare_monitoring_data,
    render_monitoring_report,
)
from reports.stats import StatsParams
from reports.texts import LANGUAGES

log = logging.getLogger(__name__)

REPORT_ENTITY = "report"
#: Tables of de-identified results: shipped as CSV in a ZIP, not in the spreadsheet.
RESULT_TABLES = ("urine_results", "salt_results")
Progress = Callable[[int, str], None]
#: Progress message from the moment the PDF is downloadable.
PDF_ISSUED = "PDF issued; writing the spreadsheet and the results"
#: PostgreSQL channel on which a new request wakes idle workers.
NOTIFY_CHANNEL = "report_jobs"
#: A running job with no heartbeat for this long was abandoned (``REPORT_TAKEOVER_SECONDS``).
STALE_AFTER = timedelta(seconds=30)
#: Claims of one job before it is failed rather than taken over again (``REPORT_MAX_ATTEMPTS``).
MAX_ATTEMPTS = 3


class JobLost(Exception):
    """The job is no longer this worker's claim: another worker took it over after missed
    heartbeats (or it was finished meanwhile). The worker stops building it and writes nothing."""


def worker_name() -> str:
    """Host, process and a token of the claim: a worker knows its own claim from a later one,
    even on the same host."""
    return f"{socket.gethostname()[:90]}:{os.getpid()}:{secrets.token_hex(4)}"


def beat(connection: sa.Connection | Session, job_id: int, worker: str, *, now: datetime,
         **values: Any) -> bool:
    """The heartbeat (with any progress ``values``), written only while the job is still running
    under this claim; False when it is not (the worker lost the job). As the first statement of a
    transaction it also takes the write lock on SQLite before anything is read."""
    return bool(connection.execute(
        sa.update(ReportJob)
        .where(ReportJob.id == job_id, ReportJob.status == JobStatus.RUNNING,
               ReportJob.worker == worker)
        .values(heartbeat_at=now, **values)).rowcount)


def own_job(session: Session, job_id: int, worker: str, *, now: datetime) -> ReportJob:
    """The job, if it is still this worker's claim (beating first, so the row is this
    transaction's to write); `JobLost` otherwise."""
    if not beat(session, job_id, worker, now=now):
        raise JobLost(f"report #{job_id} is no longer claimed by {worker}")
    return session.get_one(ReportJob, job_id)


@dataclass(frozen=True)
class ReportRequest:
    scope: ReportScope
    lang: str
    scheme: str = "WHO2007"

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ValidationError(f"language must be one of {', '.join(LANGUAGES)}", field="lang")
        if self.scheme not in SCHEMES:
            raise ValidationError(f"scheme must be one of {', '.join(SCHEMES)}", field="scheme")

    def params(self) -> dict[str, Any]:
        return {"scope": self.scope.to_dict(), "lang": self.lang, "scheme": self.scheme}

    @property
    def key(self) -> str:
        """Reports with the same scope, language and scheme are versions of one another."""
        return hashlib.sha256(json.dumps(self.params(), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ReportRequest:
        return cls(ReportScope.from_dict(params["scope"]), params["lang"], params["scheme"])


def title_of(session: Session, request: ReportRequest) -> str:
    scope = request.scope
    if scope.round_id is not None:
        survey_round = session.get(SurveyRound, scope.round_id)
        if survey_round is None:
            raise NotFoundError(f"no survey round with id {scope.round_id}", field="round_id")
        what = f"{survey_round.code} · {survey_round.name}"
    else:
        what = f"samples collected in {scope.year}"
    parts = [what, scope.region or "all regions"]
    if scope.group:
        parts.append(scope.group)
    return f"Monitoring report — {', '.join(parts)} ({request.lang}, {request.scheme})"


def request_report(session: Session, *, actor: User | None, now: datetime,
                   request: ReportRequest) -> ReportJob:
    """Queue a report. A scope without a single verified result is refused here (a message on
    the form), not left to fail in the worker."""
    title = title_of(session, request)
    timezone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", LAB_TIMEZONE)
    if not has_verified_results(session, request.scope, timezone=timezone):
        raise ValidationError(_("There are no verified results in this scope yet: nothing to "
                                 "report. Choose another round or year, or verify the results "
                                 "first."), field="scope")
    job = ReportJob(kind="monitoring", params=request.params(), params_key=request.key,
                    lang=request.lang, title=title[:300],
                    status=JobStatus.QUEUED, progress=0, progress_message="waiting for a worker",
                    requested_at=now, requested_by_id=actor.id if actor else None)
    session.add(job)
    session.flush()
    record_event(session, actor=actor, now=now, action="report_requested", entity_type=REPORT_ENTITY,
                 entity_id=job.id, entity_label=f"report #{job.id}", changes={"params": job.params})
    if session.get_bind().dialect.name == "postgresql":
        # wakes an idle worker (`run_worker`) the moment the request commits; NOTIFY is
        # transactional, so a request rolled back wakes nobody
        session.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, str(job.id))))
    return job


def claim_next(session: Session, *, now: datetime, worker: str | None = None) -> ReportJob | None:
    """Take the oldest queued job, or None. One statement, safe with several workers: a worker
    that loses the race for a row updates nothing (PostgreSQL re-checks ``status`` after the
    winner commits; SQLite serialises writers)."""
    oldest = (sa.select(ReportJob.id).where(ReportJob.status == JobStatus.QUEUED)
              .order_by(ReportJob.id).limit(1).scalar_subquery())
    claimed = session.execute(
        sa.update(ReportJob)
        .where(ReportJob.id == oldest, ReportJob.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, progress=1,
                progress_message="started", worker=worker or worker_name(),
                attempts=ReportJob.attempts + 1)
        .returning(ReportJob.id)
    ).scalar_one_or_none()
    session.commit()
    return session.get(ReportJob, claimed) if claimed is not None else None


def recover_abandoned(session: Session, *, now: datetime, stale_after: timedelta = STALE_AFTER,
                      max_attempts: int = MAX_ATTEMPTS) -> list[int]:
    """Jobs whose worker stopped in the middle (killed, out of memory, host lost), seen by their
    heartbeat: one not yet issued is queued again for another worker to take over, unless it
    has been claimed ``max_attempts`` times already (then it is failed, saying so); one whose
    PDF was issued is marked failed, the PDF kept (its spreadsheet and results were lost with
    the worker). Each change is one conditional UPDATE, so workers recovering at once cannot
    both act on a job. Returns the ids."""
    cutoff = now - stale_after
    last_sign = sa.func.coalesce(ReportJob.heartbeat_at, ReportJob.started_at)
    stale = session.execute(sa.select(ReportJob.id, ReportJob.version, ReportJob.worker,
                                      ReportJob.attempts)
                            .where(ReportJob.status == JobStatus.RUNNING, last_sign < cutoff)).all()
    recovered = []
    for job_id, version, worker, attempts in stale:
        message = f"worker {worker} stopped responding"
        if version is None and attempts < max_attempts:
            values: dict[str, Any] = {
                "status": JobStatus.QUEUED, "progress": 0, "worker": None, "started_at": None,
                "heartbeat_at": None,
                "progress_message": f"{message}; waiting for a worker again",
            }
        elif version is None:
            values = {
                "status": JobStatus.FAILED, "finished_at": now, "progress_message": "failed",
                "error": f"{message}, on each of its {attempts} attempts: the report was given up"
                         " (a scope too large for the workers' memory?). Request it again,"
                         " or ask the administrator to look at the workers' logs.",
            }
        else:
            values = {
                "status": JobStatus.FAILED, "finished_at": now, "progress_message": "failed",
                "error": f"{message} after the PDF was issued: the spreadsheet and results"
                         " were not written (the PDF stands; request the report again for"
                         " them)",
            }
        changed = session.execute(sa.update(ReportJob).where(
            ReportJob.id == job_id, ReportJob.status == JobStatus.RUNNING, last_sign < cutoff)
            .values(**values)).rowcount
        if changed:
            recovered.append(job_id)
            record_event(session, actor=None, now=now, action="report_recovered",
                         entity_type=REPORT_ENTITY, entity_id=job_id,
                         entity_label=f"report #{job_id}",
                         changes={"status": {"before": JobStatus.RUNNING,
                                             "after": values["status"]}},
                         reason=message)
    session.commit()
    return recovered


@dataclass(frozen=True)
class BuiltPdf:
    """A rendered report waiting to be issued, with the data its tables are written from."""

    pdf: bytes
    dataset_sha256: str
    dataset_rows: int
    version: int
    data: MonitoringData
    params: ReportParams
    lang: str
    annex: dict[str, Any]


def report_catalogue(lang: str) -> NullTranslations:
    """The application's gettext catalogue for ``lang``, for a document in that language
    whatever the reader's own (works in a request, the CLI and the worker alike)."""
    with force_locale(lang):
        return get_translations()


def stats_params(scheme: str) -> StatsParams:
    """The statistics' parameters from the configuration: the national salt standard's range
    (``REPORT_SALT_NATIONAL_RANGE``, 25–55 mg/kg today, UNCONFIRMED in law: domain.md §3.5) and
    the groups the "median ≥ 100 and ≤ 20 % below 50" flag is defined for
    (``REPORT_FLAG_GROUPS``, school-age children)."""
    config = current_app.config
    low, high = config.get("REPORT_SALT_NATIONAL_RANGE", DEFAULT_SALT.national_range)
    return StatsParams(
        scheme=SCHEMES[scheme],
        salt=replace(DEFAULT_SALT, national_range=(float(low), float(high))),
        flag_groups=frozenset(config.get("REPORT_FLAG_GROUPS", DEFAULT_FLAG_GROUPS)))


def _next_version(session: Session, job: ReportJob) -> int:
    """Versions count issued reports; a version is taken when the PDF is issued."""
    return 1 + (session.scalar(sa.select(sa.func.max(ReportJob.version))
                               .where(ReportJob.params_key == job.params_key)) or 0)


def build_pdf(session: Session, job: ReportJob, *, now: Callable[[], datetime],
              progress: Progress) -> BuiltPdf:
    """Read, compute and render one report; writes nothing (see `issue_pdf`). The version
    printed is the one the report will get if nothing else of the same scope is issued first;
    `issue_pdf` refuses to issue it under another."""
    request = ReportRequest.from_params(job.params)
    progress(5, "reading verified results")
    frames = load_frames(
        session, request.scope,
        timezone=current_app.config.get("BABEL_DEFAULT_TIMEZONE", LAB_TIMEZONE),
        trend_periods=current_app.config.get("REPORT_TREND_PERIODS", TREND_PERIODS))
    urine, salt = frames.urine, frames.salt
    progress(30, f"computing statistics for {len(urine):,} urine and {len(salt):,} salt samples")
    version = _next_version(session, job)
    catalogue = report_catalogue(request.lang)
    names = region_names(session)
    region = request.scope.region
    timezone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", LAB_TIMEZONE)
    params = ReportParams(
        merged_units=merged_units(session, request.scope, timezone=timezone),
        issued=now().date(), version=str(version),
        stats=stats_params(request.scheme), region_names=names,
        laboratory=catalogue.gettext("Regional Reference Laboratory on IDD"),
        pooled_label=None if region is None else names.get(region)
        or {lang: region for lang in LANGUAGES},
        audit_seal=head_text(session.connection()))
    data = prepare_monitoring_data(urine, salt, params=params, previous=frames.earlier_urine)
    fingerprints = [data.urine_fingerprint, data.salt_fingerprint]
    if data.previous_fingerprint is not None:  # the earlier periods behind the trends
        fingerprints.append(data.previous_fingerprint)
    digest = hashlib.sha256(":".join(h for h, _ in fingerprints).encode()).hexdigest()
    params = replace(params, revision_note=revision_note(session, job, request.scope, digest,
                                                         catalogue=catalogue))
    progress(65, "rendering the PDF")
    annex: dict[str, Any] = {
        "sections": qa_sections(session, request.scope, frames.method_version_ids,
                                lang=request.lang, catalogue=catalogue, timezone=timezone),
        "population_sources": list(frames.population_sources)}
    pdf = render_monitoring_report(data, params=params, lang=request.lang, catalogue=catalogue,
                                   qc_annex=annex)
    return BuiltPdf(pdf, digest, sum(rows for _, rows in fingerprints), version, data, params,
                    request.lang, annex)


def revision_note(session: Session, job: ReportJob, scope: ReportScope, digest: str, *,
                  catalogue: NullTranslations) -> str:
    """What a new version says about its data (in the report's language): whether the dataset
    differs from the previous version's and how many registration fields of its samples were
    corrected since that version was issued (``lims.samples.corrections``). Empty for a first
    version, or when nothing changed."""
    previous = session.scalar(
        sa.select(ReportJob).where(ReportJob.params_key == job.params_key,
                                   ReportJob.version.is_not(None), ReportJob.id != job.id)
        .order_by(ReportJob.version.desc()).limit(1))
    if previous is None:
        return ""
    issued_at = previous.finished_at or previous.heartbeat_at or previous.requested_at
    corrected = corrections_since(
        session, scope, issued_at,
        timezone=current_app.config.get("BABEL_DEFAULT_TIMEZONE", LAB_TIMEZONE))
    if corrected:
        return catalogue.ngettext(
            "The data changed since version %(version)s: %(num)d registration field was "
            "corrected (see each sample's timeline).",
            "The data changed since version %(version)s: %(num)d registration fields were "
            "corrected (see each sample's timeline).", corrected) % {
                "version": previous.version, "num": corrected}
    if previous.dataset_sha256 != digest:
        return catalogue.gettext("The data changed since version %(version)s (results added or "
                                 "changed).") % {"version": previous.version}
    return ""


def renumber(session: Session, job: ReportJob, built: BuiltPdf) -> BuiltPdf:
    """The same report rendered again under the version it would now get: another build of the
    same scope (requested at the same time) issued the one this was printed with. Only the PDF
    is rendered again; the data and statistics stand."""
    version = _next_version(session, job)
    params = replace(built.params, version=str(version))
    pdf = render_monitoring_report(built.data, params=params, lang=built.lang,
                                   catalogue=report_catalogue(built.lang), qc_annex=built.annex)
    return replace(built, pdf=pdf, version=version, params=params)


def issue_pdf(session: Session, job: ReportJob, built: BuiltPdf, *, now: datetime) -> ReportJob:
    """Freeze the PDF on its job with its version and the dataset's fingerprint (in a transaction
    of its own, after the reading one). From here the ministry can download it; the spreadsheet
    and the results follow (`attach_tables`), written from the same frames."""
    if _next_version(session, job) != built.version:
        raise ConflictError("another version of this report was issued meanwhile; build it again")
    job.pdf = built.pdf
    job.dataset_sha256, job.dataset_rows = built.dataset_sha256, built.dataset_rows
    job.version = built.version
    job.progress, job.progress_message = 90, PDF_ISSUED
    job.heartbeat_at = now
    session.flush()
    record_event(session, actor=None, now=now, action="report_issued", entity_type=REPORT_ENTITY,
                 entity_id=job.id, entity_label=f"report #{job.id}",
                 changes={"version": job.version, "dataset_sha256": built.dataset_sha256,
                          "rows": built.dataset_rows,
                          **({"data_changed": built.params.revision_note}
                             if built.params.revision_note else {})})
    return job


def build_tables(data: MonitoringData, lang: str,
                 params: ReportParams | None = None) -> tuple[bytes, bytes]:
    """The spreadsheet of the report's tables, in the report's language (``params``: its
    version, issue date and laboratory for the "About" sheet), and the ZIP of de-identified
    results (CSV, code-style columns for re-analysis)."""
    tables = exports.monitoring_tables(data)
    xlsx = exports.monitoring_workbook(data, lang=lang, catalogue=report_catalogue(lang),
                                       params=params)
    results = io.BytesIO()
    with zipfile.ZipFile(results, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in RESULT_TABLES:
            archive.writestr(f"{name}.csv", exports.to_csv(tables[name]))
    return xlsx, results.getvalue()


def attach_tables(session: Session, job: ReportJob, xlsx: bytes, results_zip: bytes, *,
                  now: datetime) -> ReportJob:
    """Store the spreadsheet and the results beside an issued PDF; the job is then done."""
    if job.version is None:
        raise ConflictError(f"report #{job.id} has no issued PDF to attach tables to")
    job.xlsx, job.results_zip = xlsx, results_zip
    job.status = JobStatus.DONE
    job.progress, job.progress_message = 100, "done"
    job.finished_at = now
    return job


def fail_job(session: Session, job_id: int, *, now: datetime, error: str,
             worker: str | None = None) -> None:
    """Mark a running job failed (only while it is ``worker``'s claim, when given: a job taken
    over meanwhile is the new worker's). A PDF already issued stays issued (and downloadable):
    only what followed it failed, and the error says so."""
    session.rollback()
    if session.scalar(sa.select(ReportJob.version).where(ReportJob.id == job_id)) is not None:
        error = f"the PDF was issued, but the spreadsheet and results could not be written: {error}"
    owned = [ReportJob.worker == worker] if worker is not None else []
    session.execute(sa.update(ReportJob).where(
        ReportJob.id == job_id, ReportJob.status == JobStatus.RUNNING, *owned).values(
        status=JobStatus.FAILED, error=error[:2000], finished_at=now,
        progress_message="failed"))
    session.commit()
