"""Internal QC operations: control lots and targets, a run's control values, Westgard on them.

The rules themselves are pure (``lims.qc.westgard``); this module feeds them the lot's history
from the database: the counted control values of earlier runs on the same lots, oldest first.
A rejected run's values stay visible but no longer count (they describe a failed run, not the
method). A lot without a target cannot judge a run: that is reported, never guessed.
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

from lims.analysis.labels import analysis_label
from lims.analysis.methods import MethodVersion
from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.errors import BusinessRuleViolation, ConflictError, NotFoundError, ValidationError
from lims.core.inputs import require_code, require_finite
from lims.qc import stats
from lims.qc.models import ControlLot, ControlMaterial, ControlResult, TargetSource
from lims.qc.westgard import ControlRun, evaluate_run

LOT_ENTITY = "control_lot"
#: Earlier runs fed to the across-run rules (10x needs ten; a margin for replicates).
HISTORY_RUNS = 20


def ensure_materials(session: Session, method: MethodVersion) -> list[ControlMaterial]:
    """The method's control levels as rows (created the first time they are needed)."""
    existing = {m.level: m for m in session.scalars(
        sa.select(ControlMaterial).where(ControlMaterial.method_code == method.code))}
    out = []
    for control in method.controls:
        material = existing.get(control.level.value)
        if material is None:
            material = ControlMaterial(method_code=method.code, level=control.level.value,
                                       name=control.name, unit=method.unit)
            session.add(material)
        out.append(material)
    session.flush()
    return out


def get_lot(session: Session, lot_id: int) -> ControlLot:
    lot = session.get(ControlLot, lot_id, options=[selectinload(ControlLot.material)])
    if lot is None:
        raise NotFoundError(_("No control lot with id %(id)s.", id=lot_id))
    return lot


def add_lot(session: Session, *, actor: User | None, now: datetime, material: ControlMaterial,
            lot_number: str, mean: float | None = None, sd: float | None = None) -> ControlLot:
    """A new lot becomes the material's active one; the previous lot is retired."""
    lot_number = lot_number.strip()
    if not lot_number:
        raise ValidationError(_("A lot needs a number."), field="lot_number")
    require_code(lot_number, field="lot_number")
    if any(lot.lot_number == lot_number for lot in material.lots):
        raise ConflictError(_("Lot %(lot)s of %(material)s exists.", lot=lot_number,
                              material=analysis_label(material.name)), field="lot_number")
    for lot in material.lots:
        lot.is_active = False
    lot = ControlLot(material=material, lot_number=lot_number, created_at=now,
                     created_by_id=actor.id if actor else None)
    session.add(lot)
    session.flush()
    record_event(session, actor=actor, now=now, action="control_lot_added", entity_type=LOT_ENTITY,
                 entity_id=lot.id, entity_label=f"{material.name} {lot_number}")
    if mean is not None and sd is not None:
        set_target(session, actor=actor, now=now, lot=lot, mean=mean, sd=sd,
                   reason=_("target given with the new lot"))
    return lot


def set_target(session: Session, *, actor: User | None, now: datetime, lot: ControlLot,
               mean: float, sd: float, reason: str, source: TargetSource = TargetSource.SET,
               n: int | None = None) -> ControlLot:
    if not reason.strip():
        raise ValidationError(_("Say where the target comes from."), field="reason")
    require_finite(mean, field="mean")
    require_finite(sd, field="sd")
    try:
        stats.ControlTarget(mean, sd)
    except ValueError as error:
        raise ValidationError(str(error), field="sd") from error
    before = {"mean": lot.target_mean, "sd": lot.target_sd}
    lot.target_mean, lot.target_sd, lot.target_n, lot.target_source = mean, sd, n, source
    session.flush()
    record_event(session, actor=actor, now=now, action="control_target_set",
                 entity_type=LOT_ENTITY, entity_id=lot.id, entity_label=lot.lot_number,
                 reason=reason.strip(),
                 changes={"mean": {"before": before["mean"], "after": mean},
                          "sd": {"before": before["sd"], "after": sd}, "source": source})
    return lot


def run_means(session: Session, lot: ControlLot, *, limit: int | None = None) -> list[float]:
    """One value per counted run (the mean of its replicates), oldest first."""
    stmt = (sa.select(ControlResult.run_id, sa.func.avg(ControlResult.value))
            .where(ControlResult.lot_id == lot.id, ControlResult.counts,
                   ControlResult.value.is_not(None))
            .group_by(ControlResult.run_id).order_by(ControlResult.run_id.desc()))
    if limit:
        stmt = stmt.limit(limit)
    return [float(v) for _, v in session.execute(stmt)][::-1]


def establish_target(session: Session, *, actor: User, now: datetime, lot: ControlLot,
                     min_runs: int = stats.MIN_RUNS_NEW_MATERIAL) -> ControlLot:
    """Mean and SD from the lot's own counted runs (≥ 20 by default, CLSI C24-A4)."""
    values = run_means(session, lot)
    try:
        target = stats.establish_target(values, min_runs=min_runs)
    except ValueError as error:
        raise BusinessRuleViolation(_("Cannot establish a target for lot %(lot)s: %(error)s.",
                                      lot=lot.lot_number, error=error)) from error
    return set_target(session, actor=actor, now=now, lot=lot, mean=target.mean, sd=target.sd,
                      reason=ngettext("established from %(num)d run",
                                      "established from %(num)d runs", target.n),
                      source=TargetSource.ESTABLISHED, n=target.n)


