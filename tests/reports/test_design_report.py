"""What the monitoring report prints of the design: why a cell has no interval, provisional and
withheld classes, an unranked summary, the methods annex's design and weighting sentences."""

from __future__ import annotations

import datetime
import io

import numpy as np
import pandas as pd
from pypdf import PdfReader

from reports.monitoring_report import ReportParams, build_monitoring_report, median_ci_text
from reports.stats import StatsParams, urine_summary
from reports.texts import translator

EN = translator("en")


def survey(clusters: dict[str, int], per_cluster: int = 40, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for region, m in clusters.items():
        for c in range(m):
            level = 150 * rng.lognormal(0, 0.3)
            parts.append(pd.DataFrame({
                "region_code": region, "group_code": "SAC", "period": "2026",
                "cluster_id": f"{region}-{c}", "uic": level * rng.lognormal(0, 0.6, per_cluster),
                "censored": False, "lod": 10.0, "population": 1e6}))
    return pd.concat(parts, ignore_index=True)


def test_a_cell_says_why_it_has_no_interval() -> None:
    table = urine_summary(survey({"KZ-11": 3, "KZ-43": 8})).table.set_index("region_code")
    three, eight = table.loc["KZ-11"], table.loc["KZ-43"]
    assert median_ci_text(three, EN).endswith("(3 clusters: no interval)")
    assert three.class_status == "provisional" and eight.class_status == "final"
    assert "–" in median_ci_text(eight, EN) and eight.ci_note == ""
    unbounded = three.copy()
    unbounded["ci_note"] = "unbounded"
    assert median_ci_text(unbounded, EN).endswith("(interval unbounded)")


def test_the_pdf_words_the_design() -> None:
    urine = survey({"KZ-11": 2, "KZ-43": 8, "KZ-75": 6})
    salt = pd.DataFrame({"region_code": ["KZ-11"], "period": "2026", "method": "titration",
                         "iodine_mg_kg": [30.0], "category": [None], "censored": False})
    params = ReportParams(issued=datetime.date(2026, 12, 7), stats=StatsParams())
    pdf = build_monitoring_report(urine, salt, params=params, lang="en",
                                  qc_annex={"population_sources": ["BNS, 1 January 2024, 2024"]})
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())
    assert "2 clusters: no interval" in text
    assert "provisional" in text
    assert "not classified for lack of clusters or samples: KZ-11" in text
    assert "Woodruff" in text and "fewer than 4 clusters" in text
    assert "population share" in text and "BNS, 1 January 2024, 2024" in text
