"""The sample state machine: states, the allowed transitions, and who may make each one.

Pure: no Flask, no database. Services call :func:`check_transition` before they change a
sample's status, so the table below is the only place that says what may happen next.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from lims.core.permissions import Permission


class SampleStatus(enum.StrEnum):
    REGISTERED = "registered"
    RECEIVED = "received"
    IN_ANALYSIS = "in_analysis"
    PENDING_REVIEW = "pending_review"
    VERIFIED = "verified"
    REPORTED = "reported"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class SampleAction(enum.StrEnum):
    RECEIVE = "receive"
    REJECT = "reject"
    CANCEL = "cancel"
    START_ANALYSIS = "start_analysis"
    RETURN_TO_QUEUE = "return_to_queue"
    SUBMIT_FOR_REVIEW = "submit_for_review"
    SEND_BACK = "send_back"
    VERIFY = "verify"
    AMEND = "amend"
    REPORT = "report"


@dataclass(frozen=True)
class Transition:
    action: SampleAction
    source: SampleStatus
    target: SampleStatus
    permission: Permission
    needs_reason: bool = False


S = SampleStatus
A = SampleAction
P = Permission

TRANSITIONS: tuple[Transition, ...] = (
    Transition(A.RECEIVE, S.REGISTERED, S.RECEIVED, P.RECEIVE_SAMPLES),
    Transition(A.REJECT, S.REGISTERED, S.REJECTED, P.RECEIVE_SAMPLES, needs_reason=True),
    Transition(A.REJECT, S.RECEIVED, S.REJECTED, P.RECEIVE_SAMPLES, needs_reason=True),
    Transition(A.CANCEL, S.REGISTERED, S.CANCELLED, P.CANCEL_SAMPLES, needs_reason=True),
    Transition(A.CANCEL, S.RECEIVED, S.CANCELLED, P.CANCEL_SAMPLES, needs_reason=True),
    Transition(A.START_ANALYSIS, S.RECEIVED, S.IN_ANALYSIS, P.ANALYSE_SAMPLES),
    Transition(A.RETURN_TO_QUEUE, S.IN_ANALYSIS, S.RECEIVED, P.ANALYSE_SAMPLES, needs_reason=True),
    Transition(A.SUBMIT_FOR_REVIEW, S.IN_ANALYSIS, S.PENDING_REVIEW, P.ANALYSE_SAMPLES),
    Transition(A.SEND_BACK, S.PENDING_REVIEW, S.IN_ANALYSIS, P.REVIEW_RESULTS, needs_reason=True),
    Transition(A.VERIFY, S.PENDING_REVIEW, S.VERIFIED, P.REVIEW_RESULTS),
    # a verified result amended (new version) must be verified again by a second person
    Transition(A.AMEND, S.VERIFIED, S.PENDING_REVIEW, P.REVIEW_RESULTS, needs_reason=True),
    Transition(A.REPORT, S.VERIFIED, S.REPORTED, P.RELEASE_REPORTS),
)

_BY_KEY: dict[tuple[SampleStatus, SampleAction], Transition] = {
    (t.source, t.action): t for t in TRANSITIONS
}

TERMINAL_STATES = frozenset({S.REPORTED, S.REJECTED, S.CANCELLED})


class TransitionError(Exception):
    """Base of the two ways a transition can be refused."""


class IllegalTransition(TransitionError):
    def __init__(self, status: SampleStatus, action: SampleAction) -> None:
        allowed = ", ".join(sorted(a.value for a in actions_from(status))) or "none"
        super().__init__(
            f"cannot {action.value.replace('_', ' ')} a sample that is {status.value}"
            f" (allowed from {status.value}: {allowed})"
        )
        self.status = status
        self.action = action


class TransitionNotPermitted(TransitionError):
    def __init__(self, transition: Transition) -> None:
        super().__init__(
            f"{transition.action.value.replace('_', ' ')} needs the"
            f" '{transition.permission.value}' permission"
        )
        self.transition = transition


class ReasonRequired(TransitionError):
    def __init__(self, transition: Transition) -> None:
        super().__init__(f"{transition.action.value.replace('_', ' ')} needs a reason")
        self.transition = transition


def actions_from(status: SampleStatus) -> list[SampleAction]:
    return [t.action for t in TRANSITIONS if t.source == status]


def check_transition(
    status: SampleStatus,
    action: SampleAction,
    permissions: Iterable[Permission],
    reason: str | None = None,
) -> Transition:
    """Return the transition for ``action`` from ``status`` or raise why it is refused."""
    transition = _BY_KEY.get((status, action))
    if transition is None:
        raise IllegalTransition(status, action)
    if transition.permission not in set(permissions):
        raise TransitionNotPermitted(transition)
    if transition.needs_reason and not (reason and reason.strip()):
        raise ReasonRequired(transition)
    return transition


def allowed_actions(status: SampleStatus, permissions: Iterable[Permission]) -> list[SampleAction]:
    granted = set(permissions)
    return [t.action for t in TRANSITIONS if t.source == status and t.permission in granted]
