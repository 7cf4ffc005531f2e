"""Exports: XLSX round trip, CSV encoding, de-identification."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from reports.exports import DEIDENTIFIED_URINE, deidentify, to_csv
from reports.stats import StatsParams


def urine() -> pd.DataFrame:
    rng = np.random.default_rng(9)
    n = 200
    return pd.DataFrame(
        {
            "accession": [f"U-{i:05d}" for i in range(n)],
            "child_name": "Әлихан",
            "region_code": rng.choice(["KZ-43", "KZ-75"], n),
            "group_code": "SAC",
            "period": "2024",
            "cluster_id": "C1",
            "uic": rng.lognormal(5, 0.6, n),
            "censored": False,
            "lod": 10.0,
        }
    )


def salt() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household": ["H1", "H2"],
            "region_code": "KZ-43",
            "period": "2024",
            "method": "titration",
            "iodine_mg_kg": [12.5, 30.0],
            "category": None,
            "censored": False,
        }
    )


def test_results_are_deidentified() -> None:
    results = deidentify(urine(), DEIDENTIFIED_URINE)
    assert "accession" not in results and "child_name" not in results
    assert list(results.columns) == [
        "region_code",
        "group_code",
        "period",
        "cluster_id",
        "uic",
        "censored",
        "lod",
    ]


def test_csv_is_utf8_with_bom_and_full_precision() -> None:
    table = pd.DataFrame({"name": ["Қызылорда облысы"], "value": [1 / 3]})
    data = to_csv(table)
    assert data.startswith(b"\xef\xbb\xbf")
    assert pd.read_csv(io.BytesIO(data), encoding="utf-8-sig").equals(table)


def test_monitoring_tables_of_prepared_data() -> None:
    import datetime

    from reports.exports import monitoring_tables
    from reports.monitoring_report import ReportParams, prepare_monitoring_data

    params = ReportParams(issued=datetime.date(2026, 12, 2), stats=StatsParams())
    data = prepare_monitoring_data(
        urine(), salt(), params=params, previous=urine().assign(period="2019")
    )
    tables = monitoring_tables(data)
    assert list(tables) == [
        "urine_summary",
        "salt_summary",
        "urine_trends",
        "urine_results",
        "salt_results",
    ]
    assert "household" not in tables["salt_results"] and len(tables["urine_trends"]) == 3


def test_workbook_is_the_reports_tables_with_captions_rounded_numbers_and_keys() -> None:
    import datetime

    import openpyxl

    from reports.exports import monitoring_workbook, workbook_tables
    from reports.monitoring_report import ReportParams, prepare_monitoring_data

    params = ReportParams(issued=datetime.date(2026, 12, 2), stats=StatsParams())
    data = prepare_monitoring_data(
        urine(), salt(), params=params, previous=urine().assign(period="2019")
    )
    xlsx = monitoring_workbook(data, lang="en")
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert book.sheetnames[:4] == ["Headline figures", "Urinary iodine by region",
                               "Iodine in household salt", "Trends"]
    sheet = book["Urinary iodine by region"]
    assert sheet["A1"].value.startswith("Classification scheme: WHO/UNICEF/ICCIDD 2007")
    headers = [c.value for c in sheet[2]]
    assert headers[:4] == ["Region", "Group", "Period", "n analysed"]
    median = sheet.cell(3, headers.index("Median, µg/L") + 1)
    assert median.number_format == "0.0" and median.value == round(median.value, 1)
    assert sheet.cell(3, headers.index("n analysed") + 1).number_format == "0"
    assert sheet.cell(3, 2).value == "school-age children"
    tables = workbook_tables(xlsx)
    assert list(tables) == ["headline", "urine_summary", "salt_summary", "urine_trends", "tidy",
                            "about"]
    assert list(tables["urine_summary"].columns) == headers


def test_exports_never_start_a_cell_with_a_formula() -> None:
    """A round code, a region name or a note typed as ``=HYPERLINK(...)``, ``+1``, ``-1`` or
    ``@SUM(...)`` is text in the CSV and the workbook, never a formula; numbers stay numbers."""
    import openpyxl

    from reports.cells import safe_cell
    from reports.exports import _write_sheet

    hostile = ["=HYPERLINK(\"http://x\")", "+1", "-1+1", "@SUM(A1)", "\tx", "R-2026"]
    table = pd.DataFrame({"round": hostile, "value": [-1.5, 2, 3, 4, 5, 6]})
    back = pd.read_csv(io.BytesIO(to_csv(table)), encoding="utf-8-sig")
    assert list(back["round"]) == [safe_cell(v) for v in hostile]
    assert all(v.startswith("'") for v in back["round"][:5]) and back["round"][5] == "R-2026"
    assert list(back["value"]) == [-1.5, 2, 3, 4, 5, 6]

    book = openpyxl.Workbook()
    _write_sheet(book, "t", "T", [("Round", lambda r: r["round"], None),
                                  ("Value", lambda r: r["value"], "0.0")], table, "caption")
    data = io.BytesIO()
    book.save(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data.getvalue()))["T"]
    cells = [sheet.cell(row, 1) for row in range(3, 9)]
    assert all(cell.data_type == "s" for cell in cells)  # text, not "f" (formula)
    assert [cell.value for cell in cells][:2] == ["'=HYPERLINK(\"http://x\")", "'+1"]
    assert sheet.cell(3, 2).value == -1.5
