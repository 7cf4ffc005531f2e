"""Standard curves checked against independent computations (numpy.polyfit), 4PL recovery of
known parameters, acceptance reasons, and per-sample classification."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from lims.analysis.calibration import (
    CalibrationCurve,
    CalibrationError,
    ResultStatus,
    StandardPoint,
    classify_reading,
    classify_sample,
    evaluate_curve,
    fit_curve,
)
from lims.analysis.methods import (
    CalibrationModel,
    CalibrationSpec,
    CurveAcceptance,
    ResponseDirection,
    default_catalogue,
)

CAT = {m.code: m for m in default_catalogue()}
SK = CAT["UIC-SK-PLATE"]
STANDARDS = np.array([0, 0, 20, 20, 50, 50, 100, 100, 150, 150, 200, 200, 300, 300], dtype=float)


def sk_absorbance(conc: np.ndarray, noise: float = 0.0, seed: int = 7) -> np.ndarray:
    """Pseudo-first-order ceric decay read at a fixed time: A = A0·exp(−k·C), plus noise."""
    rng = np.random.default_rng(seed)
    return 1.2 * np.exp(-0.0055 * conc) * (1 + noise * rng.standard_normal(conc.size))


def test_ln_linear_matches_polyfit_on_ln_absorbance() -> None:
    a = sk_absorbance(STANDARDS, noise=0.02)
    curve = fit_curve(STANDARDS, a)
    slope, intercept = np.polyfit(STANDARDS, np.log(a), 1)
    assert curve.params == pytest.approx((intercept, slope), rel=1e-10)
    assert curve.params[1] < 0  # S-K: absorbance decreases as iodine rises
    expected_r2 = np.corrcoef(STANDARDS, np.log(a))[0, 1] ** 2
    assert curve.r2 == pytest.approx(expected_r2, rel=1e-10)
    assert curve.residuals == pytest.approx(np.log(a) - np.polyval([slope, intercept], STANDARDS))
    back = (np.log(a) - intercept) / slope
    assert [p.back_calculated for p in curve.standards] == pytest.approx(back)
    for p, b in zip(curve.standards, back, strict=True):
        expected = None if p.concentration == 0 else pytest.approx(100 * b / p.concentration)
        assert p.recovery_pct == expected


def test_linear_and_quadratic_match_polyfit() -> None:
    a = sk_absorbance(STANDARDS, noise=0.01)
    for model, degree in ((CalibrationModel.LINEAR, 1), (CalibrationModel.QUADRATIC, 2)):
        curve = fit_curve(STANDARDS, a, model)
        coef = np.polyfit(STANDARDS, a, degree)
        assert curve.params == pytest.approx(tuple(coef[::-1]), rel=1e-8)
        fitted = np.polyval(coef, STANDARDS)
        r2 = 1 - np.sum((a - fitted) ** 2) / np.sum((a - a.mean()) ** 2)
        assert curve.r2 == pytest.approx(r2, rel=1e-10)
        assert curve.residuals == pytest.approx(a - fitted, abs=1e-12)


def four_pl(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    return d + (a - d) / (1 + (x / c) ** b)


@pytest.mark.parametrize("truth", [(1.5, 1.3, 120.0, 0.1), (0.05, 2.0, 80.0, 2.0)],
                         ids=["decreasing", "increasing"])
def test_four_pl_recovers_known_parameters(truth: tuple[float, float, float, float]) -> None:
    x = np.array([0, 10, 25, 50, 100, 150, 200, 300, 400, 700, 1200], dtype=float)
    y = four_pl(x, *truth)
    curve = fit_curve(x, y, CalibrationModel.FOUR_PL)
    assert curve.params == pytest.approx(truth, rel=1e-4)
    noisy = y * (1 + 0.005 * np.random.default_rng(3).standard_normal(x.size))
    rough = fit_curve(x, noisy, CalibrationModel.FOUR_PL)
    assert rough.params == pytest.approx(truth, rel=0.05, abs=0.01)
    assert rough.r2 > 0.999


@pytest.mark.parametrize("model", list(CalibrationModel))
def test_inverse_gives_back_the_concentration_and_applies_dilution(model: CalibrationModel) -> None:
    curve = fit_curve(STANDARDS, sk_absorbance(STANDARDS), model)
    for conc in (30.0, 120.0, 260.0):
        assert curve.concentration(curve.response(conc)) == pytest.approx(conc, rel=1e-6)
        assert curve.concentration(curve.response(conc), 5.0) == pytest.approx(5 * conc, rel=1e-6)
    with pytest.raises(ValueError, match="dilution factor"):
        curve.concentration(0.5, 0)


def test_responses_beyond_the_curve_are_infinite_not_invented() -> None:
    ln = fit_curve(STANDARDS, sk_absorbance(STANDARDS))
    assert ln.concentration(0.0) == math.inf  # fully decolourised: far too much iodine
    assert ln.concentration(-0.01) == math.inf
    x = np.array([0, 25, 50, 100, 200, 300], dtype=float)
    fpl = fit_curve(x, four_pl(x, 1.5, 1.3, 120.0, 0.1), CalibrationModel.FOUR_PL)
    assert fpl.concentration(0.05) == math.inf  # below the bottom asymptote d = 0.1
    assert fpl.concentration(1.6) == -math.inf  # above the zero-concentration response a = 1.5


def test_quadratic_takes_the_root_on_the_curve_s_branch() -> None:
    x = np.array([0, 50, 100, 150, 200, 300], dtype=float)
    y = 1.2 - 0.006 * x + 0.00001 * x ** 2  # falling, vertex at 300
    curve = fit_curve(x, y, CalibrationModel.QUADRATIC)
    assert curve.concentration(1.2 - 0.006 * 80 + 0.00001 * 6400) == pytest.approx(80.0)
    assert curve.concentration(0.2) == math.inf  # below the vertex: no root on the falling branch


def test_missing_standard_readings_are_left_out_of_the_fit() -> None:
    a = list(sk_absorbance(STANDARDS))
    a[-1] = None  # one 300 replicate over range
    curve = fit_curve(STANDARDS, a)
    assert len(curve.standards) == 13 and curve.top == 300.0
    a[-2] = None
    assert fit_curve(STANDARDS, a).top == 200.0


@pytest.mark.parametrize(("conc", "resp", "model", "message"), [
    ([0, 50], [1.0, 0.5], CalibrationModel.QUADRATIC, "at least 3"),
    ([0, 50, 100, 200], [1.0, 0.5, None, None], CalibrationModel.FOUR_PL, "at least 4"),
    ([0, 50, 100], [1.0, 0.5, 0.0], CalibrationModel.LN_LINEAR, "non-positive at standard.s. 100"),
    ([0, 50, 100], [0.5, 0.5, 0.5], CalibrationModel.LINEAR, "flat|same response"),
    ([0, 50], [1.0], CalibrationModel.LINEAR, "2 concentrations but 1"),
])
def test_standards_that_cannot_be_fitted(conc: list[float], resp: list[float | None],
                                         model: CalibrationModel, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        fit_curve(conc, resp, model)


# -- acceptance -----------------------------------------------------------------------------

def test_a_clean_curve_is_accepted() -> None:
    verdict = evaluate_curve(fit_curve(STANDARDS, sk_absorbance(STANDARDS, 0.005)), SK.calibration)
    assert verdict.accepted and verdict.reasons == ()


def test_too_few_points() -> None:
    keep = STANDARDS <= 100
    curve = fit_curve(STANDARDS[keep], sk_absorbance(STANDARDS[keep]))
    verdict = evaluate_curve(curve, SK.calibration)
    assert not verdict.accepted
    assert verdict.reasons == (
        "Only 4 standard concentrations have a reading; at least 5 are needed.",)


def test_non_monotonic_standards_are_refused_in_the_expected_direction() -> None:
    a = sk_absorbance(STANDARDS)
    a[[6, 7]], a[[8, 9]] = a[[8, 9]].copy(), a[[6, 7]].copy()  # swap 100 and 150
    lenient = replace(SK.calibration, acceptance=CurveAcceptance(
        r2_min=0, recovery_tolerance_pct=1e9, lowest_recovery_tolerance_pct=1e9))
    verdict = evaluate_curve(fit_curve(STANDARDS, a), lenient)
    assert len(verdict.reasons) == 1 and "not monotonic" in verdict.reasons[0]
    assert "at 150 µg/L" in verdict.reasons[0] and "is not below" in verdict.reasons[0]
    rising = replace(lenient, direction=ResponseDirection.INCREASING)
    clean = fit_curve(STANDARDS, sk_absorbance(STANDARDS))
    assert len(evaluate_curve(clean, rising).reasons) == 6  # every step falls


def test_r2_below_minimum() -> None:
    noisy = fit_curve(STANDARDS, sk_absorbance(STANDARDS, noise=0.15, seed=1))
    assert noisy.r2 < 0.99
    strict = replace(SK.calibration, acceptance=CurveAcceptance(require_monotonic=False,
                                                                recovery_tolerance_pct=1e9,
                                                                lowest_recovery_tolerance_pct=1e9))
    assert evaluate_curve(noisy, strict).reasons == (
        f"r² {noisy.r2:.4f} is below the minimum 0.99.",)


def _curve_with_recoveries(recoveries: dict[float, float]) -> CalibrationCurve:
    points = [StandardPoint(0.0, 1.2, 0.0, 0.0, None)] + [
        StandardPoint(c, 1.0, 0.0, c * r / 100, r) for c, r in recoveries.items()]
    return CalibrationCurve(CalibrationModel.LN_LINEAR, (0.18, -0.0055), 0.999, tuple(points))


def test_recovery_tolerance_is_wider_at_the_lowest_standard() -> None:
    spec = CalibrationSpec((0.0, 20.0, 50.0, 100.0, 150.0),
                           acceptance=CurveAcceptance(require_monotonic=False))
    ok = _curve_with_recoveries({20.0: 120.0, 50.0: 85.0, 100.0: 115.0, 150.0: 100.0})
    assert evaluate_curve(ok, spec).accepted
    bad = _curve_with_recoveries({20.0: 120.1, 50.0: 84.9, 100.0: 100.0, 150.0: 100.0})
    assert evaluate_curve(bad, spec).reasons == (
        "Standard 20 µg/L back-calculates to 24.02 µg/L (120.1 % recovery; allowed 80–120 %).",
        "Standard 50 µg/L back-calculates to 42.45 µg/L (84.9 % recovery; allowed 85–115 %).",
    )


# -- classification -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sk_curve() -> CalibrationCurve:
    return fit_curve(STANDARDS, sk_absorbance(STANDARDS))


def resp(curve: CalibrationCurve, *concs: float) -> list[float]:
    return [curve.response(c) for c in concs]


def test_reportable_sample_is_the_mean_of_replicates(sk_curve: CalibrationCurve) -> None:
    r = classify_sample(resp(sk_curve, 118.0, 122.0), sk_curve, SK)
    assert r.status is ResultStatus.REPORTABLE and r.comparator is None
    assert r.value == pytest.approx(120.0)
    assert r.spread == pytest.approx(100 * np.std([118, 122], ddof=1) / 120)


def test_below_lod_is_censored_with_the_limit(sk_curve: CalibrationCurve) -> None:
    r = classify_sample(resp(sk_curve, 5.0, 9.0), sk_curve, SK)
    assert (r.status, r.value, r.comparator, r.limit) == (ResultStatus.BELOW_LOD, None, "<", 14.0)
    assert r.reasons == ("Below the LOD (14 µg/L).",)
    above_zero_standard = classify_sample([1.3, 1.3], sk_curve, SK)  # negative concentration
    assert above_zero_standard.status is ResultStatus.BELOW_LOD
    assert above_zero_standard.value is None


def test_between_lod_and_loq_keeps_the_measured_value(sk_curve: CalibrationCurve) -> None:
    r = classify_sample(resp(sk_curve, 30.0, 31.0), sk_curve, SK)
    assert r.status is ResultStatus.BELOW_LOQ and r.value == pytest.approx(30.5) and r.limit == 42.0
    edge = classify_sample(resp(sk_curve, 42.0, 42.0), sk_curve, SK)
    assert edge.status is ResultStatus.REPORTABLE


def test_above_top_standard_asks_for_dilution(sk_curve: CalibrationCurve) -> None:
    r = classify_sample(resp(sk_curve, 290.0, 310.0), sk_curve, SK)
    assert r.status is ResultStatus.DILUTE and r.value is None
    assert r.suggested_dilution == 2.0  # 310/2 = 155 ≤ 240
    assert classify_sample([0.0, 0.001], sk_curve, SK).suggested_dilution == 10.0
    at_top = classify_sample(resp(sk_curve, 300.0, 299.0), sk_curve, SK)
    assert at_top.status is ResultStatus.REPORTABLE


def test_dilution_factor_scales_result_and_limits(sk_curve: CalibrationCurve) -> None:
    r = classify_sample(resp(sk_curve, 200.0, 204.0), sk_curve, SK, dilution_factor=5.0)
    assert r.status is ResultStatus.REPORTABLE and r.value == pytest.approx(1010.0)
    low = classify_sample(resp(sk_curve, 10.0, 12.0), sk_curve, SK, dilution_factor=5.0)
    assert (low.status, low.limit) == (ResultStatus.BELOW_LOD, 70.0)


def test_duplicates_over_cv_tolerance_are_repeated(sk_curve: CalibrationCurve) -> None:
    # CV of a pair = |x1 − x2| / (√2 · mean); tolerance 15 %
    spread_ok = 0.15 * math.sqrt(2) * 100 * 0.999
    ok = classify_sample(resp(sk_curve, 100 - spread_ok / 2, 100 + spread_ok / 2), sk_curve, SK)
    assert ok.status is ResultStatus.REPORTABLE and ok.spread == pytest.approx(14.985, rel=1e-6)
    bad = classify_sample(resp(sk_curve, 85.0, 115.0), sk_curve, SK)
    assert bad.status is ResultStatus.REPEAT and bad.value is None
    assert bad.reasons == ("Replicate CV 21.2 % exceeds 15 %: repeat.",)


def test_unreadable_replicate_is_repeated(sk_curve: CalibrationCurve) -> None:
    r = classify_sample([None, sk_curve.response(100.0)], sk_curve, SK)
    assert r.status is ResultStatus.REPEAT and r.value is None


def test_method_without_lod_uses_lowest_nonzero_standard() -> None:
    icp = CAT["UIC-ICPMS"]
    x = np.array([0, 25, 50, 100, 200, 400], dtype=float)
    curve = fit_curve(x, 0.002 + 0.01 * x, CalibrationModel.LINEAR)
    r = classify_sample([curve.response(10.0)], curve, icp)
    assert (r.status, r.limit, r.comparator) == (ResultStatus.BELOW_LOD, 25.0, "<")


def test_direct_readings_use_the_reportable_range_and_absolute_difference() -> None:
    wyd = CAT["SALT-WYD"]
    assert classify_reading([30.0, 35.4], wyd).status is ResultStatus.REPORTABLE
    over = classify_reading([30.0, 35.5], wyd)
    assert over.status is ResultStatus.REPEAT
    assert over.reasons == ("Replicate difference 5.5 mg/kg exceeds 5.4 mg/kg: repeat.",)
    high = classify_reading([101.0], wyd)
    assert high.status is ResultStatus.DILUTE and high.suggested_dilution is None


def test_curve_and_result_round_trip_through_json(sk_curve: CalibrationCurve) -> None:
    off_curve = StandardPoint(300.0, 0.0, math.nan, math.inf, math.inf)  # a standard read as 0
    off = replace(sk_curve, standards=sk_curve.standards[:-1] + (off_curve,))
    for curve in (sk_curve, off):
        again = CalibrationCurve.from_dict(json.loads(json.dumps(curve.to_dict(), allow_nan=False)))
        assert again.params == curve.params and again.r2 == curve.r2
        assert again.concentration(0.6) == pytest.approx(curve.concentration(0.6))
        before, after = evaluate_curve(curve, SK.calibration), evaluate_curve(again, SK.calibration)
        assert (after.accepted, len(after.reasons)) == (before.accepted, len(before.reasons))
    assert not evaluate_curve(off, SK.calibration).accepted
    dilute = classify_sample([0.0, 0.001], sk_curve, SK)
    stored = json.loads(json.dumps(dilute.to_dict(), allow_nan=False))
    assert stored["status"] == "dilute_and_repeat" and stored["replicates"][0] is None
