"""The provider's EQA operations (ISO 13528 / ISO/IEC 17043): programmes, rounds and their
status machine, materials with homogeneity and stability, laboratories and enrolments with
random codes, assigned values and scores.

Every change takes its deciding row with `lock` before the rule is checked and writes its audit
event in the same transaction. The statistics are ``reports.eqa_stats`` (pure, tested against
the literature); this module only chooses what goes in and stores what comes out.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.errors import (
    BusinessRuleViolation,
    ConflictError,
    InvalidTransition,
    ValidationError,
)
from lims.core.inputs import date_problem, require_code, require_finite, require_int, require_text
from lims.core.labels import label
from lims.core.locking import lock
from lims.eqa.models import (
    MEASURAND_UNIT,
    CharacterisationKind,
    EqaCharacterisationMeasurement,
    EqaEnrolment,
    EqaLaboratory,
    EqaMaterial,
    EqaMeasurand,
    EqaMethod,
    EqaProgramme,
    EqaResult,
    EqaRound,
    EqaSampleCode,
    EqaScore,
    RoundStatus,
    ScoreClass,
    ScoreKind,
    SigmaKind,
    ValueSource,
)
from reports import eqa_stats

__all__ = [
    "MAX_MIN_P",
    "MAX_UNITS",
    "ROUND_TRANSITIONS",
    "add_material",
    "assign_value",
    "change_round_status",
    "create_programme",
    "create_round",
    "current_results",
    "enrol_laboratory",
    "record_homogeneity",
    "record_shipment",
    "record_stability",
    "register_laboratory",
    "score_round",
    "sigma_rule",
    "stats_message",
]

#: The round's life: one table, checked under the round's row lock.
ROUND_TRANSITIONS: dict[RoundStatus, frozenset[RoundStatus]] = {
    RoundStatus.PLANNED: frozenset({RoundStatus.DISPATCHED}),
    RoundStatus.DISPATCHED: frozenset({RoundStatus.CLOSED}),
    RoundStatus.CLOSED: frozenset({RoundStatus.REPORTED}),
    RoundStatus.REPORTED: frozenset(),
}
#: Homogeneity units (and stability units) accepted in one set: ISO 13528 asks ≥ 10; a few
#: hundred is far beyond any real study and keeps the form and the audit event bounded.
MAX_UNITS = 200
#: The largest minimum p a programme may require (a scheme of a few dozen laboratories).
MAX_MIN_P = 1000
#: Coverage factor of the expanded uncertainty of the assigned value used in E_n: U(x_pt) = 2·u(x_pt)
#: (ISO 13528 §9.7; the provider states k = 2 in the report).
K_ASSIGNED = 2.0
#: Characters of random codes: no 0/O, 1/I/L that a hand-written tube label confuses.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LAB_CODE_LENGTH = 4
SAMPLE_CODE_LENGTH = 8

ROUND_ENTITY, PROGRAMME_ENTITY = "eqa_round", "eqa_programme"
MATERIAL_ENTITY, LABORATORY_ENTITY, ENROLMENT_ENTITY = "eqa_material", "eqa_laboratory", "eqa_enrolment"


def _audit(session: Session, *, actor: User, now: datetime, action: str, entity_type: str,
           entity_id: int, entity_label: str, changes: dict[str, Any],
           reason: str | None = None) -> None:
    record_event(session, actor=actor, now=now, action=action, entity_type=entity_type,
                 entity_id=entity_id, entity_label=entity_label, changes=changes, reason=reason)


def stats_message(error: eqa_stats.EqaStatsError) -> str:
    """The reader's-language message of a statistics refusal (``eqa_stats`` speaks English)."""
    if isinstance(error, eqa_stats.TooFewResults):
        return _("A robust consensus needs at least %(min_p)d results; there are only %(p)d "
                 "(p = %(p)d, minimum p = %(min_p)d). Choose a reference or formulation value, "
                 "or wait for more results.", p=error.p, min_p=error.min_p)
    return _("The statistics cannot be computed: %(detail)s", detail=str(error))


