"""A plate run end to end through the services: layout from the worklist, the plate, curve,
results in µg/L (checked against an independent fit), QC, acceptance, four-eyes verification."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis import queries, review, runs
from lims.analysis.models import Result, ResultStatus, RunStatus
from lims.audit.service import events_for
from lims.capture.models import ReadingStatus
from lims.core.errors import BusinessRuleViolation, PermissionDenied, ValidationError
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample
from tests.conftest import FIXED_NOW, is_postgres

NOW = FIXED_NOW


def _plate_run(session: Session, lab: dict[str, Any], samples: list[Sample]) -> runs.AnalyticalRun:
    return runs.create_run(session, actor=lab["tech"], now=NOW, method_version=lab["plate_method"],
                           instrument=lab["reader"],
                           candidates=[runs.Candidate(s) for s in samples])


def test_plate_run_from_worklist_to_verified_results(session, lab, received, plate_for):
    samples = received(6)
    samples[4].priority = 5  # a priority sample goes first
    run = _plate_run(session, lab, samples)
    assert run.status is RunStatus.OPEN
    assert [i.sample for i in run.items][0] is samples[4]
    assert all(s.status is SampleStatus.IN_ANALYSIS for s in samples)

    reading = plate_for(run, lab["reader"])
    runs.attach_plate(session, actor=lab["tech2"], now=NOW, run=run, reading=reading)
    assert run.status is RunStatus.MEASURED and reading.status is ReadingStatus.CLAIMED

    runs.calculate_run(session, actor=lab["tech2"], now=NOW, run=run)
    assert run.curve_accepted, run.problems
    assert run.qc_accepted, run.qc
    results = queries.results_for_run(session, run.id)
    assert len(results) == 6 and all(r.status is ResultStatus.HELD for r in results)

    # independent check: least squares of ln(A) on the standards' wells, inverted by hand
    wells = reading.payload["wells"]
    layout = run.layout["wells"]
    std = [(w["concentration"], wells[w["well"]]) for w in layout if w["role"] == "calibrator"]
    slope, intercept = np.polyfit([c for c, _ in std], [math.log(a) for _, a in std], 1)
    for result in results:
        absorbances = [wells[w["well"]] for w in layout
                       if w["accession"] == result.sample.accession]
        expected = np.mean([(math.log(a) - intercept) / slope for a in absorbances])
        assert result.value == pytest.approx(expected, rel=1e-6)
        assert result.unit == "µg/L" and result.analyte.value == "uic"

    runs.accept_run(session, actor=lab["tech2"], now=NOW, run=run)
    assert run.status is RunStatus.ACCEPTED
    preliminary = [r for r in queries.results_for_run(session, run.id)
                   if r.status is ResultStatus.PRELIMINARY]
    assert len(preliminary) == 6
    assert all(r.sample.status is SampleStatus.PENDING_REVIEW for r in preliminary)

    with pytest.raises(PermissionDenied, match="a second person must verify"):
        review.verify_run(session, actor=lab["tech2"], now=NOW, run=run)
    n = review.verify_run(session, actor=lab["reviewer"], now=NOW, run=run)
    assert n == len(preliminary)
    assert all(r.status is ResultStatus.VERIFIED and r.verified_by_id == lab["reviewer"].id
               for r in preliminary)
    assert all(r.sample.status is SampleStatus.VERIFIED for r in preliminary)
    actions = [e.action for e in events_for(session, "analytical_run", run.id)]
    assert actions == ["run_created", "plate_attached", "run_calculated", "run_accepted"]


def test_self_verification_is_refused_for_run_creator_and_enterer(session, lab, received,
                                                                   plate_for, make_user):
    from lims.core.permissions import Role

    both = make_user(Role.TECHNICIAN, Role.REVIEWER)
    run = runs.create_run(session, actor=both, now=NOW, method_version=lab["plate_method"],
                          candidates=[runs.Candidate(s) for s in received(3)])
    runs.attach_plate(session, actor=lab["tech"], now=NOW, run=run,
                      reading=plate_for(run, lab["reader"]))
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run)
    runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)
    result = next(r for r in queries.results_for_run(session, run.id)
                  if r.status is ResultStatus.PRELIMINARY)
    with pytest.raises(PermissionDenied, match="You set up"):
        review.verify_result(session, actor=both, now=NOW, result=result)
    assert result.status is ResultStatus.PRELIMINARY
    review.verify_result(session, actor=lab["reviewer"], now=NOW, result=result)
    assert result.status is ResultStatus.VERIFIED


def test_a_plate_that_does_not_match_the_layout_is_refused(session, lab, received, plate_for):
    run = _plate_run(session, lab, received(2))

    def break_it(wells):
        wells.pop("A1")
        wells["B1"] = None  # a blank over range

    reading = plate_for(run, lab["reader"], edit=break_it)
    with pytest.raises(ValidationError) as info:
        runs.attach_plate(session, actor=lab["tech"], now=NOW, run=run, reading=reading)
    messages = [e["message"] for e in info.value.errors]
    assert any("A1" in m and "no reading" in m for m in messages)
    assert any("B1" in m and "over range" in m for m in messages)
    assert run.status is RunStatus.OPEN and reading.status is ReadingStatus.PENDING


def test_a_non_monotonic_curve_blocks_acceptance_and_says_why(session, lab, received, plate_for):
    run = _plate_run(session, lab, received(2))

    def swap(wells):
        layout = run.layout["wells"]
        w50 = [w["well"] for w in layout if w["label"] == "STD 50"]
        w100 = [w["well"] for w in layout if w["label"] == "STD 100"]
        for a, b in zip(w50, w100):
            wells[a], wells[b] = wells[b], wells[a]

    runs.attach_plate(session, actor=lab["tech"], now=NOW, run=run,
                      reading=plate_for(run, lab["reader"], edit=swap))
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run)
    assert run.curve_accepted is False
    assert any("not monotonic" in p for p in run.problems)
    with pytest.raises(BusinessRuleViolation, match="not monotonic"):
        runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)
    with pytest.raises(BusinessRuleViolation, match="curve failed"):
        runs.override_qc(session, actor=lab["reviewer"], now=NOW, run=run, reason="ok")


def test_too_few_standards_gives_no_results(session, lab, received, plate_for):
    run = _plate_run(session, lab, received(2))

    def drop(wells):
        for w in run.layout["wells"]:
            if w["role"] == "calibrator" and w["concentration"] not in (0.0, 20.0):
                wells[w["well"]] = 5.0  # implausible but present: fit uses them
    runs.attach_plate(session, actor=lab["tech"], now=NOW, run=run,
                      reading=plate_for(run, lab["reader"], edit=drop))
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run, calibration_model="linear")
    assert run.curve_accepted is False
    with pytest.raises(BusinessRuleViolation, match="cannot be accepted"):
        runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)


def test_above_top_is_dilute_and_repeat_and_the_retest_links_back(session, lab, received,
                                                                   plate_for):
    sample = received(1)[0]
    run = _plate_run(session, lab, [sample])

    def high(wells):
        for w in run.layout["wells"]:
            if w["accession"] == sample.accession:
                wells[w["well"]] = 0.15  # ≈ 460 µg/L, above the 300 standard

    runs.attach_plate(session, actor=lab["tech"], now=NOW, run=run,
                      reading=plate_for(run, lab["reader"], edit=high))
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run)
    (result,) = queries.results_for_run(session, run.id)
    assert result.status is ResultStatus.REPEAT and result.value is None
    assert result.details["suggested_dilution"] == 2.0
    runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)
    assert sample.status is SampleStatus.IN_ANALYSIS

    candidates = runs.worklist(session, lab["plate_method"], limit=5)
    assert candidates[0].sample is sample and candidates[0].dilution_factor == 2.0
    rerun = runs.create_run(session, actor=lab["tech"], now=NOW,
                            method_version=lab["plate_method"], candidates=candidates[:1])
    runs.attach_plate(session, actor=lab["tech"], now=NOW, run=rerun,
                      reading=plate_for(rerun, lab["reader"]))
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=rerun)
    (retest,) = queries.results_for_run(session, rerun.id)
    assert retest.retest_of_id == result.id
    assert retest.details["dilution_factor"] == 2.0
    session.refresh(result)
    assert result.is_current is False
    current = session.scalars(sa.select(Result).where(Result.sample_id == sample.id,
                                                      Result.is_current)).all()
    assert current == [retest]


def test_qc_rejection_holds_results_and_only_a_reviewer_overrides(session, lab, received,
                                                                   plate_for):
    run = _plate_run(session, lab, received(2))

    def bad_control(wells):
        for w in run.layout["wells"]:
            if w["role"] == "control" and w["level"] == "mid":
                wells[w["well"]] = 0.2  # ≈ 400 µg/L for a 150 target: beyond 3 SD

    runs.attach_plate(session, actor=lab["tech"], now=NOW, run=run,
                      reading=plate_for(run, lab["reader"], edit=bad_control))
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run)
    assert run.curve_accepted and run.qc_accepted is False
    assert any(v["rule"] == "1-3s" for v in run.qc["violations"])
    with pytest.raises(BusinessRuleViolation, match="1-3s"):
        runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)
    runs.reject_run(session, actor=lab["tech"], now=NOW, run=run, reason="mid control 1-3s")
    held = queries.results_for_run(session, run.id)
    assert held and all(r.status in (ResultStatus.HELD, ResultStatus.REPEAT) for r in held)
    assert {s.accession for s, _ in queries.retests(session, held[0].analyte, limit=10)} == {
        r.sample.accession for r in held}

    with pytest.raises(PermissionDenied):
        runs.override_qc(session, actor=lab["tech"], now=NOW, run=run, reason="fine")
    with pytest.raises(ValidationError):
        runs.override_qc(session, actor=lab["reviewer"], now=NOW, run=run, reason=" ")
    runs.override_qc(session, actor=lab["reviewer"], now=NOW, run=run,
                     reason="control pool contaminated; patient range verified")
    assert run.status is RunStatus.CALCULATED and run.qc_accepted
    runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)
    assert run.status is RunStatus.ACCEPTED and run.overridden
    assert any(r.status is ResultStatus.PRELIMINARY and any("QC override" in f for f in r.flags)
               for r in queries.results_for_run(session, run.id))


def test_amendment_is_a_new_version_and_the_old_is_kept(session, lab, received, plate_for):
    run = _plate_run(session, lab, received(1))
    runs.attach_plate(session, actor=lab["tech"], now=NOW, run=run,
                      reading=plate_for(run, lab["reader"]))
    runs.calculate_run(session, actor=lab["tech"], now=NOW, run=run)
    runs.accept_run(session, actor=lab["tech"], now=NOW, run=run)
    (result,) = queries.results_for_run(session, run.id)
    review.verify_result(session, actor=lab["reviewer"], now=NOW, result=result)
    with pytest.raises(ValidationError):
        review.amend_result(session, actor=lab["reviewer"], now=NOW, result=result, reason="",
                            value=1.0)
    amended = review.amend_result(session, actor=lab["reviewer"], now=NOW, result=result,
                                  reason="transcription error", value=123.4)
    assert amended.version == 2 and amended.supersedes_id == result.id
    assert result.status is ResultStatus.SUPERSEDED and not result.is_current
    assert result.value != 123.4  # the old value is kept as it was
    assert amended.sample.status is SampleStatus.PENDING_REVIEW
    history = queries.results_for_sample(session, amended.sample_id)
    assert [r.version for r in history] == [1, 2]
    with pytest.raises(PermissionDenied, match="You created"):
        review.verify_result(session, actor=lab["reviewer"], now=NOW, result=amended)


def test_worklist_pages_by_priority_then_receipt(session, lab, received):
    samples = received(5)
    samples[2].priority = 3
    session.flush()
    first = queries.received_samples(session, samples[0].kind, limit=2)
    assert first[0] is samples[2]
    cursor = queries.WorklistCursor(first[-1].priority, first[-1].received_at, first[-1].id)
    rest = queries.received_samples(session, samples[0].kind, limit=10,
                                    after=queries.WorklistCursor.decode(cursor.encode()))
    ours = [s for s in first + rest if s in samples]
    assert ours == [samples[2], samples[0], samples[1], samples[3], samples[4]]


def test_run_creation_needs_the_analyse_permission(session, lab, received):
    with pytest.raises(PermissionDenied):
        _plate_run(session, {**lab, "tech": lab["reviewer"]}, received(1))




@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="EXPLAIN plans are checked on PostgreSQL")
def test_worklist_reads_its_index_without_sorting(session, received):
    (sample,) = received(1)
    template = session.execute(sa.select(Sample.__table__).where(
        Sample.id == sample.id)).mappings().one()
    rows = []
    for n in range(5000):
        row = dict(template)
        row.pop("id")
        row.update(accession=f"W-2026-{n:06d}", priority=n % 3,
                   status="received" if n % 2 else "verified")
        rows.append(row)
    session.execute(sa.insert(Sample.__table__), rows)
    session.execute(sa.text("ANALYZE samples"))
    stmt = queries.worklist_statement(sample.kind, 0, limit=51)
    sql = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    plan = json.dumps(session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one())
    assert "ix_samples_worklist" in plan, plan
    assert '"Node Type": "Sort"' not in plan and '"Node Type": "Seq Scan"' not in plan, plan
