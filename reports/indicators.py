"""The tidy indicator table of an issued report: one row per indicator × unit (the nation or a
region) × group × period, with n, the estimate, its 95 % CI, the class and the unit of measure.

It is read back from the report's frozen workbook (``exports.monitoring_workbook``), not
recomputed, so the open-data API and the DHIS2 export serve exactly the figures that were
published. The workbook is in the report's language; its region, group and method cells are
decoded back to codes with ``decoders`` (the same words the workbook was written with). A figure
the report gives only as an interval ("< 10,0", a range when results below the LOD cannot be
placed) has no ``estimate``; its printed form is kept in ``shown``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reports import texts
from reports.stats import NATIONAL
from reports.texts import GROUP_LABELS, METHOD_LABELS, Translator

#: The columns of the tidy table, in order.
COLUMNS = ("indicator", "region_code", "group", "period", "n", "estimate", "ci_low", "ci_high",
           "shown", "class", "unit_of_measure")


@dataclass(frozen=True)
class Indicator:
    """Where an indicator sits in a workbook sheet (0-based column of the value and of its CI's
    two ends, None where the report gives no CI)."""

    code: str
    sheet: str
    value: int
    ci: tuple[int, int] | None
    unit: str
    description: str


#: The workbook's column layout (``exports._urine_columns`` / ``_salt_columns``):
#: region, group/method, period, n analysed come first in both sheets.
INDICATORS: tuple[Indicator, ...] = (
    Indicator("uic_median", "urine_summary", 6, (7, 8), "µg/L", "Median urinary iodine "
              "concentration"),
    Indicator("uic_pct_below_20", "urine_summary", 11, (12, 13), "%",
              "Share of urinary iodine results below 20 µg/L"),
    Indicator("uic_pct_below_50", "urine_summary", 14, (15, 16), "%",
              "Share of urinary iodine results below 50 µg/L"),
    Indicator("uic_pct_below_cutoff", "urine_summary", 17, (18, 19), "%",
              "Share below the group's insufficiency cut-off (100 µg/L; 150 µg/L for pregnant "
              "women)"),
    Indicator("uic_pct_at_least_high", "urine_summary", 20, (21, 22), "%",
              "Share at or above the group's excess cut-off (300 µg/L; 500 µg/L for pregnant "
              "women)"),
    Indicator("salt_pct_any_iodine", "salt_summary", 6, None, "%",
              "Share of household salt with any iodine"),
    Indicator("salt_pct_adequate", "salt_summary", 7, None, "%",
              "Share of household salt adequately iodised"),
    Indicator("salt_pct_non_iodized", "salt_summary", 8, None, "%",
              "Share of household salt not iodised"),
    Indicator("salt_median", "salt_summary", 11, None, "mg/kg",
              "Median iodine content of household salt"),
)
INDICATOR_CODES = frozenset(i.code for i in INDICATORS)
#: The urine sheet's class column (the WHO class as printed, in the report's language).
URINE_CLASS = 23
N_COLUMN = 3


@dataclass(frozen=True)
class Decoders:
    """Printed words → codes, for the report's language."""

    regions: Mapping[str, str]
    groups: Mapping[str, str]
    methods: Mapping[str, str]


def decoders(names: texts.RegionNames, tr: Translator) -> Decoders:
    """The inverse of what the workbook printed for regions, groups and salt methods in
    ``tr``'s language (a code printed as itself decodes to itself)."""
    regions = {texts.region_name(names, code, tr): code for code in names}
    regions[texts.region_name(names, NATIONAL, tr)] = NATIONAL
    return Decoders(
        regions=regions,
        groups={texts.label(GROUP_LABELS, code, tr): code for code in GROUP_LABELS},
        methods={texts.label(METHOD_LABELS, code, tr): code for code in METHOD_LABELS},
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def indicator_table(tables: Mapping[str, pd.DataFrame], codes: Decoders) -> pd.DataFrame:
    """The tidy table of a report from its workbook's tables (``exports.workbook_tables``).
    Rows with no figure at all (a cut-off that does not apply to the group) are left out."""
    rows: list[dict[str, Any]] = []
    for indicator in INDICATORS:
        sheet = tables.get(indicator.sheet)
        if sheet is None or sheet.empty:
            continue
        group_codes = codes.groups if indicator.sheet == "urine_summary" else codes.methods
        for cells in sheet.itertuples(index=False, name=None):
            value = cells[indicator.value]
            if _text(value) is None:
                continue
            low, high = ((None, None) if indicator.ci is None
                         else (cells[indicator.ci[0]], cells[indicator.ci[1]]))
            region, group = str(cells[0]), str(cells[1])
            estimate = _number(value)
            rows.append({
                "indicator": indicator.code,
                "region_code": codes.regions.get(region, region),
                "group": group_codes.get(group, group),
                "period": _text(cells[2]),
                "n": int(cells[N_COLUMN]) if _number(cells[N_COLUMN]) is not None else None,
                "estimate": estimate,
                "ci_low": _number(low),
                "ci_high": _number(high),
                "shown": None if estimate is not None else _text(value),
                "class": (_text(cells[URINE_CLASS]) if indicator.sheet == "urine_summary"
                          else None),
                "unit_of_measure": indicator.unit,
            })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def indicator_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (NaN → None)."""
    return [{key: (None if isinstance(v, float) and math.isnan(v) else v)
             for key, v in row.items()} for row in table.to_dict("records")]
