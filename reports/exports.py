"""CSV and XLSX exports of the report's tables and of the de-identified results behind them.

Only the columns the statistics use leave the laboratory: region, group, period, cluster, value,
censoring and status (``DEIDENTIFIED_URINE`` / ``DEIDENTIFIED_SALT``). Accessions, names, dates of
birth, household identifiers and any other column of the input frame are dropped, so an export can
be sent to a ministry or a partner without a separate review of its columns.

The CSV files are data for re-analysis: code-style column names, full precision. The workbook
(``monitoring_workbook``) is the report's tables for people: in the report's language, its
headers the report's own captions, its sheet names translated, its numbers stored as numbers and
shown rounded as the PDF prints them (openpyxl number formats). Each sheet keeps its table's key
as its code name, so a download of one table finds it whatever the language
(``workbook_tables``).
"""

from __future__ import annotations

import codecs
import io
import math
from collections.abc import Callable, Sequence
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports import kzmap, texts
from reports.cells import FORMULA_TRIGGERS, safe_cell
from reports.criteria import INDICATORS, Kind
from reports.headline import Headline, SaltFigure, UicFigure
from reports.indicators import decoders, indicator_table
from reports.monitoring_report import (
    MonitoringData,
    ReportParams,
    bounds,
    ci_reason,
    ci_texts,
    class_text,
    date_text,
    interval_text,
    pct_ci,
    pct_text,
    report_headline,
    salt_verdict,
    status_text,
    uic_verdict,
)
from reports.rounding import round_float
from reports.stats import pct_label
from reports.texts import GROUP_LABELS, METHOD_LABELS, Translator, label, t

DEIDENTIFIED_URINE = (
    "region_code",
    "group_code",
    "period",
    "cluster_id",
    "uic",
    "censored",
    "lod",
    "status",
)
DEIDENTIFIED_SALT = (
    "region_code",
    "period",
    "method",
    "iodine_mg_kg",
    "category",
    "censored",
    "lod",
    "status",
)
SHEET_NAME_MAX = 31  # Excel's limit


