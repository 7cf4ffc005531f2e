"""Coverage of the nominal 95 % interval of the median UIC (issue: honest regional intervals).

Not a timed test: a simulation. A finite two-stage cluster population — 5 strata (regions) of 300
communities each, community sizes lognormal, a stratum effect, a community effect and individual
lognormal variation of UIC (results under 20 µg/L censored) — has a known median per stratum and
nationally. From it, ``--surveys`` (≥ 500) surveys are drawn for 2, 3, 4, 5 and 10 PSUs per stratum,
each in two designs:

* PPS: communities drawn with probability proportional to size (with replacement), 30 specimens
  each: self-weighting, the WHO design;
* EPS: communities drawn with equal probability, 30 specimens each: unequal weights
  (community size / 30), passed as the ``weight`` column.

For every survey ``reports.stats.urine_summary`` gives the regional (one stratum) and the national
(5 strata, weighted by population) median and its design-based (Woodruff) interval; the table says
in how many surveys an interval was published and how often it covered the true median — with
the defaults (at least 4 PSUs, effective degrees of freedom) and with R's degrees of freedom and
the minimum lowered to 2 PSUs, to show what those would publish. For
contrast, the percentile cluster bootstrap the reports used before (1,000 replicates) is run on
the regional rows of the PPS design.

    .venv/bin/python benchmarks/bench_ci_coverage.py --surveys 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports.stats import NATIONAL, StatsParams, urine_summary

STRATA = 5
COMMUNITIES = 300
TAKE = 30
LOD = 20.0
PSUS = (2, 3, 4, 5, 10)


def population(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every individual's stratum, community and UIC; community sizes."""
    sizes = np.maximum(20, rng.lognormal(np.log(400), 0.7, (STRATA, COMMUNITIES)).astype(int))
    stratum_effect = np.log(np.array([95.0, 120.0, 150.0, 180.0, 230.0]))
    community_effect = rng.normal(0, 0.35, (STRATA, COMMUNITIES))
    stratum = np.repeat(np.repeat(np.arange(STRATA), COMMUNITIES), sizes.ravel())
    community = np.repeat(np.arange(STRATA * COMMUNITIES), sizes.ravel())
    uic = np.exp(stratum_effect[stratum] + community_effect.ravel()[community]
                 + rng.normal(0, 0.75, len(community)))
    return {"sizes": sizes, "stratum": stratum, "community": community, "uic": uic}


def draw(pop: dict[str, np.ndarray], m: int, design: str, surveys: int,
         rng: np.random.Generator) -> pd.DataFrame:
    """``surveys`` surveys of m communities per stratum; each survey is one "period"."""
    sizes = pop["sizes"]
    starts = np.concatenate(([0], np.cumsum(sizes.ravel())[:-1]))
    frames = []
    for h in range(STRATA):
        p = sizes[h] / sizes[h].sum() if design == "PPS" else np.full(COMMUNITIES, 1 / COMMUNITIES)
        chosen = np.array([rng.choice(COMMUNITIES, m, replace=True, p=p) for _ in range(surveys)])
        flat = h * COMMUNITIES + chosen.ravel()  # global community per (survey, draw)
        members = rng.integers(0, sizes.ravel()[flat][:, None], (len(flat), TAKE))
        uic = pop["uic"][starts[flat][:, None] + members]
        weight = 1 / (m * p[chosen.ravel()]) * sizes.ravel()[flat] / TAKE
        frames.append(pd.DataFrame({
            "region_code": f"S{h}",
            "period": np.repeat(np.arange(surveys), m * TAKE).astype(str),
            "cluster_id": np.repeat(np.arange(len(flat)), TAKE),  # a draw is a PSU
            "weight": np.repeat(weight, TAKE),
            "population": float(sizes[h].sum()),
            "uic": np.round(uic.ravel(), 1),
        }))
    frame = pd.concat(frames, ignore_index=True)
    frame["censored"] = frame["uic"] < LOD
    frame["uic"] = frame["uic"].where(~frame["censored"])
    frame["lod"] = LOD
    frame["group_code"] = "SAC"
    return frame


def bootstrap_coverage(frame: pd.DataFrame, truth: float, rng: np.random.Generator) -> float:
    """Percentile cluster bootstrap (the former method) on stratum S0: share of surveys covered."""
    part = frame[frame.region_code == "S0"]
    hits = []
    for _, survey in part.groupby("period"):
        values = np.where(survey["censored"], -1.0, survey["uic"]).reshape(-1, TAKE)
        picks = rng.integers(0, len(values), (1000, len(values)))
        medians = np.median(values[picks].reshape(1000, -1), axis=1)
        low, high = np.quantile(medians, [0.025, 0.975])
        hits.append(low <= truth <= high)
    return float(np.mean(hits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surveys", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    pop = population(rng)
    truth = {f"S{h}": float(np.median(pop["uic"][pop["stratum"] == h])) for h in range(STRATA)}
    truth[NATIONAL] = float(np.median(pop["uic"]))
    print("true medians: " + ", ".join(f"{k} {v:.1f}" for k, v in truth.items()))
    print("| design | PSUs per stratum | row | published (defaults) | coverage where published "
          "(defaults) | median width | published (R's df, min 2 PSUs) | coverage where published "
          "(R's df, min 2 PSUs) | percentile cluster bootstrap (former), coverage |")
    print("|---|---|---|---|---|---|---|---|---|")
    for design in ("PPS", "EPS"):
        for m in PSUS:
            frame = draw(pop, m, design, args.surveys, rng)
            results = [urine_summary(frame, p).table for p in
                       (StatsParams(), StatsParams(min_psus=2, df_rule="design"))]
            former = bootstrap_coverage(frame, truth["S0"], rng) if design == "PPS" else None
            for row in ("regional", "national"):
                cells = [design, str(m), row]
                for table in results:
                    rows = table[(table.region_code == NATIONAL) == (row == "national")]
                    target = rows["region_code"].map(truth).to_numpy()
                    shown = rows["ci_low"].notna() & rows["ci_high"].notna()
                    covered = (rows["ci_low"] <= target) & (target <= rows["ci_high"])
                    coverage = covered[shown].mean() if shown.any() else float("nan")
                    cells += [f"{100 * shown.mean():.1f} %",
                              "—" if np.isnan(coverage) else f"{100 * coverage:.1f} %"]
                    if table is results[0]:
                        width = (rows["ci_high"] - rows["ci_low"])[shown].median()
                        cells.append("—" if np.isnan(width) else f"{width:.0f} µg/L")
                cells.append(f"{100 * former:.1f} % (S0)" if former is not None and row == "regional"
                             else "—")
                print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
