"""Regional monitoring report at national scale (issue 5): statistics and PDF from DataFrames.

Generates a seeded, realistic frame — 20 regions, five population groups, three survey rounds,
30 clusters per region with cluster effects, lognormal UIC with region effects, ~2 % censored at
LOD 10 µg/L, ~2 % rejected — plus household salt (titration, WYD, RTK), then times:

- the grouping and statistics with design-based intervals (clusters within regions, and each
  specimen its own PSU),
- the report's statistics (``prepare_monitoring_data``), the PDF rendering alone
  (``render_monitoring_report``) and both together (``build_monitoring_report``), for ru;
- what page 1 (the headline figures) and the three choropleth maps add to the rendering: those
  pages alone, laid out and drawn into a PDF of their own (target: ≤ 0.3 s), the map geometry
  read and projected on first use in the process.

Labels are passed as pandas ``category`` columns (what ``read_sql`` + ``astype("category")`` gives)
and, for comparison, as plain object strings. The DB read is the lead's part.

    .venv/bin/python benchmarks/bench_report.py --rows 1000000 100000
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reports.monitoring_report import (
    ReportParams,
    build_monitoring_report,
    prepare_monitoring_data,
    render_monitoring_report,
)
from reports.stats import StatsParams, salt_summary, urine_summary
from reports.texts import region_names_from_frame

REGIONS = pd.read_csv(ROOT / "lims" / "data" / "kz-regions.csv")
GROUPS = np.array(["SAC", "WRA", "PW", "LW", "U2"])
PERIODS = np.array(["2019", "2022", "2024"])


def urine_frame(rows: int, seed: int = 2024, categorical: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = REGIONS["iso_code"].to_numpy()
    region = rng.integers(0, len(codes), rows)
    cluster = rng.integers(0, 30, rows)
    region_effect = rng.normal(0, 0.35, len(codes))
    cluster_effect = rng.normal(0, 0.2, (len(codes), 30))
    group = rng.choice(len(GROUPS), rows, p=[0.4, 0.25, 0.15, 0.1, 0.1])
    group_shift = np.array([0.0, -0.1, 0.2, -0.2, 0.0])[group]
    uic = np.exp(
        np.log(150)
        + region_effect[region]
        + cluster_effect[region, cluster]
        + group_shift
        + rng.normal(0, 0.75, rows)
    )
    censored = uic < 10
    status = np.where(rng.random(rows) < 0.02, "rejected", "analysed")
    frame = pd.DataFrame(
        {
            "region_code": codes[region],
            "group_code": GROUPS[group],
            "period": PERIODS[rng.integers(0, 3, rows)],
            "cluster_id": np.char.add("C", cluster.astype(str)),
            "uic": np.where(censored | (status == "rejected"), np.nan, np.round(uic, 1)),
            "censored": censored & (status == "analysed"),
            "lod": 10.0,
            "status": status,
        }
    )
    if categorical:
        for column in ("region_code", "group_code", "period", "cluster_id", "status"):
            frame[column] = frame[column].astype("category")
    return frame


def salt_frame(rows: int, seed: int = 2025) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    method = rng.choice(["titration", "wyd", "rtk"], rows, p=[0.5, 0.3, 0.2])
    value = rng.gamma(6, 5.5, rows) * (rng.random(rows) > 0.05)
    censored = (value < 2) & (method != "rtk")
    category = np.where(value == 0, "none", np.where(value < 15, "below_15", "at_least_15"))
    return pd.DataFrame(
        {
            "region_code": REGIONS["iso_code"].to_numpy()[rng.integers(0, 20, rows)],
            "period": PERIODS[rng.integers(0, 3, rows)],
            "method": method,
            "iodine_mg_kg": np.where((method == "rtk") | censored, np.nan, np.round(value, 1)),
            "category": np.where(method == "rtk", category, None),
            "censored": censored,
            "lod": 2.0,
        }
    )


def timed(label: str, fn) -> object:
    start = time.perf_counter()
    result = fn()
    print(f"  {label:<48} {time.perf_counter() - start:7.2f} s")
    return result


#: Page 1 and the maps may add at most this to a national report (issue 14).
HEADLINE_AND_MAPS_TARGET_S = 0.3


def headline_and_maps(data: object, report: ReportParams) -> bytes:
    """Page 1 and the maps pages of the report, alone in a PDF (what they add to a report)."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    from reports import monitoring_report as mr

    tr = mr.texts.translator("ru")
    st = mr._Styles()
    story = mr._headline_page(st, tr, report, data)
    story += [PageBreak(), *mr._maps(st, tr, report, data.urine, data.salt, data.names)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, invariant=1).build(story)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    params = StatsParams()
    report = ReportParams(
        issued=datetime.date(2026, 12, 2),
        stats=params,
        region_names=region_names_from_frame(REGIONS),
    )
    for rows in args.rows:
        bench(rows, params, report)


def bench(rows: int, params: StatsParams, report: ReportParams) -> None:
    print(
        f"{rows:,} urine rows, {rows // 10:,} salt rows"
    )
    urine = timed("generate (seeded)", lambda: urine_frame(rows))
    plain = urine.astype(
        {c: object for c in ("region_code", "group_code", "period", "cluster_id", "status")}
    )
    salt = salt_frame(rows // 10)
    current, previous = urine[urine.period != "2019"], urine[urine.period == "2019"]
    result = timed("urine statistics, clusters (category labels)", lambda: urine_summary(urine, params))
    timed("urine statistics, clusters (object labels)", lambda: urine_summary(plain, params))
    timed(
        "urine statistics, no clusters",
        lambda: urine_summary(urine.drop(columns="cluster_id"), params),
    )
    timed("salt statistics", lambda: salt_summary(salt, params))
    print(f"    strata: {len(result.table)}")
    data = timed(
        "report statistics (current + earlier + trends + salt)",
        lambda: prepare_monitoring_data(current, salt, params=report, previous=previous),
    )
    timed(
        "PDF rendering alone, ru", lambda: render_monitoring_report(data, params=report, lang="ru")
    )
    first = time.perf_counter()
    headline_and_maps(data, report)
    cold = time.perf_counter() - first
    warm = math.inf  # best of three: the machine's other load is noise, not the pages' cost
    for _ in range(3):
        second = time.perf_counter()
        headline_and_maps(data, report)
        warm = min(warm, time.perf_counter() - second)
    print(f"  {'page 1 + 3 maps, first in process (geometry read)':<48} {cold:7.2f} s")
    print(f"  {'page 1 + 3 maps (best of 3)':<48} {warm:7.2f} s"
          f"   (target ≤ {HEADLINE_AND_MAPS_TARGET_S} s)")
    pdf = timed(
        "together: build_monitoring_report, ru",
        lambda: build_monitoring_report(current, salt, params=report, lang="ru", previous=previous),
    )
    print(
        f"    PDF: {len(pdf):,} bytes, "
        f"{pdf.count(b'/Type /Page') - pdf.count(b'/Type /Pages')} pages"
    )


if __name__ == "__main__":
    main()
