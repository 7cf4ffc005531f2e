"""The regional monitoring report (domain.md §5.1, anchors.md §D4): PDF bytes from tidy frames.

``build_monitoring_report`` takes the frames documented in ``reports.stats`` and returns a PDF:
page 1 the answer (national headline figures, ``reports.headline``), choropleth maps of the 20
units (``reports.kzmap``), the cover (issue date, version, dataset fingerprints, map source), a
summary in plain words, the pooled tables, a section per region, charts, and a methods and QC
annex (``reports.qa_annex`` sections). Each section names the classification scheme once. The document is rendered in ReportLab's invariant mode and the statistics
are deterministic (no random draws), so the same frames and parameters give the same bytes — the
dataset fingerprint on the cover ties an issued report to the frozen data behind it.

``qc_annex`` (all keys optional, strings as the lab wants them printed, not translated; with
``"sections"`` — a list of ``reports.qa_annex.AnnexSection`` computed from the lab's records —
those replace the methods, controls and rejected-runs entries)::

    {"methods": ["Sandell–Kolthoff, ammonium persulfate digestion, 405 nm", ...],
     "calibration_range": "0–300 µg/L", "lod": "10 µg/L",
     "controls": [{"name": "Low", "target": 50, "n": 40, "mean": 51.2, "cv": 4.3}, ...],
     "rejected_runs": [{"run": "R-2024-031", "date": "2024-03-02", "reason": "1-3s, control High"}],
     "equipment": [{"equipment": "EQ-READER-1 Bio-Rad 680", "status": "In service",
                    "calibration": "calibrated until 2027-01-10"}],
     "eqa": ["EQUIP 2024 round 1: passed"],
     "population_sources": ["Bureau of National Statistics, 1 January 2024, 2024"]}
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from reports import charts, headline, kzmap, survey, texts
from reports.censoring import Bounds, ci_envelope
from reports.criteria import (
    CLASS_COLOURS,
    DEFAULT_SALT,
    INDICATORS,
    QUANTITATIVE_METHODS,
    WHO2007,
    Kind,
    SaltCriteria,
    SaltMethod,
    Scheme,
)
from reports.fonts import SYMBOL_CHARS, Canvas, register_fonts, runs
from reports.qa_annex import AnnexSection
from reports.fonts import markup as escape
from reports.rounding import Direction, format_number
from reports.stats import (
    NATIONAL,
    StatsParams,
    UrineResult,
    pct_label,
    salt_summary,
    urine_summary,
    urine_trends,
)
from reports.texts import (
    CHANGE_LABELS,
    CLASS_LABELS,
    GROUP_LABELS,
    METHOD_LABELS,
    STATUS_LABELS,
    Translator,
    label,
    sentence,
    t,
)

NAME_COLUMNS = tuple(f"name_{lang}" for lang in texts.LANGUAGES)


@dataclass(frozen=True)
class ReportParams:
    issued: date
    version: str = "1"
    stats: StatsParams = field(default_factory=StatsParams)
    region_names: texts.RegionNames = field(default_factory=dict)  # ISO code → {lang: name}
    headline_group: str = "SAC"  # the group shown on the map and in the summary's first lines
    laboratory: str = ""
    # Label of the pooled rows ({lang: text}); default "Republic of Kazakhstan". A report on one
    # region, or on a subset, must pass its own so its pooled table is not called national.
    pooled_label: Mapping[str, str] | None = None
    # What changed in the data since the previous version of the same report (a sentence in the
    # report's language, given by the caller); empty for a first version or unchanged data.
    revision_note: str = ""
    # The audit chain's head when the report was built ("#id seal", lims.audit.sealing): printed
    # on the cover so an auditor can later check that the trail behind the report is unchanged.
    audit_seal: str = ""
    # Units that did not exist in the report's period → the unit they were part of then (ISO
    # codes; ``kzmap.merged_units``): the maps draw such a survey on the units it used.
    merged_units: Mapping[str, str] = field(default_factory=dict)


def dataset_fingerprint(df: pd.DataFrame) -> tuple[str, int]:
    """(SHA-256 hex, rows) of a frame's content, independent of row order and column order, so the
    same data read twice from the database fingerprints the same."""
    frame = df.reindex(columns=sorted(df.columns))
    digest = hashlib.sha256()
    digest.update("\x1f".join(f"{c}:{frame[c].dtype}" for c in frame.columns).encode("utf-8"))
    if len(frame):
        rows = np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy())
        digest.update(rows.tobytes())
    return digest.hexdigest(), len(frame)


# --- formatting ----------------------------------------------------------------------------------


def number(value: float, tr: Translator, digits: int = 1, direction: Direction = "nearest") -> str:
    """A figure as printed everywhere (``reports.rounding``): decimal comma in ru/kk. A bound is
    rounded outwards (``direction``), so that it still holds when printed."""
    return format_number(value, digits, decimal_mark="," if tr.kz_conventions else ".",
                         direction=direction)


def date_text(day: date, tr: Translator) -> str:
    """DD.MM.YYYY in Russian and Kazakh documents (glossary), ISO in English."""
    return day.strftime("%d.%m.%Y") if tr.kz_conventions else day.isoformat()


NBSP = "\u00a0"  # between a sign and its number, so that a line never breaks inside a bound


def bounds(row: Mapping[str, Any], name: str) -> Bounds:
    """A quantity of a summary row as the interval it is known to lie in, whichever way its table
    gives it: ``<name>_lo``/``_hi``/``_open`` (quantiles, ``reports.censoring``) or
    ``<name>_below`` (known only to lie below a bound: ``[0, below)``)."""
    if f"{name}_lo" in row:
        return Bounds(float(row[f"{name}_lo"]), float(row[f"{name}_hi"]),
                      bool(row[f"{name}_open"]))
    value = float(row[name])
    if not math.isnan(value):
        return Bounds(value, value)
    below = float(row.get(f"{name}_below", math.nan))
    return Bounds(0.0, below, True) if not math.isnan(below) else Bounds(math.nan, math.nan)


def interval_text(b: Bounds, tr: Translator, digits: int = 1) -> str:
    """A number where the data fix it; "< x" (or "≤ x") where it is only known to lie below x;
    "a…b" where it lies between a and b. Every bound printed holds for every value consistent
    with the data."""
    if b.empty:
        return "—"
    if b.known:
        return number(b.high, tr, digits)
    high = number(b.high, tr, digits, "up")  # bounds round outwards, so that they still hold
    if b.low <= 0:
        return ("<" if b.open_high else "≤") + NBSP + high
    low = number(b.low, tr, digits, "down")
    return low if low == high and not b.open_high else f"{low}…{high}"


def value_text(value: float, tr: Translator, digits: int = 1) -> str:
    """A plain number (trends), or "—"."""
    return "—" if math.isnan(value) else number(value, tr, digits)


def pct_text(low: float, high: float, tr: Translator) -> str:
    """A percentage, or the range results below a limit leave it in (its ends rounded
    outwards, as bounds)."""
    if math.isnan(low):
        return "—"
    if math.isclose(low, high, rel_tol=0, abs_tol=1e-9):
        return number(low, tr)
    return f"{number(low, tr, 1, 'down')}–{number(high, tr, 1, 'up')}"


def pct_ci(row: Mapping[str, Any], name: str) -> tuple[float, float] | None:
    """The design-based 95 % CI of the percentage ``name`` of a urine summary row, as
    ``stats.urine_summary`` computes it (logit interval; where censoring leaves the percentage a
    range, the envelope from the range's two ends), or None: none where the cell has too few
    clusters (``ci_note``, as for the median), nor where the logit scale gives none (0 or 100 %)."""
    low, high = float(row[f"{name}_ci_low"]), float(row[f"{name}_ci_high"])
    if row["ci_note"] == survey.NOTE_FEW_PSUS or math.isnan(low) or math.isnan(high):
        return None
    return low, high


def pct_ci_text(row: Mapping[str, Any], name: str, tr: Translator) -> str:
    """"percentage (low–high)": the percentage (or its range, ``pct_text``) with its 95 % CI, the
    ends rounded by the one rule; the percentage alone where it has no interval (``pct_ci``)."""
    text = pct_text(row[name], row[f"{name}_hi"], tr)
    ends = pct_ci(row, name)
    return text if ends is None else f"{text} ({number(ends[0], tr)}–{number(ends[1], tr)})"


def quantile_text(row: Mapping[str, Any], name: str, tr: Translator, digits: int = 1) -> str:
    return interval_text(bounds(row, name), tr, digits)


def iqr_text(row: Mapping[str, Any], tr: Translator) -> str:
    return f"{quantile_text(row, 'p25', tr)}–{quantile_text(row, 'p75', tr)}"


def ci_texts(row: Mapping[str, Any], tr: Translator) -> tuple[str, str] | None:
    """The two ends of the median's CI as printed (``censoring.ci_envelope``: never inverted), or
    None when there is no CI."""
    low, high = bounds(row, "ci_low"), bounds(row, "ci_high")
    if low.empty or high.empty:
        return None
    low, high = ci_envelope(low, high)
    return interval_text(low, tr), interval_text(high, tr)


def median_ci_text(row: Mapping[str, Any], tr: Translator) -> str:
    """"median (low–high)"; without an interval, the median and why there is none (too few
    clusters, an interval the design cannot bound; where censoring leaves the median a range,
    no interval is computed: ``stats.urine_summary``)."""
    median = quantile_text(row, "median", tr)
    if median == "—":
        return median
    if row["ci_note"] == survey.NOTE_FEW_PSUS:
        why = tr.ngettext("%(num)d cluster: no interval", "%(num)d clusters: no interval",
                          int(row["psus"]))
        return f"{median} ({why})"
    if row["ci_note"] == survey.NOTE_UNBOUNDED:
        return f"{median} ({t(tr, 'ci_unbounded')})"
    ends = ci_texts(row, tr)
    if ends is None:
        return f"{median} ({ci_reason(row, tr)})"
    return f"{median} ({ends[0]}–{ends[1]})"


def ci_reason(row: Mapping[str, Any], tr: Translator) -> str:
    """Why a summary row's median has no 95 % CI, in words (``ci_note``)."""
    note = row.get("ci_note")
    if note == survey.NOTE_FEW_PSUS:
        return tr.ngettext("%(num)d cluster: no interval", "%(num)d clusters: no interval",
                           int(row["psus"]))
    if note == survey.NOTE_UNBOUNDED:
        return t(tr, "ci_unbounded")
    if note == survey.NOTE_NO_DATA or not row.get("n_analysed"):
        return t(tr, "ci_no_data")
    return t(tr, "ci_censored")


def class_text(row: Mapping[str, Any], tr: Translator) -> str:
    """The class, marked provisional, or withheld (``StatsParams`` minimums); "†" where the
    stratum is small (see the footnote ``few_note``)."""
    if row["class_status"] == "withheld" and row["n_analysed"]:
        text = t(tr, "class_withheld")
    else:
        text = label(CLASS_LABELS, row["class_key"], tr)
        if row["class_status"] == "provisional":
            text = f"{text} ({t(tr, 'provisional')})"
    return f"{text} †" if row.get("few_samples") else text


# --- the document --------------------------------------------------------------------------------


class _Styles:
    def __init__(self) -> None:
        font = register_fonts()
        self.font = font
        self.title = ParagraphStyle(
            "title",
            fontName=font,
            fontSize=20,
            leading=25,
            spaceAfter=8,
            textColor=colors.HexColor("#08306b"),
        )
        self.h1 = ParagraphStyle(
            "h1",
            fontName=font,
            fontSize=14,
            leading=18,
            spaceBefore=6,
            spaceAfter=6,
            textColor=colors.HexColor("#08306b"),
            keepWithNext=1,
        )
        self.h2 = ParagraphStyle(
            "h2",
            fontName=font,
            fontSize=11,
            leading=14,
            spaceBefore=6,
            spaceAfter=3,
            textColor=colors.HexColor("#08519c"),
            keepWithNext=1,
        )
        self.body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, spaceAfter=4)
        self.small = ParagraphStyle(
            "small",
            fontName=font,
            fontSize=7,
            leading=9,
            spaceAfter=3,
            textColor=colors.HexColor("#444444"),
        )
        # a header or cell breaks between words only (the font shrinks where a word is wider
        # than its column: ``cell_font_size``), never inside one ("Медиа / на")
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=6.5, leading=8,
                                   splitLongWords=0)
        self.head = ParagraphStyle(
            "head", fontName=font, fontSize=6.5, leading=8, textColor=colors.white,
            splitLongWords=0,
        )


