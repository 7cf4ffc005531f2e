"""Analytical runs: from a worklist to results judged by their curve and controls.

A run moves open → measured → calculated → accepted | rejected:

- **open**: the layout is made from the worklist (plate methods: blanks, standards, controls,
  samples; batch methods such as titration: the list of samples); each placed sample starts
  its analysis (lifecycle ``start_analysis``; a retest is already in analysis).
- **measured**: the plate reading is attached (from the inbox or a file) after its wells were
  checked against the layout, or the batch's values were entered.
- **calculated**: the curve is fitted and judged, each sample classified, the controls stored
  and judged by Westgard. Results exist from here on, ``held`` until the run is accepted.
  Recalculating (another curve model) supersedes the previous results of the run.
- **accepted**: only with an acceptable curve and QC; results become ``preliminary`` and their
  samples go to review. A QC rejection can be overridden by a reviewer with a reason; a failed
  curve cannot (it gives no numbers to release).
- **rejected** (with a reason): results stay ``held``; the samples go back to the worklist.

Every change writes an audit event on the run (entity ``analytical_run``) in the same
transaction; functions flush and never commit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session, selectinload

from lims.analysis import queries
from lims.analysis.calibration import (
    CalibrationCurve,
    CalibrationError,
    SampleResult,
    classify_reading,
    classify_sample,
    evaluate_curve,
    fit_curve,
)
from lims.analysis.calibration import (
    ResultStatus as Outcome,
)
from lims.analysis.catalogue import result_analyte
from lims.analysis.labels import analysis_label
from lims.analysis.methods import CalibrationModel, MethodVersion
from lims.analysis.models import (
    AnalyticalRun,
    MethodVersionRow,
    ReagentLot,
    Result,
    ResultStatus,
    RunSample,
    RunStatus,
)
from lims.analysis.plate_layout import (
    PlateLayout,
    WorklistItem,
    build_plate_layout,
    check_layout_matches,
    split_readings,
)
from lims.analysis.titration import salt_iodine_mg_per_kg
from lims.audit.service import record_event
from lims.auth.models import User
from lims.capture.models import Instrument, InstrumentReading, ReadingStatus, ReadingType
from lims.core.errors import (
    BusinessRuleViolation,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from lims.core.inputs import require_finite
from lims.core.labels import label
from lims.core.locking import lock
from lims.core.permissions import Permission
from lims.equipment.queries import instrument_problem, problem_reason
from lims.qc import service as qc
from lims.samples.lifecycle import SampleAction, SampleStatus
from lims.samples.models import Sample, SampleKind
from lims.samples.transitions import apply_action

RUN_ENTITY = "analytical_run"


def above_range_flag() -> str:
    """The flag of a result above the calibrated range (stored ``> top``, never a number)."""
    return _("above range; dilute and repeat")


RESULT_ENTITY = "result"
#: Samples on one batch (non-plate) run, e.g. one titration session.
BATCH_CAPACITY = 40


def get_run(session: Session, run_id: int) -> AnalyticalRun:
    run = session.get(AnalyticalRun, run_id, options=[
        selectinload(AnalyticalRun.items).selectinload(RunSample.sample),
        selectinload(AnalyticalRun.method_version)])
    if run is None:
        raise NotFoundError(_("No run with id %(id)s.", id=run_id))
    return run


def _audit(session: Session, run: AnalyticalRun, *, actor: User | None, now: datetime,
           action: str, changes: Mapping[str, Any] | None = None,
           reason: str | None = None) -> None:
    record_event(session, actor=actor, now=now, action=action, entity_type=RUN_ENTITY,
                 entity_id=run.id, entity_label=run.label, changes=changes, reason=reason)


def _require(actor: User, permission: Permission, what: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied(_("You may not %(action)s (needs the '%(permission)s' permission).",
                                 action=what, permission=permission.value))


def _kind(method: MethodVersion) -> SampleKind:
    return SampleKind(method.matrix.value)


# -- creating a run ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    sample: Sample
    dilution_factor: float = 1.0
    retest_of: Result | None = None


def worklist(session: Session, mv: MethodVersionRow, *, limit: int) -> list[Candidate]:
    """What the next run of this method would take: retests first, then received samples."""
    method = mv.method
    found = [Candidate(s, _suggested_dilution(r), r)
             for s, r in queries.retests(session, result_analyte(method), limit=limit)
             if s.kind is _kind(method)]
    if len(found) < limit:
        found += [Candidate(s) for s in queries.received_samples(
            session, _kind(method), limit=limit - len(found))]
    return found


def _suggested_dilution(result: Result) -> float:
    suggested = result.details.get("suggested_dilution")
    return float(suggested) if suggested else float(result.details.get("dilution_factor", 1.0))


def create_run(session: Session, *, actor: User, now: datetime, method_version: MethodVersionRow,
               instrument: Instrument | None = None, calibration_model: str | None = None,
               reagent_lot: ReagentLot | None = None, max_samples: int | None = None,
               candidates: Sequence[Candidate] | None = None) -> AnalyticalRun:
    """A run of ``method_version`` filled from the worklist (or the given candidates).

    Plate methods place as many samples as the plate holds (priority, then oldest first); the
    rest stay on the worklist. Each new sample moves to ``in_analysis``.
    """
    _require(actor, Permission.ANALYSE_SAMPLES, _("create runs"))
    method = method_version.method
    if method.scale.value == "ordinal" or (method.calibration is None and method.titration is None):
        raise BusinessRuleViolation(_("%(method)s is entered per sample, not run in batches.",
                                      method=analysis_label(method.name)))
    if instrument is not None:
        problem = instrument_problem(session, instrument.id, now.date())
        if problem is not None:  # ISO/IEC 17025 §6.4: never measure on unusable equipment
            raise BusinessRuleViolation(problem_reason(problem).text(), field="instrument")
    model = None
    if method.calibration is not None:
        model = CalibrationModel(calibration_model or method.calibration.model).value
    capacity = BATCH_CAPACITY if method.plate is None else 96
    limit = min(max_samples or capacity, capacity)
    pool = list(candidates) if candidates is not None else worklist(session, method_version,
                                                                     limit=limit)
    if not pool:
        raise BusinessRuleViolation(
            _("No urine samples are waiting for %(method)s.", method=analysis_label(method.name))
            if _kind(method) is SampleKind.URINE
            else _("No salt samples are waiting for %(method)s.",
                   method=analysis_label(method.name)))
    by_accession = {c.sample.accession: c for c in pool}
    for c in pool:
        _check_eligible(session, c, method)
    if method.plate is not None:
        layout = build_plate_layout(method, [
            WorklistItem(c.sample.accession, c.sample.received_at or c.sample.registered_at,
                         c.sample.priority, c.dilution_factor) for c in pool[:limit]])
        placed = [by_accession[i.accession] for i in layout.placed]
        layout_dict = layout.to_dict()
        wells = {a.accession: [] for a in layout.assignments if a.accession}
        for a in layout.assignments:
            if a.accession:
                wells[a.accession].append(a.well)
    else:
        placed = pool[:limit]
        layout_dict = {"method": method.key, "samples": [c.sample.accession for c in placed]}
        wells = {}
    run = AnalyticalRun(method_version_id=method_version.id,
                        instrument_id=instrument.id if instrument else None,
                        calibration_model=model, reagent_lot_id=reagent_lot.id if reagent_lot
                        else None, layout=layout_dict, created_at=now, created_by_id=actor.id,
                        status=RunStatus.OPEN, problems=[])
    session.add(run)
    session.flush()
    for position, c in enumerate(placed, start=1):
        session.add(RunSample(run_id=run.id, sample_id=c.sample.id, position=position,
                              dilution_factor=c.dilution_factor,
                              wells=wells.get(c.sample.accession, []),
                              retest_of_id=c.retest_of.id if c.retest_of else None))
        if c.sample.status is SampleStatus.RECEIVED:
            apply_action(session, actor=actor, now=now, sample=c.sample,
                         action=SampleAction.START_ANALYSIS, run=run.label)
    _audit(session, run, actor=actor, now=now, action="run_created",
           changes={"method": method.key, "samples": len(placed),
                    "instrument": instrument.code if instrument else None,
                    "calibration_model": model,
                    "reagent_lot": reagent_lot.lot_number if reagent_lot else None})
    session.flush()
    session.expire(run, ["items"])
    return run


def _check_eligible(session: Session, c: Candidate, method: MethodVersion) -> None:
    sample = c.sample
    if sample.kind is not _kind(method):
        raise BusinessRuleViolation(_("%(sample)s (%(kind)s) does not fit %(method)s "
                                      "(%(measured)s).", sample=sample.accession,
                                      kind=label(sample.kind), method=analysis_label(method.name),
                                      measured=label(_kind(method))))
    if sample.status is SampleStatus.RECEIVED:
        return
    if sample.status is SampleStatus.IN_ANALYSIS and c.retest_of is not None:
        return
    raise BusinessRuleViolation(_("%(sample)s has status %(status)s; only received samples or "
                                  "retests can go on a run.", sample=sample.accession,
                                  status=label(sample.status)))


# -- measuring -----------------------------------------------------------------------------------

def _require_status(session: Session, run: AnalyticalRun, *allowed: RunStatus,
                    doing: str) -> None:
    """Lock the run, then check its status: every run transition decides on the locked row."""
    lock(session, run)
    if run.status not in allowed:
        raise ConflictError(_("%(run)s has status %(status)s: cannot %(action)s (allowed in "
                              "status: %(allowed)s).", run=run.label,
                              status=analysis_label(run.status), action=doing,
                              allowed=", ".join(analysis_label(s) for s in allowed)))


def layout_of(run: AnalyticalRun) -> PlateLayout | None:
    return PlateLayout.from_dict(run.layout) if "wells" in run.layout else None


def attach_plate(session: Session, *, actor: User, now: datetime, run: AnalyticalRun,
                 reading: InstrumentReading) -> AnalyticalRun:
    """Take a pending plate for the run; a plate whose wells do not fit the layout is refused
    with each mismatch, and stays in the inbox for another run."""
    _require(actor, Permission.ANALYSE_SAMPLES, _("attach plates"))
    _require_status(session, run, RunStatus.OPEN, doing=_("attach a plate"))
    layout = layout_of(run)
    if layout is None:
        raise BusinessRuleViolation(_("%(run)s is not a plate run; enter its values instead.",
                                      run=run.label))
    lock(session, reading)
    if reading.type is not ReadingType.PLATE or reading.status is not ReadingStatus.PENDING:
        raise ConflictError(_("Reading #%(id)s is not a plate waiting for a run (%(type)s, "
                              "%(status)s).", id=reading.id, type=label(reading.type),
                              status=label(reading.status)))
    wells = reading.payload.get("wells") or {}
    problems = check_layout_matches(layout, wells)
    if problems:
        raise ValidationError(
            _("Plate #%(id)s does not match the layout of %(run)s: %(problems)s", id=reading.id,
              run=run.label, problems=" ".join(problems[:5]))
            + (" " + ngettext("(and %(num)d more)", "(and %(num)d more)", len(problems) - 5)
               if len(problems) > 5 else ""),
            field="reading", errors=[{"message": p} for p in problems])
    reading.status = ReadingStatus.CLAIMED
    reading.reason = _("used by %(run)s", run=run.label)
    reading.resolved_at, reading.resolved_by_id = now, actor.id
    run.reading_id = reading.id
    run.status = RunStatus.MEASURED
    run.measured_at, run.measured_by_id = now, actor.id
    if run.instrument_id is None:
        run.instrument_id = reading.instrument_id
    session.flush()
    _audit(session, run, actor=actor, now=now, action="plate_attached",
           changes={"status": {"before": RunStatus.OPEN, "after": run.status},
                    "reading": f"#{reading.id}"})
    record_event(session, actor=actor, now=now, action="plate_claimed",
                 entity_type="instrument_reading", entity_id=reading.id,
                 entity_label=f"#{reading.id}", changes={
                     "status": {"before": ReadingStatus.PENDING, "after": reading.status},
                     "run": run.label})
    return run


@dataclass(frozen=True)
class SaltEntry:
    """One salt sample's parallels: titrant volume (mL) and salt mass (g) per determination."""

    volumes_ml: tuple[float | None, ...]
    masses_g: tuple[float | None, ...]