def _number(value: float | None, *, field: str, positive: bool = False,
            required: bool = True) -> float | None:
    if value is None:
        if required:
            raise ValidationError(_("Enter a number."), field=field)
        return None
    require_finite(value, field=field)
    value = float(value)
    if positive and value <= 0:
        raise ValidationError(_("Enter a number greater than 0."), field=field)
    if value < 0:
        raise ValidationError(_("Enter a number that is not negative."), field=field)
    return value


def _text(value: str, *, field: str, required: bool = True, limit: int = 200) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("This field is required."), field=field)
    require_text(value, field=field)
    if len(value) > limit:
        raise ValidationError(_("At most %(num)d characters.", num=limit), field=field)
    return value


def _date(value: date | None, *, field: str) -> None:
    problem = date_problem(value)
    if problem:
        raise ValidationError(problem, field=field)


# -- programmes ----------------------------------------------------------------------------------

def sigma_rule(programme: EqaProgramme) -> eqa_stats.SigmaRule:
    """The programme's σ_pt configuration as the statistics module's rule."""
    kind = programme.sigma_kind
    return eqa_stats.SigmaRule(
        kind=kind.value,  # type: ignore[arg-type]
        percent=programme.sigma_percent if kind is SigmaKind.PERCENT else None,
        a=programme.sigma_a if kind is SigmaKind.LINEAR else None,
        b=programme.sigma_b if kind is SigmaKind.LINEAR else None)


def create_programme(session: Session, *, actor: User, now: datetime, code: str, name: str,
                     measurand: EqaMeasurand, sigma_kind: SigmaKind,
                     sigma_percent: float | None = None, sigma_a: float | None = None,
                     sigma_b: float | None = None, min_p: int = 12,
                     value_ceiling: float) -> EqaProgramme:
    """A programme for one measurand; its unit follows from the measurand. The σ_pt rule's
    parameters are checked here (a percentage 0–100; a linear rule a, b ≥ 0, not both 0)."""
    code = _text(code, field="code", limit=32)
    require_code(code, field="code")
    name = _text(name, field="name")
    if sigma_kind is SigmaKind.PERCENT:
        percent = _number(sigma_percent, field="sigma_percent", positive=True)
        if percent is not None and percent > 100:
            raise ValidationError(_("The σ_pt percentage must be at most 100."),
                                  field="sigma_percent")
        sigma_a = sigma_b = None
    elif sigma_kind is SigmaKind.LINEAR:
        sigma_a = _number(sigma_a, field="sigma_a")
        sigma_b = _number(sigma_b, field="sigma_b")
        if sigma_a == 0 and sigma_b == 0:
            raise ValidationError(_("A linear σ_pt rule needs a > 0 or b > 0."), field="sigma_a")
        sigma_percent = None
    else:
        sigma_percent = sigma_a = sigma_b = None
    require_int(min_p, field="min_p")
    if not 3 <= min_p <= MAX_MIN_P:
        raise ValidationError(_("The minimum number of results must be between %(low)d and "
                                "%(high)d.", low=3, high=MAX_MIN_P), field="min_p")
    ceiling = _number(value_ceiling, field="value_ceiling", positive=True)
    if session.scalar(sa.select(EqaProgramme.id).where(EqaProgramme.code == code)) is not None:
        raise ConflictError(_("Programme %(code)s already exists.", code=code), field="code")
    programme = EqaProgramme(code=code, name=name, measurand=measurand,
                             unit=MEASURAND_UNIT[measurand], sigma_kind=sigma_kind,
                             sigma_percent=sigma_percent, sigma_a=sigma_a, sigma_b=sigma_b,
                             min_p=min_p, value_ceiling=ceiling, created_at=now)
    session.add(programme)
    session.flush()
    _audit(session, actor=actor, now=now, action="eqa_programme_created",
           entity_type=PROGRAMME_ENTITY, entity_id=programme.id, entity_label=code,
           changes={"measurand": measurand.value, "sigma_kind": sigma_kind.value,
                    "sigma_percent": sigma_percent, "sigma_a": sigma_a, "sigma_b": sigma_b,
                    "min_p": min_p, "value_ceiling": ceiling})
    return programme


