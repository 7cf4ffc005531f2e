"""The provider's EQA services: programmes and their σ_pt rule, the round's status machine,
homogeneity/stability verdicts and the dispatch override, enrolment codes, assigned values
(reference, formulation, Algorithm A consensus) and scores checked against a computation written
here independently (numpy), bad input refused with the field named, everything audited."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.core.errors import (
    BusinessRuleViolation,
    ConflictError,
    InvalidTransition,
    ValidationError,
)
from lims.core.permissions import Permission, Role, permissions_for
from lims.eqa import queries, service
from lims.eqa.models import (
    EqaMethod,
    EqaSampleCode,
    EqaScore,
    RoundStatus,
    ScoreClass,
    ScoreKind,
    SigmaKind,
    ValueSource,
)
from tests.conftest import FIXED_NOW
from tests.lims.eqa.room import DISPATCH, add_result, passing_pairs, planned_round, programme


@pytest.fixture()
def admin(make_user) -> User:
    return make_user(Role.ADMIN)


def events(session: Session, action: str, entity_id: int) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action,
                                                            AuditEvent.entity_id == entity_id)))


def test_participant_role_may_only_submit() -> None:
    assert permissions_for(frozenset({Role.EQA_PARTICIPANT})) == {Permission.SUBMIT_EQA_RESULTS}
    assert Permission.MANAGE_EQA in permissions_for(frozenset({Role.REVIEWER}))
    assert Permission.MANAGE_EQA in permissions_for(frozenset({Role.ADMIN}))
    assert Permission.SUBMIT_EQA_RESULTS not in permissions_for(frozenset({Role.ADMIN}))
    assert Permission.MANAGE_EQA not in permissions_for(frozenset({Role.TECHNICIAN}))


@pytest.mark.parametrize(("fields", "field"), [
    ({"sigma_kind": SigmaKind.PERCENT, "sigma_percent": 0.0}, "sigma_percent"),
    ({"sigma_kind": SigmaKind.PERCENT, "sigma_percent": 150.0}, "sigma_percent"),
    ({"sigma_kind": SigmaKind.PERCENT, "sigma_percent": float("nan")}, "sigma_percent"),
    ({"sigma_kind": SigmaKind.LINEAR, "sigma_a": 0.0, "sigma_b": 0.0}, "sigma_a"),
    ({"sigma_kind": SigmaKind.LINEAR, "sigma_a": -1.0, "sigma_b": 0.1}, "sigma_a"),
    ({"sigma_kind": SigmaKind.ROBUST, "min_p": 2}, "min_p"),
    ({"sigma_kind": SigmaKind.ROBUST, "value_ceiling": float("inf")}, "value_ceiling"),
    ({"sigma_kind": SigmaKind.ROBUST, "value_ceiling": 0.0}, "value_ceiling"),
    ({"sigma_kind": SigmaKind.ROBUST, "code": "=cmd()"}, "code"),
])
def test_programme_refuses_an_impossible_rule(session: Session, admin: User,
                                              fields: dict, field: str) -> None:
    values = {"code": "UIC-BAD", "name": "x", "measurand": "uic", "value_ceiling": 2000.0,
              "min_p": 12, **fields}
    values["measurand"] = service.EqaMeasurand(values["measurand"])
    with pytest.raises(ValidationError) as caught:
        service.create_programme(session, actor=admin, now=FIXED_NOW, **values)
    assert caught.value.field == field


def test_sigma_rule_is_configuration(session: Session, admin: User) -> None:
    linear = programme(session, admin, sigma_kind=SigmaKind.LINEAR, sigma_a=5.0, sigma_b=0.05)
    assert linear.unit.value == "µg/L"
    assert service.sigma_rule(linear).sigma_pt(200.0) == pytest.approx(15.0)
    percent = programme(session, admin)
    assert service.sigma_rule(percent).sigma_pt(200.0) == pytest.approx(20.0)


def test_round_status_machine_and_audit(session: Session, admin: User) -> None:
    built = planned_round(session, admin)
    round_ = built.round
    with pytest.raises(InvalidTransition):
        service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=round_,
                                    to=RoundStatus.CLOSED)
    service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=round_,
                                to=RoundStatus.DISPATCHED)
    # every laboratory got a random, distinct code for every material
    codes = session.scalars(sa.select(EqaSampleCode.code).join(EqaSampleCode.enrolment)
                            .where(EqaSampleCode.enrolment.has(round_id=round_.id))).all()
    assert len(codes) == len(set(codes)) == 3 * 2
    with pytest.raises(InvalidTransition):  # materials are fixed once dispatched
        service.add_material(session, actor=admin, now=FIXED_NOW, round_=round_, code="C",
                             pool_id="P")
    with pytest.raises(InvalidTransition):
        service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=round_,
                                    to=RoundStatus.DISPATCHED)
    service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=round_,
                                to=RoundStatus.CLOSED)
    with pytest.raises(BusinessRuleViolation, match="assigned value"):
        service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=round_,
                                    to=RoundStatus.REPORTED)
    audit = events(session, "eqa_round_status_changed", round_.id)
    assert [e.changes["status"]["after"] for e in audit] == ["dispatched", "closed"]
    assert set(service.ROUND_TRANSITIONS) == set(RoundStatus)


def test_lab_codes_are_unique_per_round_and_differ_between_rounds(session: Session,
                                                                  admin: User) -> None:
    first = planned_round(session, admin, labs=12, characterise=False)
    codes = [e.lab_code for e in first.enrolments]
    assert len(set(codes)) == 12 and all(len(c) == service.LAB_CODE_LENGTH for c in codes)
    with pytest.raises(ConflictError):
        service.enrol_laboratory(session, actor=admin, now=FIXED_NOW, round_=first.round,
                                 laboratory=first.enrolments[0].laboratory)


def test_failing_material_needs_an_override_to_dispatch(session: Session, admin: User) -> None:
    built = planned_round(session, admin, means=(100.0,), characterise=False)
    material = built.materials[0]
    # units that differ by far more than 0.3 σ_pt (σ_pt = 10 µg/L): heterogeneous
    pairs = [(100.0 + 8 * (i % 2) - 4, 100.0 + 8 * (i % 2) - 4.2) for i in range(10)]
    verdict = service.record_homogeneity(session, actor=admin, now=FIXED_NOW, material=material,
                                         pairs=pairs)
    assert not verdict.passed and material.homogeneity_passed is False
    # independent: s_s from ISO 13528 B.3 with numpy
    data = np.array(pairs)
    s_x = np.std(data.mean(axis=1), ddof=1)
    s_w = math.sqrt(np.sum((data[:, 0] - data[:, 1]) ** 2) / (2 * len(pairs)))
    assert material.homogeneity_s_s == pytest.approx(math.sqrt(max(0, s_x**2 - s_w**2 / 2)))
    assert material.homogeneity_criterion == pytest.approx(0.3 * 0.1 * data.mean())
    service.record_stability(session, actor=admin, now=FIXED_NOW, material=material,
                             values=[100.0, 100.2])
    with pytest.raises(BusinessRuleViolation) as refused:
        service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=built.round,
                                    to=RoundStatus.DISPATCHED)
    assert refused.value.field == "override_reason" and "A" in refused.value.message
    service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=built.round,
                                to=RoundStatus.DISPATCHED,
                                override_reason="s_s within the method's repeatability")
    assert material.override_reason == "s_s within the method's repeatability"
    event = events(session, "eqa_round_status_changed", built.round.id)[0]
    assert event.reason == "s_s within the method's repeatability"
    assert event.changes["override"] == ["A"]


def test_stability_is_judged_against_the_homogeneity_mean(session: Session, admin: User) -> None:
    built = planned_round(session, admin, means=(100.0,), characterise=False)
    material = built.materials[0]
    with pytest.raises(BusinessRuleViolation):
        service.record_stability(session, actor=admin, now=FIXED_NOW, material=material,
                                 values=[100.0])
    service.record_homogeneity(session, actor=admin, now=FIXED_NOW, material=material,
                               pairs=passing_pairs(100.0))
    verdict = service.record_stability(session, actor=admin, now=FIXED_NOW, material=material,
                                       values=[96.0, 95.0])  # 4.6 from the mean > 0.3·10
    assert not verdict.passed and material.stability_passed is False
    assert material.stability_difference == pytest.approx(abs(material.homogeneity_mean - 95.5))


@pytest.mark.parametrize(("pairs", "message"), [
    (passing_pairs(100.0, units=9), "between 10"),
    ([(100.0, -1.0)] + passing_pairs(100.0, units=9), "Value 2"),
    ([(100.0, 5000.0)] + passing_pairs(100.0, units=9), "Value 2"),
    ([(100.0, float("nan"))] + passing_pairs(100.0, units=9), "Value 2"),
    ([(100.0,)] + passing_pairs(100.0, units=9), "between 10"),
])
def test_homogeneity_bad_input(session: Session, admin: User, pairs: list,
                               message: str) -> None:
    material = planned_round(session, admin, characterise=False).materials[0]
    with pytest.raises(ValidationError, match=message):
        service.record_homogeneity(session, actor=admin, now=FIXED_NOW, material=material,
                                   pairs=pairs)


def test_robust_rule_needs_a_planned_sigma_for_homogeneity(session: Session, admin: User) -> None:
    prog = programme(session, admin, sigma_kind=SigmaKind.ROBUST)
    material = planned_round(session, admin, prog=prog, characterise=False).materials[0]
    with pytest.raises(ValidationError) as caught:
        service.record_homogeneity(session, actor=admin, now=FIXED_NOW, material=material,
                                   pairs=passing_pairs(100.0))
    assert caught.value.field == "sigma_pt"
    service.record_homogeneity(session, actor=admin, now=FIXED_NOW, material=material,
                               pairs=passing_pairs(100.0), sigma_pt=12.0)
    assert material.check_sigma_pt == 12.0 and material.homogeneity_passed


def dispatched(session: Session, admin: User, **kwargs) -> object:
    built = planned_round(session, admin, **kwargs)
    service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=built.round,
                                to=RoundStatus.DISPATCHED)
    return built


def test_consensus_refuses_too_few_results_naming_p(session: Session, admin: User) -> None:
    built = dispatched(session, admin, labs=4)
    for enrolment in built.enrolments:
        add_result(session, admin, enrolment, built.materials[0], 100.0)
    with pytest.raises(BusinessRuleViolation) as refused:
        service.assign_value(session, actor=admin, now=FIXED_NOW, material=built.materials[0],
                             source=ValueSource.CONSENSUS)
    assert "p = 4" in refused.value.message and "minimum p = 5" in refused.value.message


def algorithm_a_numpy(values: list[float]) -> tuple[float, float]:
    """ISO 13528 C.3.1 written out here, without the module's shortcuts."""
    x = np.asarray(values, dtype=float)
    x_star = float(np.median(x))
    s_star = 1.483 * float(np.median(np.abs(x - x_star)))
    for _ in range(1000):
        delta = 1.5 * s_star
        w = np.clip(x, x_star - delta, x_star + delta)
        new_x, new_s = float(w.mean()), 1.134 * float(w.std(ddof=1))
        if abs(new_x - x_star) < 1e-12 and abs(new_s - s_star) < 1e-12:
            break
        x_star, s_star = new_x, new_s
    return x_star, s_star