def active_lots(session: Session, method: MethodVersion) -> dict[str, ControlLot]:
    """Level → the active lot of each control material of the method."""
    materials = ensure_materials(session, method)
    lots: dict[str, ControlLot] = {}
    for material in materials:
        active = [lot for lot in material.lots if lot.is_active]
        if active:
            lots[material.level] = active[-1]
    return lots


@dataclass(frozen=True)
class QcOutcome:
    accepted: bool
    messages: tuple[str, ...]

    def to_dict(self, violations: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        return {"accepted": self.accepted, "messages": list(self.messages),
                "violations": list(violations)}


def record_and_evaluate(session: Session, *, now: datetime, run_id: int, method: MethodVersion,
                        values: Mapping[str, Sequence[float | None]]) -> dict[str, Any]:
    """Store the run's control values (replaces earlier ones of the same run) and judge them.

    Returns the JSON kept on the run: accepted, messages, violations, and per level the lot,
    target and values.
    """
    session.execute(sa.delete(ControlResult).where(ControlResult.run_id == run_id))
    lots = active_lots(session, method)
    messages: list[str] = []
    levels: dict[str, Any] = {}
    for control in method.controls:
        level = control.level.value
        level_values = list(values.get(level, ()))
        lot = lots.get(level)
        if lot is None:
            messages.append(_("No active lot for the control %(level)s (%(name)s).",
                              level=analysis_label(level), name=control.name))
            continue
        if not level_values:
            messages.append(_("The control %(level)s (%(lot)s) has no value in this run.",
                              level=analysis_label(level), lot=lot.lot_number))
        for i, value in enumerate(level_values, start=1):
            ok = value is not None and math.isfinite(value)
            session.add(ControlResult(run_id=run_id, lot_id=lot.id, level=level, replicate=i,
                                      value=float(value) if ok else None, created_at=now))
            if not ok:
                messages.append(_("The control %(level)s, replicate %(num)d, has no usable "
                                  "value.", level=analysis_label(level), num=i))
        if not lot.has_target:
            messages.append(_("Control lot %(lot)s (%(level)s) has no target mean/SD: set one "
                              "or establish it from 20 runs.", lot=lot.lot_number,
                              level=analysis_label(level)))
        levels[level] = {"lot_id": lot.id, "lot": lot.lot_number, "mean": lot.target_mean,
                         "sd": lot.target_sd, "values": level_values}
    session.flush()
    if messages:
        return QcOutcome(False, tuple(messages)).to_dict()
    targets = {level: stats.ControlTarget(info["mean"], info["sd"])
               for level, info in levels.items()}
    history = _history(session, [info["lot_id"] for info in levels.values()], run_id)
    current = ControlRun(str(run_id), {level: [float(v) for v in info["values"]]
                                       for level, info in levels.items()})
    evaluation = evaluate_run([*history, current], targets, method.westgard_rules)
    violations = [{"rule": v.rule, "levels": list(v.levels), "run_ids": list(v.run_ids),
                   "message": v.message, "reject": v.reject} for v in evaluation.violations]
    out = QcOutcome(evaluation.accepted, tuple(v.message for v in evaluation.violations))
    result = out.to_dict(violations)
    result["levels"] = levels
    return result


def _history(session: Session, lot_ids: list[int], run_id: int) -> list[ControlRun]:
    recent = list(session.scalars(
        sa.select(ControlResult.run_id).where(ControlResult.lot_id.in_(lot_ids),
                                              ControlResult.counts,
                                              ControlResult.run_id < run_id)
        .group_by(ControlResult.run_id).order_by(ControlResult.run_id.desc())
        .limit(HISTORY_RUNS)))
    if not recent:
        return []
    rows = session.execute(
        sa.select(ControlResult.run_id, ControlResult.level, ControlResult.value)
        .where(ControlResult.run_id.in_(recent), ControlResult.lot_id.in_(lot_ids),
               ControlResult.value.is_not(None))
        .order_by(ControlResult.run_id, ControlResult.id))
    by_run: dict[int, dict[str, list[float]]] = {}
    for rid, level, value in rows:
        by_run.setdefault(rid, {}).setdefault(level, []).append(float(value))
    return [ControlRun(str(rid), by_run[rid]) for rid in sorted(by_run)]


def stop_counting(session: Session, run_id: int) -> None:
    """A rejected run's controls leave the lot statistics (and later runs' history)."""
    session.execute(sa.update(ControlResult).where(ControlResult.run_id == run_id)
                    .values(counts=False))


def count_again(session: Session, run_id: int) -> None:
    """A rejected run accepted by override: its controls describe an accepted run again."""
    session.execute(sa.update(ControlResult).where(ControlResult.run_id == run_id)
                    .values(counts=True))


@dataclass(frozen=True)
class ChartData:
    values: list[float | None]
    run_ids: list[int]
    flagged: list[int]


def levey_jennings_data(session: Session, lot: ControlLot, *, limit: int = 60) -> ChartData:
    """The lot's latest control values (each replicate), oldest first; rejected runs flagged."""
    rows = list(session.execute(
        sa.select(ControlResult.run_id, ControlResult.value, ControlResult.counts)
        .where(ControlResult.lot_id == lot.id)
        .order_by(ControlResult.run_id.desc(), ControlResult.id.desc()).limit(limit)))[::-1]
    return ChartData([r.value for r in rows], [r.run_id for r in rows],
                     [i for i, r in enumerate(rows) if not r.counts])