def enter_batch_values(session: Session, *, actor: User, now: datetime, run: AnalyticalRun,
                       samples: Mapping[str, SaltEntry],
                       controls: Mapping[str, Sequence[float | None]]) -> AnalyticalRun:
    """The values of a titration run. Every parallel needs its volume and mass: a missing one
    is refused naming the sample and the value, and nothing is stored."""
    _require(actor, Permission.ANALYSE_SAMPLES, _("enter values"))
    _require_status(session, run, RunStatus.OPEN, RunStatus.MEASURED, doing=_("enter values"))
    if layout_of(run) is not None:
        raise BusinessRuleViolation(_("%(run)s is a plate run: attach its plate reading.",
                                      run=run.label))
    problems = []
    stored: dict[str, Any] = {}
    for item in run.items:
        acc = item.sample.accession
        entry = samples.get(acc)
        if entry is None or not any(v is not None for v in entry.volumes_ml):
            problems.append({"field": f"{acc}.volume", "message":
                             _("%(sample)s: the titrant volume is missing.", sample=acc)})
            continue
        pairs = []
        for i, (v, m) in enumerate(zip(entry.volumes_ml, entry.masses_g, strict=True), 1):
            require_finite(v, field=f"{acc}.volume{i}")
            require_finite(m, field=f"{acc}.mass{i}")
            if v is None and m is None:
                continue
            if v is None:
                problems.append({"field": f"{acc}.volume{i}",
                                 "message": _("%(sample)s: parallel %(num)d has no titrant "
                                              "volume.", sample=acc, num=i)})
            if m is None:
                problems.append({"field": f"{acc}.mass{i}",
                                 "message": _("%(sample)s: parallel %(num)d has no salt mass "
                                              "(weigh it or type it).", sample=acc, num=i)})
            pairs.append([v, m])
        stored[acc] = pairs
    if problems:
        raise ValidationError(" ".join(p["message"] for p in problems[:5]), errors=problems)
    for level, values in controls.items():
        for value in values:
            require_finite(value, field=f"control.{level}")
    before = run.status
    run.entries = {"samples": stored,
                   "controls": {k: [v for v in vals] for k, vals in controls.items()}}
    run.status = RunStatus.MEASURED
    run.measured_at, run.measured_by_id = now, actor.id
    session.flush()
    _audit(session, run, actor=actor, now=now, action="values_entered",
           changes={"status": {"before": before, "after": run.status},
                    "samples": len(stored)})
    return run


