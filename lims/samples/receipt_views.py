"""The receipt desk: scan, check, accept or reject, at the speed of a box of tubes.

The scan field is first, focused and empty on every page. Scanning shows the sample with the
condition form (prefilled with the last conditions used in this session); Enter in the empty
scan field confirms. In fast mode a scan that the rules allow is accepted at once, so a box of
100 good samples is 100 scans; a scan that may not be accepted stops with the reason and the
matching rejection preselected.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.core.labels import label
from lims.core.permissions import Permission
from lims.extensions import db
from lims.samples.accession import normalise_query
from lims.samples.blueprint import bp
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import ReceiptDecision, RejectionReason, Sample, SampleReceipt
from lims.samples.receipt_forms import NO, YES, ReceiptForm
from lims.samples.transitions import (
    ReceiptRefused,
    get_sample_by_accession,
    latest_receipt,
    receive_sample,
)

RECENT_KEY = "receipt_recent"  # receipt ids of this login session, newest first
MEMORY_KEY = "receipt_conditions"  # the last conditions used, to prefill the next sample
RECENT_SIZE = 20

PageResult = str | Response | tuple[str, int]


def _memory() -> dict[str, Any]:
    return dict(session.get(MEMORY_KEY) or {"container_intact": YES, "fast": False})


def _remember(form: ReceiptForm) -> None:
    """Keep the conditions that are valid on the submitted form for the next sample."""
    memory = _memory()
    memory["fast"] = bool(form.fast.data)
    if not form.temperature_c.errors:
        temperature = form.temperature_c.data
        memory["temperature_c"] = None if temperature is None else str(temperature)
    if not form.container_intact.errors and form.container_intact.data in (YES, NO):
        memory["container_intact"] = form.container_intact.data
    session[MEMORY_KEY] = memory


def _fresh_form(sample: Sample | None = None) -> ReceiptForm:
    """The form for the next scan: empty scan field, remembered conditions, the sample's
    registered volume as the volume received (the technician overwrites it if different)."""
    memory = _memory()
    try:
        temperature = Decimal(memory["temperature_c"]) if memory.get("temperature_c") else None
    except InvalidOperation:
        temperature = None
    data: dict[str, Any] = {
        "accession": "",
        "pending": sample.accession if sample is not None else "",
        "fast": bool(memory.get("fast")),
        "temperature_c": temperature,
        "container_intact": memory.get("container_intact", YES),
        "decision": ReceiptDecision.ACCEPTED.value,
        "volume_ml": sample.volume_ml if sample is not None else None,
    }
    return ReceiptForm(formdata=None, data=data)


def _recent_receipts() -> list[SampleReceipt]:
    ids = [i for i in session.get(RECENT_KEY, []) if isinstance(i, int)]
    if not ids:
        return []
    stmt = (
        sa.select(SampleReceipt)
        .where(SampleReceipt.id.in_(ids))
        .order_by(SampleReceipt.id.desc())
        .options(selectinload(SampleReceipt.sample).selectinload(Sample.participant),
                 selectinload(SampleReceipt.sample).selectinload(Sample.cluster),
                 selectinload(SampleReceipt.received_by))
    )
    return list(db.session.scalars(stmt))


def _render(form: ReceiptForm, sample: Sample | None = None, status: int = 200,
            problem: str | None = None) -> tuple[str, int]:
    form.accession.data = ""
    form.accession.raw_data = None
    receivable = sample is not None and sample.status is SampleStatus.REGISTERED
    page = render_template(
        "samples/receive.html", form=form, sample=sample, receivable=receivable,
        last_receipt=latest_receipt(sample) if sample is not None else None,
        recent=_recent_receipts(), problem=problem,
    )
    return page, status


def _attach(form: ReceiptForm, error: LimsError) -> str | None:
    """Put the service's message on its field; return it when no field of the form fits."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None or field is form.pending:
        return error.message
    field.errors = [*field.errors, error.message]
    return None


