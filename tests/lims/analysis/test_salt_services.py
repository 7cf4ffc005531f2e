"""Salt: a titration run (mg/kg = V × C × 126.90/6 × 1000 / m), its missing values named, the
GOST duplicate check, and WYD / rapid-test entry."""

from __future__ import annotations

import pytest

from lims.analysis import catalogue, queries, review, runs
from lims.analysis.models import ResultStatus, RunStatus
from lims.core.errors import BusinessRuleViolation, ValidationError
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.conftest import FIXED_NOW

NOW = FIXED_NOW


def _titration_run(session, lab, samples, molarity=0.005):
    lot = catalogue.add_reagent_lot(session, actor=lab["admin"], now=NOW,
                                    lot_number=f"TS-{id(samples)}", molarity=molarity)
    return runs.create_run(session, actor=lab["tech"], now=NOW, method_version=lab["titration"],
                           reagent_lot=lot, candidates=[runs.Candidate(s) for s in samples])


def test_titration_run_to_verified_mg_per_kg(session, lab, received):
    a, b = received(2, SampleKind.SALT)
    run = _titration_run(session, lab, [a, b])
    runs.enter_batch_values(session, actor=lab["tech"], now=NOW, run=run, samples={
        a.accession: runs.SaltEntry((2.0, 2.1), (10.0, 10.0)),
        b.accession: runs.SaltEntry((2.0, 3.0), (10.0, 10.0)),  # 21.2 vs 31.7: > 5.4 apart
    }, controls={"low": [15.2], "high": [40.5]})
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run)
    by_sample = {r.sample.accession: r for r in queries.results_for_run(session, run.id)}
    # 2.05 mL × 0.005 M × 21.15 × 1000 / 10 g = 21.68 mg/kg (domain.md §3.1: 10.58 × V)
    assert by_sample[a.accession].value == pytest.approx(2.05 * 0.005 * 126.90 / 6 * 100)
    assert by_sample[a.accession].value == pytest.approx(10.575 * 2.05, rel=1e-4)
    assert by_sample[b.accession].status is ResultStatus.REPEAT
    assert "exceeds 5.4" in by_sample[b.accession].flags[0]
    assert run.qc_accepted, run.qc
    runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)
    assert a.status is SampleStatus.PENDING_REVIEW and b.status is SampleStatus.IN_ANALYSIS
    review.verify_run(session, actor=lab["reviewer"], now=NOW, run=run)
    assert a.status is SampleStatus.VERIFIED


def test_missing_mass_is_named_and_nothing_is_stored(session, lab, received):
    (a,) = received(1, SampleKind.SALT)
    run = _titration_run(session, lab, [a])
    with pytest.raises(ValidationError, match=f"{a.accession}: parallel 2 has no salt mass"):
        runs.enter_batch_values(session, actor=lab["tech"], now=NOW, run=run, samples={
            a.accession: runs.SaltEntry((2.0, 2.1), (10.0, None))}, controls={})
    assert run.status is RunStatus.OPEN and run.entries == {}


def test_missing_molarity_gives_no_result(session, lab, received):
    (a,) = received(1, SampleKind.SALT)
    run = _titration_run(session, lab, [a], molarity=None)
    runs.enter_batch_values(session, actor=lab["tech"], now=NOW, run=run, samples={
        a.accession: runs.SaltEntry((2.0, 2.0), (10.0, 10.0))}, controls={})
    with pytest.raises(ValidationError, match="thiosulfate molarity is missing"):
        runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run)


def test_wyd_and_rapid_test_entry(session, lab, received):
    wyd_sample, rtk_sample, high = received(3, SampleKind.SALT)
    wyd = catalogue.current_version(session, "SALT-WYD")
    rtk = catalogue.current_version(session, "SALT-RTK")
    result = review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=wyd_sample,
                                        method_version=wyd, values=[31.2])
    assert result.value == 31.2 and result.status is ResultStatus.PRELIMINARY
    assert wyd_sample.status is SampleStatus.PENDING_REVIEW
    with pytest.raises(ValidationError, match="not one of the categories"):
        review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=rtk_sample,
                                   method_version=rtk, category="20")
    ordinal = review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=rtk_sample,
                                         method_version=rtk, category="<15")
    assert ordinal.value is None and ordinal.category == "<15"
    assert ordinal.analyte.value == "salt_iodine"
    with pytest.raises(BusinessRuleViolation, match="Above the top of the range"):
        review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=high,
                                   method_version=wyd, values=[150.0])
    assert high.status is SampleStatus.RECEIVED