#: Signs after which a word may be broken: the dash of a range ("53,8–69,2"), the ellipsis of an
#: interval ("20,0…28,0"), a slash ("µg/L"). A number itself is never broken.
BREAK_AFTER = "–…/"
_PIECES = re.compile(f"[^{BREAK_AFTER}]*[{BREAK_AFTER}]?")


def pieces(word: str) -> list[str]:
    """The unbreakable parts of a word: it may break only after a sign of ``BREAK_AFTER``."""
    return [p for p in _PIECES.findall(word) if p]


def wrap(text: str, font: str, size: float, width: float, *, letters: bool = False) -> list[str]:
    """``text`` broken into lines no wider than ``width``: at spaces (never at a no-break space),
    and inside a word only after a dash, an ellipsis or a slash, so a number or a bound ("< 14,0")
    stays whole. A piece wider than the line stays whole too (a table cell then shrinks its font,
    ``cell_font_size``), unless ``letters``: then it is broken between letters (captions)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for index, word in enumerate(paragraph.split(" ")):
            for number_, piece in enumerate(pieces(word) or [""]):
                glue = " " if index and not number_ and line else ""
                if not line or charts.text_width(line + glue + piece, size) <= width:
                    line += glue + piece
                    continue
                lines.append(line)
                line = piece
        lines.append(line)
    if not letters:
        return lines
    out = []
    for line in lines:
        while len(line) > 1 and charts.text_width(line, size) > width:
            cut = max(1, next(i for i in range(len(line), 0, -1)
                              if charts.text_width(line[:i], size) <= width or i == 1))
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out


def cell_font_size(text: str, size: float, width: float) -> float:
    """The size at which every unbreakable piece of ``text`` fits a cell ``width`` wide (at most
    ``size``): a cell too narrow for a number shrinks rather than breaking it."""
    widest = max((p for w in text.split() for p in pieces(w)),
                 key=lambda p: charts.text_width(p, size), default="")
    return charts.fit(widest, "", size, width)


class _Caption(Flowable):
    """A short note set line by line, pre-wrapped, "≥"/"≤" in the Symbol font: what a Paragraph
    would print for plain text, at a fraction of its layout cost (a report has some forty table
    captions naming the scheme in force)."""

    def __init__(self, text: str, style: ParagraphStyle) -> None:
        super().__init__()
        self.text, self.style = text, style
        self.lines: list[str] = []

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.lines = wrap(self.text, self.style.fontName, self.style.fontSize, available_width,
                          letters=True)
        self.width = available_width
        self.height = len(self.lines) * self.style.leading
        return self.width, self.height

    def getSpaceAfter(self) -> float:  # ReportLab names it
        return float(self.style.spaceAfter)

    def draw(self) -> None:
        size, canvas = self.style.fontSize, self.canv
        canvas.setFillColor(self.style.textColor)
        y = self.height - size
        for line in self.lines:
            x = 0.0
            for font, piece in runs(line):
                canvas.setFont(font, size)
                canvas.drawString(x, y, piece)
                x += stringWidth(piece, font, size)
            y -= self.style.leading


#: Left and right padding of a table cell, pt (ReportLab's default, 6, wastes a narrow column).
CELL_PADDING = 2.5


def _table(
    rows: list[list[str]], widths: Sequence[float], st: _Styles, caption: str | None = None
) -> KeepTogether | list:
    """A data table, with the caption line (the scheme or criteria in force) above it where the
    section has not already named it once for all its tables (``caption`` None)."""
    # Plain strings, broken into lines here, wherever the font can set them: a table of strings
    # lays out several times faster than one of paragraphs (a report has some forty tables).
    # Only text with "≥"/"≤" needs a paragraph, for its change of font.
    shrunk: list[tuple[str, tuple[int, int], tuple[int, int], float]] = []

    def cell(text: str, width: float, style: ParagraphStyle, at: tuple[int, int]) -> Any:
        size = cell_font_size(text, style.fontSize, width - 2 * CELL_PADDING)
        if size < style.fontSize:
            shrunk.extend([("FONTSIZE", at, at, size),
                           ("LEADING", at, at, size * style.leading / style.fontSize)])
        if set(text) & set(SYMBOL_CHARS):
            if size < style.fontSize:
                style = ParagraphStyle(f"{style.name}-{size}", parent=style, fontSize=size,
                                       leading=size * style.leading / style.fontSize)
            return Paragraph(escape(text).replace("\u00a0", "&nbsp;"), style)
        return "\n".join(wrap(text, st.font, size, width - 2 * CELL_PADDING)) or text

    data: list[list[Any]] = [[cell(c, w, st.head, (i, 0))
                              for i, (c, w) in enumerate(zip(rows[0], widths))]]
    data += [[cell(c, w, st.cell, (i, j)) for i, (c, w) in enumerate(zip(r, widths))]
             for j, r in enumerate(rows[1:], start=1)]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), st.font, st.cell.fontSize, st.cell.leading),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#08519c")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f0f4f8")]),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                # the text is set to width − 2·CELL_PADDING above: the same padding here
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                *shrunk,
            ]
        )
    )
    parts = ([_Caption(caption, st.small)] if caption else []) + [table, Spacer(1, 4)]
    if len(rows) <= 25:
        return KeepTogether(parts)
    return _Stack(parts)  # long: let it break across pages


class _Stack(list):
    """A flowable list that may break across pages (long tables)."""


def _flatten(story: list) -> list:
    out = []
    for item in story:
        out.extend(_flatten(item) if isinstance(item, _Stack) else [item])
    return out


Records = list[dict[str, Any]]


def _by_region(frame: pd.DataFrame) -> dict[str, Records]:
    """A summary table's rows as records, by region code: one conversion for the whole table
    (converting each region's slice costs more than laying out its table)."""
    grouped: dict[str, Records] = {}
    for row in frame.to_dict("records"):
        grouped.setdefault(row["region_code"], []).append(row)
    return grouped


def _urine_rows(
    records: Records, tr: Translator, first: str, names: texts.RegionNames
) -> list[list[str]]:
    header = [
        t(tr, "region") if first == "region" else t(tr, "group"),
        t(tr, "period"),
        f"{t(tr, 'n')} ({t(tr, 'collected')}/{t(tr, 'rejected')})",
        t(tr, "median_ci"),
        t(tr, "iqr"),
        t(tr, "pct_below_ci", cut=20),
        t(tr, "pct_below_ci", cut=50),
        t(tr, "pct_below_ci", cut="100 / 150*"),
        t(tr, "pct_at_least_ci", cut="300 / 500*"),
        t(tr, "class"),
        t(tr, "flag"),
    ]
    rows = [header]
    for row in records:
        kind = Kind(row["kind"])
        low_cut = 150 if kind is Kind.PREGNANT else 100
        high_cuts = INDICATORS[kind].at_or_above
        high = pct_ci_text(row, pct_label(high_cuts[0], True), tr) if high_cuts else "—"
        flag = row["flag_met"]
        rows.append(
            [
                texts.region_name(names, row["region_code"], tr)
                if first == "region"
                else label(GROUP_LABELS, row["group_code"], tr),
                row["period"],
                f"{row['n_analysed']} ({row['n_collected']}/{row['n_rejected']})",
                median_ci_text(row, tr),
                iqr_text(row, tr) if row["n_analysed"] else "—",
                pct_ci_text(row, "pct_below_20", tr),
                pct_ci_text(row, "pct_below_50", tr),
                pct_ci_text(row, pct_label(low_cut), tr),
                high,
                class_text(row, tr),
                "—"
                if flag is None and not row["flag_applies"]
                else t(tr, "undecided")
                if flag is None
                else t(tr, "yes" if flag else "no"),
            ]
        )
    return rows


URINE_WIDTHS = [
    25 * mm,
    13 * mm,
    17 * mm,
    26 * mm,
    17 * mm,
    11 * mm,
    11 * mm,
    13 * mm,
    13 * mm,
    22 * mm,
    12 * mm,
]
SALT_WIDTHS = [27 * mm, 13 * mm, 20 * mm, 16 * mm, 16 * mm, 16 * mm, 17 * mm, 17 * mm, 31 * mm]


def _salt_rows(
    records: Records, tr: Translator, first: str, names: texts.RegionNames, params: StatsParams
) -> list[list[str]]:
    crit = params.salt
    rows = [
        [
            t(tr, "region") if first == "region" else t(tr, "method"),
            t(tr, "period"),
            f"{t(tr, 'n')} ({t(tr, 'collected')}/{t(tr, 'rejected')})",
            t(tr, "pct_any"),
            t(tr, "pct_adequate", cut=f"{crit.adequate_at_least:g}"),
            texts.household_range_header(crit, tr),
            texts.national_range_header(crit, tr),
            t(tr, "pct_non_iodized", cut=f"{crit.non_iodized_below:g}"),
            t(tr, "median_iqr_salt"),
        ]
    ]
    for row in records:
        method = label(METHOD_LABELS, row["method"], tr)
        quantitative = row["method"] != str(SaltMethod.RTK)
        median = quantile_text(row, "median", tr)
        if quantitative and row["n_analysed"]:
            median += f" ({iqr_text(row, tr)})"
        rows.append(
            [
                texts.region_name(names, row["region_code"], tr) if first == "region" else method,
                row["period"],
                f"{row['n_analysed']} ({row['n_collected']}/{row['n_rejected']})",
                pct_text(row["pct_any_iodine"], row["pct_any_iodine_hi"], tr),
                pct_text(row["pct_at_least_15"], row["pct_at_least_15_hi"], tr),
                pct_text(row["pct_household_range"], row["pct_household_range_hi"], tr),
                pct_text(row["pct_national_range"], row["pct_national_range_hi"], tr),
                pct_text(row["pct_below_5"], row["pct_below_5_hi"], tr),
                median if quantitative else "—",
            ]
        )
    return rows


def _names(
    urine: pd.DataFrame, salt: pd.DataFrame, params: ReportParams
) -> dict[str, dict[str, str]]:
    """Region names from ``name_ru/kk/en`` columns of the frames, else from the passed mapping."""
    names = {code: dict(v) for code, v in params.region_names.items()}
    for frame in (urine, salt):
        if (
            all(c in frame.columns for c in NAME_COLUMNS)
            and "region_code" in frame.columns
            and len(frame)
        ):
            first = frame.drop_duplicates("region_code")
            names.update(texts.region_names_from_frame(first, code="region_code"))
    if params.pooled_label:
        names[NATIONAL] = dict(params.pooled_label)
    return names


class _NumberedCanvas(Canvas):
    """Defers page output so the footer can say "page X of Y"."""

    footer: tuple[Translator, str] = (Translator(), "")  # (translator, fixed text), per build

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:  # ReportLab names it
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        tr, fixed = self.footer
        total = len(self._pages)
        for number_, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(register_fonts(), 7)
            self.setFillColor(colors.HexColor("#555555"))
            self.drawString(15 * mm, 9 * mm, fixed)
            self.drawRightString(
                A4[0] - 15 * mm, 9 * mm, t(tr, "page", page=number_, pages=total)
            )
            super().showPage()
        super().save()


@dataclass(frozen=True)
class MonitoringData:
    """Everything a report shows, computed once; render it in as many languages as needed."""

    urine_df: pd.DataFrame
    salt_df: pd.DataFrame
    urine: UrineResult
    salt: pd.DataFrame
    earlier: UrineResult | None
    trends: pd.DataFrame | None
    names: dict[str, dict[str, str]]
    urine_fingerprint: tuple[str, int]
    salt_fingerprint: tuple[str, int]
    previous_fingerprint: tuple[str, int] | None  # the earlier rounds behind the trends
    scheme: Scheme = WHO2007  # the classification and salt criteria the tables were computed with
    salt_criteria: SaltCriteria = DEFAULT_SALT


def prepare_monitoring_data(
    urine_df: pd.DataFrame,
    salt_df: pd.DataFrame,
    *,
    params: ReportParams,
    previous: pd.DataFrame | None = None,
) -> MonitoringData:
    """The statistics behind a report (the slow part): summaries, design-based intervals, trends, hashes."""
    sp = params.stats
    urine = urine_summary(urine_df, sp)
    earlier = urine_summary(previous, sp) if previous is not None and len(previous) else None
    return MonitoringData(
        urine_df=urine_df,
        salt_df=salt_df,
        urine=urine,
        salt=salt_summary(salt_df, sp),
        earlier=earlier,
        trends=urine_trends(urine, earlier, sp.confidence) if earlier is not None else None,
        names=_names(urine_df, salt_df, params),
        urine_fingerprint=dataset_fingerprint(urine_df),
        salt_fingerprint=dataset_fingerprint(salt_df),
        previous_fingerprint=dataset_fingerprint(previous) if earlier is not None else None,
        scheme=sp.scheme,
        salt_criteria=sp.salt,
    )


def build_monitoring_report(
    urine_df: pd.DataFrame,
    salt_df: pd.DataFrame,
    *,
    params: ReportParams,
    lang: str,
    catalogue: texts.Catalogue | None = None,
    previous: pd.DataFrame | None = None,
    qc_annex: Mapping[str, Any] | None = None,
) -> bytes:
    """The monitoring report as PDF bytes. ``previous``: urine rows of earlier rounds (same columns)
    for the trend tables and charts. See the module docstring for ``qc_annex``."""
    texts.check_language(lang)
    data = prepare_monitoring_data(urine_df, salt_df, params=params, previous=previous)
    return render_monitoring_report(data, params=params, lang=lang, catalogue=catalogue,
                                    qc_annex=qc_annex)


def render_monitoring_report(
    data: MonitoringData,
    *,
    params: ReportParams,
    lang: str,
    catalogue: texts.Catalogue | None = None,
    qc_annex: Mapping[str, Any] | None = None,
) -> bytes:
    """The report in ``lang``, its words from ``catalogue`` (gettext translations of that
    language; English without one)."""
    tr = texts.translator(lang, catalogue)
    st = _Styles()
    sp = params.stats
    urine, salt, names = data.urine, data.salt, data.names
    urine_hash, urine_count = data.urine_fingerprint
    salt_hash, salt_count = data.salt_fingerprint

    story: list = []
    story += _headline_page(st, tr, params, data)
    story += [PageBreak()] + _maps(st, tr, params, urine, salt, names)
    story += [PageBreak()] + _cover(st, tr, params, data)
    story += _summary(st, tr, params, urine, salt, names, data.trends)
    pooled = f"{t(tr, 'national_table')}: {texts.region_name(names, NATIONAL, tr)}"
    story += [PageBreak(), Paragraph(escape(pooled), st.h1)]
    urine_by_region, salt_by_region = _by_region(urine.table), _by_region(salt)
    story.append(
        _table(
            _urine_rows(urine_by_region.get(NATIONAL, []), tr, "group", names),
            URINE_WIDTHS,
            st,
            f"{t(tr, 'scheme')}: {texts.scheme_name(sp.scheme, tr)}",
        )
    )
    story.append(
        _table(
            _salt_rows(salt_by_region.get(NATIONAL, []), tr, "method", names, sp),
            SALT_WIDTHS,
            st,
            f"{t(tr, 'salt_criteria')}: {texts.salt_label(sp.salt, tr)}",
        )
    )
    story.append(Paragraph(escape("* " + t(tr, "population_note")), st.small))
    story.append(Paragraph(escape(t(tr, "few_note", min=sp.min_n)), st.small))
    story += _region_sections(st, tr, params, urine_by_region, salt_by_region, data.trends, names)
    story += [PageBreak()] + _charts(
        st, tr, params, data.urine_df, urine, data.earlier, salt, names
    )
    story += [PageBreak()] + _annex(st, tr, sp, urine, qc_annex or {})

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        invariant=1,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=16 * mm,
        title=t(tr, "title"),
        author=params.laboratory or "IodineLIMS",
        creator="IodineLIMS",
        subject=t(tr, "subtitle"),
    )
    footer = (
        f"{t(tr, 'issued')}: {date_text(params.issued, tr)} · "
        f"{t(tr, 'version')} {params.version} · "
        f"SHA-256 {urine_hash[:12]} ({texts.rows_text(tr, urine_count)}) / {salt_hash[:12]} "
        f"({texts.rows_text(tr, salt_count)})"
    )
    canvas_class = type("ReportCanvas", (_NumberedCanvas,), {"footer": (tr, footer)})
    doc.build(_flatten(story), canvasmaker=canvas_class)
    return buffer.getvalue()