# -- calculating ---------------------------------------------------------------------------------

def calculate_run(session: Session, *, actor: User, now: datetime, run: AnalyticalRun,
                  calibration_model: str | None = None) -> AnalyticalRun:
    """Fit, classify, judge the controls; results are created ``held`` (or ``repeat``)."""
    _require(actor, Permission.ANALYSE_SAMPLES, _("calculate runs"))
    _require_status(session, run, RunStatus.MEASURED, RunStatus.CALCULATED, doing=_("calculate"))
    method = run.method_version.method
    if calibration_model:
        run.calibration_model = CalibrationModel(calibration_model).value
    _supersede_run_results(session, run)
    if layout_of(run) is not None:
        outcomes, controls = _calculate_plate(run, method)
    else:
        outcomes, controls = _calculate_titration(run, method)
    run.qc = qc.record_and_evaluate(session, now=now, run_id=run.id, method=method,
                                    values=controls) if controls is not None else None
    run.qc_accepted = bool(run.qc and run.qc["accepted"])
    created = [_result_row(run, item, method, outcomes[item.sample.accession], actor=actor, now=now)
               for item in run.items if item.sample.accession in outcomes]
    for result in created:
        supersede_previous(session, result)
    session.add_all(created)
    session.flush()
    before = run.status
    run.status = RunStatus.CALCULATED
    run.calculated_at = now
    session.flush()
    _audit(session, run, actor=actor, now=now, action="run_calculated",
           changes={"status": {"before": before, "after": run.status},
                    "calibration_model": run.calibration_model,
                    "curve_accepted": run.curve_accepted, "qc_accepted": run.qc_accepted,
                    "problems": list(run.problems)})
    return run


