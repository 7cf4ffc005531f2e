"""Results after the run: direct entry (WYD, rapid test kit), verification, amendment, retest.

Four eyes: a result is verified by a reviewer who neither created the run, nor measured it
(attached the plate or typed the values), nor created the result. A verified result is never
changed: an amendment is a new version (``supersedes_id``), the old one is kept as
``superseded`` and shown, and the sample goes back to review (lifecycle ``amend``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from lims.analysis import queries
from lims.analysis.calibration import ResultStatus as Outcome
from lims.analysis.calibration import classify_reading
from lims.analysis.catalogue import result_analyte
from lims.analysis.labels import analysis_label
from lims.analysis.methods import ResultScale
from lims.analysis.models import AnalyticalRun, MethodVersionRow, Result, ResultStatus, RunStatus
from lims.analysis.runs import RESULT_ENTITY, new_result, supersede_previous
from lims.audit.service import record_event
from lims.auth.models import User
from lims.capture.models import Instrument
from lims.core.errors import (
    BusinessRuleViolation,
    ConfirmationRequired,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from lims.core.inputs import require_finite
from lims.core.labels import label
from lims.core.locking import lock, lock_all
from lims.core.permissions import Permission
from lims.equipment.queries import instrument_problem, problem_reason
from lims.samples.lifecycle import SampleAction, SampleStatus
from lims.samples.models import Sample, SampleKind
from lims.samples.transitions import apply_action


def get_result(session: Session, result_id: int) -> Result:
    result = session.get(Result, result_id)
    if result is None:
        raise NotFoundError(_("No result with id %(id)s.", id=result_id))
    return result


def _audit(session: Session, result: Result, *, actor: User, now: datetime, action: str,
           changes: dict[str, object], reason: str | None = None) -> None:
    record_event(session, actor=actor, now=now, action=action, entity_type=RESULT_ENTITY,
                 entity_id=result.id, entity_label=f"{result.sample.accession} v{result.version}",
                 changes=changes, reason=reason)


# -- direct entry --------------------------------------------------------------------------------

#: What a second value for a sample that already has one does (the person chooses).
REPLICATE, REPLACE = "replicate", "replace"
#: Statuses whose current result is "a value" that a new entry must not silently replace.
_HAS_VALUE = (ResultStatus.HELD, ResultStatus.PRELIMINARY, ResultStatus.VERIFIED)


def enter_direct_result(session: Session, *, actor: User, now: datetime, sample: Sample,
                        method_version: MethodVersionRow, values: Sequence[float] = (),
                        category: str | None = None, existing: str | None = None,
                        reason: str | None = None, instrument: str | None = None) -> Result:
    """A WYD reading (mg/kg, one or more replicates) or a rapid-test category for a salt sample.

    No run, so no curve and no batch QC: the result is preliminary at once and goes to review.
    A sample that already has a current value is never given a second one silently: without
    ``existing`` the entry raises ``ConfirmationRequired``; ``existing="replicate"`` adds the
    readings to the current preliminary result's replicates (a new row computed from all of
    them), ``existing="replace"`` supersedes it, with a mandatory ``reason``. A verified value is
    changed only by a reviewer's amendment. ``instrument``: the device's code, kept in details.
    """
    if not actor.can(Permission.ANALYSE_SAMPLES):
        raise PermissionDenied(_("You may not enter results."))
    if instrument:
        device = session.scalar(sa.select(Instrument.id).where(Instrument.code == instrument))
        problem = instrument_problem(session, device, now.date()) if device is not None else None
        if problem is not None:  # ISO/IEC 17025 §6.4: never a value from unusable equipment
            raise BusinessRuleViolation(problem_reason(problem).text(), field="instrument")
    method = method_version.method
    if method.calibration is not None or method.titration is not None:
        raise BusinessRuleViolation(_("%(method)s results come from runs, not direct entry.",
                                      method=analysis_label(method.name)))
    if sample.kind is not SampleKind(method.matrix.value):
        raise BusinessRuleViolation(_("%(sample)s (%(kind)s) does not fit %(method)s "
                                      "(%(measured)s).", sample=sample.accession,
                                      kind=label(sample.kind), method=analysis_label(method.name),
                                      measured=label(method.matrix.value)), field="accession")
    if existing not in (None, REPLICATE, REPLACE):
        raise ValidationError(_("Choose: add as a replicate, or replace with a reason."),
                              field="existing")
    lock(session, sample)
    analyte = result_analyte(method)
    previous = _current(session, sample, analyte)
    has_value = previous is not None and previous.status in _HAS_VALUE
    if has_value:
        assert previous is not None
        lock(session, previous)
        if previous.status is ResultStatus.VERIFIED:
            raise BusinessRuleViolation(
                _("The value of %(sample)s is verified; a reviewer changes it by an amendment "
                  "on the result page.", sample=sample.accession), field="accession")
    if has_value and existing is None:
        assert previous is not None
        raise ConfirmationRequired(
            _("%(sample)s already has a value: %(value)s %(unit)s (%(status)s).",
              sample=sample.accession, value=previous.display, unit=previous.unit,
              status=analysis_label(previous.status)),
            questions={"has_value": previous.display}, field="accession")
    allowed = (SampleStatus.RECEIVED, SampleStatus.IN_ANALYSIS) + (
        (SampleStatus.PENDING_REVIEW,) if has_value else ())
    if sample.status not in allowed:
        raise BusinessRuleViolation(_("%(sample)s has status %(status)s; results are entered "
                                      "for received samples or retests.",
                                      sample=sample.accession, status=label(sample.status)),
                                    field="accession")
    if has_value:
        if existing == REPLACE and not (reason or "").strip():
            raise ValidationError(_("Say why the value is replaced."), field="reason")
        if existing == REPLICATE and method.scale is ResultScale.ORDINAL:
            raise BusinessRuleViolation(_("A rapid test has no replicates: replace its result "
                                          "with a reason instead."), field="existing")
    replicates = list(previous.details.get("replicates") or []) \
        if has_value and existing == REPLICATE and previous is not None else []
    extra: dict[str, object] = {"instrument": instrument} if instrument else {}
    if method.scale is ResultScale.ORDINAL:
        try:
            chosen = method.category(category or "")
        except ValueError as error:
            raise ValidationError(str(error), field="category") from error
        result = new_result(sample, method_version, method, status=ResultStatus.PRELIMINARY,
                            actor=actor, now=now, category=chosen,
                            details={"category": chosen, **extra})
    else:
        if not values:
            raise ValidationError(_("Enter the reading."), field="values")
        outcome = classify_reading([*replicates, *values], method)
        if outcome.status in (Outcome.DILUTE, Outcome.REPEAT):
            raise BusinessRuleViolation(" ".join(outcome.reasons) or _("Repeat the reading."),
                                        field="values")
        details = outcome.to_dict()
        details["outcome"] = details.pop("status")
        details.update(extra)
        result = new_result(sample, method_version, method, status=ResultStatus.PRELIMINARY,
                            actor=actor, now=now, value=outcome.value,
                            comparator=outcome.comparator, limit=outcome.limit,
                            flags=list(outcome.reasons), details=details)
    changes: dict[str, object] = {"value": {"before": previous.display if has_value and previous
                                            else None, "after": result.display},
                                  "method": method.key}
    if previous is not None:
        result.retest_of_id = previous.retest_of_id if has_value else previous.id
    if has_value and existing == REPLACE:
        result.flags = [*result.flags, _("replaced %(value)s: %(reason)s",
                                         value=previous.display if previous else "",
                                         reason=(reason or "").strip())]
    if has_value:
        changes["added_as_replicate" if existing == REPLICATE else "replaced"] = True
    supersede_previous(session, result)
    session.add(result)
    session.flush()
    if sample.status is SampleStatus.RECEIVED:
        apply_action(session, actor=actor, now=now, sample=sample,
                     action=SampleAction.START_ANALYSIS, method=method.key)
    if sample.status is SampleStatus.IN_ANALYSIS:
        apply_action(session, actor=actor, now=now, sample=sample,
                     action=SampleAction.SUBMIT_FOR_REVIEW, result=result.display)
    _audit(session, result, actor=actor, now=now, action="result_entered", changes=changes,
           reason=(reason or "").strip() or None if existing == REPLACE else None)
    return result


def _current(session: Session, sample: Sample, analyte: object) -> Result | None:
    return session.scalar(sa.select(Result).where(Result.sample_id == sample.id,
                                                  Result.analyte == analyte, Result.is_current))


# -- verification --------------------------------------------------------------------------------

def four_eyes_problem(actor: User, result: Result) -> str | None:
    """Why ``actor`` may not verify ``result`` (None: they may)."""
    run: AnalyticalRun | None = result.run
    if result.created_by_id == actor.id:
        return _("You created this result; a second person must verify it.")
    if run is not None and run.created_by_id == actor.id:
        return _("You set up %(run)s; a second person must verify its results.", run=run.label)
    if run is not None and run.measured_by_id == actor.id:
        return _("You measured %(run)s (plate or values); a second person must verify it.",
                 run=run.label)
    return None


def verify_result(session: Session, *, actor: User, now: datetime, result: Result) -> Result:
    if not actor.can(Permission.REVIEW_RESULTS):
        raise PermissionDenied(_("You may not verify results (needs the 'review_results' "
                                 "permission)."))
    lock(session, result)
    if result.comparator == ">":
        raise BusinessRuleViolation(
            _("The result of %(sample)s is above the calibrated range (%(value)s %(unit)s): "
              "dilute and repeat. A value above the range cannot be verified as a number.",
              sample=result.sample.accession, value=result.display, unit=result.unit))
    if result.status is not ResultStatus.PRELIMINARY or not result.is_current:
        raise ConflictError(
            (_("The result of %(sample)s has status %(status)s: only current preliminary "
               "results can be verified.") if result.is_current else
             _("The result of %(sample)s has status %(status)s and is not current: only current "
               "preliminary results can be verified."))
            % {"sample": result.sample.accession, "status": analysis_label(result.status)})
    if result.run is not None and result.run.status is not RunStatus.ACCEPTED:
        raise ConflictError(_("%(run)s has status %(status)s; its results cannot be verified.",
                              run=result.run.label, status=analysis_label(result.run.status)))
    problem = four_eyes_problem(actor, result)
    if problem:
        raise PermissionDenied(problem)
    result.status = ResultStatus.VERIFIED
    result.verified_at, result.verified_by_id = now, actor.id
    session.flush()
    _audit(session, result, actor=actor, now=now, action="result_verified",
           changes={"status": {"before": ResultStatus.PRELIMINARY, "after": result.status}})
    if result.sample.status is SampleStatus.PENDING_REVIEW:
        apply_action(session, actor=actor, now=now, sample=result.sample,
                     action=SampleAction.VERIFY, result=result.display)
    return result


def verify_run(session: Session, *, actor: User, now: datetime, run: AnalyticalRun) -> int:
    """Verify every preliminary result of an accepted run at once (all-or-nothing)."""
    lock(session, run)
    if run.status is not RunStatus.ACCEPTED:
        raise ConflictError(_("%(run)s has status %(status)s; only an accepted run's results "
                              "can be verified.", run=run.label,
                              status=analysis_label(run.status)))
    pending = [r for r in queries.results_for_run(session, run.id)
               if r.status is ResultStatus.PRELIMINARY and r.is_current]
    if not pending:
        raise ConflictError(_("%(run)s has no preliminary results left to verify.",
                              run=run.label))
    lock_all(session, pending)
    lock_all(session, list({r.sample_id: r.sample for r in pending}.values()))
    for result in pending:
        verify_result(session, actor=actor, now=now, result=result)
    return len(pending)


def result_fingerprint(result: Result) -> str:
    """What a reviewer saw of a result, in 16 hex digits: the review page sends it back with
    each selected row, so a row changed since the page was shown (verified by someone else,
    sent back, amended, flagged) is refused instead of verified unseen."""
    seen = [result.id, result.version, str(result.status), result.is_current, result.value,
            result.comparator, result.limit, result.category, list(result.flags or [])]
    return hashlib.sha256(json.dumps(seen, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Refusal:
    """A row of a bulk verification that was not verified, and why."""

    result_id: int
    label: str
    reason: str


@dataclass
class BulkOutcome:
    verified: list[Result] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


#: The most rows one click may verify (two pages of the review queue and then some).
BULK_MAX = 500


def verify_results(session: Session, *, actor: User, now: datetime, seen: Mapping[int, str],
                   only_unflagged: bool = False) -> BulkOutcome:
    """Verify the selected results, each as :func:`verify_result` would, in one transaction.

    ``seen`` maps each result id to its :func:`result_fingerprint` as the page showed it. The
    rows are locked in id order with one query (two reviewers verifying overlapping selections
    wait for each other, never deadlock), then checked one by one: a row that changed since it
    was shown, is no longer preliminary, belongs to an unaccepted run or fails the four-eyes
    rule is refused with the reason and nothing is done for it; the others are verified.
    ``only_unflagged`` ("verify all shown that have no flag"): rows shown with flags are left
    for a closer look, unmentioned.
    """
    if not actor.can(Permission.REVIEW_RESULTS):
        raise PermissionDenied(_("You may not verify results (needs the 'review_results' "
                                 "permission)."))
    if not seen:
        raise ValidationError(_("Select the results to verify."), field="result")
    if len(seen) > BULK_MAX:
        raise ValidationError(_("At most %(num)d results can be verified at once.",
                                num=BULK_MAX), field="result")
    outcome = BulkOutcome()
    results = list(session.scalars(
        sa.select(Result).where(Result.id.in_(list(seen)))
        .options(selectinload(Result.sample), selectinload(Result.run)).order_by(Result.id)))
    found = {r.id for r in results}
    outcome.refused += [Refusal(rid, f"#{rid}", _("No such result.")) for rid in sorted(seen)
                        if rid not in found]
    lock_all(session, results)
    lock_all(session, list({r.sample_id: r.sample for r in results}.values()))
    for result in results:
        problem = _bulk_problem(actor, result, seen[result.id])
        if only_unflagged and result.flags and problem is None:
            continue
        if problem is not None:
            outcome.refused.append(Refusal(result.id, result.sample.accession, problem))
            continue
        outcome.verified.append(verify_result(session, actor=actor, now=now, result=result))
    return outcome


def _bulk_problem(actor: User, result: Result, fingerprint: str) -> str | None:
    if result_fingerprint(result) != fingerprint:
        return _("Changed since the page was shown (now %(status)s); nothing was done, reload "
                 "and look again.", status=analysis_label(result.status))
    if result.run is not None and result.run.status is not RunStatus.ACCEPTED:
        return _("%(run)s has status %(status)s; its results cannot be verified.",
                 run=result.run.label, status=analysis_label(result.run.status))
    return four_eyes_problem(actor, result)


def amend_result(session: Session, *, actor: User, now: datetime, result: Result, reason: str,
                 value: float | None = None, comparator: str | None = None,
                 limit: float | None = None, category: str | None = None) -> Result:
    """A new version of a verified result; the old one is kept, superseded, and shown."""
    if not actor.can(Permission.REVIEW_RESULTS):
        raise PermissionDenied(_("You may not amend results (needs the 'review_results' "
                                 "permission)."))
    if not reason.strip():
        raise ValidationError(_("An amendment needs a reason."), field="reason")
    require_finite(value, field="value")
    require_finite(limit, field="limit")
    if comparator not in (None, "<", ">"):
        raise ValidationError(_("The comparator is '<', '>' or none."), field="comparator")
    if comparator and limit is None:
        raise ValidationError(_("A censored value needs its limit."), field="limit")
    if value is None and category is None and comparator is None:
        raise ValidationError(_("Give the corrected value."), field="value")
    # the input is checked first; the row is locked only for the rule that depends on its state
    lock(session, result)
    if result.status is not ResultStatus.VERIFIED or not result.is_current:
        raise ConflictError(_("Only the current verified result can be amended; this one has "
                              "status %(status)s.", status=analysis_label(result.status)))
    amended = Result(sample_id=result.sample_id, analyte=result.analyte,
                     method_version_id=result.method_version_id, run_id=result.run_id,
                     version=result.version + 1, supersedes_id=result.id,
                     retest_of_id=result.retest_of_id, is_current=True,
                     status=ResultStatus.PRELIMINARY,
                     value=None if comparator == "<" else value, comparator=comparator,
                     limit=limit if comparator else None, category=category, unit=result.unit,
                     flags=[*result.flags, _("amended: %(reason)s", reason=reason.strip())],
                     details={**result.details, "amended_from": result.display},
                     created_at=now, created_by_id=actor.id, amendment_reason=reason.strip())
    result.is_current = False
    result.status = ResultStatus.SUPERSEDED
    session.flush()  # the old row leaves "current" before the new one joins
    session.add(amended)
    session.flush()
    _audit(session, amended, actor=actor, now=now, action="result_amended", reason=reason.strip(),
           changes={"value": {"before": result.display, "after": amended.display},
                    "version": {"before": result.version, "after": amended.version}})
    if amended.sample.status is SampleStatus.VERIFIED:
        apply_action(session, actor=actor, now=now, sample=amended.sample,
                     action=SampleAction.AMEND, reason=reason.strip(),
                     result=amended.display)
    return amended


def send_back_result(session: Session, *, actor: User, now: datetime, result: Result,
                     reason: str, seen: str | None = None) -> Result:
    """A reviewer asks for a retest: the result becomes ``repeat`` and the sample returns to
    analysis; the next run's result links back to this one (``retest_of_id``). ``seen``: the
    :func:`result_fingerprint` the review page showed; a result changed since is refused."""
    if not actor.can(Permission.REVIEW_RESULTS):
        raise PermissionDenied(_("You may not send results back."))
    if not reason.strip():
        raise ValidationError(_("Say why the sample must be retested."), field="reason")
    lock(session, result)
    if seen is not None and result_fingerprint(result) != seen:
        raise ConflictError(_("Changed since the page was shown (now %(status)s); nothing was "
                              "done, reload and look again.",
                              status=analysis_label(result.status)))
    if result.status is not ResultStatus.PRELIMINARY or not result.is_current:
        raise ConflictError(_("Only a current preliminary result can be sent back."))
    result.status = ResultStatus.REPEAT
    result.flags = [*result.flags, _("retest requested: %(reason)s", reason=reason.strip())]
    session.flush()
    _audit(session, result, actor=actor, now=now, action="result_sent_back",
           reason=reason.strip(),
           changes={"status": {"before": ResultStatus.PRELIMINARY, "after": result.status}})
    if result.sample.status is SampleStatus.PENDING_REVIEW:
        apply_action(session, actor=actor, now=now, sample=result.sample,
                     action=SampleAction.SEND_BACK, reason=reason.strip())
    return result


__all__ = ["BulkOutcome", "Refusal", "amend_result", "enter_direct_result", "four_eyes_problem",
           "get_result", "result_fingerprint", "send_back_result", "verify_result",
           "verify_results", "verify_run"]
