"""The home dashboard's panels: what is waiting for the person who logged in.

A panel is a function ``(session, actor, now) -> Panel | None`` registered with :func:`panel`
under the permissions that may see it; the dashboard shows, in registration order, each panel
the user may see that returns something. Another room adds its own (silent instruments,
calibrations due, the last backup) with the same decorator, in a module of its own that is
imported once at start-up (its views module, say); the panel reads that room's queries.

Every number is one indexed query. Counts that can run into the hundreds of thousands at
national scale (samples waiting, results to review) are counted up to :data:`COUNT_CAP` and
shown as "over" beyond it — one bounded index range, however big the table — while the figure
whose size is the point (samples collected against the round's target) is counted exactly over
``ix_samples_round_kind_status``, after the page is shown (:func:`survey_progress`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.analysis import review_queue
from lims.analysis.models import AnalyticalRun, Result, ResultStatus, RunSample
from lims.analysis.queries import UNDECIDED
from lims.auth.models import User
from lims.capture.models import InstrumentReading, ReadingStatus
from lims.core.dt import local_midnight
from lims.core.permissions import Permission
from lims.core.templating import fmt_number
from lims.monitoring.coverage import default_round
from lims.monitoring.models import Cluster, PopulationGroup
from lims.reporting import published
from lims.reporting.models import JobStatus, ReportJob
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from reports.indicators import indicator_records
from reports.stats import NATIONAL
from reports.texts import METHOD_LABELS

#: Counts stop here (see the module's docstring): beyond a thousand, "over 1,000 waiting" is
#: what a person acts on; the lists themselves count further.
COUNT_CAP = 1000
#: How old a registered sample may be before the dashboard calls it late, in days.
LATE_DAYS = (3, 7)
#: Westgard rejections are shown for this many days.
QC_ALERT_DAYS = 7


@dataclass(frozen=True)
class Tile:
    """One number with what it counts and the list it links to; ``alert`` draws attention."""

    label: str
    count: int
    url: str
    alert: bool = False
    capped: bool = False


@dataclass(frozen=True)
class Link:
    """A line of a panel; ``fill``: a JSON endpoint whose ``label`` and ``note`` replace the
    line's once the page is shown (a figure too slow to hold the page for)."""

    label: str
    url: str
    note: str = ""
    fill: str | None = None


@dataclass
class Panel:
    title: str
    tiles: list[Tile] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)


PanelFunction = Callable[[Session, User, datetime], Panel | None]


@dataclass(frozen=True)
class Registered:
    key: str
    permissions: frozenset[Permission]
    build: PanelFunction


REGISTRY: list[Registered] = []


def panel(key: str, *permissions: Permission) -> Callable[[PanelFunction], PanelFunction]:
    """Register a panel shown to users holding any of ``permissions``; ``key`` is unique (a
    module imported twice does not add its panels twice)."""

    def register(build: PanelFunction) -> PanelFunction:
        REGISTRY[:] = [r for r in REGISTRY if r.key != key]
        REGISTRY.append(Registered(key, frozenset(permissions), build))
        return build

    return register


def panels_for(session: Session, actor: User, now: datetime) -> list[Panel]:
    """The panels ``actor`` may see, built now."""
    shown = []
    for item in REGISTRY:
        if any(actor.can(p) for p in item.permissions):
            built = item.build(session, actor, now)
            if built is not None:
                shown.append(built)
    return shown


def capped_count(session: Session, stmt: sa.Select[tuple[int]], cap: int = COUNT_CAP) -> int:
    """``count(*)`` of ``stmt``'s rows, reading at most ``cap + 1`` of them."""
    inner = stmt.limit(cap + 1).subquery()
    return int(session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0)


def tile(label: str, count: int, url: str, *, alert: bool = False) -> Tile:
    return Tile(label, min(count, COUNT_CAP), url, alert=alert and count > 0,
                capped=count > COUNT_CAP)


def local_today(now: datetime) -> date:
    return now.astimezone(get_timezone()).date()


# -- the lab's own panels ------------------------------------------------------------------------

@panel("intake", Permission.REGISTER_SAMPLES, Permission.RECEIVE_SAMPLES)
def intake(session: Session, actor: User, now: datetime) -> Panel:
    """Samples registered in the field but not yet at the lab, by days since collection: a
    day boundary in the lab's zone, so the count is exactly what the linked list shows."""
    result = Panel(_("Intake"))
    today = local_today(now)
    for days in LATE_DAYS:
        last_day = today - timedelta(days=days + 1)
        before = local_midnight(last_day, get_timezone(), days_after=1)
        count = capped_count(session, sa.select(Sample.id).where(
            Sample.status == SampleStatus.REGISTERED, Sample.collected_at < before))
        result.tiles.append(tile(
            _("Registered, not received, collected over %(days)d days ago", days=days), count,
            url_for("samples.index", status=SampleStatus.REGISTERED.value,
                    collected_to=last_day.isoformat()), alert=days == LATE_DAYS[-1]))
    if actor.can(Permission.RECEIVE_SAMPLES):
        result.links.append(Link(_("Scan samples in"), url_for("samples.receive")))
    if actor.can(Permission.REGISTER_SAMPLES):
        result.links += [Link(_("Register a urine sample"), url_for("samples.register_urine")),
                         Link(_("Register a salt sample"), url_for("samples.register_salt")),
                         Link(_("Register a batch from CSV or XLSX"),
                              url_for("samples.batch_intake"))]
    return result


