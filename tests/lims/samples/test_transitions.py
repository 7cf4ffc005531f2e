"""Lifecycle services on the database: transitions, receipt rules and their audit events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lims.audit.models import AuditEvent
from lims.audit.service import events_for
from lims.core.errors import (
    BusinessRuleViolation,
    ConflictError,
    InvalidTransition,
    PermissionDenied,
    ValidationError,
)
from lims.core.permissions import Role
from lims.monitoring.models import SampleKindRef
from lims.samples.lifecycle import SampleAction, SampleStatus
from lims.samples.models import ReceiptDecision, RejectionReason, SampleKind
from lims.samples.transitions import (
    ReceiptRefused,
    apply_action,
    cancel_sample,
    receive_sample,
    reject_sample,
)
from tests.conftest import FIXED_NOW

ACCEPT, REJECT = ReceiptDecision.ACCEPTED, ReceiptDecision.REJECTED


@pytest.fixture()
def tech(make_user):
    return make_user(Role.TECHNICIAN)


def sample_events(session, sample):
    return events_for(session, "sample", sample.id)


def test_apply_action_moves_status_and_audits(session, tech, make_sample):
    sample = make_sample(status=SampleStatus.RECEIVED)
    apply_action(session, actor=tech, now=FIXED_NOW, sample=sample,
                 action=SampleAction.START_ANALYSIS)
    assert sample.status is SampleStatus.IN_ANALYSIS
    [event] = sample_events(session, sample)
    assert event.action == "start_analysis" and event.actor_name == tech.username
    assert event.actor_id == tech.id and event.occurred_at == FIXED_NOW
    assert event.entity_label == sample.accession
    assert event.changes == {"status": {"before": "received", "after": "in_analysis"}}


def test_illegal_transition_is_a_409_naming_the_sample(session, tech, make_sample):
    sample = make_sample(status=SampleStatus.CANCELLED)
    with pytest.raises(InvalidTransition) as info:
        apply_action(session, actor=tech, now=FIXED_NOW, sample=sample,
                     action=SampleAction.RECEIVE)
    assert info.value.http_status == 409
    assert sample.accession in info.value.message and "cancelled" in info.value.message
    assert sample.status is SampleStatus.CANCELLED
    assert sample_events(session, sample) == []


def test_transition_without_permission_is_a_403(session, make_user, make_sample):
    reviewer = make_user(Role.REVIEWER)
    sample = make_sample()
    with pytest.raises(PermissionDenied, match="receive_samples"):
        apply_action(session, actor=reviewer, now=FIXED_NOW, sample=sample,
                     action=SampleAction.RECEIVE)
    assert sample.status is SampleStatus.REGISTERED


def test_missing_reason_is_a_validation_error_on_reason(session, tech, make_sample):
    sample = make_sample()
    with pytest.raises(ValidationError) as info:
        cancel_sample(session, actor=tech, now=FIXED_NOW, sample=sample, reason="  ")
    assert info.value.field == "reason"
    assert sample.status is SampleStatus.REGISTERED


def test_cancel_records_reason(session, tech, make_sample):
    sample = make_sample()
    cancel_sample(session, actor=tech, now=FIXED_NOW, sample=sample, reason="registered twice")
    assert sample.status is SampleStatus.CANCELLED
    [event] = sample_events(session, sample)
    assert event.action == "cancel" and event.reason == "registered twice"
    assert event.changes["status"] == {"before": "registered", "after": "cancelled"}


def test_accept_records_receipt_and_audit(session, tech, make_sample):
    sample = make_sample()
    receipt = receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT,
                             temperature_c=Decimal("-18.5"), volume_ml=Decimal("4.20"),
                             container_intact=True)
    assert sample.status is SampleStatus.RECEIVED and sample.received_at == FIXED_NOW
    assert receipt.id is not None and receipt.received_by_id == tech.id
    assert receipt.decision is ACCEPT and receipt.rejection_reason is None
    [event] = sample_events(session, sample)
    assert event.action == "receive" and event.reason is None
    assert event.changes["status"] == {"before": "registered", "after": "received"}
    assert event.changes["received_at"]["after"] == FIXED_NOW.isoformat()
    assert event.changes["temperature_c"]["after"] == "-18.5"
    assert event.changes["container_intact"]["after"] is True
    assert event.changes["receipt_id"]["after"] == receipt.id


def test_reject_at_receipt_records_reason(session, tech, make_sample):
    sample = make_sample()
    receipt = receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=REJECT,
                             container_intact=False, rejection_reason=RejectionReason.LEAKING)
    assert sample.status is SampleStatus.REJECTED and sample.received_at is None
    assert receipt.rejection_reason is RejectionReason.LEAKING
    [event] = sample_events(session, sample)
    assert event.action == "reject" and event.reason == "leaking"
    assert event.changes["rejection_reason"]["after"] == "leaking"


def test_reject_needs_a_reason_and_other_needs_a_note(session, tech, make_sample):
    sample = make_sample()
    with pytest.raises(ValidationError) as info:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=REJECT)
    assert info.value.field == "rejection_reason"
    with pytest.raises(ValidationError) as info:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=REJECT,
                       rejection_reason=RejectionReason.OTHER)
    assert info.value.field == "note"
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=REJECT,
                   rejection_reason=RejectionReason.OTHER, note="tube broken in transit")
    assert sample_events(session, sample)[0].reason == "tube broken in transit"


def test_low_urine_volume_cannot_be_accepted(session, tech, make_sample):
    sample = make_sample(volume_ml=Decimal("5.0"))
    with pytest.raises(ReceiptRefused) as info:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT,
                       volume_ml=Decimal("0.79"), container_intact=True)
    assert info.value.field == "volume_ml"
    assert info.value.suggested_reason is RejectionReason.INSUFFICIENT_VOLUME
    assert "insufficient volume" in info.value.message and "0.8" in info.value.message
    assert isinstance(info.value, BusinessRuleViolation) and info.value.http_status == 422
    assert sample.status is SampleStatus.REGISTERED and sample.receipts == []
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT,
                   volume_ml=Decimal("0.80"), container_intact=True)
    assert sample.status is SampleStatus.RECEIVED


def test_registered_volume_is_used_when_not_remeasured(session, tech, make_sample):
    sample = make_sample(volume_ml=Decimal("0.5"))
    with pytest.raises(ReceiptRefused, match="0.5"):
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT)


def test_configured_minimum_applies_when_the_kind_has_none(session, tech, make_sample):
    session.get(SampleKindRef, "urine").min_volume_ml = None
    sample = make_sample(volume_ml=Decimal("1.5"))
    with pytest.raises(ReceiptRefused, match="2.0"):
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT,
                       min_volume_ml=Decimal("2.0"))
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT)
    assert sample.status is SampleStatus.RECEIVED


def test_salt_has_no_volume_rule(session, tech, make_sample):
    sample = make_sample(SampleKind.SALT)
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT)
    assert sample.status is SampleStatus.RECEIVED


def test_broken_container_cannot_be_accepted(session, tech, make_sample):
    sample = make_sample()
    with pytest.raises(ReceiptRefused) as info:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT,
                       container_intact=False)
    assert info.value.field == "container_intact"
    assert info.value.suggested_reason is RejectionReason.LEAKING


def test_too_old_cannot_be_accepted(session, tech, make_sample):
    sample = make_sample(collected_at=FIXED_NOW - timedelta(days=366))
    with pytest.raises(ReceiptRefused, match="365 days") as info:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT)
    assert info.value.suggested_reason is RejectionReason.TOO_OLD
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=REJECT,
                   rejection_reason=RejectionReason.TOO_OLD)
    assert sample.status is SampleStatus.REJECTED


def test_receipt_cannot_precede_collection(session, tech, make_sample):
    sample = make_sample(collected_at=FIXED_NOW + timedelta(hours=1))
    with pytest.raises(BusinessRuleViolation, match="before the sample was collected"):
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT)


def test_negative_volume_and_reason_with_accept_are_refused(session, tech, make_sample):
    sample = make_sample()
    with pytest.raises(ValidationError) as info:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT,
                       volume_ml=Decimal("-1"))
    assert info.value.field == "volume_ml"
    with pytest.raises(ValidationError) as info:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT,
                       rejection_reason=RejectionReason.LEAKING)
    assert info.value.field == "decision"


def test_second_receipt_says_when_and_by_whom(session, tech, make_sample):
    sample = make_sample()
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT)
    with pytest.raises(ConflictError) as info:
        receive_sample(session, actor=tech, now=FIXED_NOW + timedelta(minutes=5), sample=sample,
                       decision=ACCEPT)
    message = info.value.message
    assert "already accepted" in message and tech.username in message
    assert "2026-05-14 08:30" in message and info.value.field == "accession"
    assert len(sample.receipts) == 1


def test_receipt_needs_the_receive_permission(session, make_user, make_sample):
    reviewer = make_user(Role.REVIEWER)
    sample = make_sample()
    with pytest.raises(PermissionDenied):
        receive_sample(session, actor=reviewer, now=FIXED_NOW, sample=sample, decision=ACCEPT)
    assert sample.receipts == []


def test_reject_after_receipt_keeps_both_decisions(session, tech, make_sample):
    sample = make_sample()
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT)
    later = FIXED_NOW + timedelta(hours=2)
    reject_sample(session, actor=tech, now=later, sample=sample,
                  rejection_reason=RejectionReason.CONTAMINATED, note="iodine swab nearby")
    assert sample.status is SampleStatus.REJECTED
    assert [r.decision for r in sample.receipts] == [ACCEPT, REJECT]
    events = sample_events(session, sample)
    assert [e.action for e in events] == ["receive", "reject"]
    assert events[1].reason == "iodine swab nearby"
    assert events[1].changes["status"] == {"before": "received", "after": "rejected"}


def test_rejected_sample_cannot_be_rejected_again(session, tech, make_sample):
    sample = make_sample(status=SampleStatus.REJECTED)
    with pytest.raises(InvalidTransition):
        reject_sample(session, actor=tech, now=FIXED_NOW, sample=sample,
                      rejection_reason=RejectionReason.LEAKING)


def test_audit_rows_are_committed_with_the_change(session, tech, make_sample):
    sample = make_sample()
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample, decision=ACCEPT)
    session.commit()
    count = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                           .where(AuditEvent.entity_type == "sample",
                                  AuditEvent.entity_id == sample.id))
    assert count == 1
