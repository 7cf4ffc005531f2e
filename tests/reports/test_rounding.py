"""One rounding rule: half away from zero on the decimal value, as Excel's ROUND, everywhere a
person reads a number (PDF, workbook, web pages)."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from reports.exports import monitoring_workbook, workbook_tables
from reports.monitoring_report import (
    ReportParams,
    number,
    prepare_monitoring_data,
    render_monitoring_report,
)
from reports.rounding import format_number, round_float, rounded
from reports.stats import StatsParams
from reports.texts import Translator

# (value, as Excel's ROUND(value, 1) gives it): binary-float noise and exact ties
EXCEL = [(310.35, "310.4"), (225.95, "226.0"), (118.25, "118.3"), (256.05, "256.1"),
         (0.1 + 0.2, "0.3"), (2.675, "2.7"), (-2.25, "-2.3"), (-0.04, "0.0"), (99.95, "100.0")]


@pytest.mark.parametrize(("value", "excel"), EXCEL)
def test_ties_and_float_noise_round_as_excel(value: float, excel: str) -> None:
    assert format_number(value) == excel
    assert round_float(value) == float(excel)
    assert rounded(value) == Decimal(excel)
    assert number(value, Translator("ru")) == excel.replace(".", ",")


def test_whole_numbers_and_thousands() -> None:
    assert format_number(2.5, 0) == "3" and format_number(-2.5, 0) == "-3"
    assert format_number(1234567.25, 1, decimal_mark=",", group="\u00a0") == "1\u00a0234\u00a0567,3"


def test_web_number_filter_uses_the_same_rule(app) -> None:
    from lims.core.templating import fmt_number

    with app.test_request_context():
        assert [fmt_number(v) for v, _ in EXCEL[:4]] == ["310.4", "226.0", "118.3", "256.1"]


def tie_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Strata whose every value is one of the awkward numbers: the median, its CI and the
    quartiles are that number exactly."""
    regions = ["KZ-11", "KZ-15", "KZ-19", "KZ-23"]
    values = [310.35, 225.95, 118.25, 256.05]
    urine = pd.DataFrame({
        "region_code": np.repeat(regions, 6), "group_code": "SAC", "period": "2024",
        "cluster_id": np.tile(["A", "A", "B", "B", "C", "C"], 4),
        "uic": np.repeat(values, 6), "censored": False, "lod": 10.0,
    })
    salt = pd.DataFrame({
        "region_code": np.repeat(regions, 3), "period": "2024", "method": "titration",
        "iodine_mg_kg": np.repeat([31.25, 28.35, 40.05, 15.45], 3), "category": None,
        "censored": False, "lod": np.nan,
    })
    return urine, salt


def test_pdf_prints_what_the_workbook_displays() -> None:
    urine, salt = tie_frames()
    params = ReportParams(issued=datetime.date(2026, 12, 7), stats=StatsParams())
    data = prepare_monitoring_data(urine, salt, params=params)
    pdf = render_monitoring_report(data, params=params, lang="en")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for wrong in ("310.3", "225.9", "118.2", "256.0 ", "28.3 ", "40.0 "):
        assert wrong not in text
    xlsx = monitoring_workbook(data, lang="en")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx))["Urinary iodine by region"]
    headers = [c.value for c in sheet[2]]
    shown = []
    for row in sheet.iter_rows(min_row=3):
        median = row[headers.index("Median, µg/L")]
        assert median.number_format == "0.0"
        shown.append(f"{median.value:.1f}")  # what Excel displays with "0.0" (value pre-rounded)
        assert median.value == round_float(median.value)
    assert set(shown) >= {"310.4", "226.0", "118.3", "256.1"}  # and the pooled row
    for figure in set(shown):
        assert re.search(rf"(?<![\d.]){re.escape(figure)}(?!\d)", text), figure
    salt_table = workbook_tables(xlsx)["salt_summary"]
    for value in salt_table["Median, mg/kg"]:
        assert f"{value:.1f}" in text
    assert {f"{v:.1f}" for v in salt_table["Median, mg/kg"]} >= {"31.3", "28.4", "40.1", "15.5"}


def test_bounds_round_outwards_so_that_they_still_hold() -> None:
    from reports.censoring import Bounds
    from reports.monitoring_report import interval_text

    en = Translator()
    assert format_number(21.44, direction="up") == "21.5"
    assert format_number(7.46, direction="down") == "7.4"
    assert interval_text(Bounds(0, 21.44, True), en) == "<\u00a021.5"
    assert interval_text(Bounds(7.46, 21.44, True), en) == "7.4…21.5"
    assert interval_text(Bounds(118.25, 118.25), en) == "118.3"  # a number: the one rule
    assert format_number(28.0, direction="up") == "28.0"  # a limit itself is not moved