def test_consensus_value_and_scores_match_an_independent_computation(session: Session,
                                                                     admin: User) -> None:
    values = [98.0, 101.0, 99.5, 102.0, 100.5, 97.0, 103.0, 100.0, 99.0, 101.5, 100.2, 160.0]
    built = dispatched(session, admin, labs=len(values), means=(100.0,))
    material = built.materials[0]
    results = [add_result(session, admin, e, material, v, u_x=2.0 if i % 2 else None,
                          coverage_k=2.0 if i % 4 == 1 else None)
               for i, (e, v) in enumerate(zip(built.enrolments, values, strict=True))]
    service.assign_value(session, actor=admin, now=FIXED_NOW, material=material,
                         source=ValueSource.CONSENSUS)
    x_star, s_star = algorithm_a_numpy(values)
    assert material.x_pt == pytest.approx(x_star, rel=1e-6)
    assert material.s_star == pytest.approx(s_star, rel=1e-6)
    assert material.x_pt != pytest.approx(statistics.mean(values), rel=1e-3)  # the outlier
    u_pt = 1.25 * s_star / math.sqrt(len(values))
    assert material.u_x_pt == pytest.approx(u_pt, rel=1e-6)
    sigma = 0.10 * x_star
    assert material.sigma_pt == pytest.approx(sigma, rel=1e-6)
    assert material.u_x_pt_large is (u_pt > 0.3 * sigma)
    service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=built.round,
                                to=RoundStatus.CLOSED)
    assert service.score_round(session, actor=admin, now=FIXED_NOW, round_=built.round) == 12
    scores = {s.result_id: s for s in session.scalars(sa.select(EqaScore).where(
        EqaScore.material_id == material.id, EqaScore.is_current.is_(True)))}
    for result in results:
        score = scores[result.id]
        z = (result.value - x_star) / sigma
        assert score.z == pytest.approx(z, rel=1e-6)
        assert score.z_prime == pytest.approx((result.value - x_star) / math.hypot(sigma, u_pt),
                                              rel=1e-6)
        if result.u_x is None:
            assert score.zeta is None and score.en is None
        else:
            assert score.zeta == pytest.approx((result.value - x_star) / math.hypot(2.0, u_pt),
                                               rel=1e-6)
        if result.coverage_k is None:
            assert score.en is None
        else:
            assert score.en == pytest.approx((result.value - x_star) / math.hypot(4.0, 2 * u_pt),
                                             rel=1e-6)
    outlier = scores[results[-1].id]
    assert outlier.score_class is ScoreClass.UNSATISFACTORY
    assert scores[results[0].id].score_class is ScoreClass.SATISFACTORY
    # scoring again keeps the previous scores, not current
    service.score_round(session, actor=admin, now=FIXED_NOW, round_=built.round)
    assert session.scalar(sa.select(sa.func.count()).select_from(EqaScore)
                          .where(EqaScore.material_id == material.id)) == 24