def _supersede_run_results(session: Session, run: AnalyticalRun) -> None:
    session.execute(sa.update(Result).where(Result.run_id == run.id, Result.is_current)
                    .values(is_current=False, status=ResultStatus.SUPERSEDED))


def _calculate_plate(run: AnalyticalRun, method: MethodVersion
                     ) -> tuple[dict[str, SampleResult], dict[str, list[float | None]] | None]:
    layout = layout_of(run)
    assert layout is not None and run.reading is not None and method.calibration is not None
    readings = split_readings(layout, run.reading.payload["wells"])
    model = CalibrationModel(run.calibration_model or method.calibration.model)
    run.problems = []
    try:
        curve = fit_curve([c for c, _ in readings.calibrators],
                          [r for _, r in readings.calibrators], model)
    except CalibrationError as error:
        run.curve, run.curve_accepted = None, False
        run.problems = [_("The standard curve cannot be fitted: %(error)s.", error=error)]
        return {}, None
    verdict = evaluate_curve(curve, method.calibration, method.unit)
    run.curve = {**curve.to_dict(), "reasons": list(verdict.reasons),
                 "blanks": list(readings.blanks)}
    run.curve_accepted = verdict.accepted
    run.problems = list(verdict.reasons)
    outcomes = {}
    dilution = {item.sample.accession: item.dilution_factor for item in run.items}
    for accession, responses in readings.samples.items():
        outcomes[accession] = classify_sample(responses, curve, method,
                                              dilution.get(accession, 1.0))
    controls = {level: [_finite(curve.concentration(r)) if r is not None else None
                        for r in values] for level, values in readings.controls.items()}
    return outcomes, controls


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _calculate_titration(run: AnalyticalRun, method: MethodVersion
                         ) -> tuple[dict[str, SampleResult], dict[str, list[float | None]]]:
    molarity = run.reagent_lot.molarity if run.reagent_lot else None
    run.problems = []
    if run.reagent_lot is None or molarity is None:
        lot = (_("lot %(lot)s", lot=run.reagent_lot.lot_number) if run.reagent_lot
               else _("no lot chosen"))
        raise ValidationError(_("The thiosulfate molarity is missing (%(lot)s): enter the "
                                "standardised molarity of the titrant lot; no salt result can be "
                                "computed without it.", lot=lot), field="molarity")
    outcomes = {}
    for accession, pairs in run.entries.get("samples", {}).items():
        values = [salt_iodine_mg_per_kg(v, molarity, m) for v, m in pairs]
        outcome = classify_reading(values, method)
        outcomes[accession] = outcome
    run.curve_accepted = True  # a titration has no curve; the formula is the calibration
    controls = {k: [float(v) if v is not None else None for v in vals]
                for k, vals in run.entries.get("controls", {}).items()}
    return outcomes, controls


