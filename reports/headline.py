"""The report's answer in a few figures: the national headline of page 1, and its workbook sheet.

"How is Kazakhstan doing" is answered per indicator in the form of a row of the Iodine Global
Network's Global Scorecard — status category, year, population group, n — from the pooled
("national") rows of the report's own tables: the median UIC with its 95 % CI and class for each
population group, the share of household salt ≥ 15 mg/kg against the 90 % target and within the
national standard's range, and the change of each median against the previous round with its CI.
One list of ``Figure`` objects feeds both the PDF and the workbook, so page 1 and the sheet can
never disagree; every figure is rounded here by the report's one rule (``reports.rounding``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reports import survey
from reports.criteria import QUANTITATIVE_METHODS
from reports.rounding import round_float
from reports.stats import NATIONAL

#: The IGN scorecard's three status categories, from the classes of either scheme: deficiency
#: classes are "insufficient", "adequate" and "above requirements" (WHO 2007's 200–299 µg/L for
#: school-age children, 250–499 for pregnant women) are "adequate" (IGN 3 classes), ≥ 300/500
#: "excessive".
SCORECARD_STATUS: dict[str, str] = {
    "severe": "insufficient", "moderate": "insufficient", "mild": "insufficient",
    "insufficient": "insufficient", "adequate": "adequate", "above": "adequate",
    "excessive": "excessive",
}
#: WHO/UNICEF/ICCIDD's goal for household salt: more than 90 % of households use adequately
#: iodized salt (≥ 15 mg/kg).
SALT_TARGET_PCT = 90.0


def _number(value: Any) -> float | None:
    """A finite figure rounded as printed, or None."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round_float(value)


@dataclass(frozen=True)
class Change:
    """A national median against the previous round's: difference (current − earlier, µg/L)
    with its 95 % CI, and whether that interval excludes zero."""

    earlier_period: str
    earlier_median: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def direction(self) -> str:
        """"increase" / "decrease" where the CI excludes 0, "no_change" where it does not,
        "unknown" without a CI."""
        if self.ci_low is None or self.ci_high is None:
            return "unknown"
        if self.ci_low > 0:
            return "increase"
        if self.ci_high < 0:
            return "decrease"
        return "no_change"


@dataclass(frozen=True)
class UicFigure:
    """The national median UIC of one population group in the report's latest period."""

    group: str
    kind: str
    period: str
    n: int
    median: float | None  # None where censoring leaves it an interval (see ``row``)
    ci_low: float | None
    ci_high: float | None
    ci_note: str  # survey.NOTE_*: why there is no interval
    class_key: str
    class_status: str
    change: Change | None
    row: Mapping[str, Any]  # the summary row, for the texts the tables print

    @property
    def status(self) -> str:
        """The IGN scorecard category, or the class key where it has none (no data, …)."""
        if self.class_status == "withheld":
            return "withheld"
        return SCORECARD_STATUS.get(self.class_key, self.class_key)


@dataclass(frozen=True)
class SaltFigure:
    """The national share of household salt samples ≥ 15 mg/kg (quantitative methods)."""

    method: str
    period: str
    n: int
    pct_adequate: float | None
    pct_adequate_high: float | None  # the top of a range where results below a limit remain
    pct_national_range: float | None
    national_range: tuple[float, float]
    target: float = SALT_TARGET_PCT

    @property
    def status(self) -> str:
        """"target_met" (> 90 %), "below_target", or "no_data"."""
        if self.pct_adequate is None:
            return "no_data"
        return "target_met" if self.pct_adequate > self.target else "below_target"


@dataclass(frozen=True)
class Headline:
    uic: tuple[UicFigure, ...]
    salt: SaltFigure | None

    @property
    def periods(self) -> list[str]:
        return sorted({f.period for f in self.uic} | ({self.salt.period} if self.salt else set()))


def _latest(frame: pd.DataFrame) -> str | None:
    periods = sorted(frame["period"].unique())
    return periods[-1] if periods else None


def _change(trends: pd.DataFrame | None, group: str, period: str) -> Change | None:
    if trends is None or not len(trends):
        return None
    rows = trends[(trends.region_code == NATIONAL) & (trends.group_code == group)
                  & (trends.period == period)]
    if not len(rows):
        return None
    row = rows.sort_values("earlier_period").iloc[-1]
    return Change(str(row["earlier_period"]), _number(row["earlier_median"]),
                  _number(row["difference"]), _number(row["diff_ci_low"]),
                  _number(row["diff_ci_high"]))


def headline(urine_table: pd.DataFrame, salt_table: pd.DataFrame, trends: pd.DataFrame | None,
             *, first_group: str, national_range: tuple[float, float]) -> Headline:
    """The headline figures from a report's summary tables (``stats.urine_summary``'s table,
    ``stats.salt_summary``, ``stats.urine_trends``): pooled rows of the latest period,
    ``first_group`` first, then the groups in code order; salt by titration before WYD."""
    pooled = urine_table[(urine_table.region_code == NATIONAL) & (urine_table.n_collected > 0)]
    latest = _latest(pooled) if len(pooled) else None
    figures = []
    for row in pooled[pooled.period == latest].to_dict("records"):
        ci_known = row["ci_note"] in (survey.NOTE_NONE, "") and not math.isnan(
            float(row["ci_low"]))
        figures.append(UicFigure(
            group=row["group_code"], kind=row["kind"], period=str(row["period"]),
            n=int(row["n_analysed"]), median=_number(row["median"]),
            ci_low=_number(row["ci_low"]) if ci_known else None,
            ci_high=_number(row["ci_high"]) if ci_known else None,
            ci_note=str(row["ci_note"] or ""), class_key=row["class_key"],
            class_status=row["class_status"], change=_change(trends, row["group_code"], latest),
            row=row))
    figures.sort(key=lambda f: (f.group != first_group, f.group))
    quantitative = sorted(str(m) for m in QUANTITATIVE_METHODS)  # titration before wyd
    salt_rows = salt_table[(salt_table.region_code == NATIONAL)
                           & salt_table["method"].isin(quantitative)
                           & (salt_table.n_analysed > 0)]
    salt = None
    if len(salt_rows):
        latest_salt = _latest(salt_rows)
        rows = salt_rows[salt_rows.period == latest_salt].to_dict("records")
        row = min(rows, key=lambda r: quantitative.index(str(r["method"])))
        salt = SaltFigure(
            method=str(row["method"]), period=str(row["period"]), n=int(row["n_analysed"]),
            pct_adequate=_number(row["pct_at_least_15"]),
            pct_adequate_high=_number(row["pct_at_least_15_hi"]),
            pct_national_range=_number(row["pct_national_range"]),
            national_range=national_range)
    return Headline(tuple(figures), salt)