def test_reference_value_with_large_uncertainty_scores_with_z_prime(session: Session,
                                                                    admin: User) -> None:
    built = dispatched(session, admin, labs=2, means=(100.0,))
    material = built.materials[0]
    add_result(session, admin, built.enrolments[0], material, 125.0)
    add_result(session, admin, built.enrolments[1], material, 100.0)
    service.assign_value(session, actor=admin, now=FIXED_NOW, material=material,
                         source=ValueSource.REFERENCE, x_pt=100.0, u_x_pt=4.0)  # > 0.3·10
    assert material.u_x_pt_large and material.consensus_p is None
    service.score_round(session, actor=admin, now=FIXED_NOW, round_=built.round)
    score = session.scalars(sa.select(EqaScore).where(EqaScore.material_id == material.id)
                            .order_by(EqaScore.result_id)).first()
    assert score.score_kind is ScoreKind.Z_PRIME
    assert score.z == pytest.approx(2.5)  # z alone would say questionable
    assert score.z_prime == pytest.approx(25 / math.hypot(10, 4))
    assert score.score_class is ScoreClass.QUESTIONABLE
    assert events(session, "eqa_value_assigned", material.id)[0].changes["u_x_pt_large"] is True


@pytest.mark.parametrize(("x_pt", "u_x_pt", "field"), [
    (None, 1.0, "x_pt"), (-5.0, 1.0, "x_pt"), (float("inf"), 1.0, "x_pt"),
    (100.0, -1.0, "u_x_pt"), (100.0, None, "u_x_pt"), (1e300, 1.0, "x_pt"),
])
def test_assigned_value_bad_input(session: Session, admin: User, x_pt, u_x_pt, field) -> None:
    built = dispatched(session, admin, labs=1, means=(100.0,))
    with pytest.raises(ValidationError) as caught:
        service.assign_value(session, actor=admin, now=FIXED_NOW, material=built.materials[0],
                             source=ValueSource.FORMULATION, x_pt=x_pt, u_x_pt=u_x_pt)
    assert caught.value.field == field


