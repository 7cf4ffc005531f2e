"""Population statistics against independent numpy computations on the same data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reports.criteria import IGN3, WHO2007, SaltCriteria
from reports.stats import (
    NATIONAL,
    StatsInputError,
    StatsParams,
    salt_summary,
    urine_summary,
    urine_trends,
)
from reports.survey import NOTE_CENSORED, NOTE_FEW_PSUS

FAST = StatsParams()


def urine_frame(rng: np.random.Generator, n: int = 3000) -> pd.DataFrame:
    regions = np.array(["KZ-11", "KZ-43", "KZ-75"])
    groups = np.array(["SAC", "PW", "LW"])
    uic = np.round(rng.lognormal(np.log(130), 0.8, n))  # rounded: many ties
    censored = uic < 15
    return pd.DataFrame(
        {
            "region_code": regions[rng.integers(0, 3, n)],
            "group_code": groups[rng.integers(0, 3, n)],
            "period": rng.choice(["2022", "2024"], n),
            "uic": np.where(censored, np.nan, uic),
            "censored": censored,
            "lod": 15.0,
            "status": rng.choice(["analysed"] * 18 + ["rejected", "pending"], n),
        }
    )


def row(table: pd.DataFrame, region: str, group: str, period: str) -> pd.Series:
    hit = table[
        (table.region_code == region) & (table.group_code == group) & (table.period == period)
    ]
    assert len(hit) == 1
    return hit.iloc[0]


def test_counts_quantiles_and_proportions_match_numpy() -> None:
    df = urine_frame(np.random.default_rng(7))
    table = urine_summary(df, FAST).table
    for (region, group, period), part in df.groupby(["region_code", "group_code", "period"]):
        got = row(table, region, group, period)
        analysed = part[part.status == "analysed"]
        assert got.n_collected == len(part)
        assert got.n_rejected == (part.status == "rejected").sum()
        assert got.n_analysed == len(analysed)
        assert got.n_censored == analysed.censored.sum()
        # censored results sort lowest: stand them in at -1 for numpy (all quantiles here are above)
        ranked = np.where(analysed.censored, -1.0, analysed.uic)
        # equal weights: the survey "school" rule is the averaged inverse CDF (type 2)
        for name, q in (("median", 0.5), ("p25", 0.25), ("p75", 0.75)):
            expected = np.quantile(ranked, q, method="averaged_inverted_cdf")
            assert expected > 15
            assert got[name] == pytest.approx(expected)
        values = analysed.uic.to_numpy()
        cens = analysed.censored.to_numpy()
        for cut in (20, 50) if group == "PW" else (20, 50, 100):
            expected = 100 * np.mean(
                cens | (values < cut)
            )  # LOD 15 ≤ every cut-off: censored count below
            assert got[f"pct_below_{cut}"] == pytest.approx(expected)
            assert got[f"pct_below_{cut}_hi"] == pytest.approx(expected)
        if group == "PW":
            assert got.pct_below_150 == pytest.approx(100 * np.mean(cens | (values < 150)))
            assert got.pct_at_least_500 == pytest.approx(100 * np.mean(values >= 500))
            assert math.isnan(got.pct_at_least_300) and math.isnan(got.pct_below_100)
        elif group == "SAC":
            assert got.pct_at_least_300 == pytest.approx(100 * np.mean(values >= 300))
            assert math.isnan(got.pct_below_150)
        else:
            assert math.isnan(got.pct_at_least_300) and math.isnan(got.pct_at_least_500)
        assert got.ci_low <= got["median"] <= got.ci_high
    national = table[table.region_code == NATIONAL]
    assert sorted(national.n_collected) == sorted(df.groupby(["group_code", "period"]).size())


def one(values: list[float | None], lod: float = 10.0, group: str = "SAC", **params) -> pd.Series:
    df = pd.DataFrame(
        {
            "region_code": "KZ-11",
            "group_code": group,
            "period": "2024",
            "uic": [np.nan if v is None else v for v in values],
            "censored": [v is None for v in values],
            "lod": lod,
        }
    )
    table = urine_summary(df, StatsParams(**params), national=False).table
    return table.iloc[0]


def test_censored_median_is_a_bound_not_a_number() -> None:
    got = one([None, None, None, 40, 60], lod=12)
    assert math.isnan(got["median"])
    assert (got.median_lo, got.median_hi, got.median_open) == (0, 12, True)
    assert got.class_key == "severe"  # below 12 → below the first boundary, 20
    assert one([None, None, None, 40, 60], lod=30).class_key == "indeterminate"
    # even n: the median is the mean of a censored value in [0, 12) and 40 → [20, 26)
    even = one([None, None, 40, 60], lod=12)
    assert math.isnan(even["median"])
    assert (even.median_lo, even.median_hi, even.median_open) == (20, pytest.approx(26), True)
    assert even.class_key == "moderate"  # [20, 26) lies within 20–49
    assert even.ci_note == NOTE_CENSORED  # a median known only as a range gets no interval
    assert all(math.isnan(even[c]) for c in ("ci_low", "ci_high", "ci_low_below", "ci_high_below"))


def test_censored_value_against_cutoff_below_its_lod_gives_a_range() -> None:
    got = one([None, 10, 30, 80, 120], lod=25)
    assert got.pct_below_50 == pytest.approx(60) and got.pct_below_50_hi == pytest.approx(60)
    assert got.pct_below_20 == pytest.approx(20) and got.pct_below_20_hi == pytest.approx(40)
    assert got["median"] == 30


def test_one_value_group_and_empty_group() -> None:
    single = one([87.0])
    assert (single["median"], single.p25, single.p75) == (87, 87, 87)
    assert math.isnan(single.ci_low) and single.ci_note == NOTE_FEW_PSUS
    assert single.class_key == "mild" and single.class_status == "withheld"
    df = pd.DataFrame(
        {
            "region_code": ["KZ-11", "KZ-11"],
            "group_code": "SAC",
            "period": "2024",
            "uic": np.nan,
            "censored": False,
            "lod": 10.0,
            "status": ["rejected", "pending"],
        }
    )
    empty = urine_summary(df, FAST, national=False).table.iloc[0]
    assert (empty.n_collected, empty.n_rejected, empty.n_analysed) == (2, 1, 0)
    assert (
        math.isnan(empty["median"])
        and math.isnan(empty.median_hi)
        and math.isnan(empty.pct_below_50)
    )
    assert empty.class_key == "no_data" and empty.flag_met is None


@pytest.mark.parametrize(
    ("value", "who", "ign"),
    [
        (19.9, "severe", "insufficient"),
        (20, "moderate", "insufficient"),
        (99.9, "mild", "insufficient"),
        (100, "adequate", "adequate"),
        (200, "above", "adequate"),
        (300, "excessive", "excessive"),
    ],
)
def test_classification_boundaries_are_half_open(value: float, who: str, ign: str) -> None:
    assert one([value], scheme=WHO2007).class_key == who
    got = one([value], scheme=IGN3)
    assert got.class_key == ign and got.scheme == IGN3.name


def test_pregnant_and_lactating_tables() -> None:
    assert one([149.9], group="PW").class_key == "insufficient"
    assert one([150], group="PW").class_key == "adequate"
    assert one([500], group="PW").class_key == "excessive"
    assert one([100], group="LW").class_key == "adequate"
    assert one([99], group="U2").class_key == "insufficient"


def test_a_group_without_criteria_gets_statistics_but_no_class() -> None:
    """Children 6–59 months: no WHO table covers the group, so no class is guessed."""
    values = [40.0, 80.0, 120.0, 160.0, 260.0]
    got = one(values, group="C6-59")
    assert got.class_key == "no_criteria" and got.kind == "unclassified"
    assert got["median"] == np.median(values) and got.pct_below_100 == 40.0
    assert got.flag_met is None and math.isnan(got.pct_at_least_300)
    assert one([None, None, 150.0], group="C6-59", lod=10).class_key == "no_criteria"  # censored


def test_distribution_flag() -> None:
    assert one([40] + [150] * 9).flag_met is True  # median 150, 10 % < 50
    assert one([40] * 3 + [150] * 7).flag_met is False  # 30 % < 50
    assert one([40] + [90] * 9).flag_met is False  # median < 100
    assert one([None] + [150] * 9, lod=60).flag_met is True  # 0–10 % < 50: met either way
    assert one([None, None, None] + [150] * 7, lod=60).flag_met is None  # 0–30 % < 50: undecided
    assert one([150] * 5, group="PW").flag_met is None  # not a criterion for pregnant women
    # defined for school-age children only, by configuration: not for women of reproductive age
    assert one([40] + [150] * 9, group="WRA").flag_met is None
    assert one([40] + [150] * 9, group="WRA", flag_groups=frozenset({"WRA"})).flag_met is True


def test_intervals_do_not_depend_on_row_order() -> None:
    df = urine_frame(np.random.default_rng(3), 800).assign(cluster_id=lambda d: d.index % 25)
    first = urine_summary(df, FAST).table
    shuffled = urine_summary(df.sample(frac=1, random_state=1), FAST).table
    pd.testing.assert_frame_equal(first, shuffled)


def test_design_based_ci_widens_when_clusters_differ() -> None:
    rng = np.random.default_rng(11)
    level = rng.lognormal(np.log(120), 0.5, 20)  # cluster effects
    cluster = np.repeat(np.arange(20), 30)
    uic = level[cluster] * rng.lognormal(0, 0.2, 600)
    df = pd.DataFrame(
        {
            "region_code": "KZ-11",
            "group_code": "SAC",
            "period": "2024",
            "uic": uic,
            "censored": False,
            "lod": 5.0,
            "cluster_id": [f"C{c}" for c in cluster],
        }
    )
    clustered = urine_summary(df, FAST, national=False).table.iloc[0]
    iid = urine_summary(df.drop(columns="cluster_id"), FAST, national=False).table.iloc[0]
    assert clustered.clustered and not iid.clustered
    assert clustered["median"] == iid["median"] == pytest.approx(np.median(uic))
    assert clustered.ci_high - clustered.ci_low > 2 * (iid.ci_high - iid.ci_low)


def test_trends_difference_and_ci() -> None:
    rng = np.random.default_rng(4)
    base = pd.DataFrame(
        {
            "region_code": "KZ-11",
            "group_code": "SAC",
            "uic": rng.lognormal(np.log(100), 0.5, 400),
            "censored": False,
            "lod": 5.0,
        }
    )
    now = urine_summary(base.assign(period="2024", uic=base.uic * 1.5), FAST)
    then = urine_summary(base.assign(period="2019"), FAST)
    trends = urine_trends(now, then)
    got = trends[trends.region_code == "KZ-11"].iloc[0]
    assert got.difference == pytest.approx(np.median(base.uic) * 0.5)
    assert got.diff_ci_low < got.difference < got.diff_ci_high
    assert got.diff_ci_low > 0


def test_too_few_clusters_give_no_ci_and_trends_keep_the_difference() -> None:
    """One cluster: no variance at all; two: a t interval on 1 df exists but is below the
    default minimum of PSUs, so none is printed and the class is provisional — unless the
    minimum is lowered. A trend keeps its difference but has no interval."""
    rng = np.random.default_rng(8)
    uic = rng.lognormal(np.log(120), 0.5, 200)
    base = pd.DataFrame({"region_code": "KZ-11", "group_code": "SAC", "uic": uic,
                         "censored": False, "lod": 5.0})
    single = urine_summary(base.assign(period="2024", cluster_id="C1"), FAST, national=False)
    got = single.table.iloc[0]
    assert got["median"] == pytest.approx(np.median(uic))
    assert all(math.isnan(got[c]) for c in ("ci_low", "ci_high", "ci_low_below", "ci_high_below"))
    assert (got.ci_note, got.class_status, got.psus) == (NOTE_FEW_PSUS, "provisional", 1)
    two = base.assign(period="2024", cluster_id=np.arange(200) % 2)
    refused = urine_summary(two, FAST, national=False).table.iloc[0]
    assert refused.ci_note == NOTE_FEW_PSUS and math.isnan(refused.ci_low)
    assert math.isnan(refused.pct_below_50_ci_low)
    allowed = urine_summary(two, StatsParams(min_psus=2), national=False).table.iloc[0]
    assert allowed.ci_df == 1 and allowed.class_status == "final"
    if allowed.ci_note == "":
        assert allowed.ci_low < allowed["median"] < allowed.ci_high
    else:  # F̂ ± t(1 df)·SE left [0, 1]: the design cannot bound the median
        assert allowed.ci_note == "unbounded" and math.isnan(allowed.ci_low)
    earlier = urine_summary(base.assign(period="2019", uic=uic * 0.8, cluster_id=np.arange(200) % 6),
                            FAST, national=False)
    trend = urine_trends(single, earlier).iloc[0]
    assert trend.difference == pytest.approx(np.median(uic) - np.median(uic * 0.8))
    assert math.isnan(trend.diff_ci_low) and math.isnan(trend.diff_ci_high)


def salt_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_code": ["KZ-11"] * 8 + ["KZ-43"] * 3,
            "period": "2024",
            "method": ["titration"] * 6 + ["wyd"] * 2 + ["rtk"] * 3,
            "iodine_mg_kg": [
                np.nan,
                4.0,
                15.0,
                25.0,
                55.0,
                60.0,
                30.0,
                14.9,
                np.nan,
                np.nan,
                np.nan,
            ],
            "category": [None] * 8 + ["none", "below_15", "at_least_15"],
            "censored": [True] + [False] * 10,
            "lod": [2.0] + [np.nan] * 10,
        }
    )


def test_salt_not_analysed_is_a_line_of_its_own() -> None:
    df = pd.concat([salt_frame().assign(status="analysed"),
                    pd.DataFrame({"region_code": ["KZ-11", "KZ-11"], "period": "2024",
                                  "method": [None, None], "iodine_mg_kg": np.nan,
                                  "category": None, "censored": False, "lod": np.nan,
                                  "status": ["pending", "rejected"]})], ignore_index=True)
    table = salt_summary(df, FAST, national=False)
    waiting = table[table.method == "not_analysed"].iloc[0]
    assert (waiting.n_collected, waiting.n_rejected, waiting.n_analysed) == (2, 1, 0)
    assert math.isnan(waiting.pct_at_least_15)
    titr = table[(table.region_code == "KZ-11") & (table.method == "titration")].iloc[0]
    assert titr.n_collected == 6  # the waiting samples are not counted under a method
    with pytest.raises(StatsInputError, match="method: empty value"):
        salt_summary(df.assign(status="analysed"), FAST)


def test_salt_proportions_and_quantiles() -> None:
    table = salt_summary(salt_frame(), FAST)
    titr = table[(table.region_code == "KZ-11") & (table.method == "titration")].iloc[0]
    assert titr.n_analysed == 6 and titr.n_censored == 1
    assert titr.pct_any_iodine == pytest.approx(
        500 / 6
    ) and titr.pct_any_iodine_hi == pytest.approx(100)
    assert titr.pct_at_least_15 == pytest.approx(400 / 6)
    assert titr.pct_below_5 == pytest.approx(200 / 6)
    assert titr.pct_national_range == pytest.approx(200 / 6)  # 25 and 55 are inside
    assert titr.pct_household_range == pytest.approx(200 / 6)  # WHO 15–40: 15 and 25
    assert titr.pct_household_range_hi == pytest.approx(200 / 6)  # < 2 is below 15 for sure
    assert titr["median"] == pytest.approx(np.quantile([-1, 4, 15, 25, 55, 60], 0.5))
    assert titr.p25 == pytest.approx(
        np.quantile([-1, 4, 15, 25, 55, 60], 0.25, method="averaged_inverted_cdf"))
    rtk = table[table.method == "rtk"].iloc[0]
    assert rtk.pct_any_iodine == pytest.approx(200 / 3)
    assert math.isnan(rtk.pct_at_least_15) and math.isnan(rtk["median"])
    custom = salt_summary(
        salt_frame(), StatsParams(salt=SaltCriteria(national_range=(20, 40)))
    )
    assert custom[(custom.region_code == "KZ-11") & (custom.method == "titration")].iloc[
        0
    ].pct_national_range == pytest.approx(100 / 6)
    national = table[(table.region_code == NATIONAL) & (table.method == "rtk")].iloc[0]
    assert national.n_analysed == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="method"), "missing columns"),
        (lambda d: d.assign(method="iodometry"), "method: must be one of"),
        (lambda d: d.assign(category=None), "category: RTK result"),
        (lambda d: d.assign(lod=np.nan), "lod: censored result without"),
        (lambda d: d.assign(region_code=[None] + ["KZ-11"] * 10), "region_code: empty value"),
    ],
)
def test_bad_salt_input_is_refused(change, message: str) -> None:
    with pytest.raises(StatsInputError, match=message):
        salt_summary(change(salt_frame()), FAST)


def test_bad_urine_input_is_refused() -> None:
    df = urine_frame(np.random.default_rng(1), 50)
    with pytest.raises(StatsInputError, match="no criteria kind for group"):
        urine_summary(df.assign(group_code="XYZ"), FAST)
    with pytest.raises(StatsInputError, match="not censored, but no value"):
        urine_summary(df.assign(uic=np.nan, censored=False, status="analysed"), FAST)
    with pytest.raises(StatsInputError, match="status: must be one of"):
        urine_summary(df.assign(status="lost"), FAST)


def test_bad_design_input_is_refused() -> None:
    df = urine_frame(np.random.default_rng(1), 60).assign(cluster_id=lambda d: d.index % 6)
    with pytest.raises(StatsInputError, match="weight: design weight must be"):
        urine_summary(df.assign(weight=0.0), FAST)
    with pytest.raises(StatsInputError, match="population: stratum population must be"):
        urine_summary(df.assign(population=-5.0), FAST)
    with pytest.raises(StatsInputError, match="a cluster lies in more than one stratum"):
        urine_summary(df.assign(stratum=np.where(df.index < 30, "urban", "rural")), FAST)
    with pytest.raises(ValueError, match="df_rule"):
        StatsParams(df_rule="satterthwaite")


def test_population_shares_weight_the_pooled_median() -> None:
    """Two regions of equal samples: the pooled median leans to the region with more people."""
    rng = np.random.default_rng(6)
    low = pd.DataFrame({"region_code": "KZ-11", "uic": rng.uniform(50, 100, 200)})
    high = pd.DataFrame({"region_code": "KZ-75", "uic": rng.uniform(200, 250, 200)})
    df = pd.concat([low, high], ignore_index=True).assign(
        group_code="SAC", period="2026", censored=False, lod=5.0, cluster_id=lambda d: d.index % 10)
    plain = urine_summary(df, FAST).table.set_index("region_code")
    weighted = urine_summary(df.assign(population=np.where(df.region_code == "KZ-11", 1e6, 3e6)),
                             FAST).table.set_index("region_code")
    assert plain.loc["national", "weighting"] == "self"
    assert weighted.loc["national", "weighting"] == "population"
    assert 100 < plain.loc["national", "median"] < 200  # half the specimens each side
    assert weighted.loc["national", "median"] > 200  # three quarters of the people are in KZ-75
    assert weighted.loc["KZ-11", "median"] == plain.loc["KZ-11", "median"]