def _status_count(session: Session, status: SampleStatus) -> int:
    return capped_count(session, sa.select(Sample.id).where(Sample.status == status))


@panel("analysis", Permission.ANALYSE_SAMPLES)
def analysis(session: Session, actor: User, now: datetime) -> Panel:
    result = Panel(_("Analysis"))
    result.tiles += [
        tile(_("Received, waiting for a run"),
             _status_count(session, SampleStatus.RECEIVED),
             url_for("samples.index", status=SampleStatus.RECEIVED.value)),
        tile(_("In runs"), _status_count(session, SampleStatus.IN_ANALYSIS),
             url_for("samples.index", status=SampleStatus.IN_ANALYSIS.value)),
        tile(_("Retests due"), capped_count(session, sa.select(Result.id).where(
            Result.is_current, Result.status.in_((ResultStatus.REPEAT, ResultStatus.HELD)),
            ~on_open_run_of_result())), url_for("analysis.worklist"), alert=True),
        tile(_("Sent back to me"), capped_count(session, sa.select(Result.id).where(
            Result.created_by_id == actor.id, Result.status == ResultStatus.REPEAT,
            Result.is_current)), url_for("analysis.worklist"), alert=True),
        tile(_("Unmatched Inbox readings"), capped_count(session, sa.select(
            InstrumentReading.id).where(InstrumentReading.status == ReadingStatus.UNMATCHED)),
             url_for("capture.inbox", status=ReadingStatus.UNMATCHED.value), alert=True),
    ]
    result.links += [Link(_("Worklist"), url_for("analysis.worklist")),
                     Link(_("New run"), url_for("analysis.run_new"))]
    return result


def on_open_run_of_result() -> sa.Exists:
    """The result's sample is on a run not yet decided: what the worklist's retests leave out
    (``queries.retests``), so the tile counts what the worklist shows."""
    return (sa.select(RunSample.id).join(AnalyticalRun, AnalyticalRun.id == RunSample.run_id)
            .where(RunSample.sample_id == Result.sample_id,
                   AnalyticalRun.status.in_(UNDECIDED)).exists())


@panel("review", Permission.REVIEW_RESULTS)
def review(session: Session, actor: User, now: datetime) -> Panel:
    queue = url_for("analysis.review_queue")
    since = now - timedelta(days=QC_ALERT_DAYS)
    rejections = capped_count(session, sa.select(AnalyticalRun.id).where(
        AnalyticalRun.calculated_at >= since, AnalyticalRun.qc_accepted.is_(False)))
    filters = review_queue.ReviewFilter

    def count(flt: review_queue.ReviewFilter) -> int:
        return review_queue.review_count(session, flt, cap=COUNT_CAP)

    return Panel(_("Review"), tiles=[
        tile(_("Preliminary, to review"), count(filters()), queue),
        tile(_("Mine to verify"), count(filters(verifiable_by_id=actor.id)),
             url_for("analysis.review_queue", mine="y")),
        tile(_("Flagged, to review"), count(filters(flagged=True)),
             url_for("analysis.review_queue", flag="flagged"), alert=True),
        tile(_("QC alerts: Westgard rejections in the last %(days)d days", days=QC_ALERT_DAYS),
             rejections, url_for("analysis.qc_lots"), alert=True),
    ])


@panel("survey", Permission.VIEW_SAMPLES, Permission.VIEW_REPORTS)
def survey(session: Session, actor: User, now: datetime) -> Panel | None:
    """The round's progress. Its figure is the one count here that must be exact however large
    (half a million samples in a national round: an index-only scan of tens of milliseconds),
    so the page links to the coverage page at once and ``home.js`` fills the figure in from
    :func:`survey_progress` (``/home/survey-progress``) when the page is shown."""
    survey_round = default_round(session)
    if survey_round is None:
        return None
    return Panel(_("Survey round %(code)s", code=survey_round.code), links=[Link(
        _("Coverage by region and cluster"),
        url_for("monitoring.coverage", round=survey_round.id),
        fill=url_for("home.survey_progress"))])


