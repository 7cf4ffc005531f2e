"""Results below limits of different heights: every printed quantile, class and interval holds
for every ordering of the values the data allow (reports.censoring)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.censoring import Bounds, ci_envelope, classify_interval
from reports.criteria import WHO_SAC
from reports.monitoring_report import interval_text, median_ci_text
from reports.stats import StatsParams, salt_summary, urine_summary
from reports.texts import Translator

EN = Translator()
#: numpy's name for the weighted "school" rule with equal weights (reports.survey): the quantiles
#: the report prints
SCHOOL = "averaged_inverted_cdf"


def summary(values: list[float | tuple[str, float]]) -> pd.Series:
    """One stratum; ("<", L) is a result below the limit L."""
    censored = [isinstance(v, tuple) for v in values]
    df = pd.DataFrame({
        "region_code": "KZ-11", "group_code": "SAC", "period": "2024",
        "uic": [np.nan if c else v for v, c in zip(values, censored)],
        "censored": censored,
        "lod": [v[1] if c else np.nan for v, c in zip(values, censored)],
    })
    return urine_summary(df, StatsParams(), national=False).table.iloc[0]


def test_a_diluted_limit_above_a_measured_value_gives_a_range_not_the_measured_value() -> None:
    # "< 28" (a sample diluted ×2, LOD 14) may lie anywhere in [0, 28): above the measured 20
    got = summary([("<", 28.0), 20.0, 30.0, 40.0, ("<", 14.0)])
    # sorted lower ends 0, 0, 20, 30, 40; upper ends 14⁻, 20, 28⁻, 30, 40
    assert (got.p75_lo, got.p75_hi, bool(got.p75_open)) == (30, 30, False)
    assert got.p75 == 30  # every ordering gives 30
    assert (got.median_lo, got.median_hi, bool(got.median_open)) == (20, 28, True)
    assert math.isnan(got["median"])
    assert interval_text(Bounds(got.median_lo, got.median_hi, True), EN) == "20.0…28.0"
    assert got.class_key == "moderate"  # [20, 28) lies within 20–49: decided
    assert (got.p25_lo, got.p25_hi) == (0, 20)
    assert interval_text(Bounds(got.p25_lo, got.p25_hi, bool(got.p25_open)), EN) == "≤\u00a020.0"


def test_p75_between_a_measured_value_and_a_higher_limit() -> None:
    # P75 is the 4th of 5. Lower ends 0, 5, 8, 10, 20 → 10; upper ends 5, 8, 10, 20, 28⁻ → 20
    got = summary([5.0, 8.0, 10.0, 20.0, ("<", 28.0)])
    assert (got.p75_lo, got.p75_hi, bool(got.p75_open)) == (10, 20, False)
    # lower ends 0, 20, 22, 24, 26 → 24; upper ends 20, 22, 24, 26, 28⁻ → 26: a range, not a number
    got = summary([("<", 28.0), 20.0, 22.0, 24.0, 26.0])
    assert (got.p75_lo, got.p75_hi) == (24, 26) and math.isnan(got.p75)


def test_a_median_below_a_limit_under_the_first_class_boundary_is_classified() -> None:
    got = summary([("<", 14.0)] * 3 + [("<", 10.0), 80.0])
    assert (got.median_lo, got.median_hi, bool(got.median_open)) == (0, 14, True)
    assert got.class_key == "severe"  # below 14, so below 20: severe, not "undetermined"
    assert summary([("<", 28.0)] * 3 + [80.0, 90.0]).class_key == "indeterminate"  # [0, 28)


def test_an_even_median_mixing_two_limits_is_a_valid_interval() -> None:
    got = summary([("<", 14.0), ("<", 28.0), 15.0, 60.0])
    # middle pair: lower ends 0, 0, 15, 60 → (0 + 15)/2; upper ends 14⁻, 15, 28⁻, 60 → (15 + 28)/2
    assert (got.median_lo, got.median_hi, bool(got.median_open)) == (7.5, 21.5, True)
    assert got.class_key == "indeterminate"  # [7.5, 21.5) spans severe and moderate
    assert math.isnan(got["median"])


def test_classes_at_the_boundaries() -> None:
    assert classify_interval(WHO_SAC, 0, 20, True) == "severe"  # [0, 20): below 20
    assert classify_interval(WHO_SAC, 0, 20, False) is None  # [0, 20] may be 20: moderate
    assert classify_interval(WHO_SAC, 20, 49.9, False) == "moderate"
    assert classify_interval(WHO_SAC, 150, 150, False) == "adequate"


def test_a_ci_with_a_censored_lower_end_is_never_inverted() -> None:
    # a median that is a number, whose Woodruff lower end falls among results "< 28"
    row = {"median": 18.0, "median_lo": 18.0, "median_hi": 18.0, "median_open": False,
           "ci_low": np.nan, "ci_low_below": 28.0, "ci_high": 20.0, "ci_high_below": np.nan,
           "ci_note": "", "psus": 6}
    assert median_ci_text(row, EN) == "18.0 (≤\u00a020.0–20.0)"  # was "18.0 (< 28.0–20.0)"
    low, high = ci_envelope(Bounds(0, 28, True), Bounds(20, 20))
    assert low.high <= high.low


def test_salt_quantiles_take_the_same_intervals() -> None:
    df = pd.DataFrame({"region_code": "KZ-11", "period": "2024", "method": "titration",
                       "iodine_mg_kg": [np.nan, 4.0, 12.0], "category": None,
                       "censored": [True, False, False], "lod": [8.0, np.nan, np.nan]})
    got = salt_summary(df, national=False).iloc[0]
    assert (got.median_lo, got.median_hi, bool(got.median_open)) == (4, 8, True)


# --- property: the printed interval contains the quantile of every consistent completion -----

limits = st.sampled_from([5.0, 10.0, 14.0, 20.0, 28.0, 56.0])
result = st.one_of(st.floats(0, 400, allow_nan=False).map(lambda v: round(v, 1)),
                   limits.map(lambda lod: ("<", lod)))


@settings(max_examples=150, deadline=None)
@given(st.lists(result, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_every_completion_of_the_data_lies_in_the_printed_intervals(values, rnd) -> None:
    got = summary(values)
    for name, q in (("median", 0.5), ("p25", 0.25), ("p75", 0.75)):
        low, high, open_high = got[f"{name}_lo"], got[f"{name}_hi"], bool(got[f"{name}_open"])
        assert low <= high  # never inverted
        for _ in range(8):  # random values consistent with the data, including the extremes
            pick = rnd.choice([0.0, 1.0, rnd.random(), 0.999999])
            completed = [v[1] * pick * (1 - 1e-9) if isinstance(v, tuple) else v for v in values]
            actual = float(np.quantile(completed, q, method=SCHOOL))
            assert low - 1e-9 <= actual <= high + 1e-9
            assert not open_high or actual < high + 1e-9
        if not math.isnan(got[name]):  # a number only where every ordering gives it
            assert low == high == got[name]
    if got.class_key not in ("indeterminate", "no_data"):
        lows = [0.0 if isinstance(v, tuple) else v for v in values]
        highs = [v[1] * (1 - 1e-9) if isinstance(v, tuple) else v for v in values]
        for extreme in (lows, highs):
            assert WHO_SAC.classify(float(np.median(extreme))) == got.class_key
    for name in ("pct_below_20", "pct_below_50", "pct_below_100"):
        assert got[name] <= got[f"{name}_hi"]


@pytest.mark.parametrize("values", [[("<", 28.0), 20.0], [("<", 5.0)], [10.0, ("<", 56.0), 3.0]])
def test_printed_intervals_are_valid_bounds(values) -> None:
    got = summary(values)
    text = interval_text(Bounds(got.median_lo, got.median_hi, bool(got.median_open)), EN)
    assert "–" not in text  # a range is "a…b", so a CI dash is never ambiguous


def test_a_range_or_bound_is_never_broken_inside_a_number() -> None:
    from reports.monitoring_report import cell_font_size, wrap

    assert wrap("53.8–69.2", "NotoSans", 6.5, 20) == ["53.8–", "69.2"]  # at the dash
    assert wrap("<\u00a028.0 (≤\u00a020.0–20.0)", "NotoSans", 6.5, 30) == [
        "<\u00a028.0", "(≤\u00a020.0–", "20.0)"]
    narrow = cell_font_size("53.8–69.2", 6.5, 12)  # no room for "53.8–" at 6.5 pt: shrink
    assert narrow < 6.5 and all(piece in ("53.8–", "69.2")
                                for piece in wrap("53.8–69.2", "NotoSans", narrow, 12))


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 999.9), st.floats(0, 999.9), st.floats(6, 60), st.sampled_from(["–", "…"]))
def test_a_cell_never_breaks_a_number_and_never_overflows(a, b, width, sign) -> None:
    from reports.charts import text_width
    from reports.monitoring_report import cell_font_size, wrap

    text = f"{a:.1f}{sign}{b:.1f}".replace(".", ",")
    size = cell_font_size(text, 6.5, width)
    lines = wrap(text, "NotoSans", size, width)
    assert "".join(lines) == text
    assert all(line[-1] in "–…" for line in lines[:-1])  # broken only after the sign
    assert all(text_width(line, size) <= width + 1e-6 for line in lines) or size == 4


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), result), min_size=1, max_size=60))
def test_interval_ends_are_the_quantiles_of_the_lowest_and_highest_completions(rows) -> None:
    """The quantile is monotone in every value, so its interval runs exactly from the quantile
    of every result at its lowest (0 for "< L") to that of every result at its highest (L):
    checked per stratum, several strata at once (each merged on its own)."""
    regions = [f"KZ-{10 + r}" for r, _ in rows]
    values = [v for _, v in rows]
    censored = [isinstance(v, tuple) for v in values]
    df = pd.DataFrame({
        "region_code": regions, "group_code": "SAC", "period": "2024",
        "uic": [np.nan if c else v for v, c in zip(values, censored)], "censored": censored,
        "lod": [v[1] if c else np.nan for v, c in zip(values, censored)],
    })
    table = urine_summary(df).table
    for region, part in [*df.groupby("region_code"), ("national", df)]:
        got = table[table.region_code == region].iloc[0]
        lows = np.where(part.censored, 0.0, part.uic)
        highs = np.where(part.censored, part.lod, part.uic)
        for name, q in (("median", 0.5), ("p25", 0.25), ("p75", 0.75)):
            assert got[f"{name}_lo"] == pytest.approx(np.quantile(lows, q, method=SCHOOL), abs=1e-9)
            assert got[f"{name}_hi"] == pytest.approx(np.quantile(highs, q, method=SCHOOL), abs=1e-9)


@given(st.floats(0, 500), st.floats(0, 500), st.floats(0, 500), st.floats(0, 500),
       st.booleans(), st.booleans())
def test_a_printed_ci_is_never_inverted(a, b, c, d, open_low, open_high) -> None:
    low = Bounds(*sorted((a, b)), open_low)
    high = Bounds(*sorted((c, d)), open_high)
    if low.low > high.high:  # no ordering gives low ≤ high: not a CI
        return
    printed_low, printed_high = ci_envelope(low, high)
    assert printed_low.low <= printed_low.high <= printed_high.high
    assert printed_low.low == low.low and printed_high == high


def _school(values: np.ndarray, weights: np.ndarray, p: float) -> float:
    """The weighted "school" quantile written out (R's svyquantile qrule="school"): the smallest
    value whose running share of the weight reaches p, or the mean of it and the next one when
    the share is exactly p."""
    order = np.argsort(values, kind="stable")
    v, share = values[order], np.cumsum(weights[order]) / weights.sum()
    j = int(np.searchsorted(share, p - 1e-12))
    if abs(share[j] - p) < 1e-12 and j < len(v) - 1:
        return float((v[j] + v[j + 1]) / 2)
    return float(v[j])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), result), min_size=1, max_size=40))
def test_weighted_interval_ends_are_the_weighted_quantiles_of_the_extreme_completions(rows) -> None:
    """With design weights the quantile stays monotone in every value: its interval runs from
    the weighted quantile of every result at its lowest to that of every result at its highest,
    each result keeping its weight when the highest completion re-sorts it."""
    weights = np.array([float(w) for w, _ in rows])
    values = [v for _, v in rows]
    censored = np.array([isinstance(v, tuple) for v in values])
    uic = np.array([np.nan if c else v for v, c in zip(values, censored)])
    lod = np.array([v[1] if c else np.nan for v, c in zip(values, censored)])
    df = pd.DataFrame({"region_code": "KZ-11", "group_code": "SAC", "period": "2024",
                       "uic": uic, "censored": censored, "lod": lod, "weight": weights})
    got = urine_summary(df, national=False).table.iloc[0]
    lows, highs = np.where(censored, 0.0, uic), np.where(censored, lod, uic)
    for name, q in (("median", 0.5), ("p25", 0.25), ("p75", 0.75)):
        assert got[f"{name}_lo"] == pytest.approx(_school(lows, weights, q), abs=1e-9)
        assert got[f"{name}_hi"] == pytest.approx(_school(highs, weights, q), abs=1e-9)
        if not math.isnan(got[name]):
            assert got[f"{name}_lo"] == got[f"{name}_hi"] == got[name]
