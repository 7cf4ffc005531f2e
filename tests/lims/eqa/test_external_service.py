"""Our participation in an external scheme: materials become ordinary samples (registered,
received, analysed), our six values come from their verified results, the submission is
frozen, the verdict is computed against the configured limit, and EQA samples stay out of the
monitoring report's data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.core.errors import BusinessRuleViolation, ConflictError, ValidationError
from lims.core.permissions import Role
from lims.eqa import external
from lims.eqa.external_models import ExternalEvaluation, ExternalMeasurand, ExternalRoundStatus
from lims.eqa.external_queries import annex_rows, material_values, rounds_due
from lims.reporting.data import ReportScope, load_frames, scope_sample_ids
from lims.samples.models import Sample, SampleKind
from reports.eqa_external import allowed_deviation, summarise, within_limits
from tests.conftest import FIXED_NOW
from tests.lims.eqa.external_helpers import analyse, make_round, make_scheme

SIX = [(101.0, 99.0), (104.0, 98.0), (100.0, 102.0)]


def test_pure_summary_and_limits() -> None:
    values = [v for pair in SIX for v in pair]
    s = summarise(values)
    assert s.n == 6 and s.mean == pytest.approx(sum(values) / 6)
    # an independent path: the textbook formula with statistics' stdev
    import statistics
    assert s.sd == pytest.approx(statistics.stdev(values))
    assert s.cv == pytest.approx(100 * statistics.stdev(values) / statistics.mean(values))
    assert summarise([5.0]).sd is None and summarise([]).mean is None
    # below the level the absolute limit, at and above it the percentage
    assert allowed_deviation(80, percent=15, absolute=15, absolute_below=100) == 15
    assert allowed_deviation(200, percent=15, absolute=15, absolute_below=100) == pytest.approx(30)
    assert allowed_deviation(200, percent=None, absolute=20, absolute_below=None) == 20
    with pytest.raises(ValueError):
        allowed_deviation(200, percent=None, absolute=20, absolute_below=100)
    assert within_limits(115.0, 100.0, 15.0) and not within_limits(115.01, 100.0, 15.0)


def test_material_samples_values_submission_and_verdict(
        session: Session, make_user: Callable[...,
        User]) -> None:
    tech, reviewer = make_user(Role.TECHNICIAN), make_user(Role.REVIEWER)
    scheme = make_scheme(session, tech, FIXED_NOW)
    rnd = make_round(session, tech, FIXED_NOW, scheme)
    material = external.register_material(session, actor=tech, now=FIXED_NOW,
                                          external_round=rnd, code="A1")
    assert len(material.samples) == 3
    samples = [session.get(Sample, link.sample_id) for link in material.samples]
    assert all(s.kind is SampleKind.URINE and s.cluster_id == scheme.cluster_id for s in samples)
    with pytest.raises(BusinessRuleViolation):  # nothing analysed yet
        external.submit_round(session, actor=reviewer, now=FIXED_NOW, external_round=rnd)
    analyse(session, tech, reviewer, FIXED_NOW, material, SIX)
    [values] = material_values(session, [material])
    assert values.values == [101.0, 99.0, 104.0, 98.0, 100.0, 102.0]
    assert values.summary.n == 6 and values.summary.mean == pytest.approx(604 / 6)

    external.submit_round(session, actor=reviewer, now=FIXED_NOW, external_round=rnd)
    assert rnd.status is ExternalRoundStatus.SUBMITTED and rnd.submitted_by_id == reviewer.id
    assert rnd.submission["materials"]["A1"]["n"] == 6
    with pytest.raises(ConflictError):
        external.submit_round(session, actor=reviewer, now=FIXED_NOW, external_round=rnd)
    with pytest.raises(ConflictError):  # the round no longer takes materials
        external.register_material(session, actor=tech, now=FIXED_NOW, external_round=rnd,
                                   code="A2")

    # target 120: allowed 15 % = 18; our mean 100.67 is 19.3 away → outside
    first = external.record_evaluation(session, actor=reviewer, now=FIXED_NOW,
                                       material=material, target=120.0,
                                       scheme_verdict="unacceptable")
    assert not first.within_limits and first.allowed == pytest.approx(18.0)
    assert rnd.status is ExternalRoundStatus.EVALUATED
    with pytest.raises(ValidationError):  # a second target needs a reason
        external.record_evaluation(session, actor=reviewer, now=FIXED_NOW, material=material,
                                   target=110.0)
    second = external.record_evaluation(session, actor=reviewer, now=FIXED_NOW,
                                        material=material, target=110.0,
                                        reason="CDC corrected the target in its report")
    assert second.within_limits and second.version == 2 and not first.is_current
    assert session.scalar(sa.select(sa.func.count()).select_from(ExternalEvaluation)) == 2
    actions = set(session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == external.ROUND_ENTITY, AuditEvent.entity_id == rnd.id)))
    assert actions == {"eqa_external_round_opened", "eqa_external_material_registered",
                       "eqa_external_round_submitted", "eqa_external_evaluation_recorded"}

    rows = annex_rows(session, date(2026, 1, 1), date(2026, 12, 31), yes="yes", no="no",
                      pending="pending")
    assert rows == [("EQUIP", "2026-1", "A1", pytest.approx(604 / 6), 110.0, "yes", None)]
    assert annex_rows(session, date(2025, 1, 1), date(2025, 12, 31), yes="yes", no="no",
                      pending="pending") == []


def test_bad_input_is_refused(session: Session, make_user: Callable[..., User]) -> None:
    tech = make_user(Role.TECHNICIAN)
    scheme = make_scheme(session, tech, FIXED_NOW, code="EQ2")
    with pytest.raises(ValidationError):
        external.create_scheme(
            session, actor=tech, now=FIXED_NOW, code="NOLIMIT", name="n", provider="p",
            measurand=scheme.measurand, limit_percent=None, limit_absolute=None,
            absolute_below=None, limit_note="", days=3, cluster=scheme.cluster,
            population_group=scheme.population_group)
    with pytest.raises(ValidationError):
        external.open_round(session, actor=tech, now=FIXED_NOW, scheme=scheme, code="R",
                            received_on=date(2026, 5, 1), deadline=date(2026, 4, 1))
    for bad in (float("nan"), float("inf"), -1.0, 1e300):
        with pytest.raises(ValidationError):
            external._number(bad, field="target")
    rnd = make_round(session, tech, FIXED_NOW, scheme)
    with pytest.raises(ConflictError):
        make_round(session, tech, FIXED_NOW, scheme)
    external.register_material(session, actor=tech, now=FIXED_NOW, external_round=rnd, code="A")
    with pytest.raises(ConflictError):
        external.register_material(session, actor=tech, now=FIXED_NOW, external_round=rnd,
                                   code="A")
    material = rnd.materials[0]
    with pytest.raises(ConflictError):  # a target before anything was sent
        external.record_evaluation(session, actor=tech, now=FIXED_NOW, material=material,
                                   target=100.0)


def test_rounds_due_for_the_dashboard(session: Session, make_user: Callable[..., User]) -> None:
    tech = make_user(Role.TECHNICIAN)
    scheme = make_scheme(session, tech, FIXED_NOW, code="EQ3")
    rnd = make_round(session, tech, FIXED_NOW, scheme)  # deadline in 28 days
    today = FIXED_NOW.date()
    assert rnd in rounds_due(session, today, 30)
    assert rnd not in rounds_due(session, today, 7)


def test_eqa_samples_stay_out_of_the_monitoring_report(
        session: Session, make_user: Callable[...,
        User]) -> None:
    tech, reviewer = make_user(Role.TECHNICIAN), make_user(Role.REVIEWER)
    scheme = make_scheme(session, tech, FIXED_NOW, code="EQ4")
    rnd = make_round(session, tech, FIXED_NOW, scheme)
    material = external.register_material(session, actor=tech, now=FIXED_NOW,
                                          external_round=rnd, code="B")
    analyse(session, tech, reviewer, FIXED_NOW, material, SIX)
    eqa_ids = {link.sample_id for link in material.samples}
    round_id = scheme.cluster.round_id
    # the monitoring round's (and year's) samples: the EQA samples are not among them
    for scope in (ReportScope(round_id=round_id), ReportScope(year=2026)):
        covered = set(session.scalars(scope_sample_ids(session, scope)))
        assert not covered & eqa_ids
        frames = load_frames(session, scope)
        assert len(frames.urine) == len(covered & set(session.scalars(
            sa.select(Sample.id).where(Sample.kind == SampleKind.URINE))))
    # without the exclusion they would be there: they are ordinary samples of the round
    in_round = set(session.scalars(sa.select(Sample.id).where(Sample.round_id == round_id)))
    assert eqa_ids <= in_round


def test_a_salt_scheme_registers_salt_samples(
        session: Session, make_user: Callable[...,
        User]) -> None:
    tech = make_user(Role.TECHNICIAN)
    urine = make_scheme(session, tech, FIXED_NOW, code="EQ5")
    salt = external.create_scheme(
        session, actor=tech, now=FIXED_NOW, code="SALT-PT", name="Salt iodine PT",
        provider="IGN", measurand=ExternalMeasurand.SALT_IODINE, limit_percent=None,
        limit_absolute=3.0, absolute_below=None, limit_note="± 3 mg/kg", days=2,
        cluster=urine.cluster, population_group=None)
    assert salt.unit == "mg/kg"
    rnd = make_round(session, tech, FIXED_NOW, salt)
    material = external.register_material(session, actor=tech, now=FIXED_NOW,
                                          external_round=rnd, code="S1")
    samples = [session.get(Sample, link.sample_id) for link in material.samples]
    assert [s.kind for s in samples] == [SampleKind.SALT, SampleKind.SALT]
    assert {link.day for link in material.samples} == {1, 2}