def report_headline(data: MonitoringData, first_group: str) -> headline.Headline:
    """The headline figures of a report (page 1 and the workbook's first sheet)."""
    return headline.headline(data.urine.table, data.salt, data.trends, first_group=first_group,
                             national_range=data.salt_criteria.national_range)


def status_text(status: str, tr: Translator) -> str:
    """A scorecard status (or, where the group has none, its class) in the report's language."""
    if status in STATUS_LABELS:
        return tr.gettext(STATUS_LABELS[status])
    return label(CLASS_LABELS, status, tr)


def uic_verdict(figure: headline.UicFigure, tr: Translator) -> str:
    """The scorecard row of one group: status · survey · group · n."""
    return t(tr, "headline_verdict", status=sentence(status_text(figure.status, tr)),
             period=figure.period, group=label(GROUP_LABELS, figure.group, tr), n=figure.n)


def salt_verdict(figure: headline.SaltFigure, tr: Translator) -> str:
    return t(tr, "headline_verdict", status=sentence(status_text(figure.status, tr)),
             period=figure.period, group=label(METHOD_LABELS, figure.method, tr), n=figure.n)


def change_text(change: headline.Change, tr: Translator) -> str:
    """The change of a national median against the previous round, with its CI, in words."""
    def num(value: float | None) -> str:
        return "—" if value is None else number(value, tr)

    difference = num(change.difference)
    if change.difference is not None and change.difference > 0:
        difference = "+" + difference
    if change.ci_low is None or change.ci_high is None:
        return t(tr, "headline_change_no_ci", earlier=change.earlier_period,
                 median=num(change.earlier_median), difference=difference)
    return t(tr, "headline_change", earlier=change.earlier_period,
             median=num(change.earlier_median), difference=difference, low=num(change.ci_low),
             high=num(change.ci_high), direction=tr.gettext(CHANGE_LABELS[change.direction]))