def deidentify(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The listed columns that exist, in that order; rows sorted, so entry order does not leak."""
    kept = [c for c in columns if c in df.columns]
    return df[kept].sort_values(kept[:3], kind="stable").reset_index(drop=True)


def _neutralised(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell a spreadsheet would evaluate quoted (``cells.safe_cell``),
    column-wise: a million-row CSV is not converted cell by cell."""
    safe = table
    for column in table.columns:
        values = table[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        try:
            risky = values.str.startswith(FORMULA_TRIGGERS, na=False)
        except AttributeError:  # an object column of non-strings
            continue
        if risky.any():
            safe = safe.copy() if safe is table else safe
            safe[column] = values.where(~risky, values.map(safe_cell))
    return safe


def to_csv(table: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, so Excel opens Cyrillic correctly; '.' decimal, shortest exact floats,
    quotes only where a value needs them. Written by Arrow's CSV writer: a national dataset
    (a million rows) in about 0.3 s, where pandas' own writer takes over 2 s."""
    out = io.BytesIO()
    out.write(codecs.BOM_UTF8)
    pacsv.write_csv(pa.Table.from_pandas(_neutralised(table), preserve_index=False), out,
                    pacsv.WriteOptions(quoting_style="needed"))
    return out.getvalue()


def monitoring_tables(data: MonitoringData) -> dict[str, pd.DataFrame]:
    """``report_tables`` of a prepared monitoring report (what its PDF shows, and the results)."""
    return report_tables(data.urine.table, data.salt, data.urine_df, data.salt_df, data.trends)


def report_tables(
    urine_summary: pd.DataFrame,
    salt_summary: pd.DataFrame,
    urine: pd.DataFrame,
    salt: pd.DataFrame,
    trends: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables of a report plus the de-identified results, keyed by sheet/file name."""
    tables = {"urine_summary": urine_summary, "salt_summary": salt_summary}
    if trends is not None:
        tables["urine_trends"] = trends
    tables["urine_results"] = deidentify(urine, DEIDENTIFIED_URINE)
    tables["salt_results"] = deidentify(salt, DEIDENTIFIED_SALT)
    return tables


# --- the workbook ---------------------------------------------------------------------------------

#: Number formats: figures as the PDF prints them (stored already rounded by
#: ``reports.rounding``, so the cell's value, Excel's display and the PDF agree), counts whole.
DECIMAL = "0.0"
COUNT = "0"
Row = dict[str, Any]
#: A column: header, the cell's value from a summary row, its number format.
Column = tuple[str, Callable[[Row], Any], str]


def _quantity(row: Row, name: str, tr: Translator) -> float | str | None:
    """A number as a number, rounded as printed (so the cell holds what it shows); a quantity the
    data give only as an interval as the PDF prints it ("< 10,0", "20,0…28,0"); none as empty."""
    b = bounds(row, name)
    if b.empty:
        return None
    return round_float(b.low) if b.known else interval_text(b, tr)


def _ci_end(row: Row, end: int, tr: Translator) -> float | str | None:
    """One end of the median's CI as the PDF prints it (never inverted, ``ci_texts``)."""
    b = bounds(row, ("ci_low", "ci_high")[end])
    if b.known:
        return round_float(b.low)
    ends = ci_texts(row, tr)
    return None if ends is None else ends[end]


def _pct(low: float, high: float, tr: Translator) -> float | str | None:
    """A percentage as a number; a range (results below the LOD not placeable) as printed."""
    if math.isnan(low):
        return None
    return round_float(low) if math.isclose(low, high, rel_tol=0, abs_tol=1e-9) else pct_text(
        low, high, tr)


def _pct_with_ci(header: str, name: Callable[[Row], str | None], tr: Translator) -> list[Column]:
    """A percentage column and its 95 % CI's two ends as numeric columns beside it (``pct_ci``:
    the ends the PDF prints, rounded by the same rule; empty where the PDF prints none).
    ``name`` gives the row's percentage column, or None where the group has no such cut-off."""
    def value(row: Row) -> Any:
        column = name(row)
        return None if column is None else _pct(row[column], row[column + "_hi"], tr)

    def end(index: int) -> Callable[[Row], float | None]:
        def cell(row: Row) -> float | None:
            column = name(row)
            ends = None if column is None else pct_ci(row, column)
            return None if ends is None else round_float(ends[index])
        return cell

    return [
        (header, value, DECIMAL),
        (t(tr, "pct_ci_lower", pct=header), end(0), DECIMAL),
        (t(tr, "pct_ci_upper", pct=header), end(1), DECIMAL),
    ]


def _n(value: Any) -> int:
    return int(value)


def _urine_columns(tr: Translator, names: texts.RegionNames) -> list[Column]:
    def low_cut(row: Row) -> str:
        return pct_label(150 if Kind(row["kind"]) is Kind.PREGNANT else 100)

    def high(row: Row) -> str | None:
        cuts = INDICATORS[Kind(row["kind"])].at_or_above
        return pct_label(cuts[0], True) if cuts else None

    def flag(row: Row) -> str | None:
        met = row["flag_met"]
        if met is None:
            return t(tr, "undecided") if row["flag_applies"] else None
        return t(tr, "yes" if met else "no")

    return [
        (t(tr, "region"), lambda r: texts.region_name(names, r["region_code"], tr), ""),
        (t(tr, "group"), lambda r: label(GROUP_LABELS, r["group_code"], tr), ""),
        (t(tr, "period"), lambda r: r["period"], ""),
        (t(tr, "n"), lambda r: _n(r["n_analysed"]), COUNT),
        (t(tr, "collected"), lambda r: _n(r["n_collected"]), COUNT),
        (t(tr, "rejected"), lambda r: _n(r["n_rejected"]), COUNT),
        (t(tr, "median"), lambda r: _quantity(r, "median", tr), DECIMAL),
        (t(tr, "ci_lower"), lambda r: _ci_end(r, 0, tr), DECIMAL),
        (t(tr, "ci_upper"), lambda r: _ci_end(r, 1, tr), DECIMAL),
        ("P25", lambda r: _quantity(r, "p25", tr), DECIMAL),
        ("P75", lambda r: _quantity(r, "p75", tr), DECIMAL),
        *_pct_with_ci(t(tr, "pct_below", cut=20), lambda r: "pct_below_20", tr),
        *_pct_with_ci(t(tr, "pct_below", cut=50), lambda r: "pct_below_50", tr),
        *_pct_with_ci(t(tr, "pct_below", cut="100 / 150*"), low_cut, tr),
        *_pct_with_ci(t(tr, "pct_at_least", cut="300 / 500*"), high, tr),
        (t(tr, "class"), lambda r: class_text(r, tr), ""),
        (t(tr, "flag"), flag, ""),
    ]


def _salt_columns(tr: Translator, names: texts.RegionNames, data: MonitoringData) -> list[Column]:
    crit = data.salt_criteria
    return [
        (t(tr, "region"), lambda r: texts.region_name(names, r["region_code"], tr), ""),
        (t(tr, "method"), lambda r: label(METHOD_LABELS, r["method"], tr), ""),
        (t(tr, "period"), lambda r: r["period"], ""),
        (t(tr, "n"), lambda r: _n(r["n_analysed"]), COUNT),
        (t(tr, "collected"), lambda r: _n(r["n_collected"]), COUNT),
        (t(tr, "rejected"), lambda r: _n(r["n_rejected"]), COUNT),
        (t(tr, "pct_any"), lambda r: _pct(r["pct_any_iodine"], r["pct_any_iodine_hi"], tr),
         DECIMAL),
        (t(tr, "pct_adequate", cut=f"{crit.adequate_at_least:g}"),
         lambda r: _pct(r["pct_at_least_15"], r["pct_at_least_15_hi"], tr), DECIMAL),
        (t(tr, "pct_non_iodized", cut=f"{crit.non_iodized_below:g}"),
         lambda r: _pct(r["pct_below_5"], r["pct_below_5_hi"], tr), DECIMAL),
        (texts.household_range_header(crit, tr),
         lambda r: _pct(r["pct_household_range"], r["pct_household_range_hi"], tr), DECIMAL),
        (texts.national_range_header(crit, tr),
         lambda r: _pct(r["pct_national_range"], r["pct_national_range_hi"], tr), DECIMAL),
        (t(tr, "median_salt"), lambda r: _quantity(r, "median", tr), DECIMAL),
        ("P25", lambda r: _quantity(r, "p25", tr), DECIMAL),
        ("P75", lambda r: _quantity(r, "p75", tr), DECIMAL),
    ]


def _trend_columns(tr: Translator, names: texts.RegionNames) -> list[Column]:
    def num(v: float) -> float | None:
        return None if math.isnan(v) else round_float(v)

    return [
        (t(tr, "region"), lambda r: texts.region_name(names, r["region_code"], tr), ""),
        (t(tr, "group"), lambda r: label(GROUP_LABELS, r["group_code"], tr), ""),
        (t(tr, "period"), lambda r: r["period"], ""),
        (t(tr, "earlier"), lambda r: r["earlier_period"], ""),
        (t(tr, "median"), lambda r: num(r["median"]), DECIMAL),
        (t(tr, "earlier_median"), lambda r: num(r["earlier_median"]), DECIMAL),
        (t(tr, "median_difference"), lambda r: num(r["difference"]), DECIMAL),
        (t(tr, "ci_lower"), lambda r: num(r["diff_ci_low"]), DECIMAL),
        (t(tr, "ci_upper"), lambda r: num(r["diff_ci_high"]), DECIMAL),
    ]


def _write_sheet(book: openpyxl.Workbook, key: str, title: str, columns: Sequence[Column],
                 frame: pd.DataFrame, caption: str) -> None:
    sheet = book.create_sheet(title[:SHEET_NAME_MAX])
    sheet.sheet_properties.codeName = key
    sheet.append([caption])
    sheet.append([header for header, _, _ in columns])
    head = PatternFill("solid", fgColor="08519C")
    for cell in sheet[2]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = head
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for record in frame.to_dict("records"):
        sheet.append([safe_cell(value(record)) for _, value, _ in columns])
    for index, (header, _, number_format) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, min(40, len(header) + 2))
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.freeze_panes = "A3"
    if sheet.max_row >= 2:
        sheet.auto_filter.ref = f"A2:{get_column_letter(len(columns))}{sheet.max_row}"


def _headline_columns(tr: Translator, data: MonitoringData) -> list[Column]:
    """Page 1's figures, one row per indicator, with the same numbers as printed there."""
    adequate = f"{data.salt_criteria.adequate_at_least:g}"

    def uic(row: Row, then: Callable[[UicFigure], Any],
            otherwise: Callable[[SaltFigure], Any]) -> Any:
        figure = row["figure"]
        return then(figure) if isinstance(figure, UicFigure) else otherwise(figure)

    def change(attribute: str) -> Callable[[Row], Any]:
        return lambda r: uic(r, lambda f: getattr(f.change, attribute) if f.change else None,
                             lambda f: None)

    def no_ci(figure: UicFigure) -> str | None:
        return None if figure.ci_low is not None else ci_reason(figure.row, tr)

    return [
        (t(tr, "indicator"), lambda r: uic(
            r, lambda f: t(tr, "headline_uic", group=label(GROUP_LABELS, f.group, tr)),
            lambda f: t(tr, "headline_salt", cut=adequate)), ""),
        (t(tr, "period"), lambda r: r["figure"].period, ""),
        (t(tr, "n"), lambda r: r["figure"].n, COUNT),
        (t(tr, "estimate"), lambda r: uic(
            r, lambda f: f.median if f.median is not None else interval_text(
                bounds(f.row, "median"), tr), lambda f: f.pct_adequate), DECIMAL),
        (t(tr, "ci_lower"), lambda r: uic(r, lambda f: f.ci_low, lambda f: None), DECIMAL),
        (t(tr, "ci_upper"), lambda r: uic(r, lambda f: f.ci_high, lambda f: None), DECIMAL),
        (t(tr, "status"), lambda r: uic(r, lambda f: status_text(f.status, tr),
                                        lambda f: status_text(f.status, tr)), ""),
        (t(tr, "change_vs"), change("difference"), DECIMAL),
        (t(tr, "ci_lower"), change("ci_low"), DECIMAL),
        (t(tr, "ci_upper"), change("ci_high"), DECIMAL),
        (t(tr, "verdict"), lambda r: uic(r, lambda f: uic_verdict(f, tr),
                                         lambda f: salt_verdict(f, tr)), ""),
        (t(tr, "ci95"), lambda r: uic(r, no_ci, lambda f: None), ""),
    ]


def _headline_rows(found: Headline) -> pd.DataFrame:
    figures: list[UicFigure | SaltFigure] = [*found.uic, *([found.salt] if found.salt else [])]
    return pd.DataFrame({"figure": pd.Series(figures, dtype=object)})


def _sheet_frame(columns: Sequence[Column], frame: pd.DataFrame) -> pd.DataFrame:
    """A table's cells exactly as its sheet holds them (what ``workbook_tables`` reads back)."""
    records = frame.to_dict("records")
    return pd.DataFrame([[value(r) for _, value, _ in columns] for r in records],
                        columns=[header for header, _, _ in columns])


def _tidy_columns(tr: Translator, names: texts.RegionNames) -> list[Column]:
    """The analysts' long table: one row per indicator × unit × group (or salt method) × period."""
    def group(row: Row) -> str:
        code = row["group"]
        return label(GROUP_LABELS, code, tr) if code in GROUP_LABELS else label(
            METHOD_LABELS, code, tr)

    return [
        (t(tr, "indicator"), lambda r: tr.gettext(texts.INDICATOR_LABELS[r["indicator"]]), ""),
        (t(tr, "region"), lambda r: texts.region_name(names, r["region_code"], tr), ""),
        (t(tr, "group"), group, ""),
        (t(tr, "period"), lambda r: r["period"], ""),
        (t(tr, "n"), lambda r: None if pd.isna(r["n"]) else int(r["n"]), COUNT),
        (t(tr, "estimate"), lambda r: r["shown"] if r["estimate"] is None
         or pd.isna(r["estimate"]) else r["estimate"], DECIMAL),
        (t(tr, "ci_lower"), lambda r: None if pd.isna(r["ci_low"]) else r["ci_low"], DECIMAL),
        (t(tr, "ci_upper"), lambda r: None if pd.isna(r["ci_high"]) else r["ci_high"], DECIMAL),
        (t(tr, "class"), lambda r: r["class"], ""),
        (t(tr, "unit_of_measure"), lambda r: tr.gettext(texts.UNITS.get(r["unit_of_measure"],
                                                                        r["unit_of_measure"])),
         ""),
    ]


def _about(sheet: Any, rows: Sequence[tuple[str, Any]]) -> None:
    for key, value in rows:
        sheet.append([safe_cell(key), safe_cell(value)])
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 110
    for (cell,) in sheet.iter_rows(min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for (cell,) in sheet.iter_rows(min_col=1, max_col=1):
        cell.font = Font(bold=True)


def monitoring_workbook(data: MonitoringData, *, lang: str,
                        catalogue: texts.Catalogue | None = None,
                        params: ReportParams | None = None) -> bytes:
    """The report's tables as a workbook in ``lang`` (words from ``catalogue``): the headline
    figures of page 1 first, then one sheet per table, each with a caption line naming the
    scheme or criteria in force, then the table."""
    tr = texts.translator(lang, catalogue)
    scheme = f"{t(tr, 'scheme')}: {texts.scheme_name(data.scheme, tr)}"
    salt = f"{t(tr, 'salt_criteria')}: {texts.salt_label(data.salt_criteria, tr)}"
    book = openpyxl.Workbook()
    book.remove(book.active)
    found = report_headline(data, params.headline_group if params else "SAC")
    _write_sheet(book, "headline", t(tr, "headline_sheet"), _headline_columns(tr, data),
                 _headline_rows(found), scheme)
    _write_sheet(book, "urine_summary", t(tr, "urine_by_region"),
                 _urine_columns(tr, data.names), data.urine.table, scheme)
    _write_sheet(book, "salt_summary", t(tr, "salt_by_region"),
                 _salt_columns(tr, data.names, data), data.salt, salt)
    if data.trends is not None:
        _write_sheet(book, "urine_trends", t(tr, "trends_sheet"), _trend_columns(tr, data.names),
                     data.trends, scheme)
    tidy = indicator_table(
        {"urine_summary": _sheet_frame(_urine_columns(tr, data.names), data.urine.table),
         "salt_summary": _sheet_frame(_salt_columns(tr, data.names, data), data.salt)},
        decoders(data.names, tr))
    _write_sheet(book, "tidy", t(tr, "tidy_sheet"), _tidy_columns(tr, data.names), tidy,
                 f"{t(tr, 'tidy_caption')} {scheme}")
    sheet = book.create_sheet(t(tr, "about_sheet")[:SHEET_NAME_MAX])
    sheet.sheet_properties.codeName = "about"
    periods = sorted(set(data.urine.table["period"]) | set(data.salt["period"]))
    fingerprints = [(t(tr, "uic"), data.urine_fingerprint), (t(tr, "salt"), data.salt_fingerprint)]
    if data.previous_fingerprint is not None:
        fingerprints.append((t(tr, "trends_sheet"), data.previous_fingerprint))
    _about(sheet, [
        (t(tr, "title"), t(tr, "subtitle")),
        *([(t(tr, "laboratory"), params.laboratory)] if params and params.laboratory else []),
        *([(t(tr, "issued"), date_text(params.issued, tr)), (t(tr, "version"), params.version)]
          if params else []),
        (t(tr, "periods"), ", ".join(map(str, periods)) or "—"),
        (t(tr, "scheme"), texts.scheme_name(data.scheme, tr)),
        (t(tr, "salt_criteria"), texts.salt_label(data.salt_criteria, tr)),
        *[(f"{t(tr, 'dataset')} — {what}", f"{digest} ({texts.rows_text(tr, count)})")
          for what, (digest, count) in fingerprints],
        (t(tr, "about_methods"), t(tr, "about_methods_text")),
        (t(tr, "map_boundaries"), kzmap.colophon()),
        (t(tr, "about_numbers"), t(tr, "about_numbers_text")),
    ])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def workbook_tables(xlsx: bytes) -> dict[str, pd.DataFrame]:
    """The tables of a ``monitoring_workbook``, by key (the sheets' code names), headers and
    values as shown (the caption line skipped)."""
    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=False)
    tables = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        key = sheet.sheet_properties.codeName or sheet.title
        tables[key] = pd.DataFrame(rows[1:], columns=rows[0]) if rows else pd.DataFrame()
    return tables