def _result_row(run: AnalyticalRun, item: RunSample, method: MethodVersion,
                outcome: SampleResult, *, actor: User, now: datetime) -> Result:
    repeat = outcome.status in (Outcome.DILUTE, Outcome.REPEAT)
    details: dict[str, Any] = outcome.to_dict()
    details["outcome"] = details.pop("status")
    if run.entries.get("samples"):
        details["parallels"] = run.entries["samples"].get(item.sample.accession)
        details["molarity"] = run.reagent_lot.molarity if run.reagent_lot else None
    flags = list(outcome.reasons)
    if outcome.status is Outcome.BELOW_LOQ:
        flags.append(_("below LOQ"))
    elif outcome.status is Outcome.DILUTE:
        flags.append(above_range_flag())
    return new_result(item.sample, run.method_version, method, run=run,
                      status=ResultStatus.REPEAT if repeat else ResultStatus.HELD,
                      value=None if repeat else outcome.value, comparator=outcome.comparator,
                      limit=outcome.limit if outcome.comparator else None, flags=flags,
                      details=details, actor=actor, now=now,
                      retest_of_id=item.retest_of_id)


def new_result(sample: Sample, mv: MethodVersionRow, method: MethodVersion, *,
               status: ResultStatus, actor: User, now: datetime, run: AnalyticalRun | None = None,
               value: float | None = None, comparator: str | None = None,
               limit: float | None = None, category: str | None = None,
               flags: Sequence[str] = (), details: Mapping[str, Any] | None = None,
               retest_of_id: int | None = None) -> Result:
    """The one constructor of version-1 result rows (runs, direct entry and the demo use it)."""
    if comparator is not None and value is not None:
        value = None  # censored: the number is the limit, never a made-up value
    return Result(sample_id=sample.id, analyte=result_analyte(method), method_version_id=mv.id,
                  run_id=run.id if run else None, version=1, is_current=True, status=status,
                  value=value, comparator=comparator, limit=limit, category=category,
                  unit=method.unit, flags=list(flags), details=dict(details or {}),
                  created_at=now, created_by_id=actor.id, retest_of_id=retest_of_id)


