"""Sample lifecycle services: receipt, rejection, cancellation and the one ``apply_action``
every status change goes through.

``lifecycle`` says whether a transition may happen; this module makes it happen: it maps the
state machine's refusals onto the ``LimsError`` hierarchy (so a form, the API and the CLI all
report them the same way), sets the status and timestamps, and writes the audit event in the
same transaction. Services flush and never commit. Their messages are translated when raised
(``gettext`` works in a request, the CLI and the demo-data generator alike).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from lims.audit.service import apply_changes, record_event
from lims.auth.models import User
from lims.core.errors import (
    BusinessRuleViolation,
    ConflictError,
    InvalidTransition,
    PermissionDenied,
    ValidationError,
)
from lims.core.inputs import require_finite
from lims.core.labels import label
from lims.core.locking import lock
from lims.core.templating import fmt_number
from lims.monitoring.models import SampleKindRef
from lims.samples.lifecycle import (
    IllegalTransition,
    ReasonRequired,
    SampleAction,
    SampleStatus,
    Transition,
    TransitionNotPermitted,
    actions_from,
    check_transition,
)
from lims.samples.models import ReceiptDecision, RejectionReason, Sample, SampleKind, SampleReceipt

SAMPLE_ENTITY = "sample"
DEFAULT_MIN_VOLUME_ML = Decimal("0.8")


class ReceiptRefused(BusinessRuleViolation):
    """A sample that may not be accepted; ``suggested_reason`` is the rejection that fits."""

    def __init__(self, message: str, *, field: str, suggested_reason: RejectionReason) -> None:
        super().__init__(message, field=field)
        self.suggested_reason = suggested_reason


def _words(value: str) -> str:
    """An enum value as its translated label, lower-cased to sit inside a sentence
    ("in_analysis" → "in analysis")."""
    return label(value).lower()


def check_action(
    sample: Sample, action: SampleAction, actor: User, reason: str | None = None
) -> Transition:
    """The lifecycle check with its refusals as ``LimsError``s naming the sample."""
    try:
        return check_transition(sample.status, action, actor.permissions, reason)
    except IllegalTransition as exc:
        allowed = ", ".join(_words(a) for a in actions_from(exc.status)) or _("nothing")
        raise InvalidTransition(
            _("Cannot %(action)s sample %(accession)s: it is %(status)s (possible now: %(allowed)s).",
              action=_words(action), accession=sample.accession, status=_words(exc.status),
              allowed=allowed)
        ) from exc
    except TransitionNotPermitted as exc:
        raise PermissionDenied(
            _("You may not %(action)s samples (needs the '%(permission)s' permission).",
              action=_words(action), permission=exc.transition.permission.value)
        ) from exc
    except ReasonRequired as exc:
        raise ValidationError(
            _("A reason is required to %(action)s a sample.", action=_words(action)), field="reason"
        ) from exc


def apply_action(
    session: Session,
    *,
    actor: User,
    now: datetime,
    sample: Sample,
    action: SampleAction,
    reason: str | None = None,
    **details: Any,
) -> Transition:
    """Move ``sample`` through ``action`` and audit it. ``details`` are facts recorded with the
    transition (e.g. the receipt's temperature); they appear in the event as new values."""
    lock(session, sample)
    transition = check_action(sample, action, actor, reason)
    updates: dict[str, Any] = {"status": transition.target}
    if action is SampleAction.RECEIVE:
        updates["received_at"] = now
    changes: dict[str, Any] = apply_changes(sample, updates)
    for key, value in details.items():
        if value is not None:
            changes[key] = {"before": None, "after": value}
    record_event(session, actor=actor, now=now, action=action.value, entity_type=SAMPLE_ENTITY,
                 entity_id=sample.id, entity_label=sample.accession, changes=changes,
                 reason=reason.strip() if reason else None)
    session.flush()
    return transition


def get_sample_by_accession(session: Session, accession: str) -> Sample | None:
    return session.scalar(sa.select(Sample).where(Sample.accession == accession))


def latest_receipt(sample: Sample) -> SampleReceipt | None:
    """The receipt that decided the sample's state (duplicates kept as superseded are not)."""
    deciding = [r for r in sample.receipts if not r.superseded]
    return deciding[-1] if deciding else None


def _refuse_unless_registered(sample: Sample) -> None:
    if sample.status is SampleStatus.REGISTERED:
        return
    last = latest_receipt(sample)
    if last is None:
        raise ConflictError(
            _("Sample %(accession)s is %(status)s and cannot be received.",
              accession=sample.accession, status=_words(sample.status)),
            field="accession",
        )
    raise ConflictError(
        _("Sample %(accession)s was already %(decision)s at %(when)s UTC by %(user)s;"
          " it is now %(status)s.", accession=sample.accession, decision=_words(last.decision),
          when=last.received_at.strftime("%Y-%m-%d %H:%M"), user=last.received_by.username,
          status=_words(sample.status)),
        field="accession",
    )


def _rejection_text(rejection_reason: RejectionReason | None, note: str | None) -> str:
    """The audit reason of a rejection: the technician's note, else the reason's code."""
    if rejection_reason is None:
        raise ValidationError(_("Choose a rejection reason."), field="rejection_reason")
    if rejection_reason is RejectionReason.OTHER and not note:
        raise ValidationError(_("Describe the problem in the note when the reason is '%(other)s'.",
                                other=label(RejectionReason.OTHER)), field="note")
    return note or rejection_reason.value


def minimum_volume(session: Session, sample: Sample, default: Decimal) -> Decimal | None:
    """The kind's minimum volume from reference data; urine falls back to the configured one."""
    ref = session.get(SampleKindRef, sample.kind.value)
    if ref is not None and ref.min_volume_ml is not None:
        return ref.min_volume_ml
    return default if sample.kind is SampleKind.URINE else None


def check_acceptable(
    session: Session,
    *,
    now: datetime,
    sample: Sample,
    volume_ml: Decimal | None,
    container_intact: bool | None,
    min_volume_ml: Decimal,
) -> None:
    """Raise ``ReceiptRefused`` when the specimen rules (domain §1.8) forbid accepting it.
    A urine volume not re-measured at receipt is taken as the registered one."""
    if container_intact is False:
        raise ReceiptRefused(
            _("A container that is not intact cannot be accepted: reject the sample as leaking."),
            field="container_intact", suggested_reason=RejectionReason.LEAKING,
        )
    minimum = minimum_volume(session, sample, min_volume_ml)
    volume = volume_ml if volume_ml is not None else sample.volume_ml
    if minimum is not None and (volume is None or volume < minimum):
        raise ReceiptRefused(
            _("%(volume)s mL is below the minimum of %(minimum)s mL: reject the sample for"
              " insufficient volume.", volume=fmt_number(volume, 2), minimum=fmt_number(minimum, 2))
            if volume is not None else
            _("No volume is recorded and the minimum is %(minimum)s mL: reject the sample for"
              " insufficient volume.", minimum=fmt_number(minimum, 2)),
            field="volume_ml", suggested_reason=RejectionReason.INSUFFICIENT_VOLUME,
        )
    ref = session.get(SampleKindRef, sample.kind.value)
    if ref is not None and ref.max_age_days is not None:
        if now - sample.collected_at > timedelta(days=ref.max_age_days):
            raise ReceiptRefused(
                ngettext("The sample was collected more than %(num)d day ago: reject it as too old.",
                         "The sample was collected more than %(num)d days ago: reject it as too old.",
                         ref.max_age_days),
                field="decision", suggested_reason=RejectionReason.TOO_OLD,
            )


def receive_sample(
    session: Session,
    *,
    actor: User,
    now: datetime,
    sample: Sample,
    decision: ReceiptDecision,
    temperature_c: Decimal | None = None,
    volume_ml: Decimal | None = None,
    container_intact: bool | None = None,
    rejection_reason: RejectionReason | None = None,
    note: str | None = None,
    min_volume_ml: Decimal = DEFAULT_MIN_VOLUME_ML,
) -> SampleReceipt:
    """Record what arrived and accept (→ received) or reject (→ rejected) it at the desk."""
    lock(session, sample)
    _refuse_unless_registered(sample)
    if now < sample.collected_at:
        raise BusinessRuleViolation(
            _("The receipt time is before the sample was collected (%(collected)s UTC).",
              collected=sample.collected_at.strftime("%Y-%m-%d %H:%M"))
        )
    require_finite(temperature_c, field="temperature_c")
    require_finite(volume_ml, field="volume_ml")
    if volume_ml is not None and volume_ml < 0:
        raise ValidationError(_("The volume cannot be negative."), field="volume_ml")
    if decision is ReceiptDecision.ACCEPTED:
        if rejection_reason is not None:
            raise ValidationError(
                _("A rejection reason was chosen: set the decision to reject, or clear the reason."),
                field="decision",
            )
        action, reason = SampleAction.RECEIVE, None
        check_action(sample, action, actor)
        check_acceptable(session, now=now, sample=sample, volume_ml=volume_ml,
                         container_intact=container_intact, min_volume_ml=min_volume_ml)
    else:
        action, reason = SampleAction.REJECT, _rejection_text(rejection_reason, note)
        check_action(sample, action, actor, reason)
    receipt = SampleReceipt(
        sample=sample, received_at=now, received_by_id=actor.id, temperature_c=temperature_c,
        volume_ml=volume_ml, container_intact=container_intact, decision=decision,
        rejection_reason=rejection_reason if decision is ReceiptDecision.REJECTED else None,
        note=note or None,
    )
    session.add(receipt)
    session.flush()
    apply_action(session, actor=actor, now=now, sample=sample, action=action, reason=reason,
                 receipt_id=receipt.id, decision=decision, temperature_c=temperature_c,
                 volume_ml=volume_ml, container_intact=container_intact,
                 rejection_reason=receipt.rejection_reason)
    return receipt


def reject_sample(
    session: Session,
    *,
    actor: User,
    now: datetime,
    sample: Sample,
    rejection_reason: RejectionReason | None,
    note: str | None = None,
) -> SampleReceipt:
    """Reject a registered or received sample after the fact (e.g. contamination found later).
    The decision is kept as a receipt row, so rejections are counted by reason in one place."""
    reason = _rejection_text(rejection_reason, note)
    lock(session, sample)
    check_action(sample, SampleAction.REJECT, actor, reason)
    receipt = SampleReceipt(sample=sample, received_at=now, received_by_id=actor.id,
                            decision=ReceiptDecision.REJECTED, rejection_reason=rejection_reason,
                            note=note or None)
    session.add(receipt)
    session.flush()
    apply_action(session, actor=actor, now=now, sample=sample, action=SampleAction.REJECT,
                 reason=reason, receipt_id=receipt.id, rejection_reason=rejection_reason)
    return receipt


def cancel_sample(
    session: Session, *, actor: User, now: datetime, sample: Sample, reason: str | None
) -> Transition:
    """Withdraw a sample that should never be analysed (registered in error, duplicate…)."""
    return apply_action(session, actor=actor, now=now, sample=sample,
                        action=SampleAction.CANCEL, reason=reason)