class _HeadlineStyles:
    """Large type for the figures of page 1."""

    def __init__(self, font: str) -> None:
        self.figure = ParagraphStyle("figure", fontName=font, fontSize=26, leading=30,
                                     textColor=colors.HexColor("#08306b"))
        self.what = ParagraphStyle("what", fontName=font, fontSize=10, leading=12.5,
                                   textColor=colors.HexColor("#08519c"))
        self.detail = ParagraphStyle("detail", fontName=font, fontSize=8.5, leading=11)
        self.verdict = ParagraphStyle("verdict", fontName=font, fontSize=9.5, leading=12,
                                      textColor=colors.HexColor("#222222"))


def _headline_page(st: _Styles, tr: Translator, params: ReportParams,
                   data: MonitoringData) -> list:
    """Page 1, the answer: national figures in large type, each with its interval (or why it
    has none), its class, its change against the previous round and a scorecard verdict."""
    found = report_headline(data, params.headline_group)
    hs = _HeadlineStyles(st.font)
    where = texts.region_name(data.names, NATIONAL, tr)
    period = ", ".join(found.periods) or "—"
    story: list = [
        Paragraph(escape(t(tr, "title")), st.h2),
        Paragraph(escape(t(tr, "headline_title", where=where, period=period)), st.title),
    ]
    rows: list[list[Any]] = []
    colours: list[tuple[int, str]] = []
    for figure in found.uic:
        what = Paragraph(escape(t(tr, "headline_uic", group=label(GROUP_LABELS, figure.group,
                                                                   tr))), hs.what)
        big = escape(quantile_text(figure.row, "median", tr)) + " <font size=11>" + \
            escape(tr.gettext(texts.UNITS["µg/L"])) + "</font>"
        if figure.ci_low is not None and figure.ci_high is not None:
            ci = t(tr, "headline_ci", low=number(figure.ci_low, tr),
                   high=number(figure.ci_high, tr))
        else:
            ci = t(tr, "headline_no_ci", why=ci_reason(figure.row, tr))
        details = [ci, sentence(class_text(figure.row, tr))]
        if figure.change is not None:
            details.append(change_text(figure.change, tr))
        rows.append([what, Paragraph(big, hs.figure),
                     [Paragraph(escape(d), hs.detail) for d in details]])
        rows.append([Paragraph(escape(uic_verdict(figure, tr)), hs.verdict), "", ""])
        colours.append((len(rows) - 2, CLASS_COLOURS.get(figure.class_key, "#bbbbbb")))
    if found.salt is not None:
        salt = found.salt
        crit = data.salt_criteria
        what = Paragraph(escape(t(tr, "headline_salt", cut=f"{crit.adequate_at_least:g}")),
                         hs.what)
        share = pct_text(salt.pct_adequate or math.nan,
                         salt.pct_adequate_high if salt.pct_adequate_high is not None
                         else math.nan, tr)
        details = [t(tr, "headline_target", target=f"{salt.target:g}"),
                   label(METHOD_LABELS, salt.method, tr)]
        if salt.pct_national_range is not None:
            low, high = salt.national_range
            details.append(t(tr, "headline_national_range", low=f"{low:g}", high=f"{high:g}",
                             pct=number(salt.pct_national_range, tr)))
        rows.append([what, Paragraph(escape(share) + " <font size=11>%</font>", hs.figure),
                     [Paragraph(escape(sentence(d)), hs.detail) for d in details]])
        rows.append([Paragraph(escape(salt_verdict(salt, tr)), hs.verdict), "", ""])
        colours.append((len(rows) - 2, "#1a9850" if salt.status == "target_met" else "#e6550d"))
    if not rows:
        return story + [Paragraph(escape(t(tr, "no_data")), st.body)]
    table = Table(rows, colWidths=[48 * mm, 52 * mm, 80 * mm], hAlign="LEFT")
    commands: list[Any] = [
        ("FONT", (0, 0), (-1, -1), st.font),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for first, colour in colours:
        commands += [
            ("SPAN", (0, first + 1), (-1, first + 1)),
            ("LINEBEFORE", (0, first), (0, first + 1), 4, colors.HexColor(colour)),
            ("LINEBELOW", (0, first + 1), (-1, first + 1), 0.5, colors.HexColor("#cccccc")),
            ("BACKGROUND", (0, first + 1), (-1, first + 1), colors.HexColor("#f0f4f8")),
        ]
    table.setStyle(TableStyle(commands))
    story += [
        Spacer(1, 2 * mm),
        table,
        Spacer(1, 3 * mm),
        Paragraph(escape(t(tr, "headline_scorecard")), st.small),
        Paragraph(escape(f"{t(tr, 'scheme')}: {texts.scheme_name(params.stats.scheme, tr)}"),
                  st.small),
        Paragraph(escape(f"{t(tr, 'salt_criteria')}: {texts.salt_label(params.stats.salt, tr)}"),
                  st.small),
        Paragraph(escape(t(tr, "population_note")), st.small),
    ]
    return story


def _cover(
    st: _Styles,
    tr: Translator,
    params: ReportParams,
    data: MonitoringData,
) -> list:
    periods = sorted(set(data.urine.table["period"]) | set(data.salt["period"]))
    uic, salt = t(tr, "uic"), t(tr, "salt")
    datasets = [(uic, data.urine_fingerprint), (salt, data.salt_fingerprint)]
    if data.previous_fingerprint is not None:
        earlier = sorted(data.earlier.table["period"].unique()) if data.earlier else []
        datasets.append((f"{uic} {', '.join(earlier)}", data.previous_fingerprint))
    lines = [
        (t(tr, "issued"), date_text(params.issued, tr)),
        (t(tr, "version"), params.version),
    ] + ([(t(tr, "revision"), params.revision_note)] if params.revision_note else []) + [
        (t(tr, "periods"), ", ".join(periods) or "—"),
        (t(tr, "scheme"), texts.scheme_name(params.stats.scheme, tr)),
        (t(tr, "salt_criteria"), texts.salt_label(params.stats.salt, tr)),
        (t(tr, "map_boundaries"), kzmap.colophon()),
    ] + [
        (f"{t(tr, 'dataset')} — {what}", f"{digest} ({texts.rows_text(tr, count)})")
        for what, (digest, count) in datasets
    ] + ([(t(tr, "audit_seal"), params.audit_seal)] if params.audit_seal else [])
    story = [
        Spacer(1, 40 * mm),
        Paragraph(escape(t(tr, "title")), st.title),
        Paragraph(escape(t(tr, "subtitle")), st.h2),
        Spacer(1, 6 * mm),
    ]
    if params.laboratory:
        story.append(Paragraph(escape(params.laboratory), st.body))
    table = Table(
        [[Paragraph(escape(k), st.body), Paragraph(escape(v), st.body)] for k, v in lines],
        colWidths=[50 * mm, 130 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), st.font),  # else Helvetica, unembedded, is listed
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
            ]
        )
    )
    return story + [table]