def _min_volume() -> Decimal:
    return Decimal(str(current_app.config["URINE_MIN_VOLUME_ML"]))


def _received(receipt: SampleReceipt) -> Response:
    db.session.commit()
    session[RECENT_KEY] = [receipt.id, *session.get(RECENT_KEY, [])][:RECENT_SIZE]
    accession = receipt.sample.accession
    if receipt.decision is ReceiptDecision.ACCEPTED:
        flash(_("%(accession)s accepted.", accession=accession), "success")
    else:
        flash(_("%(accession)s rejected: %(reason)s.", accession=accession,
                reason=label(receipt.rejection_reason)), "warning")
    return redirect(url_for("samples.receive"))


def _unknown(accession: str) -> tuple[str, int]:
    form = _fresh_form()
    form.accession.errors = [_("No sample with accession %(accession)s.", accession=accession)]
    return _render(form, status=404)


def _scan(accession: str, *, fast: bool) -> PageResult:
    sample = get_sample_by_accession(db.session, accession)
    if sample is None:
        return _unknown(accession)
    if sample.status is not SampleStatus.REGISTERED:
        return _render(_fresh_form(), sample, status=409)
    form = _fresh_form(sample)
    if not fast:
        return _render(form, sample)
    try:
        receipt = receive_sample(
            db.session, actor=current_actor(), now=now_utc(), sample=sample,
            decision=ReceiptDecision.ACCEPTED, temperature_c=form.temperature_c.data,
            container_intact=form.container_intact.data == YES, min_volume_ml=_min_volume(),
        )
    except LimsError as error:
        return _refused(form, sample, error)
    return _received(receipt)


def _refused(form: ReceiptForm, sample: Sample, error: LimsError) -> tuple[str, int]:
    """Show why the sample was refused; a rule refusal preselects the rejection it suggests,
    so Enter in the scan field now rejects it for that reason."""
    db.session.rollback()
    if isinstance(error, ReceiptRefused):
        form.decision.data = ReceiptDecision.REJECTED.value
        form.rejection_reason.data = error.suggested_reason.value
    return _render(form, sample, status=error.http_status, problem=_attach(form, error))


def _confirm(form: ReceiptForm, accession: str) -> PageResult:
    sample = get_sample_by_accession(db.session, accession)
    if sample is None:
        return _unknown(accession)
    if form.errors:
        return _render(form, sample, status=422)
    reason = form.rejection_reason.data
    try:
        receipt = receive_sample(
            db.session, actor=current_actor(), now=now_utc(), sample=sample,
            decision=ReceiptDecision(form.decision.data),
            temperature_c=form.temperature_c.data, volume_ml=form.volume_ml.data,
            container_intact=form.container_intact.data == YES,
            rejection_reason=RejectionReason(reason) if reason else None,
            note=form.note.data or None, min_volume_ml=_min_volume(),
        )
    except LimsError as error:
        return _refused(form, sample, error)
    return _received(receipt)


@bp.route("/receive", methods=["GET", "POST"])
@permission_required(Permission.RECEIVE_SAMPLES)
def receive() -> PageResult:
    if request.method == "GET":
        scanned = normalise_query(request.args.get("accession", ""))
        return _scan(scanned, fast=False) if scanned else _render(_fresh_form())
    form = ReceiptForm()
    form.validate()
    if "csrf_token" in form.errors:
        abort(400, _("The form has expired; reload the page and scan again."))
    _remember(form)
    scanned = normalise_query(form.accession.data or "")
    pending = normalise_query(form.pending.data or "")
    if scanned and scanned != pending:
        return _scan(scanned, fast=bool(form.fast.data))
    if not pending:
        fresh = _fresh_form()
        fresh.accession.errors = [_("Scan or type an accession.")]
        return _render(fresh, status=422)
    return _confirm(form, pending)
