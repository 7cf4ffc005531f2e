"""Design-based estimates against R's ``survey`` package on a committed survey dataset.

The data (``data/survey_reference.csv``): strata with 2, 3, 10 and 4 + 3 PSUs, unequal PPS
weights, population per stratum, censored results with two limits; and once with a stratum
left with one PSU (R's ``survey.lonely.psu = "adjust"``). ``survey_reference.R`` computes
the reference with ``svydesign`` / ``svyquantile(qrule = "school", interval.type = "mean")`` /
``svyciprop(method = "xlogit")`` / ``degf``. Its output is committed
(``data/survey_reference_r.csv``) so the comparison runs everywhere; where ``Rscript`` is installed
the script is run live and must reproduce the committed file (in CI, ``CI=true``, a missing
Rscript fails the test instead of skipping it).

Tolerances: medians and degrees of freedom exactly (the same order statistic of the same data);
interval ends to 1e-9 relative (they are order statistics too: only a floating-point tie at a
cumulative share could move one); standard errors and percentages to 1e-9 relative, percentage
intervals to 1e-7 relative (the same formula, summed in a different order).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.stats import StatsParams, urine_summary
from reports.survey import NOTE_FEW_PSUS, NOTE_UNBOUNDED

HERE = Path(__file__).parent
DATA = HERE / "data" / "survey_reference.csv"
REFERENCE = HERE / "data" / "survey_reference_r.csv"
SCRIPT = HERE / "survey_reference.R"
KEYS = ["group_code", "region_code"]


LONELY = "national, one-PSU stratum"  # KZ-11's second SAC cluster dropped


def ours(params: StatsParams) -> pd.DataFrame:
    frame = pd.read_csv(DATA)
    table = urine_summary(frame, params).table
    lonely = frame[frame["cluster_id"] != "KZ-11-all-SAC-02"]
    extra = urine_summary(lonely[lonely["group_code"] == "SAC"], params).table
    extra = extra[extra["region_code"] == "national"].assign(region_code=LONELY)
    return pd.concat([table, extra]).set_index(KEYS).sort_index()


def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE).set_index(KEYS).sort_index()


def test_the_committed_reference_is_what_r_computes(tmp_path: Path) -> None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Rscript is not installed: .ci/run installs r-base-core and r-cran-survey")
        pytest.skip("Rscript is not installed (apt-get install r-base-core r-cran-survey)")
    out = tmp_path / "r.csv"
    subprocess.run([rscript, str(SCRIPT), str(DATA), str(out)], check=True, timeout=300,
                   capture_output=True)
    live = pd.read_csv(out).set_index(KEYS).sort_index()
    pd.testing.assert_frame_equal(live, reference(), rtol=1e-12)


def test_medians_intervals_and_df_match_r() -> None:
    # R's degrees of freedom (PSUs − strata), and R prints an interval from two PSUs: compare it
    got = ours(StatsParams(min_psus=2, df_rule="design"))
    ref = reference()
    assert list(got.index) == list(ref.index)
    assert (got["median"] == ref["median"]).all()  # exactly
    assert (got["ci_df"] == ref["df"]).all()
    bounded = ref["ci_low"].notna() & ref["ci_high"].notna()
    assert (~bounded).sum() == 2  # the two-PSU region, both groups: F̂ ± t(1)·SE leaves [0, 1]
    assert (got.loc[~bounded, "ci_note"] == NOTE_UNBOUNDED).all()
    assert got.loc[~bounded, ["ci_low", "ci_high"]].isna().all().all()
    for ours_name, ref_name in (("ci_low", "ci_low"), ("ci_high", "ci_high"), ("median_se", "se")):
        np.testing.assert_allclose(got.loc[bounded, ours_name], ref.loc[bounded, ref_name],
                                   rtol=1e-9)
    for cut in (50, 100):
        name = f"pct_below_{cut}"
        applies = got.index.get_level_values("group_code") != "PW" if cut == 100 else bounded | True
        mine, theirs = got[applies], ref[applies]  # % < 100 is not an indicator for pregnancy
        np.testing.assert_allclose(mine[name], theirs[name], rtol=1e-9)
        np.testing.assert_allclose(mine[name + "_hi"], theirs[name], rtol=1e-9)  # LODs < cut
        for end in ("_ci_low", "_ci_high"):
            np.testing.assert_allclose(mine[name + end], theirs[name + end], rtol=1e-7)
    assert (got.loc[(slice(None), "national"), "weighting"] == "population").all()


def test_defaults_refuse_regions_of_two_and_three_psus_and_count_psus_by_weight() -> None:
    got = ours(StatsParams())
    design = ours(StatsParams(df_rule="design"))
    for region, psus in (("KZ-11", 2), ("KZ-43", 3)):
        few = got.loc[(slice(None), region), :]
        assert (few["psus"] == psus).all() and (few["ci_note"] == NOTE_FEW_PSUS).all()
        assert (few["class_status"] == "provisional").all()
        assert few[["ci_low", "ci_high", "pct_below_50_ci_low"]].isna().all().all()
    ten = got.loc[(slice(None), "KZ-75"), :]
    assert (ten["ci_note"] == "").all() and ten["ci_low"].notna().all()
    # unequal PSU weights: fewer effective degrees of freedom, so a wider interval
    assert (got["ci_df"] < design["ci_df"]).all()
    shown = got["ci_low"].notna()
    assert (got.loc[shown, "ci_low"] <= design.loc[shown, "ci_low"]).all()
    assert (got.loc[shown, "ci_high"] >= design.loc[shown, "ci_high"]).all()
    assert (got["median"] == design["median"]).all()