def _quantitative(salt: pd.DataFrame) -> pd.Series:
    """Rows of a salt table measured in mg/kg (titration, WYD): not the rapid test kit's, nor
    the line of samples not analysed."""
    return salt["method"].isin([str(m) for m in QUANTITATIVE_METHODS])


def _latest(frame: pd.DataFrame) -> str | None:
    periods = sorted(frame["period"].unique())
    return periods[-1] if periods else None


def _summary(
    st: _Styles,
    tr: Translator,
    params: ReportParams,
    urine: UrineResult,
    salt: pd.DataFrame,
    names: texts.RegionNames,
    trends: pd.DataFrame | None,
) -> list:
    sp = params.stats
    story = [
        Paragraph(escape(t(tr, "summary")), st.h1),
        Paragraph(escape(t(tr, "summary_intro")), st.body),
        Paragraph(escape(f"{t(tr, 'scheme')}: {texts.scheme_name(sp.scheme, tr)}"), st.small),
    ]
    regional = urine.table[urine.table.region_code != NATIONAL]
    latest = _latest(regional) if len(regional) else None
    groups = sorted(regional["group_code"].unique(), key=lambda g: (g != params.headline_group, g))
    for group in groups:
        rows = regional[(regional.group_code == group) & (regional.period == latest)]
        if not len(rows):
            continue
        # a region whose class is provisional or withheld is never ranked, only named
        unranked = rows[rows.class_status != "final"].sort_values("region_code")
        rows = rows[rows.class_status == "final"]
        table = sp.scheme.table(sp.group_kinds[group])
        for klass in list(table.classes) + ["indeterminate", "no_data"]:
            members = rows[rows.class_key == klass].sort_values("region_code")
            if not len(members):
                continue
            regions = ", ".join(
                texts.region_name(names, c, tr) + (" †" if few else "")
                for c, few in zip(members["region_code"], members["few_samples"]))
            story.append(
                Paragraph(
                    escape(sentence(
                        t(
                            tr,
                            "summary_line",
                            group=label(GROUP_LABELS, group, tr),
                            period=latest,
                            klass=label(CLASS_LABELS, klass, tr),
                            regions=regions,
                        )
                    )),
                    st.body,
                )
            )
        if len(unranked):
            story.append(Paragraph(escape(sentence(t(
                tr, "summary_unranked", group=label(GROUP_LABELS, group, tr), period=latest,
                regions=", ".join(texts.region_name(names, c, tr) for c in unranked["region_code"]),
            ))), st.body))
    story += _summary_trends(st, tr, params, trends, latest)
    national_salt = salt[(salt.region_code == NATIONAL) & _quantitative(salt)]
    for row in national_salt.to_dict("records"):
        if row["period"] != _latest(national_salt):
            continue
        story.append(
            Paragraph(
                escape(
                    t(
                        tr,
                        "summary_salt",
                        period=row["period"],
                        method=label(METHOD_LABELS, row["method"], tr),
                        adequate=f"{sp.salt.adequate_at_least:g}",
                        pct=pct_text(row["pct_at_least_15"], row["pct_at_least_15_hi"], tr)
                        + " %",
                    )
                ),
                st.body,
            )
        )
    story.append(Paragraph(escape(t(tr, "population_note")), st.small))
    story.append(Paragraph(escape(t(tr, "few_note", min=sp.min_n)), st.small))
    return story


