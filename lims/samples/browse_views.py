"""Finding samples: the filtered list with accession search, and the sample page with its
household, receipts, the actions the user may take and the audit timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone, ngettext, to_user_timezone, to_utc
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from lims.analysis.queries import results_for_sample
from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.capture.service import readings_for_sample
from lims.core.dt import ensure_utc, now_utc
from lims.core.errors import LimsError, NotFoundError
from lims.core.forms import LimsForm
from lims.core.labels import options
from lims.core.permissions import Permission
from lims.core.templating import url_with
from lims.extensions import db
from lims.monitoring.models import Cluster, Participant, Region, Sex, SurveyRound
from lims.samples.accession import normalise_query, parse_accession
from lims.samples.blueprint import bp
from lims.samples.lifecycle import SampleAction, SampleStatus, allowed_actions
from lims.samples.models import RejectionReason, Sample, SampleKind, SampleReceipt
from lims.samples.queries import (
    SampleFilter,
    household_samples,
    list_samples,
    parse_cursor,
    rejection_counts,
)
from lims.samples import corrections
from lims.samples.receipt_forms import CancelForm, CorrectionForm, RejectForm
from lims.samples.transitions import SAMPLE_ENTITY, cancel_sample, reject_sample

PageResult = str | Response | tuple[str, int]

class SampleFilterForm(LimsForm):
    """The list's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Accession"), validators=[Optional(), Length(max=40)])
    kind = SelectField(_l("Kind"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    region = SelectField(_l("Region"), validators=[Optional()])
    round = SelectField(_l("Survey round"), validators=[Optional()])
    collected_from = DateField(_l("Collected from"), validators=[Optional()])
    collected_to = DateField(_l("Collected to"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = SelectChoice("", _("All"))
        locale = str(get_locale())
        self.kind.choices = options(SampleKind, blank=_("All"))
        self.status.choices = options(SampleStatus, blank=_("All"))
        regions = sorted(db.session.scalars(sa.select(Region)), key=lambda r: r.name(locale))
        self.region.choices = [everything,
                               *(SelectChoice(str(r.id), r.name(locale)) for r in regions)]
        rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.id.desc()))
        self.round.choices = [everything, *(SelectChoice(str(r.id), f"{r.code} · {r.name}")
                                            for r in rounds)]

    def to_filter(self, prefix: str | None) -> SampleFilter:
        return SampleFilter(
            kind=SampleKind(self.kind.data) if self.kind.data else None,
            status=SampleStatus(self.status.data) if self.status.data else None,
            region_id=int(self.region.data) if self.region.data else None,
            round_id=int(self.round.data) if self.round.data else None,
            collected_from=_local_midnight(self.collected_from.data),
            collected_to=_local_midnight(self.collected_to.data, days_after=1),
            accession_prefix=prefix,
        )


def _local_midnight(day: date | None, days_after: int = 0) -> datetime | None:
    """A date typed by the user is a day in the user's time zone; stored times are UTC."""
    if day is None:
        return None
    return ensure_utc(datetime.combine(day + timedelta(days=days_after), time.min,
                                       tzinfo=get_timezone()))


@bp.get("/")
@permission_required(Permission.VIEW_SAMPLES)
def index() -> PageResult:
    form = SampleFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("samples/list.html", form=form, page=None, pager=None,
                               rejections=None), 400
    query = normalise_query(form.q.data or "")
    if query and parse_accession(query) is not None:
        found = db.session.scalar(sa.select(Sample.id).where(Sample.accession == query))
        if found is not None:
            return redirect(url_for("samples.detail", accession=query))
        flash(_("No sample with accession %(accession)s.", accession=query), "error")
    flt = form.to_filter(query or None)
    page = list_samples(db.session, flt, page_size=current_app.config["PAGE_SIZE"],
                        before=parse_cursor(flt, request.args, "before"),
                        after=parse_cursor(flt, request.args, "after"))
    pager = {
        "has_prev": page.has_newer,
        "prev_url": url_with(after=page.first_key, before=None),
        "has_next": page.has_older,
        "next_url": url_with(before=page.last_key, after=None),
        "summary": (ngettext("Showing %(num)s sample; more on older pages.",
                             "Showing %(num)s samples; more on older pages.", len(page.rows))
                    if page.has_older else
                    ngettext("Showing %(num)s sample.", "Showing %(num)s samples.",
                             len(page.rows))),
    }
    rejections = (rejection_counts(db.session, flt)
                  if flt.status is SampleStatus.REJECTED else None)
    return render_template("samples/list.html", form=form, page=page, pager=pager,
                           rejections=rejections)


def _load_sample(accession: str) -> Sample:
    accession = normalise_query(accession)
    stmt = (
        sa.select(Sample)
        .where(Sample.accession == accession)
        .options(
            selectinload(Sample.region),
            selectinload(Sample.round),
            selectinload(Sample.cluster).selectinload(Cluster.district),
            selectinload(Sample.participant).selectinload(Participant.population_group),
            selectinload(Sample.household),
            selectinload(Sample.registered_by),
            selectinload(Sample.receipts).selectinload(SampleReceipt.received_by),
        )
    )
    sample = db.session.scalar(stmt)
    if sample is None:
        raise NotFoundError(_("No sample with accession %(accession)s.", accession=accession))
    return sample


def _label_url(accession: str) -> str:
    """The label PDF belongs to the intake module; link to it by endpoint when it is there."""
    if "samples.sample_label" in current_app.view_functions:
        return url_for("samples.sample_label", accession=accession)
    return f"{url_for('samples.index')}{accession}/label.pdf"


def _correction_form(sample: Sample) -> CorrectionForm:
    """The correction form filled with the registration as stored (collection in lab time)."""
    p = sample.participant
    return CorrectionForm(formdata=None, data={
        "participant_code": p.code if p else None,
        "household_code": sample.household.code if sample.household else None,
        "cluster_code": sample.cluster.code, "age_months": p.age_months if p else None,
        "sex": p.sex.value if p else "",
        "collected_at": to_user_timezone(sample.collected_at).replace(tzinfo=None),
        "volume_ml": sample.volume_ml, "seen": corrections.fingerprint(sample)})


def _render_detail(sample: Sample, *, reject_form: RejectForm | None = None,
                   cancel_form: CancelForm | None = None,
                   correct_form: CorrectionForm | None = None, status: int = 200,
                   problem: str | None = None) -> tuple[str, int]:
    actor = current_actor()
    actions = allowed_actions(sample.status, actor.permissions)
    may_correct = corrections.may_correct(db.session, actor, sample)
    page = render_template(
        "samples/detail.html", sample=sample, household=household_samples(db.session, sample),
        readings=readings_for_sample(db.session, sample.id),
        results=results_for_sample(db.session, sample.id),
        events=events_for(db.session, SAMPLE_ENTITY, sample.id), actions=actions,
        SampleAction=SampleAction, reject_form=reject_form or RejectForm(formdata=None),
        cancel_form=cancel_form or CancelForm(formdata=None), problem=problem,
        correct_form=correct_form or (_correction_form(sample) if may_correct else None),
        label_url=_label_url(sample.accession),
    )
    return page, status


@bp.get("/<accession>")
@permission_required(Permission.VIEW_SAMPLES)
def detail(accession: str) -> PageResult:
    return _render_detail(_load_sample(accession))


def _failed(sample_accession: str, error: LimsError, form: LimsForm, **forms: Any) -> PageResult:
    """Re-render the sample page with the service's refusal on the field it names."""
    db.session.rollback()
    problem = None if form.attach_error(error) else error.message
    return _render_detail(_load_sample(sample_accession), status=error.http_status,
                          problem=problem, **forms)


@bp.post("/<accession>/reject")
@permission_required(Permission.RECEIVE_SAMPLES)
def reject(accession: str) -> PageResult:
    sample = _load_sample(accession)
    form = RejectForm()
    if not form.validate():
        return _render_detail(sample, reject_form=form, status=422)
    reason = form.rejection_reason.data
    try:
        reject_sample(db.session, actor=current_actor(), now=now_utc(), sample=sample,
                      rejection_reason=RejectionReason(reason) if reason else None,
                      note=form.note.data or None)
    except LimsError as error:
        return _failed(sample.accession, error, form, reject_form=form)
    db.session.commit()
    flash(_("%(accession)s rejected.", accession=sample.accession), "warning")
    return redirect(url_for("samples.detail", accession=sample.accession))


@bp.post("/<accession>/cancel")
@permission_required(Permission.CANCEL_SAMPLES)
def cancel(accession: str) -> PageResult:
    sample = _load_sample(accession)
    form = CancelForm()
    if not form.validate():
        return _render_detail(sample, cancel_form=form, status=422)
    try:
        cancel_sample(db.session, actor=current_actor(), now=now_utc(), sample=sample,
                      reason=form.reason.data or None)
    except LimsError as error:
        return _failed(sample.accession, error, form, cancel_form=form)
    db.session.commit()
    flash(_("%(accession)s cancelled.", accession=sample.accession), "warning")
    return redirect(url_for("samples.detail", accession=sample.accession))


@bp.post("/<accession>/correct")
@permission_required(Permission.REGISTER_SAMPLES, Permission.REVIEW_RESULTS)
def correct(accession: str) -> PageResult:
    """Correct the registration with a reason (each changed field is its own audit event)."""
    sample = _load_sample(accession)
    form = CorrectionForm()
    if not form.validate():
        return _render_detail(sample, correct_form=form, status=422)
    p = sample.participant
    local = form.collected_at.data
    assert local is not None  # DataRequired
    correction = corrections.Correction(
        participant_code=form.participant_code.data or None if p else None,
        household_code=form.household_code.data or None,
        cluster_code=form.cluster_code.data,
        age_months=form.age_months.data if p else None,
        sex=Sex(form.sex.data) if p and form.sex.data in Sex._value2member_map_ else None,
        collected_at=None if local == _correction_form(sample).collected_at.data
        else to_utc(local).replace(tzinfo=UTC),  # the form shows minutes; seconds stay
        volume_ml=form.volume_ml.data if sample.kind is SampleKind.URINE else None)
    try:
        changed = corrections.correct_sample(
            db.session, actor=current_actor(), now=now_utc(), sample=sample,
            correction=correction, reason=form.reason.data or "", seen=form.seen.data or None)
    except LimsError as error:
        return _failed(sample.accession, error, form, correct_form=form)
    db.session.commit()
    flash(ngettext("%(accession)s: %(num)d field corrected.",
                   "%(accession)s: %(num)d fields corrected.", len(changed),
                   accession=sample.accession), "success")
    return redirect(url_for("samples.detail", accession=sample.accession))
