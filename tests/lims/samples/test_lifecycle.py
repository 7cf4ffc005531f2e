"""The state machine on its own: every state × action, permissions and reasons. No database."""

from __future__ import annotations

import itertools

import pytest

from lims.core.permissions import Permission, Role, permissions_for
from lims.samples.lifecycle import (
    TERMINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    ReasonRequired,
    SampleAction,
    SampleStatus,
    TransitionNotPermitted,
    actions_from,
    allowed_actions,
    check_transition,
)

S, A = SampleStatus, SampleAction
ALL = frozenset(Permission)

# The lifecycle, written out independently of the table under test.
EXPECTED: dict[tuple[SampleStatus, SampleAction], SampleStatus] = {
    (S.REGISTERED, A.RECEIVE): S.RECEIVED,
    (S.REGISTERED, A.REJECT): S.REJECTED,
    (S.REGISTERED, A.CANCEL): S.CANCELLED,
    (S.RECEIVED, A.REJECT): S.REJECTED,
    (S.RECEIVED, A.CANCEL): S.CANCELLED,
    (S.RECEIVED, A.START_ANALYSIS): S.IN_ANALYSIS,
    (S.IN_ANALYSIS, A.RETURN_TO_QUEUE): S.RECEIVED,
    (S.IN_ANALYSIS, A.SUBMIT_FOR_REVIEW): S.PENDING_REVIEW,
    (S.PENDING_REVIEW, A.SEND_BACK): S.IN_ANALYSIS,
    (S.PENDING_REVIEW, A.VERIFY): S.VERIFIED,
    (S.VERIFIED, A.REPORT): S.REPORTED,
    # issue 4: an amended (new version of a) verified result is reviewed again
    (S.VERIFIED, A.AMEND): S.PENDING_REVIEW,
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S, A)))
def test_every_state_and_action(status, action):
    if (status, action) in EXPECTED:
        transition = check_transition(status, action, ALL, reason="checked")
        assert transition.target is EXPECTED[(status, action)]
        assert transition.source is status and transition.action is action
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(status, action, ALL, reason="checked")
        message = str(info.value)
        assert action.value.replace("_", " ") in message and status.value in message
        assert "allowed from" in message
        assert info.value.status is status and info.value.action is action


def test_table_has_no_duplicates_and_terminal_states_are_final():
    keys = [(t.source, t.action) for t in TRANSITIONS]
    assert len(keys) == len(set(keys))
    for status in TERMINAL_STATES:
        assert actions_from(status) == []
        assert "none" in str(IllegalTransition(status, A.RECEIVE))


def test_illegal_message_lists_what_is_possible():
    with pytest.raises(IllegalTransition, match=r"cannot receive a sample that is received"
                                                r" \(allowed from received: cancel, reject,"
                                                r" start_analysis\)"):
        check_transition(S.RECEIVED, A.RECEIVE, ALL)


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: f"{t.source}-{t.action}")
def test_each_transition_needs_its_permission(transition):
    without = ALL - {transition.permission}
    with pytest.raises(TransitionNotPermitted, match=transition.permission.value):
        check_transition(transition.source, transition.action, without, reason="because")
    assert check_transition(transition.source, transition.action, {transition.permission},
                            reason="because") == transition


@pytest.mark.parametrize("transition", [t for t in TRANSITIONS if t.needs_reason],
                         ids=lambda t: f"{t.source}-{t.action}")
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reasons_are_required_where_the_table_says(transition, reason):
    with pytest.raises(ReasonRequired, match="needs a reason"):
        check_transition(transition.source, transition.action, ALL, reason=reason)


def test_reject_and_cancel_need_reasons_but_receive_does_not():
    needing = {(t.source, t.action) for t in TRANSITIONS if t.needs_reason}
    assert (S.REGISTERED, A.REJECT) in needing and (S.RECEIVED, A.CANCEL) in needing
    assert check_transition(S.REGISTERED, A.RECEIVE, ALL).target is S.RECEIVED


def test_illegal_is_reported_before_permission_and_reason():
    with pytest.raises(IllegalTransition):
        check_transition(S.CANCELLED, A.REJECT, frozenset())


def test_allowed_actions_per_role():
    technician = permissions_for({Role.TECHNICIAN})
    reviewer = permissions_for({Role.REVIEWER})
    ministry = permissions_for({Role.MINISTRY})
    assert set(allowed_actions(S.REGISTERED, technician)) == {A.RECEIVE, A.REJECT, A.CANCEL}
    assert allowed_actions(S.REGISTERED, reviewer) == []
    assert allowed_actions(S.REGISTERED, ministry) == []
    assert set(allowed_actions(S.PENDING_REVIEW, reviewer)) == {A.SEND_BACK, A.VERIFY}
    assert allowed_actions(S.PENDING_REVIEW, technician) == []
    assert allowed_actions(S.VERIFIED, reviewer) == [A.AMEND, A.REPORT]
    assert allowed_actions(S.REJECTED, ALL) == []
