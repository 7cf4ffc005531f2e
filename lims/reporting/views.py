"""The ministry's report pages: request a report, watch it being built, download issued ones.

Requests only enqueue (a `lims report worker` builds them), so no web worker ever spends
seconds on a national report; the page polls the job's progress line until the PDF is ready.
A job whose worker fell silent says so (instead of a frozen progress bar) until another worker
takes it over; a failed one shows why, with a button to request it again.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, undefer
from wtforms import IntegerField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import ConflictError, LimsError, NotFoundError
from lims.core.forms import LimsForm, language_choices
from lims.core.listing import Page, list_page
from lims.core.permissions import Permission
from lims.extensions import db
from lims.monitoring.models import PopulationGroup, Region, SurveyRound
from lims.reporting.data import (
    LAB_TIMEZONE,
    ReportScope,
    latest_round_with_results,
    latest_year_with_results,
    preview_scope,
)
from lims.reporting.jobs import RESULT_TABLES, ReportRequest, request_report
from lims.reporting.models import JobStatus, ReportJob
from lims.reporting.queries import REPORT_LIST
from reports import exports
from reports.criteria import SCHEMES

bp = Blueprint("reporting", __name__, url_prefix="/reports", template_folder="templates")
LISTED = 100
#: A request queued this long with no worker's sign of life meanwhile: the page says no worker runs.
WORKER_SILENT_AFTER = timedelta(minutes=2)

PageResult = str | Response | tuple[str, int]
#: The classifications as the request form offers them (`reports` itself has no translations).
SCHEME_LABELS: dict[str, Any] = {
    "WHO2007": _l("WHO/UNICEF/ICCIDD 2007: school-age children and adults in 6 classes (<20, 20–49,"
                  " 50–99, 100–199, 200–299, ≥300 µg/L); pregnant women <150, 150–249, 250–499,"
                  " ≥500; lactating women and children under 2 years <100, ≥100"),
    "IGN3": _l("IGN, 3 classes: school-age children and adults <100, 100–299, ≥300 µg/L; pregnant"
               " and lactating women and children under 2 years as in WHO 2007"),
}


class ReportRequestForm(LimsForm):
    """The request, with defaults that build: the latest round with verified results is chosen,
    and the year field holds the latest year with them. Round or year is a radio choice; the
    classification is a radio list too, so its long labels wrap instead of widening the page."""

    scope = RadioField(_l("The report covers"), default="round", validate_choice=False, choices=[
        SelectChoice("round", _l("One survey round")),
        SelectChoice("year", _l("Every sample collected in one year"))])
    round = SelectField(_l("Survey round"), choices=[], validate_choice=False)
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])
    region = SelectField(_l("Region"), choices=[], validate_choice=False)
    group = SelectField(_l("Population group"), choices=[], validate_choice=False)
    lang = SelectField(_l("Language"), choices=language_choices())
    scheme = RadioField(_l("Classification"), default="WHO2007", choices=[
        SelectChoice(code, SCHEME_LABELS.get(code, scheme.name)) for code, scheme in SCHEMES.items()])

    def fill(self, locale: str) -> None:
        """Choices from the database, and the defaults (on a fresh form only)."""
        rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.period_end.desc(),
                                                                    SurveyRound.id.desc()))
        self.round.choices = [SelectChoice(str(r.id), f"{r.code} · {r.name}") for r in rounds]
        regions = sorted(db.session.scalars(sa.select(Region)), key=lambda r: r.name(locale))
        self.region.choices = [SelectChoice("", _("All regions"))] + [
            SelectChoice(r.iso_code, r.name(locale)) for r in regions]
        groups = db.session.scalars(sa.select(PopulationGroup).order_by(PopulationGroup.sort_order))
        self.group.choices = [SelectChoice("", _("All groups"))] + [
            SelectChoice(g.code, g.name(locale)) for g in groups]
        if request.method == "GET":
            timezone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", LAB_TIMEZONE)
            latest = latest_round_with_results(db.session)
            if latest is not None:
                self.round.data = str(latest)
            self.year.data = latest_year_with_results(db.session, timezone=timezone)
            if latest is None and self.year.data is not None:
                self.scope.data = "year"
            if locale in ("ru", "kk", "en"):
                self.lang.data = locale

    def validate_round(self, field: Any) -> None:
        if self._by_round():
            if not field.data:
                raise ValidationError(_("Choose a survey round."))
            if field.data not in {c.value for c in field.choices}:
                raise ValidationError(_("Not a valid choice."))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if not self._by_round() and self.year.data is None and not self.year.errors:
            self.year.errors = [*self.year.errors, _("Give the year.")]
            return False
        return valid

    def _by_round(self) -> bool:
        """Round or year: the radio, or (a client that posts no radio) whichever is given."""
        if self.scope.data in ("round", "year") and "scope" in (request.form or {}):
            return self.scope.data == "round"
        return bool(self.round.data)

    def to_request(self) -> ReportRequest:
        by_round = self._by_round()
        scope = ReportScope(round_id=int(self.round.data) if by_round else None,
                            year=None if by_round else self.year.data,
                            region=self.region.data or None, group=self.group.data or None)
        return ReportRequest(scope, lang=self.lang.data or "ru", scheme=self.scheme.data or "WHO2007")


def _locale() -> str:
    return str(get_locale() or "en")


def _silence_notice(job: ReportJob) -> str | None:
    """What to say instead of a frozen progress bar: a running job whose worker has not beaten
    for the takeover time is waiting to be taken over by another worker."""
    if job.status is not JobStatus.RUNNING:
        return None
    takeover = float(current_app.config["REPORT_TAKEOVER_SECONDS"])
    last = job.heartbeat_at or job.started_at
    if last is None or now_utc() - last < timedelta(seconds=takeover):
        return None
    return _("Its worker has given no sign of life for over %(seconds)d seconds; the next free"
             " worker takes the report over and builds it again.", seconds=int(takeover))


def worker_silence(session: Session, *, now: datetime) -> dict[str, datetime | None] | None:
    """When reports wait and no worker has shown a sign of life for `WORKER_SILENT_AFTER`:
    ``{"since": the last sign, or None if none ever}``, for the page to say so; else None.
    A worker claims a request within seconds, and a busy one writes its heartbeat every few
    seconds, so an old queued request with no recent sign means that no worker runs."""
    waiting_since = session.scalar(sa.select(sa.func.min(ReportJob.requested_at))
                                   .where(ReportJob.status == JobStatus.QUEUED))
    if waiting_since is None or now - waiting_since < WORKER_SILENT_AFTER:
        return None
    signs = session.execute(sa.select(sa.func.max(ReportJob.heartbeat_at),
                                      sa.func.max(ReportJob.started_at),
                                      sa.func.max(ReportJob.finished_at))).one()
    last = max((sign for sign in signs if sign is not None), default=None)
    if last is not None and now - last < WORKER_SILENT_AFTER:
        return None
    return {"since": last}


def _listing(page: Page) -> dict[str, Any]:
    jobs = db.session.scalars(sa.select(ReportJob).order_by(ReportJob.id.desc()).limit(LISTED)).all()
    return {"worker_silence": worker_silence(db.session, now=now_utc()), "page": page,
            "working": [j for j in jobs if not j.issued and j.status in (JobStatus.QUEUED,
                                                                          JobStatus.RUNNING)],
            "failed": [j for j in jobs if not j.issued and j.status is JobStatus.FAILED][:10],
            "silent": {j.id: notice for j in jobs if (notice := _silence_notice(j))},
            "again_form": LimsForm(formdata=None)}


@bp.route("/", methods=["GET", "POST"])
@permission_required(Permission.VIEW_REPORTS)
def index() -> PageResult:
    """The report jobs (``REPORT_LIST``: sortable, filtered, exported), the ones being built or
    failed, and the request form."""
    page = list_page(db.session, REPORT_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    form = ReportRequestForm()
    form.fill(_locale())
    status, preview = 200, None
    if request.method == "POST":
        if form.validate():
            try:
                if request.form.get("action") == "preview":
                    preview = _preview(form)
                else:
                    job = request_report(db.session, actor=current_actor(), now=now_utc(),
                                         request=form.to_request())
            except LimsError as error:
                db.session.rollback()
                if not form.attach_error(error, {"scope": "scope", "round_id": "round"}):
                    flash(error.message, "error")
                status = error.http_status
            else:
                if preview is None:
                    db.session.commit()
                    flash(_("Report requested; it is built in the background (progress below)."),
                          "success")
                    return redirect(url_for("reporting.index", _anchor=f"job-{job.id}"))
        else:
            status = 422
    return render_template("reporting/index.html", form=form, preview=preview,
                           **_listing(page)), status


def _preview(form: ReportRequestForm) -> dict[str, Any]:
    """What the requested report would include, by population group and region, and what it
    leaves out and why; names in the reader's language."""
    scope = form.to_request().scope
    timezone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", LAB_TIMEZONE)
    found = preview_scope(db.session, scope, timezone=timezone)
    locale = _locale()
    regions = {r.iso_code: r.name(locale) for r in db.session.scalars(sa.select(Region))}
    groups = {g.code: g.name(locale) for g in db.session.scalars(sa.select(PopulationGroup))}
    by_group: dict[str, list[Any]] = {}
    for cell in found.urine:
        by_group.setdefault(groups.get(cell.group or "", cell.group or ""), []).append(cell)
    return {"found": found, "regions": regions, "urine": sorted(by_group.items()),
            "salt": list(found.salt)}