def _summary_trends(
    st: _Styles, tr: Translator, params: ReportParams, trends: pd.DataFrame | None, latest: str | None
) -> list:
    """One line per group: the pooled median now against the latest earlier period's."""
    if trends is None or not len(trends) or latest is None:
        return []
    pooled = trends[(trends.region_code == NATIONAL) & (trends.period == latest)]
    story = []
    for group in sorted(set(pooled.group_code), key=lambda g: (g != params.headline_group, g)):
        row = pooled[pooled.group_code == group].sort_values("earlier_period").iloc[-1]
        difference = "—" if math.isnan(row["difference"]) else number(row["difference"], tr)
        if not (math.isnan(row["diff_ci_low"]) or math.isnan(row["diff_ci_high"])):
            difference += (f"; {t(tr, 'ci95')} {number(row['diff_ci_low'], tr)}"
                           f"…{number(row['diff_ci_high'], tr)}")
        story.append(Paragraph(escape(sentence(t(
            tr, "summary_trend", group=label(GROUP_LABELS, group, tr), period=latest,
            median=value_text(row["median"], tr),
            earlier=value_text(row["earlier_median"], tr),
            earlier_period=row["earlier_period"], difference=difference))), st.body))
    return story


def _region_sections(
    st: _Styles,
    tr: Translator,
    params: ReportParams,
    urine_by_region: dict[str, Records],
    salt_by_region: dict[str, Records],
    trends: pd.DataFrame | None,
    names: texts.RegionNames,
) -> list:
    sp = params.stats
    story = [PageBreak(), Paragraph(escape(t(tr, "regions")), st.h1),
             Paragraph(escape(f"{t(tr, 'scheme')}: {texts.scheme_name(sp.scheme, tr)}"),
                       st.small),
             Paragraph(escape(f"{t(tr, 'salt_criteria')}: {texts.salt_label(sp.salt, tr)}"),
                       st.small),
             Paragraph(escape(t(tr, "few_note", min=sp.min_n)), st.small)]
    trend_rows_of = _by_region(trends) if trends is not None else {}
    for code in sorted((set(urine_by_region) | set(salt_by_region)) - {NATIONAL}):
        section = [Paragraph(escape(texts.region_name(names, code, tr)), st.h2)]
        if rows := urine_by_region.get(code):
            section.append(
                _table(
                    _urine_rows(rows, tr, "group", names),
                    URINE_WIDTHS,
                    st,
                )
            )
        if salt_here := salt_by_region.get(code):
            section.append(
                _table(
                    _salt_rows(salt_here, tr, "method", names, sp),
                    SALT_WIDTHS,
                    st,
                )
            )
        if here := trend_rows_of.get(code):
            trend_rows = [
                [
                    t(tr, "group"),
                    t(tr, "period"),
                    t(tr, "earlier"),
                    t(tr, "median"),
                    t(tr, "earlier_median"),
                    t(tr, "difference"),
                ]
            ]
            for r in here:
                diff = "—" if math.isnan(r["difference"]) else number(r["difference"], tr)
                if not math.isnan(r["diff_ci_low"]) and not math.isnan(r["diff_ci_high"]):
                    diff += (
                        f" ({number(r['diff_ci_low'], tr)}; {number(r['diff_ci_high'], tr)})"
                    )
                trend_rows.append(
                    [
                        label(GROUP_LABELS, r["group_code"], tr),
                        r["period"],
                        r["earlier_period"],
                        value_text(r["median"], tr),
                        value_text(r["earlier_median"], tr),
                        diff,
                    ]
                )
            section.append(Paragraph(escape(t(tr, "trends")), st.small))
            section.append(
                _table(
                    trend_rows,
                    [40 * mm, 15 * mm, 15 * mm, 28 * mm, 25 * mm, 45 * mm],
                    st,
                )
            )
        # the heading travels with its first table: never orphaned at a page foot
        if len(section) > 1 and not isinstance(section[1], _Stack):
            section = [KeepTogether(section[:2]), *section[2:]]
        story += section
    return _flatten(story)


def _bar(row: Mapping[str, Any], label_text: str, tr: Translator) -> charts.Bar:
    def num(v: float) -> float | None:
        return None if math.isnan(v) else float(v)

    return charts.Bar(
        label_text,
        num(row["median"]),
        num(row["ci_low"]),
        num(row["ci_high"]),
        row["class_key"],
        num(row["median_hi"]) if math.isnan(row["median"]) else None,  # drawn as "below"
        quantile_text(row, "median", tr),
    )