# -- deciding ------------------------------------------------------------------------------------

def acceptance_problems(run: AnalyticalRun) -> list[str]:
    """Why the run cannot be accepted as it stands (empty: it can)."""
    problems = []
    if run.curve_accepted is not True:
        problems += run.problems or [_("The standard curve is not acceptable.")]
    if not run.qc_accepted:
        qc_messages = (run.qc or {}).get("messages") or [_("QC was not evaluated.")]
        warnings = {v["message"] for v in (run.qc or {}).get("violations", []) if not v["reject"]}
        problems += [_("QC: %(message)s", message=m) for m in qc_messages if m not in warnings]
    return problems


def override_qc(session: Session, *, actor: User, now: datetime, run: AnalyticalRun,
                reason: str) -> AnalyticalRun:
    """A reviewer accepts the QC of a run that Westgard rejected (or un-rejects a rejected run),
    with a reason; the technician then accepts the run. A failed curve is never overridden:
    it gives no numbers to release."""
    _require(actor, Permission.REVIEW_RESULTS, _("override QC"))
    if not reason.strip():
        raise ValidationError(_("Overriding QC needs a reason."), field="reason")
    _require_status(session, run, RunStatus.CALCULATED, RunStatus.REJECTED, doing=_("override QC"))
    if run.curve_accepted is not True:
        raise BusinessRuleViolation(
            _("A run whose standard curve failed cannot be accepted, even by override: "
              "%(problems)s", problems=" ".join(run.problems)))
    before = run.status
    run.status = RunStatus.CALCULATED
    run.qc_accepted = True
    run.overridden = True
    run.qc_override_reason = reason.strip()
    run.decided_at = run.decided_by_id = run.decision_reason = None
    if before is RunStatus.REJECTED:
        qc.count_again(session, run.id)
    session.flush()
    _audit(session, run, actor=actor, now=now, action="run_qc_overridden", reason=reason.strip(),
           changes={"status": {"before": before, "after": run.status},
                    "qc_accepted": {"before": False, "after": True}})
    return run


