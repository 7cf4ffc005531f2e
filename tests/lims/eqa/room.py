"""Builders for EQA tests: a programme, a planned round with characterised materials and
enrolled laboratories, and results put straight into the table (the submission services are
the participant side's; the provider-side tests need only rows to score)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.eqa import service
from lims.eqa.models import (
    EqaEnrolment,
    EqaMaterial,
    EqaMeasurand,
    EqaMethod,
    EqaProgramme,
    EqaResult,
    EqaRound,
    ResultVia,
    SigmaKind,
)
from tests.conftest import FIXED_NOW
from tests.factories import unique

DISPATCH = date(2026, 4, 1)
DEADLINE = DISPATCH + timedelta(days=30)


def programme(session: Session, actor: User, *, sigma_kind: SigmaKind = SigmaKind.PERCENT,
              min_p: int = 5, **rule: float) -> EqaProgramme:
    if sigma_kind is SigmaKind.PERCENT and not rule:
        rule = {"sigma_percent": 10.0}
    return service.create_programme(
        session, actor=actor, now=FIXED_NOW, code=unique("UIC-"), name="Urinary iodine",
        measurand=EqaMeasurand.UIC, sigma_kind=sigma_kind, min_p=min_p, value_ceiling=2000.0,
        **rule)


def passing_pairs(mean: float, units: int = 10) -> list[tuple[float, float]]:
    """Duplicates that differ by 0.2 % of the mean: homogeneous against σ_pt = 10 %."""
    return [(mean + 0.001 * mean * (i % 3), mean + 0.001 * mean * ((i + 1) % 3))
            for i in range(units)]


@dataclass
class Round:
    round: EqaRound
    materials: list[EqaMaterial]
    enrolments: list[EqaEnrolment]


def planned_round(session: Session, actor: User, *, labs: int = 3, means: tuple[float, ...] = (
        100.0, 250.0), characterise: bool = True, prog: EqaProgramme | None = None) -> Round:
    prog = prog or programme(session, actor)
    round_ = service.create_round(session, actor=actor, now=FIXED_NOW, programme=prog,
                                  code=unique("R-"), dispatch_date=DISPATCH, deadline=DEADLINE)
    materials = []
    for index, mean in enumerate(means):
        material = service.add_material(session, actor=actor, now=FIXED_NOW, round_=round_,
                                        code=chr(ord("A") + index), pool_id=f"POOL-{index}",
                                        level=str(mean), volume_ml=5.0)
        if characterise:
            service.record_homogeneity(session, actor=actor, now=FIXED_NOW, material=material,
                                       pairs=passing_pairs(mean))
            service.record_stability(session, actor=actor, now=FIXED_NOW, material=material,
                                     values=[mean, mean * 1.001])
        materials.append(material)
    enrolments = []
    for _ in range(labs):
        lab = service.register_laboratory(session, actor=actor, now=FIXED_NOW,
                                          name=unique("Lab "), country="KZ",
                                          methods=[EqaMethod.SK_MICROPLATE])
        enrolments.append(service.enrol_laboratory(session, actor=actor, now=FIXED_NOW,
                                                   round_=round_, laboratory=lab))
    return Round(round_, materials, enrolments)


def add_result(session: Session, actor: User, enrolment: EqaEnrolment, material: EqaMaterial,
               value: float, *, u_x: float | None = None, coverage_k: float | None = None,
               method: EqaMethod = EqaMethod.SK_MICROPLATE) -> EqaResult:
    result = EqaResult(enrolment_id=enrolment.id, material_id=material.id, value=value,
                       unit=material.round.programme.unit, u_x=u_x, coverage_k=coverage_k,
                       method=method, submitted_at=FIXED_NOW, submitted_by_id=actor.id,
                       via=ResultVia.PROVIDER_UPLOAD)
    session.add(result)
    session.flush()
    return result