def _charts(
    st: _Styles,
    tr: Translator,
    params: ReportParams,
    urine_df: pd.DataFrame,
    urine: UrineResult,
    earlier: UrineResult | None,
    salt: pd.DataFrame,
    names: texts.RegionNames,
) -> list:
    sp = params.stats
    story = [
        Paragraph(escape(t(tr, "charts")), st.h1),
        Paragraph(escape(f"{t(tr, 'scheme')}: {texts.scheme_name(sp.scheme, tr)}"), st.small),
    ]
    regional = urine.table[urine.table.region_code != NATIONAL]
    latest = _latest(regional) if len(regional) else None
    for group in sorted(
        regional["group_code"].unique(), key=lambda g: (g != params.headline_group, g)
    ):
        rows = regional[(regional.group_code == group) & (regional.period == latest)].sort_values(
            "region_code"
        )
        kind = sp.group_kinds[group]
        bars = [
            _bar(r, texts.region_name(names, r["region_code"], tr), tr)
            for r in rows.to_dict("records")
        ]
        used = dict.fromkeys(bar.class_key for bar in bars)
        story.append(
            charts.horizontal_bars(
                bars,
                t(tr, "chart_median", group=label(GROUP_LABELS, group, tr), period=latest),
                cutoffs=sp.scheme.table(kind).breaks,
                legend=[(key, sentence(label(CLASS_LABELS, key, tr))) for key in used],
            )
        )
        story.append(Spacer(1, 4 * mm))
    head = params.headline_group
    chosen = urine_df[(urine_df.group_code == head) & (urine_df.period == latest)]
    if "status" in chosen.columns:
        chosen = chosen[chosen.status == "analysed"]
    if len(chosen):
        detected = chosen.loc[~chosen.censored.astype(bool), "uic"].to_numpy(dtype=float)
        kind = sp.group_kinds[head]
        indicators = INDICATORS[kind]
        story.append(
            charts.histogram(
                detected,
                int(chosen.censored.astype(bool).sum()),
                indicators.below + indicators.at_or_above,
                t(
                    tr,
                    "chart_hist",
                    group=label(GROUP_LABELS, head, tr),
                    period=latest,
                    n=len(chosen),
                ),
                lod_label=t(tr, "below_lod"),
            )
        )
    quantitative = salt[(salt.region_code != NATIONAL) & _quantitative(salt)]
    salt_latest = _latest(quantitative) if len(quantitative) else None
    if salt_latest is not None:
        rows = quantitative[quantitative.period == salt_latest].sort_values(
            ["region_code", "method"]
        )
        bars = [
            charts.Bar(
                f"{texts.region_name(names, r['region_code'], tr)} · "
                f"{label(METHOD_LABELS, r['method'], tr)}",
                None if math.isnan(r["pct_at_least_15"]) else r["pct_at_least_15"],
                class_key="salt_target_met" if r["pct_at_least_15"] > 90 else "salt_below_target",
                text=pct_text(r["pct_at_least_15"], r["pct_at_least_15_hi"], tr),
            )
            for r in rows.to_dict("records")
        ]
        story.append(Spacer(1, 4 * mm))
        story.append(
            charts.horizontal_bars(
                bars,
                t(tr, "chart_salt", cut=f"{sp.salt.adequate_at_least:g}", period=salt_latest),
                unit_max=100,
                target=90,
                legend=[("salt_target_met", t(tr, "map_salt_met", target="90")),
                        ("salt_below_target", t(tr, "chart_salt_below", target="90"))],
            )
        )
    tables = [urine.table] + ([earlier.table] if earlier is not None else [])
    both = pd.concat(tables, ignore_index=True).drop_duplicates(
        ["region_code", "group_code", "period"]
    )
    national = both[both.region_code == NATIONAL]
    periods = sorted(national["period"].unique())
    if len(periods) > 1:
        series = []
        for group in sorted(national["group_code"].unique()):
            by_period = national[national.group_code == group].set_index("period")
            points = []
            for p in periods:
                if p in by_period.index:
                    r = by_period.loc[p]
                    points.append(
                        tuple(
                            None if math.isnan(v) else float(v)
                            for v in (r["median"], r["ci_low"], r["ci_high"])
                        )
                    )
                else:
                    points.append((None, None, None))
            series.append(charts.Series(label(GROUP_LABELS, group, tr), points))
        story.append(Spacer(1, 4 * mm))
        story.append(
            charts.trend_lines(
                periods,
                series,
                t(tr, "chart_trend", group=texts.region_name(names, NATIONAL, tr)),
            )
        )
    return story


#: Salt coverage classes of the map: share of samples ≥ 15 mg/kg (titration or WYD) in a region.
SALT_MAP_CLASSES = (("salt_below_50", 0.0), ("salt_below_target", 50.0),
                    ("salt_target_met", headline.SALT_TARGET_PCT))
SALT_MAP_COLOURS = {"salt_below_50": "#d7301f"}


def salt_map_class(pct: float) -> str:
    """The salt map's class of a share of samples ≥ 15 mg/kg (the target: more than 90 %)."""
    if math.isnan(pct):
        return "no_data"
    if pct > headline.SALT_TARGET_PCT:
        return "salt_target_met"
    return "salt_below_target" if pct >= 50 else "salt_below_50"


def _uic_map(tr: Translator, params: ReportParams, urine: UrineResult,
             names: Mapping[str, str], group: str) -> Any:
    sp = params.stats
    regional = urine.table[(urine.table.region_code != NATIONAL)
                           & (urine.table.group_code == group)]
    latest = _latest(regional) if len(regional) else None
    cells = {  # a withheld class is not coloured as one
        r["region_code"]: ("indeterminate" if r["class_status"] == "withheld" and r["n_analysed"]
                           else r["class_key"], quantile_text(r, "median", tr, 0))
        for r in regional[regional.period == latest].to_dict("records") if r["n_analysed"]
    }
    table = sp.scheme.table(sp.group_kinds[group]) if group in sp.group_kinds else None
    keys = list(table.classes if table else []) + ["indeterminate"]
    legend = [(k, sentence(label(CLASS_LABELS, k, tr))) for k in keys]
    title = t(tr, "map_uic", group=label(GROUP_LABELS, group, tr), period=latest or "—")
    return kzmap.choropleth(cells, names, title, legend,
                            no_data_label=sentence(label(CLASS_LABELS, "no_data", tr)),
                            merged=params.merged_units, merged_note=t(tr, "map_merged"))


def _salt_map(tr: Translator, params: ReportParams, salt: pd.DataFrame,
              names: Mapping[str, str]) -> Any:
    quantitative = salt[(salt.region_code != NATIONAL) & _quantitative(salt)
                        & (salt.n_analysed > 0)]
    latest = _latest(quantitative) if len(quantitative) else None
    cells = {}
    for r in quantitative[quantitative.period == latest].sort_values("method").to_dict("records"):
        if r["region_code"] not in cells:  # titration before WYD
            cells[r["region_code"]] = (salt_map_class(r["pct_at_least_15"]),
                                       pct_text(r["pct_at_least_15"], r["pct_at_least_15_hi"],
                                                tr) + " %")
    cut = f"{params.stats.salt.adequate_at_least:g}"
    legend = [("salt_target_met", t(tr, "map_salt_met", target=f"{headline.SALT_TARGET_PCT:g}")),
              ("salt_below_target", t(tr, "map_salt_below", low="50",
                                      target=f"{headline.SALT_TARGET_PCT:g}")),
              ("salt_below_50", t(tr, "map_salt_far", low="50"))]
    title = t(tr, "map_salt", cut=cut, period=latest or "—")
    return kzmap.choropleth(cells, names, title, legend,
                            no_data_label=sentence(label(CLASS_LABELS, "no_data", tr)),
                            merged=params.merged_units, merged_note=t(tr, "map_merged"),
                            colours=SALT_MAP_COLOURS)