def test_planned_round_has_no_assigned_value(session: Session, admin: User) -> None:
    built = planned_round(session, admin, labs=1)
    with pytest.raises(InvalidTransition):
        service.assign_value(session, actor=admin, now=FIXED_NOW, material=built.materials[0],
                             source=ValueSource.FORMULATION, x_pt=100.0, u_x_pt=1.0)


def test_shipment_dates(session: Session, admin: User) -> None:
    enrolment = planned_round(session, admin, labs=1).enrolments[0]
    with pytest.raises(ValidationError):
        service.record_shipment(session, actor=admin, now=FIXED_NOW, enrolment=enrolment,
                                shipped_on=DISPATCH, arrived_on=DISPATCH.replace(day=1).replace(
                                    month=3))
    service.record_shipment(session, actor=admin, now=FIXED_NOW, enrolment=enrolment,
                            shipped_on=DISPATCH, arrived_on=DISPATCH.replace(day=3))
    assert enrolment.arrived_on == DISPATCH.replace(day=3)
    assert events(session, "eqa_shipment_recorded", enrolment.id)


def test_method_groups_and_laboratory_history(session: Session, admin: User) -> None:
    prog = programme(session, admin, min_p=3)
    first = dispatched(session, admin, labs=4, means=(100.0,), prog=prog)
    lab = first.enrolments[0].laboratory
    methods = [EqaMethod.SK_MICROPLATE, EqaMethod.SK_MICROPLATE, EqaMethod.ICP_MS,
               EqaMethod.ICP_MS]
    for enrolment, value, method in zip(first.enrolments, [100.0, 102.0, 98.0, 130.0], methods,
                                        strict=True):
        add_result(session, admin, enrolment, first.materials[0], value, method=method)
    service.assign_value(session, actor=admin, now=FIXED_NOW, material=first.materials[0],
                         source=ValueSource.REFERENCE, x_pt=100.0, u_x_pt=1.0)
    service.score_round(session, actor=admin, now=FIXED_NOW, round_=first.round)
    groups = {g.method: g for g in queries.method_groups(session, first.materials[0])}
    assert groups["icp_ms"].n == 2 and groups["icp_ms"].median == pytest.approx(114.0)
    assert groups["sk_microplate"].mean == pytest.approx(101.0)

    second = planned_round(session, admin, labs=1, means=(100.0,), prog=prog)
    enrolment = service.enrol_laboratory(session, actor=admin, now=FIXED_NOW,
                                         round_=second.round, laboratory=lab)
    service.change_round_status(session, actor=admin, now=FIXED_NOW, round_=second.round,
                                to=RoundStatus.DISPATCHED)
    add_result(session, admin, enrolment, second.materials[0], 135.0)
    service.assign_value(session, actor=admin, now=FIXED_NOW, material=second.materials[0],
                         source=ValueSource.FORMULATION, x_pt=100.0, u_x_pt=1.0)
    service.score_round(session, actor=admin, now=FIXED_NOW, round_=second.round)
    history = queries.laboratory_history(session, lab)
    assert [(row.round_code, row.score_class) for row in history.rows] == [
        (first.round.code, ScoreClass.SATISFACTORY), (second.round.code, ScoreClass.UNSATISFACTORY)]
    assert history.share_satisfactory == pytest.approx(0.5)