def survey_progress(session: Session) -> dict[str, str] | None:
    """Urine samples collected in the default round (not cancelled) against the clusters'
    targets: one count over ``ix_samples_round_kind_status`` and one sum over the clusters."""
    survey_round = default_round(session)
    if survey_round is None:
        return None
    target = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Cluster.target_count), 0))
                                .where(Cluster.round_id == survey_round.id)) or 0)
    collected = int(session.scalar(sa.select(sa.func.count()).select_from(Sample).where(
        Sample.round_id == survey_round.id, Sample.kind == SampleKind.URINE,
        Sample.status != SampleStatus.CANCELLED)) or 0)
    return {"label": _("%(collected)s of %(target)s urine samples collected",
                       collected=fmt_number(collected, 0), target=fmt_number(target, 0)),
            "note": (_("%(percent)s%% of the target", percent=round(100 * collected / target))
                     if target else "")}


@panel("reports", Permission.VIEW_REPORTS)
def reports(session: Session, actor: User, now: datetime) -> Panel:
    """Report jobs being built or failed, and the latest issued reports."""
    counts: dict[JobStatus, int] = {status: n for status, n in session.execute(
        sa.select(ReportJob.status, sa.func.count()).where(ReportJob.status.in_(
            (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED)))
        .group_by(ReportJob.status))}
    index = url_for("reporting.index")
    result = Panel(_("Reports"), tiles=[
        tile(_("Report jobs being built"),
             counts.get(JobStatus.QUEUED, 0) + counts.get(JobStatus.RUNNING, 0), index),
        tile(_("Report jobs failed"), counts.get(JobStatus.FAILED, 0), index, alert=True)])
    latest: Sequence[ReportJob] = session.scalars(
        sa.select(ReportJob).where(ReportJob.version.is_not(None))
        .order_by(ReportJob.id.desc()).limit(5)).all()
    result.links += [Link(_("%(title)s, version %(version)s", title=job.title,
                            version=job.version),
                          url_for("reporting.pdf", job_id=job.id)) for job in latest]
    return result


# -- the ministry's national figures ------------------------------------------------------------

#: The headline indicators, in the order shown.
HEADLINES = ("uic_median", "salt_pct_adequate")
#: Issued reports never change, so their national figures are read from the frozen workbook
#: once per process and kept by report id (any worker may read them again: nothing here is
#: state, only a copy of immutable data). Bounded: the newest few reports.
_FIGURES: dict[int, list[dict[str, Any]]] = {}
_FIGURES_KEPT = 8


def national_rows(session: Session, job_id: int) -> list[dict[str, Any]]:
    """The national rows of the headline indicators of issued report ``job_id``."""
    if job_id not in _FIGURES:
        job = published.issued_report(session, job_id, ReportJob.xlsx)
        table = published.report_indicators(session, job)
        rows = table[(table["region_code"] == NATIONAL) & table["indicator"].isin(HEADLINES)]
        _FIGURES[job_id] = indicator_records(rows)
        for old in sorted(_FIGURES)[:-_FIGURES_KEPT]:
            del _FIGURES[old]
    return _FIGURES[job_id]


def _figure(row: dict[str, Any]) -> str:
    if row["estimate"] is None:
        return str(row["shown"] or "—")
    value = f"{fmt_number(row['estimate'], 1)} {row['unit_of_measure']}"
    if row["ci_low"] is None or row["ci_high"] is None:
        return value
    return _("%(value)s (95%% CI %(low)s–%(high)s)", value=value,
             low=fmt_number(row["ci_low"], 1), high=fmt_number(row["ci_high"], 1))


@panel("national", Permission.VIEW_REPORTS)
def national(session: Session, actor: User, now: datetime) -> Panel | None:
    """The latest issued report's national headline figures, as published (never recomputed:
    the ministry sees on the dashboard what it downloaded)."""
    job = session.execute(sa.select(ReportJob.id, ReportJob.title, ReportJob.version).where(
        ReportJob.version.is_not(None), ReportJob.status == JobStatus.DONE,
        ReportJob.xlsx.is_not(None)).order_by(ReportJob.id.desc()).limit(1)).first()
    if job is None:
        return None
    locale = str(get_locale())
    groups = {g.code: g.name(locale) for g in session.scalars(sa.select(PopulationGroup))}
    result = Panel(_("National figures: %(title)s, version %(version)s", title=job.title,
                     version=job.version))
    url = url_for("reporting.pdf", job_id=job.id)
    for row in national_rows(session, job.id):
        if row["indicator"] == "uic_median":
            text = _("Median urinary iodine, %(group)s", group=groups.get(row["group"],
                                                                          row["group"]))
        else:
            method = METHOD_LABELS.get(row["group"])
            text = _("Household salt adequately iodised (%(method)s)",
                     method=_(method) if method else row["group"])
        note = _figure(row) + (_(", n = %(n)s", n=row["n"]) if row["n"] else "")
        result.links.append(Link(text, url, note=note))
    return result
