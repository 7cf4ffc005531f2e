"""Results outside the calibrated range are stored as what they are (issue 13, item 5): above
the top standard ``> 300 µg/L`` flagged "above range; dilute and repeat", never a number; the
worklist proposes the dilution retest; such a result can never be verified as a value; a mean
between the LOD and the lowest standard is censored at that standard. The demo shows the path."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis import demo, queries, review, runs
from lims.analysis.calibration import ResultStatus as Outcome
from lims.analysis.calibration import classify_sample, fit_curve
from lims.analysis.models import Result, ResultStatus
from lims.core.errors import BusinessRuleViolation
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample
from tests.conftest import FIXED_NOW as NOW


def _high_run(session: Session, lab: dict[str, Any], sample: Sample, plate_for: Any,
              absorbance: float = 0.15) -> Result:
    run = runs.create_run(session, actor=lab["tech"], now=NOW, method_version=lab["plate_method"],
                          instrument=lab["reader"], candidates=[runs.Candidate(sample)])

    def high(wells: dict[str, float | None]) -> None:
        for w in run.layout["wells"]:
            if w["accession"] == sample.accession:
                wells[w["well"]] = absorbance

    runs.attach_plate(session, actor=lab["tech"], now=NOW, run=run,
                      reading=plate_for(run, lab["reader"], edit=high))
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run)
    runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)
    (result,) = queries.results_for_run(session, run.id)
    return result


def test_above_the_top_standard_is_stored_censored_and_proposed_for_dilution(
        session, lab, received, plate_for):
    sample = received(1)[0]
    result = _high_run(session, lab, sample, plate_for)
    assert (result.value, result.comparator, result.limit) == (None, ">", 300.0)
    assert result.display == "> 300"
    assert result.status is ResultStatus.REPEAT
    assert "above range; dilute and repeat" in result.flags
    (proposed,) = [c for c in runs.worklist(session, lab["plate_method"], limit=5)
                   if c.sample is sample]
    assert proposed.retest_of is result and proposed.dilution_factor == 2.0


def test_a_result_above_the_range_is_never_verified_as_a_number(session, lab, received,
                                                                 plate_for):
    sample = received(1)[0]
    result = _high_run(session, lab, sample, plate_for)
    with pytest.raises(BusinessRuleViolation, match="above the calibrated range"):
        review.verify_result(session, actor=lab["reviewer"], now=NOW, result=result)
    # even when a preliminary row says "> 300" (an amendment to a censored value, say)
    result.status = ResultStatus.PRELIMINARY
    session.flush()
    with pytest.raises(BusinessRuleViolation, match="cannot be verified as a number"):
        review.verify_result(session, actor=lab["reviewer"], now=NOW, result=result)
    session.refresh(result)
    assert result.verified_by_id is None


def test_below_the_lowest_standard_is_censored_at_that_standard(lab):
    method = lab["plate_method"].method
    levels = method.calibration.concentrations
    curve = fit_curve(levels, [demo.absorbance(c) for c in levels])
    between = classify_sample([demo.absorbance(17.0)] * 2, curve, method)
    assert method.lod < 17.0 < curve.lowest_nonzero
    assert (between.status, between.value, between.comparator, between.limit) == (
        Outcome.BELOW_RANGE, None, "<", 20.0)
    inside = classify_sample([demo.absorbance(30.0)] * 2, curve, method)
    assert inside.status is Outcome.BELOW_LOQ and inside.value == pytest.approx(30.0, rel=0.02)


def test_verify_over_http_says_why_and_changes_nothing(session, client, login, lab, received,
                                                       plate_for):
    result = _high_run(session, lab, received(1)[0], plate_for)
    result.status = ResultStatus.PRELIMINARY
    session.commit()
    login(lab["reviewer"])
    response = client.post(f"/analysis/results/{result.id}/verify", follow_redirects=True)
    assert "cannot be verified as a number" in response.get_data(as_text=True)
    session.refresh(result)
    assert result.status is ResultStatus.PRELIMINARY



def test_the_worklist_page_proposes_the_dilution_retest(session, client, login, lab, received,
                                                        plate_for):
    sample = received(1)[0]
    _high_run(session, lab, sample, plate_for)
    session.commit()
    login(lab["tech"])
    page = client.get("/analysis/worklist?method=UIC-SK-PLATE").get_data(as_text=True)
    retests = page.split("Received samples")[0]
    assert sample.accession in retests and "above range; dilute and repeat" in retests


def test_demo_results_send_pending_samples_above_the_range_back_for_dilution(
        session, make_sample, lab):
    pending = [make_sample(status=SampleStatus.PENDING_REVIEW) for _ in range(30)]
    seed = next(s for s in range(1, 500)
                if any(v > 300 for v in demo.true_values(session, s, pending).values()))
    truth = demo.true_values(session, seed, pending)
    demo.demo_results(session, seed=seed, technician=lab["tech"], reviewer=lab["reviewer"],
                      now=NOW)
    for sample in pending:
        result = session.scalar(sa.select(Result).where(Result.sample_id == sample.id))
        session.refresh(sample)
        if truth[sample.accession] > 300:
            assert (result.value, result.comparator, result.limit) == (None, ">", 300.0)
            assert result.status is ResultStatus.REPEAT
            assert sample.status is SampleStatus.IN_ANALYSIS
        else:
            assert result.comparator == ">" or result.value is None or result.value <= 300
            assert sample.status is SampleStatus.PENDING_REVIEW
    assert not session.scalar(sa.select(sa.func.count()).select_from(Result).where(
        Result.status == ResultStatus.PRELIMINARY, Result.value > 300))