# -- rounds ----------------------------------------------------------------------------------------

def create_round(session: Session, *, actor: User, now: datetime, programme: EqaProgramme,
                 code: str, dispatch_date: date, deadline: date,
                 value_source: ValueSource = ValueSource.CONSENSUS) -> EqaRound:
    """A planned round; the deadline may not precede the dispatch."""
    code = _text(code, field="code", limit=32)
    require_code(code, field="code")
    _date(dispatch_date, field="dispatch_date")
    _date(deadline, field="deadline")
    if deadline < dispatch_date:
        raise ValidationError(_("The deadline must not be before the dispatch date."),
                              field="deadline")
    programme = lock(session, programme)
    if session.scalar(sa.select(EqaRound.id).where(EqaRound.programme_id == programme.id,
                                                   EqaRound.code == code)) is not None:
        raise ConflictError(_("Round %(code)s already exists in this programme.", code=code),
                            field="code")
    round_ = EqaRound(programme_id=programme.id, code=code, dispatch_date=dispatch_date,
                      deadline=deadline, status=RoundStatus.PLANNED, status_changed_at=now,
                      value_source=value_source, created_at=now)
    session.add(round_)
    session.flush()
    _audit(session, actor=actor, now=now, action="eqa_round_created", entity_type=ROUND_ENTITY,
           entity_id=round_.id, entity_label=code,
           changes={"programme": programme.code, "dispatch_date": dispatch_date,
                    "deadline": deadline, "value_source": value_source.value})
    return round_


def _require_status(round_: EqaRound, *allowed: RoundStatus) -> None:
    if round_.status not in allowed:
        raise InvalidTransition(_("Round %(code)s is %(status)s; this is possible only while it "
                                  "is %(allowed)s.", code=round_.code,
                                  status=label(round_.status).lower(),
                                  allowed=", ".join(label(s).lower() for s in allowed)),
                                field="status")


def change_round_status(session: Session, *, actor: User, now: datetime, round_: EqaRound,
                        to: RoundStatus, override_reason: str = "") -> EqaRound:
    """Move a round along ``ROUND_TRANSITIONS``.

    Dispatch needs materials and enrolled laboratories, and every material's homogeneity and
    stability verdicts passed — or an override reason, recorded on each failing material and in
    the audit event. Sample codes are completed at dispatch (a material added after an enrolment
    gets its codes then). Reporting needs every material's assigned value and current scores.
    """
    override_reason = _text(override_reason, field="override_reason", required=False,
                            limit=2000)
    round_ = lock(session, round_)
    before = round_.status
    if to not in ROUND_TRANSITIONS[before]:
        raise InvalidTransition(_("Round %(code)s cannot go from %(before)s to %(after)s.",
                                  code=round_.code, before=label(before).lower(),
                                  after=label(to).lower()), field="status")
    changes: dict[str, Any] = {"status": {"before": before.value, "after": to.value}}
    if to is RoundStatus.DISPATCHED:
        materials = list(round_.materials)
        if not materials:
            raise BusinessRuleViolation(_("Add the round's materials before dispatching it."),
                                        field="status")
        if not round_.enrolments:
            raise BusinessRuleViolation(_("Enrol the laboratories before dispatching the round."),
                                        field="status")
        failing = [m for m in materials if not m.characterisation_passed]
        if failing and not override_reason:
            raise BusinessRuleViolation(
                _("Materials %(codes)s have not passed homogeneity and stability; dispatching "
                  "them needs an override with a reason.",
                  codes=", ".join(m.code for m in failing)), field="override_reason")
        for material in failing:
            material.override_reason = override_reason
        if failing:
            changes["override"] = [m.code for m in failing]
        changes["sample_codes"] = _complete_sample_codes(session, round_)
    if to is RoundStatus.REPORTED:
        unscored = [m.code for m in round_.materials if m.x_pt is None]
        if unscored:
            raise BusinessRuleViolation(_("Materials %(codes)s have no assigned value yet.",
                                          codes=", ".join(unscored)), field="status")
    round_.status, round_.status_changed_at = to, now
    _audit(session, actor=actor, now=now, action="eqa_round_status_changed",
           entity_type=ROUND_ENTITY, entity_id=round_.id, entity_label=round_.code,
           changes=changes, reason=override_reason or None)
    session.flush()
    return round_


