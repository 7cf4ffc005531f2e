"""What the monitoring report prints of the design: why a cell has no interval, provisional and
withheld classes, an unranked summary, the methods annex's design and weighting sentences."""

from __future__ import annotations

import datetime
import io

import numpy as np
import pandas as pd
from pypdf import PdfReader

from reports.exports import monitoring_workbook, workbook_tables
from reports.monitoring_report import (
    ReportParams,
    build_monitoring_report,
    median_ci_text,
    pct_ci_text,
    prepare_monitoring_data,
    render_monitoring_report,
)
from reports.rounding import format_number, round_float
from reports.stats import StatsParams, urine_summary
from reports.texts import translator
from tests.reports.catalogues import catalogue

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


def _design_report(lang: str) -> tuple[pd.DataFrame, bytes, bytes]:
    """A round with a region of 3 clusters (no interval) and one of 8, built into the summary
    table, the PDF and the workbook in ``lang`` (its words from the application's catalogue)."""
    urine = survey({"KZ-11": 3, "KZ-43": 8})
    salt = pd.DataFrame({"region_code": ["KZ-11"], "period": "2026", "method": "titration",
                         "iodine_mg_kg": [30.0], "category": [None], "censored": False})
    params = ReportParams(issued=datetime.date(2026, 12, 7), stats=StatsParams())
    data = prepare_monitoring_data(urine, salt, params=params)
    words = catalogue(lang)
    pdf = render_monitoring_report(data, params=params, lang=lang, catalogue=words)
    return (data.urine.table.set_index("region_code"), pdf,
            monitoring_workbook(data, lang=lang, catalogue=words))


PCTS = ("pct_below_20", "pct_below_50", "pct_below_100", "pct_at_least_300")


def test_percentages_print_their_design_based_interval() -> None:
    table, pdf, _ = _design_report("ru")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    text = text.replace("– ", "–")  # a cell wraps after the dash of an interval
    ru = translator("ru")

    def num(x: float) -> str:
        return format_number(x, 1, decimal_mark=",")

    eight = table.loc["KZ-43"]
    shown = 0
    for name in PCTS:
        low, high = eight[f"{name}_ci_low"], eight[f"{name}_ci_high"]
        if np.isnan(low):  # 0 %: the logit scale has no interval to give
            assert pct_ci_text(eight, name, ru) == num(eight[name])
            continue
        cell = f"{num(eight[name])} ({num(low)}–{num(high)})"
        assert pct_ci_text(eight, name, ru) == cell
        assert cell in text
        shown += 1
    assert shown >= 2
    # three clusters: the median says why it has no interval, and no percentage has one
    three = table.loc["KZ-11"]
    assert three.ci_note == "few_psus"
    cells = " ".join(pct_ci_text(three, name, ru) for name in PCTS)
    assert "(" not in cells
    after = text[text.index("3 кластера: интервала нет)"):]
    assert cells in after[:200]


def test_the_workbook_gives_the_percentages_ci_ends() -> None:
    table, _, xlsx = _design_report("ru")
    sheet = workbook_tables(xlsx)["urine_summary"].set_index("Область")
    header = "% проб < 100 / 150*"
    low, high = f"{header}: 95\u00a0% ДИ, нижняя граница", f"{header}: 95\u00a0% ДИ, верхняя граница"
    columns = list(sheet.columns)
    assert columns[columns.index(header) + 1: columns.index(header) + 3] == [low, high]
    for region in ("KZ-43", "KZ-11"):
        row, cell = table.loc[region], sheet.loc[region]
        if region == "KZ-43":
            assert cell[low] == round_float(row["pct_below_100_ci_low"])
            assert cell[high] == round_float(row["pct_below_100_ci_high"])
        else:
            assert pd.isna(cell[low]) and pd.isna(cell[high])


def test_a_percentage_range_gets_the_envelope_interval() -> None:
    urine = survey({"KZ-43": 8})
    below = np.random.default_rng(1).random(len(urine)) < 0.1  # "< 60": undecided against 50
    urine.loc[below, ["censored", "uic", "lod"]] = [True, np.nan, 60.0]
    row = urine_summary(urine).table.iloc[0]
    low, high = row["pct_below_50"], row["pct_below_50_hi"]
    assert low < high  # a range
    ends = row["pct_below_50_ci_low"], row["pct_below_50_ci_high"]
    assert ends[0] < low and ends[1] > high  # the envelope: low count's low end, high's high
    text = pct_ci_text(row, "pct_below_50", EN)
    assert text == (f"{format_number(low, direction='down')}–{format_number(high, direction='up')}"
                    f" ({format_number(ends[0])}–{format_number(ends[1])})")