def accept_run(session: Session, *, actor: User, now: datetime,
               run: AnalyticalRun) -> AnalyticalRun:
    """Release the run's results for review: needs an acceptable curve and QC (or a reviewer's
    QC override); the samples with a result go to review."""
    _require(actor, Permission.ANALYSE_SAMPLES, _("accept runs"))
    _require_status(session, run, RunStatus.CALCULATED, doing=_("accept"))
    problems = acceptance_problems(run)
    if problems:
        raise BusinessRuleViolation(_("%(run)s cannot be accepted: %(problems)s", run=run.label,
                                      problems=" ".join(problems))
                                    + (" " + _("A reviewer may override a QC rejection with a "
                                               "reason.") if run.curve_accepted else ""))
    before = run.status
    run.status = RunStatus.ACCEPTED
    run.decided_at, run.decided_by_id = now, actor.id
    for result in queries.results_for_run(session, run.id):
        if result.status is ResultStatus.HELD and result.is_current:
            result.status = ResultStatus.PRELIMINARY
            if run.overridden:
                result.flags = [*result.flags, _("QC override: %(reason)s",
                                                  reason=run.qc_override_reason)]
            if result.sample.status is SampleStatus.IN_ANALYSIS:
                apply_action(session, actor=actor, now=now, sample=result.sample,
                             action=SampleAction.SUBMIT_FOR_REVIEW, run=run.label)
    session.flush()
    _audit(session, run, actor=actor, now=now, action="run_accepted",
           changes={"status": {"before": before, "after": run.status}})
    return run


def supersede_previous(session: Session, result: Result) -> None:
    """A new result of a sample retires the previous current one (the retest it answers), so
    one row per sample and analyte is current. Called before the new row is added: the
    database refuses a second current row (index ``uq_results_one_current``)."""
    session.execute(sa.update(Result).where(
        Result.sample_id == result.sample_id, Result.analyte == result.analyte,
        Result.is_current,
        sa.or_(Result.run_id.is_(None), Result.run_id != result.run_id))
        .values(is_current=False, status=ResultStatus.SUPERSEDED))


def reject_run(session: Session, *, actor: User, now: datetime, run: AnalyticalRun,
               reason: str) -> AnalyticalRun:
    """Hold every result of the run; its samples return to the worklist as retests."""
    _require(actor, Permission.ANALYSE_SAMPLES, _("reject runs"))
    if not reason.strip():
        raise ValidationError(_("Rejecting a run needs a reason."), field="reason")
    _require_status(session, run, RunStatus.OPEN, RunStatus.MEASURED, RunStatus.CALCULATED,
                    doing=_("reject"))
    before = run.status
    run.status = RunStatus.REJECTED
    run.decided_at, run.decided_by_id = now, actor.id
    run.decision_reason = reason.strip()
    qc.stop_counting(session, run.id)
    for item in run.items:  # samples never calculated get a held marker so they are retested
        if not session.scalar(sa.select(Result.id).where(Result.run_id == run.id,
                                                         Result.sample_id == item.sample_id,
                                                         Result.is_current)):
            method = run.method_version.method
            marker = new_result(item.sample, run.method_version, method, run=run,
                                status=ResultStatus.HELD, actor=actor, now=now,
                                flags=[_("run rejected before calculation: %(reason)s",
                                         reason=reason.strip())],
                                retest_of_id=item.retest_of_id)
            supersede_previous(session, marker)
            session.add(marker)
            session.flush()
    session.flush()
    _audit(session, run, actor=actor, now=now, action="run_rejected",
           changes={"status": {"before": before, "after": run.status}}, reason=reason.strip())
    return run


def pending_plates(session: Session, instrument_id: int | None = None,
                   limit: int = 20) -> list[InstrumentReading]:
    stmt = sa.select(InstrumentReading).where(InstrumentReading.type == ReadingType.PLATE,
                                              InstrumentReading.status == ReadingStatus.PENDING)
    if instrument_id is not None:
        stmt = stmt.where(InstrumentReading.instrument_id == instrument_id)
    return list(session.scalars(stmt.order_by(InstrumentReading.id.desc()).limit(limit)))


def curve_of(run: AnalyticalRun) -> CalibrationCurve | None:
    return CalibrationCurve.from_dict(run.curve) if run.curve else None