@bp.get("/jobs/<int:job_id>")
@permission_required(Permission.VIEW_REPORTS)
def job_status(job_id: int) -> dict[str, Any]:
    job = db.session.get(ReportJob, job_id)
    if job is None:
        raise NotFoundError(_("There is no report job %(id)s.", id=job_id))
    done = job.status is JobStatus.DONE
    silent = _silence_notice(job)
    return {"id": job.id, "status": job.status.value, "progress": job.progress,
            "message": silent or job.progress_message, "silent": silent is not None,
            "error": job.error, "version": job.version,
            "pdf": url_for("reporting.pdf", job_id=job.id) if job.issued else None,
            "xlsx": url_for("reporting.xlsx", job_id=job.id) if done else None,
            "results": url_for("reporting.results_zip", job_id=job.id) if done else None}


@bp.post("/jobs/<int:job_id>/again")
@permission_required(Permission.VIEW_REPORTS)
def request_again(job_id: int) -> Response:
    """A failed (or any earlier) report requested again with the same parameters."""
    job = db.session.get(ReportJob, job_id)
    if job is None:
        raise NotFoundError(_("No report job %(id)s.", id=job_id))
    if not LimsForm().validate():
        abort(400, _("The form has expired; reload the page and try again."))
    try:
        earlier = ReportRequest.from_params(job.params)
    except (KeyError, TypeError, ValueError) as error:  # a job stored by another version
        raise ConflictError(_("Report %(id)s does not say what it covered; request it anew from "
                              "the form.", id=job_id)) from error
    again = request_report(db.session, actor=current_actor(), now=now_utc(), request=earlier)
    db.session.commit()
    flash(_("Report requested again; it is built in the background (progress below)."), "success")
    return redirect(url_for("reporting.index", _anchor=f"job-{again.id}"))


