"""Taking part in an external scheme (CDC EQUIP): configure the scheme and its acceptance limit,
open a round, register each blind material (one sample per analysis day, through the ordinary
sample registration, so it is received, run and verified like any sample), send our results,
and record the scheme's targets with our verdict against the configured limit.

Every state change locks its round (the deciding row) before the rule is checked and writes its
audit event in the same transaction; services flush and never commit.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.errors import BusinessRuleViolation, ConflictError, ValidationError
from lims.core.inputs import date_problem, finite_problem, require_code, require_text
from lims.core.locking import lock
from lims.eqa.external_models import (
    ExternalEvaluation,
    ExternalMaterial,
    ExternalMaterialSample,
    ExternalMeasurand,
    ExternalRound,
    ExternalRoundStatus,
    ExternalScheme,
)
from lims.eqa.external_queries import material_values
from lims.monitoring.models import Cluster, PhysiologicalStatus, PopulationGroup, Sex
from lims.samples.models import SaltSource, UrineContainer
from lims.samples.registration import register_salt_sample, register_urine_sample
from reports.eqa_external import allowed_deviation, within_limits

__all__ = [
    "ROUND_ENTITY",
    "SCHEME_ENTITY",
    "create_scheme",
    "open_round",
    "record_evaluation",
    "register_material",
    "submit_round",
]

SCHEME_ENTITY = "eqa_external_scheme"
ROUND_ENTITY = "eqa_external_round"
#: Bounds of what a person may type: a target or a limit beyond these is a typing error.
VALUE_CEILING = 100_000.0
#: The volume recorded for a blind urine material's aliquot (the scheme sends vials; the
#: receipt desk records what arrived).
ALIQUOT_ML = Decimal("1.0")


def _number(value: float | None, *, field: str, positive: bool = True) -> float | None:
    if value is None:
        return None
    problem = finite_problem(value)
    if problem is not None:
        raise ValidationError(problem, field=field)
    value = float(value)
    if (positive and value <= 0) or value < 0 or value > VALUE_CEILING:
        raise ValidationError(_("Enter a number above 0 and at most %(ceiling)s.",
                                ceiling=f"{VALUE_CEILING:g}"), field=field)
    return value


def create_scheme(session: Session, *, actor: User, now: datetime, code: str, name: str,
                  provider: str, measurand: ExternalMeasurand, limit_percent: float | None,
                  limit_absolute: float | None, absolute_below: float | None,
                  limit_note: str, days: int, cluster: Cluster,
                  population_group: PopulationGroup | None) -> ExternalScheme:
    """A scheme we take part in, with its acceptance limit as configuration (audited)."""
    code = code.strip()
    require_code(code, field="code")
    for field_name, text in (("name", name), ("provider", provider)):
        if not text.strip():
            raise ValidationError(_("This field is required."), field=field_name)
        require_text(text, field=field_name)
    require_text(limit_note, field="limit_note")
    limit_percent = _number(limit_percent, field="limit_percent")
    limit_absolute = _number(limit_absolute, field="limit_absolute")
    absolute_below = _number(absolute_below, field="absolute_below")
    if limit_percent is None and limit_absolute is None:
        raise ValidationError(_("Give the acceptance limit: a percentage of the target, an "
                                "absolute deviation, or both."), field="limit_percent")
    if absolute_below is not None and (limit_absolute is None or limit_percent is None):
        raise ValidationError(_("A level below which the absolute limit applies needs both "
                                "limits."), field="absolute_below")
    if not 1 <= days <= 10:
        raise ValidationError(_("Between 1 and 10 analysis days."), field="days")
    if measurand is ExternalMeasurand.UIC and population_group is None:
        raise ValidationError(_("Urine materials are registered under a population group: "
                                "choose one."), field="population_group")
    if session.scalar(sa.select(ExternalScheme.id).where(ExternalScheme.code == code)):
        raise ConflictError(_("Scheme %(code)s already exists.", code=code), field="code")
    scheme = ExternalScheme(
        code=code, name=name.strip(), provider=provider.strip(), measurand=measurand,
        limit_percent=limit_percent, limit_absolute=limit_absolute,
        absolute_below=absolute_below, limit_note=limit_note.strip(), days=days,
        cluster_id=cluster.id,
        population_group_id=population_group.id if population_group else None,
        created_at=now, created_by_id=actor.id)
    session.add(scheme)
    session.flush()
    record_event(session, actor=actor, now=now, action="eqa_external_scheme_created",
                 entity_type=SCHEME_ENTITY, entity_id=scheme.id, entity_label=code,
                 changes={"name": scheme.name, "provider": scheme.provider,
                          "measurand": measurand.value, "limit_percent": limit_percent,
                          "limit_absolute": limit_absolute, "absolute_below": absolute_below,
                          "limit_note": scheme.limit_note, "days": days})
    return scheme


def _audit(session: Session, external_round: ExternalRound, *, actor: User, now: datetime,
           action: str, changes: dict[str, Any], reason: str | None = None) -> None:
    record_event(session, actor=actor, now=now, action=action, entity_type=ROUND_ENTITY,
                 entity_id=external_round.id,
                 entity_label=f"{external_round.scheme.code} {external_round.code}",
                 changes=changes, reason=reason)


def open_round(session: Session, *, actor: User, now: datetime, scheme: ExternalScheme,
               code: str, received_on: date, deadline: date) -> ExternalRound:
    """A round whose materials arrived on ``received_on``; results are due by ``deadline``."""
    code = code.strip()
    require_code(code, field="code")
    for field_name, value in (("received_on", received_on), ("deadline", deadline)):
        problem = date_problem(value)
        if problem:
            raise ValidationError(problem, field=field_name)
    if deadline < received_on:
        raise ValidationError(_("The deadline must not be before the day received."),
                              field="deadline")
    scheme = lock(session, scheme)  # two people opening the same round code wait in turn
    if session.scalar(sa.select(ExternalRound.id).where(ExternalRound.scheme_id == scheme.id,
                                                        ExternalRound.code == code)):
        raise ConflictError(_("Round %(code)s of %(scheme)s already exists.", code=code,
                              scheme=scheme.code), field="code")
    external_round = ExternalRound(scheme=scheme, code=code, received_on=received_on,
                                   deadline=deadline, status=ExternalRoundStatus.OPEN,
                                   created_at=now, created_by_id=actor.id)
    session.add(external_round)
    session.flush()
    _audit(session, external_round, actor=actor, now=now, action="eqa_external_round_opened",
           changes={"received_on": received_on.isoformat(), "deadline": deadline.isoformat()})
    return external_round


def _refuse_unless_open(external_round: ExternalRound) -> None:
    if external_round.status is not ExternalRoundStatus.OPEN:
        raise ConflictError(_("The results of round %(code)s have been sent: it takes no more "
                              "changes.", code=external_round.code), field="status")


def register_material(session: Session, *, actor: User, now: datetime,
                      external_round: ExternalRound, code: str, notes: str = ""
                      ) -> ExternalMaterial:
    """A blind material of an open round, registered as one sample per analysis day in the
    scheme's cluster (the ordinary registration rules and audit events apply); the samples are
    then received at the desk and analysed like any other."""
    code = code.strip()
    require_code(code, field="code")
    require_text(notes, field="notes")
    external_round = lock(session, external_round)
    _refuse_unless_open(external_round)
    if session.scalar(sa.select(ExternalMaterial.id).where(
            ExternalMaterial.round_id == external_round.id, ExternalMaterial.code == code)):
        raise ConflictError(_("Material %(code)s is already registered in this round.",
                              code=code), field="code")
    scheme = external_round.scheme
    material = ExternalMaterial(round=external_round, code=code, notes=notes.strip(),
                                created_at=now, created_by_id=actor.id)
    session.add(material)
    session.flush()
    # a blind material has no collection: "collected" is its registration, so the sample-age
    # rules (made for fresh urine) never refuse a vial the scheme sent frozen weeks ago; the
    # day it arrived is the round's ``received_on``
    collected = now
    label = f"EQA {scheme.code} {external_round.code} {code}"
    accessions = []
    for day in range(1, scheme.days + 1):
        note = f"{label} · {day}/{scheme.days}"
        if scheme.measurand is ExternalMeasurand.UIC:
            group = scheme.population_group
            assert group is not None  # a CHECK constraint of the scheme
            # the participant is the material (one code for its aliquots); its demographic
            # fields are the group's lower bound: EQA samples never enter the statistics
            sample = register_urine_sample(
                session, actor=actor, now=now, cluster_id=scheme.cluster_id,
                participant_code=f"EQA-{material.id:06d}",
                age_months=group.min_age_months or 0, sex=Sex.FEMALE,
                physiological_status=PhysiologicalStatus.NONE,
                population_group_code=group.code, household_code=None, volume_ml=ALIQUOT_ML,
                container=UrineContainer.SCREW_CAP_TUBE, collected_at=collected, notes=note)
        else:
            sample = register_salt_sample(
                session, actor=actor, now=now, cluster_id=scheme.cluster_id,
                household_code=None, salt_source=SaltSource.PRODUCTION, brand=None,
                packaging=None, iodized_per_label=None, collected_at=collected, notes=note)
        session.add(ExternalMaterialSample(sample_id=sample.id, material_id=material.id,
                                           day=day))
        accessions.append(sample.accession)
    session.flush()
    _audit(session, external_round, actor=actor, now=now,
           action="eqa_external_material_registered",
           changes={"material": code, "samples": accessions})
    return material


def submit_round(session: Session, *, actor: User, now: datetime,
                 external_round: ExternalRound) -> ExternalRound:
    """Record that our results were sent: every material needs a verified result on every
    day. What was sent (values, mean, SD, CV per material) is frozen with who and when."""
    external_round = lock(session, external_round)
    _refuse_unless_open(external_round)
    materials = material_values(session, external_round.materials)
    if not materials:
        raise BusinessRuleViolation(_("Register the round's materials first."), field="status")
    missing = [m.material.code for m in materials if not m.complete]
    if missing:
        raise BusinessRuleViolation(_("Not every analysis day has a verified result yet: "
                                      "%(materials)s.", materials=", ".join(missing)),
                                    field="status")
    sent = {m.material.code: {"values": m.values,
                              "censored": [d.censored for d in m.days if d.censored],
                              "n": m.summary.n, "mean": m.summary.mean, "sd": m.summary.sd,
                              "cv": m.summary.cv} for m in materials}
    submission = {"unit": external_round.scheme.unit, "materials": sent}
    # set together: a lazy load between these assignments would flush a half-made row
    (external_round.status, external_round.submission, external_round.submitted_at,
     external_round.submitted_by_id) = (ExternalRoundStatus.SUBMITTED, submission, now, actor.id)
    session.flush()
    _audit(session, external_round, actor=actor, now=now, action="eqa_external_round_submitted",
           changes={"status": {"before": "open", "after": "submitted"}, "materials": sent})
    return external_round


def record_evaluation(session: Session, *, actor: User, now: datetime,
                      material: ExternalMaterial, target: float, scheme_verdict: str = "",
                      reason: str = "") -> ExternalEvaluation:
    """The scheme's target for ``material`` and our verdict: the mean we sent against the
    scheme's configured limit. A second record for the same material is a correction: it needs
    a reason and keeps the first. The round is evaluated once every material has a target."""
    target_value = _number(target, field="target")
    assert target_value is not None
    scheme_verdict, reason = scheme_verdict.strip(), reason.strip()
    require_text(scheme_verdict, field="scheme_verdict")
    require_text(reason, field="reason")
    if len(scheme_verdict) > 200:
        raise ValidationError(_("At most 200 characters."), field="scheme_verdict")
    external_round = lock(session, material.round)
    if external_round.status is ExternalRoundStatus.OPEN:
        raise ConflictError(_("Record the results of round %(code)s as sent first.",
                              code=external_round.code), field="target")
    sent = (external_round.submission or {}).get("materials", {}).get(material.code)
    if not sent or sent.get("mean") is None:
        raise BusinessRuleViolation(_("No mean was sent for material %(code)s.",
                                      code=material.code), field="target")
    previous = session.scalar(sa.select(ExternalEvaluation).where(
        ExternalEvaluation.material_id == material.id, ExternalEvaluation.is_current))
    if previous is not None and not reason:
        raise ValidationError(_("Material %(code)s already has a target: say why it is "
                                "corrected.", code=material.code), field="reason")
    scheme = external_round.scheme
    try:
        allowed = allowed_deviation(target_value, percent=scheme.limit_percent,
                                    absolute=scheme.limit_absolute,
                                    absolute_below=scheme.absolute_below)
    except ValueError as error:
        raise BusinessRuleViolation(_("The scheme's configuration gives no acceptance limit "
                                      "for this target."), field="target") from error
    mean = float(sent["mean"])
    if not math.isfinite(allowed) or allowed <= 0:
        raise BusinessRuleViolation(_("The scheme's configuration gives no acceptance limit "
                                      "for this target."), field="target")
    if previous is not None:
        previous.is_current = False
        session.flush()
    evaluation = ExternalEvaluation(
        material_id=material.id, version=previous.version + 1 if previous else 1,
        is_current=True, target=target_value, our_mean=mean, n=int(sent.get("n") or 0),
        allowed=allowed, within_limits=within_limits(mean, target_value, allowed),
        scheme_verdict=scheme_verdict, reason=reason or None, recorded_at=now,
        recorded_by_id=actor.id)
    session.add(evaluation)
    session.flush()
    evaluated = session.scalar(
        sa.select(sa.func.count()).select_from(ExternalEvaluation)
        .join(ExternalMaterial, ExternalMaterial.id == ExternalEvaluation.material_id)
        .where(ExternalMaterial.round_id == external_round.id, ExternalEvaluation.is_current))
    changes: dict[str, Any] = {
        "material": material.code, "target": target_value, "mean": mean, "allowed": allowed,
        "within_limits": evaluation.within_limits, "scheme_verdict": scheme_verdict or None,
        "version": evaluation.version}
    if (external_round.status is ExternalRoundStatus.SUBMITTED
            and evaluated == len(external_round.materials)):
        external_round.status = ExternalRoundStatus.EVALUATED
        changes["status"] = {"before": "submitted", "after": "evaluated"}
    session.flush()
    _audit(session, external_round, actor=actor, now=now,
           action="eqa_external_evaluation_recorded", changes=changes, reason=reason or None)
    return evaluation
