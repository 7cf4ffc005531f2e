"""Finding samples: the filtered list with accession search, and the sample page with its
household, receipts, the actions the user may take and the audit timeline."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext, to_user_timezone, to_utc
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from lims.analysis.queries import results_for_sample
from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.capture.service import readings_for_sample
from lims.core.dt import now_utc
from lims.core.errors import LimsError, NotFoundError
from lims.core.forms import LimsForm
from lims.core.listing import EXPORT, Page, list_page
from lims.core.permissions import Permission
from lims.extensions import db
from lims.monitoring.models import Cluster, Participant, Sex
from lims.samples import corrections
from lims.samples.accession import normalise_query, parse_accession
from lims.samples.blueprint import bp
from lims.samples.lifecycle import SampleAction, SampleStatus, allowed_actions
from lims.samples.models import RejectionReason, Sample, SampleKind, SampleReceipt
from lims.samples.queries import (
    SAMPLE_LIST,
    household_samples,
    rejection_counts,
)
from lims.samples.receipt_forms import CancelForm, CorrectionForm, RejectForm
from lims.samples.transitions import SAMPLE_ENTITY, cancel_sample, reject_sample

PageResult = str | Response | tuple[str, int]


@bp.get("/")
@permission_required(Permission.VIEW_SAMPLES)
def index() -> PageResult:
    """The sample list (``SAMPLE_LIST``); a complete accession typed or scanned into the search
    opens that sample."""
    query = normalise_query(request.args.get("q") or "")
    if query and parse_accession(query) is not None and EXPORT not in request.args:
        found = db.session.scalar(sa.select(Sample.id).where(Sample.accession == query))
        if found is not None:
            return redirect(url_for("samples.detail", accession=query))
        flash(_("No sample with accession %(accession)s.", accession=query), "error")
    page = list_page(db.session, SAMPLE_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    rejected = page.query.values.get("status") is SampleStatus.REJECTED
    return render_template("samples/list.html", page=page,
                           rejections=rejection_counts(db.session, page.query) if rejected
                           else None)


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