def _issued(job_id: int, column: Any) -> ReportJob:
    """An issued report with ``column`` loaded. The PDF comes first; the spreadsheet and the
    results follow a few seconds later, and asking for them before says so."""
    job = db.session.scalar(sa.select(ReportJob).options(undefer(column))
                            .where(ReportJob.id == job_id, ReportJob.version.is_not(None)))
    if job is None:
        raise NotFoundError(_("There is no issued report %(id)s.", id=job_id))
    if getattr(job, column.key) is None:
        if job.status is JobStatus.FAILED:
            raise NotFoundError(_("Report %(id)s: its spreadsheet and results could not be"
                                  " written (%(error)s).", id=job_id, error=job.error))
        raise NotFoundError(_("Report %(id)s is issued; its spreadsheet and results are still"
                              " being written (%(progress)s).", id=job_id,
                              progress=job.progress_message))
    return job


def _download(data: bytes, mimetype: str, name: str) -> Response:
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/<int:job_id>.pdf")
@permission_required(Permission.VIEW_REPORTS)
def pdf(job_id: int) -> Response:
    job = _issued(job_id, ReportJob.pdf)
    return _download(job.pdf or b"", "application/pdf",
                     f"monitoring-report-{job.id}-v{job.version}-{job.lang}.pdf")


@bp.get("/<int:job_id>.xlsx")
@permission_required(Permission.VIEW_REPORTS)
def xlsx(job_id: int) -> Response:
    job = _issued(job_id, ReportJob.xlsx)
    return _download(job.xlsx or b"",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"monitoring-report-{job.id}-v{job.version}.xlsx")


@bp.get("/<int:job_id>-results.zip")
@permission_required(Permission.VIEW_REPORTS)
def results_zip(job_id: int) -> Response:
    job = _issued(job_id, ReportJob.results_zip)
    return _download(job.results_zip or b"", "application/zip",
                     f"monitoring-report-{job.id}-v{job.version}-results.zip")


@bp.get("/<int:job_id>/<table>.csv")
@permission_required(Permission.VIEW_REPORTS)
def csv(job_id: int, table: str) -> Response:
    """One table of an issued report as CSV, taken from what was frozen with it (the results'
    CSV from its ZIP, a summary table from its spreadsheet), so downloads never disagree."""
    name = f"monitoring-report-{job_id}-{table}.csv"
    if table in RESULT_TABLES:
        job = _issued(job_id, ReportJob.results_zip)
        with zipfile.ZipFile(io.BytesIO(job.results_zip or b"")) as archive:
            return _download(archive.read(f"{table}.csv"), "text/csv", name)
    job = _issued(job_id, ReportJob.xlsx)
    sheets = exports.workbook_tables(job.xlsx or b"")
    if table not in sheets:
        known = ", ".join([*sheets, *RESULT_TABLES])
        raise NotFoundError(_("Report %(id)s has no table %(table)s (it has: %(known)s).",
                              id=job_id, table=table, known=known))
    return _download(exports.to_csv(sheets[table]), "text/csv", name)
