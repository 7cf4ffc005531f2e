"""Page 1 answers "how is Kazakhstan doing": the national figures in large type, each equal to the
workbook's headline sheet; scorecard statuses and changes computed from the report's own tables."""

from __future__ import annotations

import io

import openpyxl
import pytest
from pypdf import PdfReader

from reports.exports import monitoring_workbook
from reports.headline import SCORECARD_STATUS, Change, headline
from reports.monitoring_report import number, prepare_monitoring_data, render_monitoring_report
from reports.stats import NATIONAL
from reports.texts import translator
from tests.reports.catalogues import catalogue
from tests.reports.test_monitoring_report import PARAMS, QC, frames


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    urine, salt, previous = frames()
    return prepare_monitoring_data(urine, salt, params=PARAMS, previous=previous)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_page_one_holds_the_workbooks_headline_figures(data, lang: str) -> None:  # type: ignore[no-untyped-def]
    cat = catalogue(lang) if lang != "en" else None
    pdf = render_monitoring_report(data, params=PARAMS, lang=lang, catalogue=cat, qc_annex=QC)
    page_one = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    book = openpyxl.load_workbook(io.BytesIO(monitoring_workbook(data, lang=lang, catalogue=cat)))
    sheet = book.worksheets[0]
    assert sheet.sheet_properties.codeName == "headline"
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref
    tr = translator(lang)
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 3  # SAC, pregnant women, salt
    for indicator, period, n, estimate, ci_low, ci_high, status, change, *rest in rows:
        assert isinstance(estimate, (int, float)) and number(estimate, tr) in page_one, indicator
        assert round(estimate, 1) == estimate  # no more decimals than printed
        assert f"n = {n}" in page_one and period in page_one
        assert status.lower() in page_one.lower()
        for value in (ci_low, ci_high, change):
            if value is not None:
                assert isinstance(value, (int, float)) and number(abs(value), tr) in page_one
    national = data.urine.table
    sac = national[(national.region_code == NATIONAL) & (national.group_code == "SAC")].iloc[0]
    assert rows[0][3] == round(float(sac["median"]), 1)  # school-age children first


def test_scorecard_status_and_change(data) -> None:  # type: ignore[no-untyped-def]
    found = headline(data.urine.table, data.salt, data.trends, first_group="PW",
                     national_range=(25.0, 55.0))
    assert [f.group for f in found.uic] == ["PW", "SAC"]
    for figure in found.uic:
        assert figure.status == SCORECARD_STATUS[figure.class_key]
        assert figure.change is not None and figure.change.earlier_period == "2019"
        # the earlier round's UIC was 0.7× this one's: the median rose, and its CI says so
        assert figure.change.direction == "increase"
    assert found.salt is not None and found.salt.method == "titration"
    assert found.salt.status == ("target_met" if found.salt.pct_adequate > 90 else "below_target")
    assert Change("2019", 100.0, -3.0, -8.0, 2.0).direction == "no_change"
    assert Change("2019", 100.0, -9.0, -12.0, -2.0).direction == "decrease"
    assert Change("2019", 100.0, 1.0, None, None).direction == "unknown"
