"""The tidy indicator table read back from a report's workbook: the figures as published, codes
decoded from the printed words, and a guard against the workbook's columns moving."""

from __future__ import annotations

import datetime

import pandas as pd

from reports import texts
from reports.exports import monitoring_workbook, workbook_tables
from reports.indicators import COLUMNS, INDICATORS, URINE_CLASS, decoders, indicator_table
from reports.monitoring_report import ReportParams, prepare_monitoring_data
from reports.stats import StatsParams
from tests.reports.test_exports import salt, urine

NAMES = {"KZ-43": {"en": "Kyzylorda Region", "ru": "Кызылординская область",
                   "kk": "Қызылорда облысы"},
         "KZ-75": {"en": "Almaty", "ru": "Алматы", "kk": "Алматы"}}


def workbook(lang: str = "en") -> dict[str, pd.DataFrame]:
    params = ReportParams(issued=datetime.date(2026, 12, 2), stats=StatsParams(),
                          region_names=NAMES)
    clustered = urine().assign(cluster_id=[f"C{i % 25}" for i in range(200)])  # CIs need clusters
    data = prepare_monitoring_data(clustered, salt(), params=params)
    return workbook_tables(monitoring_workbook(data, lang=lang))


def test_the_indicator_columns_are_where_the_workbook_writes_them() -> None:
    tables = workbook()
    urine_headers = list(tables["urine_summary"].columns)
    salt_headers = list(tables["salt_summary"].columns)
    assert urine_headers[6] == "Median, µg/L" and urine_headers[URINE_CLASS] == "Class"
    assert urine_headers[7:9] == ["95 % CI, lower bound", "95 % CI, upper bound"]
    for indicator in INDICATORS:
        headers = urine_headers if indicator.sheet == "urine_summary" else salt_headers
        if indicator.ci is not None:
            assert all(headers[i].startswith(headers[indicator.value]) or "CI" in headers[i]
                       for i in indicator.ci), indicator
    assert salt_headers[11].startswith("Median")
    assert urine_headers[3] == salt_headers[3] == "n analysed"


def test_the_table_is_tidy_and_decoded() -> None:
    tables = workbook()
    table = indicator_table(tables, decoders(NAMES, texts.translator("en")))
    assert list(table.columns) == list(COLUMNS)
    assert set(table["region_code"]) == {"KZ-43", "KZ-75", "national"}
    urine_rows = table[table["indicator"].str.startswith("uic")]
    assert set(urine_rows["group"]) == {"SAC"}
    assert set(table[table["indicator"].str.startswith("salt")]["group"]) == {"titration"}
    median = urine_rows[(urine_rows["indicator"] == "uic_median")
                        & (urine_rows["region_code"] == "national")].iloc[0]
    printed = tables["urine_summary"]
    national = printed[printed.iloc[:, 0] == "Republic of Kazakhstan"].iloc[0]
    assert median["estimate"] == national.iloc[6] and median["n"] == national.iloc[3] == 200
    assert median["unit_of_measure"] == "µg/L" and median["class"] == national.iloc[URINE_CLASS]
    with_ci = table.dropna(subset=["ci_low", "ci_high", "estimate"])
    assert len(with_ci) and ((with_ci["ci_low"] <= with_ci["estimate"])
                             & (with_ci["estimate"] <= with_ci["ci_high"])).all()


def test_an_unknown_printed_name_is_kept_as_it_is() -> None:
    tables = workbook()
    table = indicator_table(tables, decoders({}, texts.translator("en")))
    assert "Almaty" in set(table["region_code"]) and "national" in set(table["region_code"])