def _maps(st: _Styles, tr: Translator, params: ReportParams, urine: UrineResult,
          salt: pd.DataFrame, names: texts.RegionNames) -> list:
    """Choropleth maps of the 20 units: median UIC of school-age children and of pregnant women
    (WHO classes), and salt coverage; groups with no regional rows are left out."""
    sp = params.stats
    map_names = {code: texts.region_name(names, code, tr) for code in kzmap.PCODE_TO_ISO.values()}
    story: list = [
        Paragraph(escape(t(tr, "maps")), st.h1),
        Paragraph(escape(f"{t(tr, 'scheme')}: {texts.scheme_name(sp.scheme, tr)}"), st.small),
    ]
    groups = set(urine.table.loc[urine.table.region_code != NATIONAL, "group_code"])
    for group in [params.headline_group, "PW"]:
        if group in groups:
            story += [_uic_map(tr, params, urine, map_names, group), Spacer(1, 5 * mm)]
    if len(salt) and (_quantitative(salt) & (salt.region_code != NATIONAL)).any():
        story.append(_salt_map(tr, params, salt, map_names))
    story.append(Paragraph(escape(t(tr, "map_source", source=kzmap.colophon())), st.small))
    return story


def _annex_cell(value: Any, tr: Translator) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        digits = 2 if abs(value) < 10 and round(value, 1) != value else 1
        return number(value, tr, digits)
    return str(value)


def _annex_sections(st: _Styles, tr: Translator, sections: Sequence[AnnexSection]) -> list:
    """The annex's sections from the lab's records (``reports.qa_annex``), each a titled table."""
    story: list = []
    full = A4[0] - 30 * mm
    for section in sections:
        story.append(Paragraph(escape(section.title), st.h2))
        if not section.rows:
            story.append(Paragraph(escape(section.empty or t(tr, "annex_none")), st.body))
            continue
        weights = section.widths or (1.0,) * len(section.columns)
        widths = [full * w / sum(weights) for w in weights]
        rows = [list(section.columns)] + [[_annex_cell(v, tr) for v in row]
                                          for row in section.rows]
        story.append(_table(rows, widths, st))
        if section.note:
            story.append(Paragraph(escape(section.note), st.small))
    return story


def _annex(
    st: _Styles, tr: Translator, sp: StatsParams, urine: UrineResult, qc: Mapping[str, Any]
) -> list:
    story = [Paragraph(escape(t(tr, "annex")), st.h1)]
    if qc.get("sections"):  # the lab's own records: methods, runs, controls, replicates, …
        # the sections end with external quality assessment (lims.reporting.qa)
        story += _annex_sections(st, tr, qc["sections"])
        return _flatten(story + _design_notes(st, tr, sp, urine, qc))
    methods = qc.get("methods") or []
    story.append(Paragraph(escape(t(tr, "annex_methods")), st.h2))
    for line in ([methods] if isinstance(methods, str) else methods) or [t(tr, "annex_none")]:
        story.append(Paragraph(escape(str(line)), st.body))
    for key, title in (("calibration_range", "annex_calibration"), ("lod", "annex_lod")):
        story.append(
            Paragraph(escape(f"{t(tr, title)}: {qc.get(key) or t(tr, 'annex_none')}"), st.body)
        )
    story.append(Paragraph(escape(t(tr, "annex_equipment")), st.h2))
    equipment = qc.get("equipment") or []
    if equipment:  # ISO/IEC 17025 §6.4: what measured, and whether it was fit to
        rows = [[t(tr, "annex_equipment_item"), t(tr, "annex_equipment_status"),
                 t(tr, "annex_equipment_calibration")]] + [
            [str(e.get("equipment", "")), str(e.get("status", "")), str(e.get("calibration", ""))]
            for e in equipment]
        story.append(_table(rows, [60 * mm, 45 * mm, 65 * mm], st, t(tr, "annex_equipment")))
    else:
        story.append(Paragraph(escape(t(tr, "annex_none")), st.body))
    story.append(Paragraph(escape(t(tr, "annex_controls")), st.h2))
    controls = qc.get("controls") or []
    if controls:
        rows = [
            [t(tr, "annex_control"), t(tr, "annex_target"), "n", t(tr, "annex_mean"),
             t(tr, "annex_cv")]
        ]
        for c in controls:
            rows.append(
                [
                    str(c.get("name", "")),
                    _qc_number(c.get("target"), tr),
                    str(c.get("n", "")),
                    _qc_number(c.get("mean"), tr),
                    _qc_number(c.get("cv"), tr),
                ]
            )
        story.append(
            _table(
                rows, [40 * mm, 25 * mm, 15 * mm, 25 * mm, 20 * mm], st, t(tr, "annex_controls")
            )
        )
    else:
        story.append(Paragraph(escape(t(tr, "annex_none")), st.body))
    story.append(Paragraph(escape(t(tr, "annex_rejected_runs")), st.h2))
    runs = qc.get("rejected_runs") or []
    if runs:
        rows = [[t(tr, "annex_run"), t(tr, "annex_date"), t(tr, "annex_reason")]] + [
            [str(r.get("run", "")), str(r.get("date", "")), str(r.get("reason", ""))] for r in runs
        ]
        story.append(_table(rows, [35 * mm, 25 * mm, 110 * mm], st, t(tr, "annex_rejected_runs")))
    else:
        story.append(Paragraph(escape(t(tr, "annex_none")), st.body))
    story.append(Paragraph(escape(t(tr, "annex_eqa")), st.h2))
    for line in qc.get("eqa") or [t(tr, "annex_none")]:
        story.append(Paragraph(escape(str(line)), st.body))
    return _flatten(story + _design_notes(st, tr, sp, urine, qc))


def _design_notes(st: _Styles, tr: Translator, sp: StatsParams, urine: UrineResult,
                  qc: Mapping[str, Any]) -> list:
    """The statistical notes closing the annex (design, minimums, weights, censoring, criteria)."""
    weighting = set(urine.table["weighting"]) if len(urine.table) else set()
    return [
        Spacer(1, 4 * mm),
        Paragraph(escape(t(tr, "design_note", min_psus=sp.min_psus)), st.small),
        Paragraph(escape(t(tr, "design_minimums", min_class=sp.min_n_class,
                           min_final=sp.min_n_final)), st.small),
        Paragraph(escape(t(tr, "weighting_population" if "population" in weighting
                           else "weighting_design" if "design" in weighting
                           else "weighting_self")), st.small),
        *[Paragraph(escape(f"{t(tr, 'population_sources')}: {'; '.join(map(str, sources))}"),
                    st.small) for sources in [qc.get("population_sources") or []] if sources],
        Paragraph(escape(t(tr, "censored_note")), st.small),
        Paragraph(escape(t(tr, "few_note", min=sp.min_n)), st.small),
        Paragraph(escape(t(tr, "rtk_note")), st.small),
        Paragraph(escape(f"{t(tr, 'scheme')}: {texts.scheme_name(sp.scheme, tr)}"), st.small),
        Paragraph(escape(f"{t(tr, 'salt_criteria')}: {texts.salt_label(sp.salt, tr)}"), st.small),
    ]


def _qc_number(value: Any, tr: Translator) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return number(float(value), tr) if isinstance(value, (int, float)) else str(value)