# -- materials, homogeneity and stability ----------------------------------------------------------

def add_material(session: Session, *, actor: User, now: datetime, round_: EqaRound, code: str,
                 pool_id: str, level: str = "", volume_ml: float | None = None,
                 notes: str = "") -> EqaMaterial:
    """A material of a planned round."""
    code = _text(code, field="code", limit=32)
    require_code(code, field="code")
    pool_id = _text(pool_id, field="pool_id", limit=64)
    level = _text(level, field="level", required=False, limit=64)
    volume = _number(volume_ml, field="volume_ml", positive=True, required=False)
    notes = _text(notes, field="notes", required=False, limit=4000)
    round_ = lock(session, round_)
    _require_status(round_, RoundStatus.PLANNED)
    if any(m.code == code for m in round_.materials):
        raise ConflictError(_("Material %(code)s is already in this round.", code=code),
                            field="code")
    material = EqaMaterial(round_id=round_.id, code=code, pool_id=pool_id, level=level,
                           volume_ml=volume, notes=notes)
    session.add(material)
    session.flush()
    session.expire(round_, ["materials"])
    _audit(session, actor=actor, now=now, action="eqa_material_added", entity_type=MATERIAL_ENTITY,
           entity_id=material.id, entity_label=f"{round_.code}/{code}",
           changes={"pool_id": pool_id, "level": level, "volume_ml": volume})
    return material


def _lock_material(session: Session, material: EqaMaterial) -> EqaRound:
    """Lock a material's round, then the material: the one order every service takes them in
    (a dispatch decides on the materials under the round's lock), so none can deadlock."""
    round_ = lock(session, material.round)
    lock(session, material)
    return round_


def _values(values: Sequence[float], *, field: str, ceiling: float) -> list[float]:
    out = []
    for index, value in enumerate(values, start=1):
        try:
            require_finite(value, field=field)
        except ValidationError as error:
            raise ValidationError(_("Value %(num)d: %(problem)s", num=index,
                                    problem=error.message), field=field) from error
        if value < 0 or value > ceiling:
            raise ValidationError(_("Value %(num)d (%(value)s) is outside 0 to %(ceiling)s.",
                                    num=index, value=value, ceiling=ceiling), field=field)
        out.append(float(value))
    return out


def _store_measurements(session: Session, *, actor: User, now: datetime, material: EqaMaterial,
                        kind: CharacterisationKind, rows: list[tuple[int, int, float]]) -> None:
    session.execute(sa.update(EqaCharacterisationMeasurement)
                    .where(EqaCharacterisationMeasurement.material_id == material.id,
                           EqaCharacterisationMeasurement.kind == kind,
                           EqaCharacterisationMeasurement.is_current.is_(True))
                    .values(is_current=False))
    session.add_all(EqaCharacterisationMeasurement(
        material_id=material.id, kind=kind, unit_no=unit, replicate=replicate, value=value,
        recorded_at=now, recorded_by_id=actor.id) for unit, replicate, value in rows)


def record_homogeneity(session: Session, *, actor: User, now: datetime, material: EqaMaterial,
                       pairs: Sequence[tuple[float, float]],
                       sigma_pt: float | None = None) -> eqa_stats.Homogeneity:
    """Duplicate measurements of ≥ 10 units (ISO 13528 B.2); the verdict s_s ≤ 0.3·σ_pt is
    stored. σ_pt is the programme's rule at the grand mean, or — when the rule is the robust s*,
    unknown before the round — the planned σ_pt given here. A new set replaces the old one
    (kept, not current) and clears the stability verdict judged against the old mean."""
    round_ = material.round
    programme = round_.programme
    if not 10 <= len(pairs) <= MAX_UNITS or any(len(pair) != 2 for pair in pairs):
        raise ValidationError(_("Enter between %(low)d and %(high)d units in duplicate.",
                                low=10, high=MAX_UNITS), field="pairs")
    flat = _values([v for pair in pairs for v in pair], field="pairs",
                   ceiling=programme.value_ceiling)
    grand_mean = sum(flat) / len(flat)
    if programme.sigma_kind is SigmaKind.ROBUST or sigma_pt is not None:
        check_sigma = _number(sigma_pt, field="sigma_pt", positive=True)
    else:
        check_sigma = _rule_sigma(programme, grand_mean, field="pairs")
    assert check_sigma is not None
    try:
        verdict = eqa_stats.homogeneity(list(zip(flat[::2], flat[1::2], strict=True)),
                                        check_sigma)
    except eqa_stats.EqaStatsError as error:
        raise ValidationError(stats_message(error), field="pairs") from error
    _lock_material(session, material)
    _require_status(material.round, RoundStatus.PLANNED)
    _store_measurements(session, actor=actor, now=now, material=material,
                        kind=CharacterisationKind.HOMOGENEITY,
                        rows=[(i // 2 + 1, i % 2 + 1, v) for i, v in enumerate(flat)])
    material.check_sigma_pt = check_sigma
    material.homogeneity_passed = verdict.passed
    material.homogeneity_mean = verdict.grand_mean
    material.homogeneity_s_s = verdict.s_s
    material.homogeneity_criterion = verdict.criterion
    material.stability_passed = material.stability_difference = None
    material.stability_criterion = None
    _audit(session, actor=actor, now=now, action="eqa_homogeneity_recorded",
           entity_type=MATERIAL_ENTITY, entity_id=material.id,
           entity_label=f"{round_.code}/{material.code}",
           changes={"units": verdict.units, "grand_mean": verdict.grand_mean, "s_s": verdict.s_s,
                    "criterion": verdict.criterion, "sigma_pt": check_sigma,
                    "passed": verdict.passed})
    session.flush()
    return verdict


def record_stability(session: Session, *, actor: User, now: datetime, material: EqaMaterial,
                     values: Sequence[float]) -> eqa_stats.Stability:
    """Stability results (ISO 13528 B.5) against the homogeneity mean, within 0.3·σ_pt."""
    round_ = material.round
    if not 1 <= len(values) <= MAX_UNITS:
        raise ValidationError(_("Enter between %(low)d and %(high)d stability results.",
                                low=1, high=MAX_UNITS), field="values")
    checked = _values(values, field="values", ceiling=round_.programme.value_ceiling)
    _lock_material(session, material)
    _require_status(material.round, RoundStatus.PLANNED)
    if material.homogeneity_mean is None or material.check_sigma_pt is None:
        raise BusinessRuleViolation(_("Record the homogeneity study first: stability is judged "
                                      "against its mean."), field="values")
    try:
        verdict = eqa_stats.stability(material.homogeneity_mean, checked, material.check_sigma_pt)
    except eqa_stats.EqaStatsError as error:
        raise ValidationError(stats_message(error), field="values") from error
    _store_measurements(session, actor=actor, now=now, material=material,
                        kind=CharacterisationKind.STABILITY,
                        rows=[(i + 1, 1, v) for i, v in enumerate(checked)])
    material.stability_passed = verdict.passed
    material.stability_difference = verdict.difference
    material.stability_criterion = verdict.criterion
    _audit(session, actor=actor, now=now, action="eqa_stability_recorded",
           entity_type=MATERIAL_ENTITY, entity_id=material.id,
           entity_label=f"{round_.code}/{material.code}",
           changes={"units": len(checked), "stability_mean": verdict.stability_mean,
                    "difference": verdict.difference, "criterion": verdict.criterion,
                    "passed": verdict.passed})
    session.flush()
    return verdict


# -- laboratories and enrolment --------------------------------------------------------------------

def register_laboratory(session: Session, *, actor: User, now: datetime, name: str, country: str,
                        contact: str = "", methods: Sequence[EqaMethod] = ()) -> EqaLaboratory:
    name = _text(name, field="name")
    country = _text(country, field="country", limit=100)
    contact = _text(contact, field="contact", required=False, limit=500)
    method_values = sorted({EqaMethod(m).value for m in methods})
    if session.scalar(sa.select(EqaLaboratory.id).where(EqaLaboratory.name == name)) is not None:
        raise ConflictError(_("Laboratory %(name)s is already registered.", name=name),
                            field="name")
    lab = EqaLaboratory(name=name, country=country, contact=contact, methods=method_values,
                        created_at=now)
    session.add(lab)
    session.flush()
    _audit(session, actor=actor, now=now, action="eqa_laboratory_registered",
           entity_type=LABORATORY_ENTITY, entity_id=lab.id, entity_label=name,
           changes={"country": country, "methods": method_values})
    return lab


def _random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def _new_sample_code(session: Session, taken: set[str]) -> str:
    while True:
        code = _random_code(SAMPLE_CODE_LENGTH)
        if code not in taken and session.scalar(
                sa.select(EqaSampleCode.id).where(EqaSampleCode.code == code)) is None:
            taken.add(code)
            return code


def _complete_sample_codes(session: Session, round_: EqaRound) -> int:
    """Give every (enrolment, material) pair of the round its random tube code; returns how many
    were made. Materials are taken in a random order per laboratory, so the codes' order says
    nothing about the pool either."""
    have = set(session.execute(
        sa.select(EqaSampleCode.enrolment_id, EqaSampleCode.material_id)
        .join(EqaEnrolment, EqaEnrolment.id == EqaSampleCode.enrolment_id)
        .where(EqaEnrolment.round_id == round_.id)))
    taken: set[str] = set()
    made = 0
    for enrolment in round_.enrolments:
        materials = list(round_.materials)
        secrets.SystemRandom().shuffle(materials)
        for material in materials:
            if (enrolment.id, material.id) not in have:
                session.add(EqaSampleCode(enrolment_id=enrolment.id, material_id=material.id,
                                          code=_new_sample_code(session, taken)))
                made += 1
    session.flush()
    return made


def enrol_laboratory(session: Session, *, actor: User, now: datetime, round_: EqaRound,
                     laboratory: EqaLaboratory) -> EqaEnrolment:
    """Enrol a laboratory in a planned round under a random code unique in the round."""
    round_ = lock(session, round_)
    _require_status(round_, RoundStatus.PLANNED)
    if any(e.laboratory_id == laboratory.id for e in round_.enrolments):
        raise ConflictError(_("%(name)s is already enrolled in round %(code)s.",
                              name=laboratory.name, code=round_.code), field="laboratory")
    used = {e.lab_code for e in round_.enrolments}
    lab_code = _random_code(LAB_CODE_LENGTH)
    while lab_code in used:
        lab_code = _random_code(LAB_CODE_LENGTH)
    enrolment = EqaEnrolment(round_id=round_.id, laboratory_id=laboratory.id, lab_code=lab_code,
                             enrolled_at=now, enrolled_by_id=actor.id)
    session.add(enrolment)
    session.flush()
    session.expire(round_, ["enrolments"])
    _audit(session, actor=actor, now=now, action="eqa_laboratory_enrolled",
           entity_type=ENROLMENT_ENTITY, entity_id=enrolment.id,
           entity_label=f"{round_.code}/{lab_code}",
           changes={"round": round_.code, "laboratory": laboratory.name, "lab_code": lab_code})
    return enrolment


def record_shipment(session: Session, *, actor: User, now: datetime, enrolment: EqaEnrolment,
                    shipped_on: date | None, arrived_on: date | None) -> EqaEnrolment:
    """The shipment's dispatch and arrival dates (arrival not before dispatch)."""
    _date(shipped_on, field="shipped_on")
    _date(arrived_on, field="arrived_on")
    if arrived_on is not None and shipped_on is None:
        raise ValidationError(_("Give the dispatch date too."), field="shipped_on")
    if arrived_on is not None and shipped_on is not None and arrived_on < shipped_on:
        raise ValidationError(_("The arrival must not be before the dispatch."),
                              field="arrived_on")
    enrolment = lock(session, enrolment)
    before = {"shipped_on": enrolment.shipped_on, "arrived_on": enrolment.arrived_on}
    enrolment.shipped_on, enrolment.arrived_on = shipped_on, arrived_on
    _audit(session, actor=actor, now=now, action="eqa_shipment_recorded",
           entity_type=ENROLMENT_ENTITY, entity_id=enrolment.id,
           entity_label=f"{enrolment.round.code}/{enrolment.lab_code}",
           changes={"before": before, "after": {"shipped_on": shipped_on,
                                                "arrived_on": arrived_on}})
    session.flush()
    return enrolment


# -- assigned values and scores --------------------------------------------------------------------

def current_results(session: Session, material: EqaMaterial) -> list[EqaResult]:
    return list(session.scalars(
        sa.select(EqaResult).where(EqaResult.material_id == material.id,
                                   EqaResult.is_current.is_(True)).order_by(EqaResult.id)))


def _rule_sigma(programme: EqaProgramme, x_pt: float, *, field: str,
                s_star: float | None = None) -> float:
    try:
        return sigma_rule(programme).sigma_pt(x_pt, s_star)
    except eqa_stats.EqaStatsError as error:
        raise BusinessRuleViolation(stats_message(error), field=field) from error


def assign_value(session: Session, *, actor: User, now: datetime, material: EqaMaterial,
                 source: ValueSource, x_pt: float | None = None,
                 u_x_pt: float | None = None) -> EqaMaterial:
    """Set a material's assigned value and σ_pt (ISO 13528 §7, §8).

    Reference and formulation values are given with their standard uncertainty; a consensus is
    Algorithm A over the current results (refused below the programme's ``min_p``) with
    u(x_pt) = 1.25·s*/√p. σ_pt follows the programme's rule; the robust rule takes s* of the
    current results whatever the source. u(x_pt) > 0.3·σ_pt is flagged (scored with z′).
    Possible while the round is dispatched or closed (not after it is reported).
    """
    if source is not ValueSource.CONSENSUS:
        x_pt = _number(x_pt, field="x_pt", positive=True)
        u_x_pt = _number(u_x_pt, field="u_x_pt")
    round_ = _lock_material(session, material)
    _require_status(round_, RoundStatus.DISPATCHED, RoundStatus.CLOSED)
    programme = round_.programme
    values = [r.value for r in current_results(session, material)]
    estimate: eqa_stats.RobustEstimate | None = None
    if source is ValueSource.CONSENSUS or programme.sigma_kind is SigmaKind.ROBUST:
        try:
            estimate = eqa_stats.algorithm_a(values, min_p=programme.min_p)
        except eqa_stats.EqaStatsError as error:
            raise BusinessRuleViolation(stats_message(error), field="source") from error
    if source is ValueSource.CONSENSUS:
        assert estimate is not None
        x_pt, u_x_pt = estimate.x_star, estimate.u_x_pt
    assert x_pt is not None and u_x_pt is not None
    sigma = _rule_sigma(programme, x_pt, field="source",
                        s_star=estimate.s_star if estimate else None)
    material.x_pt, material.u_x_pt, material.sigma_pt = x_pt, u_x_pt, sigma
    material.value_source = source
    material.s_star = estimate.s_star if estimate else None
    material.consensus_p = estimate.p if estimate else None
    material.u_x_pt_large = eqa_stats.uncertainty_is_large(u_x_pt, sigma)
    material.assigned_at, material.assigned_by_id = now, actor.id
    _audit(session, actor=actor, now=now, action="eqa_value_assigned",
           entity_type=MATERIAL_ENTITY, entity_id=material.id,
           entity_label=f"{round_.code}/{material.code}",
           changes={"source": source.value, "x_pt": x_pt, "u_x_pt": u_x_pt, "sigma_pt": sigma,
                    "s_star": material.s_star, "p": material.consensus_p,
                    "u_x_pt_large": material.u_x_pt_large})
    session.flush()
    return material


def _score(result: EqaResult, material: EqaMaterial) -> dict[str, Any]:
    """The scores of one result (ISO 13528 §9). ζ needs the laboratory's standard uncertainty;
    E_n its expanded uncertainty, i.e. u(x) and the coverage factor k it stated
    (U(x) = k·u(x), U(x_pt) = 2·u(x_pt)): without k it is not computed rather than guessed."""
    x_pt, u_pt, sigma = material.x_pt, material.u_x_pt, material.sigma_pt
    assert x_pt is not None and u_pt is not None and sigma is not None
    z = eqa_stats.z_score(result.value, x_pt, sigma)
    z_p = eqa_stats.z_prime(result.value, x_pt, sigma, u_pt)
    kind = ScoreKind.Z_PRIME if material.u_x_pt_large else ScoreKind.Z
    zeta = en = None
    if result.u_x is not None and (result.u_x > 0 or u_pt > 0):
        zeta = eqa_stats.zeta(result.value, x_pt, result.u_x, u_pt)
        if result.coverage_k is not None:
            en = eqa_stats.en_number(result.value, x_pt, result.coverage_k * result.u_x,
                                     K_ASSIGNED * u_pt)
    deciding = z_p if kind is ScoreKind.Z_PRIME else z
    return {"z": z, "z_prime": z_p, "zeta": zeta, "en": en, "score_kind": kind,
            "score_class": ScoreClass(eqa_stats.classify(deciding).value),
            "en_class": ScoreClass(eqa_stats.classify_en(en).value) if en is not None else None}


def score_round(session: Session, *, actor: User, now: datetime, round_: EqaRound) -> int:
    """Score every current result of every material with an assigned value; previous scores
    stay, not current. Returns the number of scores made."""
    round_ = lock(session, round_)
    _require_status(round_, RoundStatus.DISPATCHED, RoundStatus.CLOSED)
    materials = [m for m in round_.materials if m.x_pt is not None]
    if not materials:
        raise BusinessRuleViolation(_("Assign the materials' values before scoring."),
                                    field="status")
    ids = [m.id for m in materials]
    session.execute(sa.update(EqaScore).where(EqaScore.material_id.in_(ids),
                                              EqaScore.is_current.is_(True))
                    .values(is_current=False))
    made = 0
    counts: dict[str, int] = {c.value: 0 for c in ScoreClass}
    for material in materials:
        for result in current_results(session, material):
            scores = _score(result, material)
            session.add(EqaScore(result_id=result.id, material_id=material.id,
                                 x_pt=material.x_pt, u_x_pt=material.u_x_pt,
                                 sigma_pt=material.sigma_pt, computed_at=now,
                                 computed_by_id=actor.id, **scores))
            counts[scores["score_class"].value] += 1
            made += 1
    _audit(session, actor=actor, now=now, action="eqa_round_scored", entity_type=ROUND_ENTITY,
           entity_id=round_.id, entity_label=round_.code,
           changes={"scores": made, "classes": counts})
    session.flush()
    return made

