"""The regional monitoring report (domain.md §5.1, anchors.md §D4): PDF bytes from tidy frames.

``build_monitoring_report`` takes the frames documented in ``reports.stats`` and returns a PDF:
cover (issue date, version, dataset fingerprints), a one-page summary in plain words, the national
table, a section per region, charts, a tile map and a methods and QC annex. Every table names the
classification scheme. The document is rendered in ReportLab's invariant mode and the statistics
are seeded, so the same frames and parameters give the same bytes — the dataset fingerprint on the
cover ties an issued report to the frozen data behind it.

``qc_annex`` (all keys optional, strings as the lab wants them printed, not translated)::

    {"methods": ["Sandell–Kolthoff, ammonium persulfate digestion, 405 nm", ...],
     "calibration_range": "0–300 µg/L", "lod": "10 µg/L",
     "controls": [{"name": "Low", "target": 50, "n": 40, "mean": 51.2, "cv": 4.3}, ...],
     "rejected_runs": [{"run": "R-2024-031", "date": "2024-03-02", "reason": "1-3s, control High"}],
     "eqa": ["EQUIP 2024 round 1: passed"]}
"""

from __future__ import annotations

import hashlib
import io
import math
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
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
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

from reports import charts, texts
from reports.criteria import INDICATORS, Kind, SaltMethod
from reports.fonts import SYMBOL_CHARS, register_fonts, runs
from reports.fonts import markup as escape
from reports.stats import (
    NATIONAL,
    StatsParams,
    UrineResult,
    pct_label,
    salt_summary,
    urine_summary,
    urine_trends,
)
from reports.texts import CLASS_LABELS, GROUP_LABELS, METHOD_LABELS, label, t
from reports.tilemap import tile_map

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


def number(value: float, lang: str, digits: int = 1) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang in ("ru", "kk") else text


def value_text(value: float, below: float, lang: str, digits: int = 1) -> str:
    if not math.isnan(value):
        return number(value, lang, digits)
    if not math.isnan(below):
        return "< " + number(below, lang, digits)
    return "—"


def pct_text(low: float, high: float, lang: str) -> str:
    if math.isnan(low):
        return "—"
    if math.isclose(low, high, abs_tol=1e-9):
        return number(low, lang)
    return f"{number(low, lang)}–{number(high, lang)}"


def median_ci_text(row: Mapping[str, Any], lang: str) -> str:
    median = value_text(row["median"], row["median_below"], lang)
    if median == "—" or (math.isnan(row["ci_low"]) and math.isnan(row["ci_low_below"])):
        return median
    low = value_text(row["ci_low"], row["ci_low_below"], lang)
    high = value_text(row["ci_high"], row["ci_high_below"], lang)
    return f"{median} ({low}–{high})"


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
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=6.5, leading=8)
        self.head = ParagraphStyle(
            "head", fontName=font, fontSize=6.5, leading=8, textColor=colors.white
        )


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width``: at spaces, and a word too long for a
    line after a "/" where it has one (else between letters), as ReportLab's paragraphs would."""
    lines = []
    for line in simpleSplit(text, font, size, width):
        while len(line) > 1 and charts.text_width(line, size) > width:
            fits = max(1, next(i for i in range(len(line), 0, -1)
                               if charts.text_width(line[:i], size) <= width or i == 1))
            slash = line.rfind("/", 0, fits)
            cut = slash + 1 if slash > 0 else fits
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


class _Caption(Flowable):
    """A short note set line by line, pre-wrapped, "≥"/"≤" in the Symbol font: what a Paragraph
    would print for plain text, at a fraction of its layout cost (a report has some forty table
    captions naming the scheme in force)."""

    def __init__(self, text: str, style: ParagraphStyle) -> None:
        super().__init__()
        self.text, self.style = text, style
        self.lines: list[str] = []

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.lines = wrap(self.text, self.style.fontName, self.style.fontSize, available_width)
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


def _table(
    rows: list[list[str]], widths: Sequence[float], st: _Styles, caption: str
) -> KeepTogether | list:
    """A data table whose caption line (the scheme or criteria in force) is printed above it."""
    # Plain strings, broken into lines here, wherever the font can set them: a table of strings
    # lays out several times faster than one of paragraphs (a report has some forty tables).
    # Only text with "≥"/"≤" needs a paragraph, for its change of font.
    def cell(text: str, width: float, style: ParagraphStyle) -> Any:
        if set(text) & set(SYMBOL_CHARS):
            return Paragraph(escape(text), style)
        return "\n".join(wrap(text, st.font, style.fontSize, width - 5)) or text

    data: list[list[Any]] = [[cell(c, w, st.head) for c, w in zip(rows[0], widths)]]
    data += [[cell(c, w, st.cell) for c, w in zip(r, widths)] for r in rows[1:]]
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
            ]
        )
    )
    note = _Caption(caption, st.small)
    if len(rows) <= 25:
        return KeepTogether([note, table, Spacer(1, 4)])
    return _Stack([note, table, Spacer(1, 4)])  # long: let it break across pages


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
    records: Records, lang: str, first: str, names: texts.RegionNames
) -> list[list[str]]:
    header = [
        t(lang, "region") if first == "region" else t(lang, "group"),
        t(lang, "period"),
        f"{t(lang, 'n')} ({t(lang, 'collected')}/{t(lang, 'rejected')})",
        t(lang, "median_ci"),
        t(lang, "iqr"),
        t(lang, "pct_below", cut=20),
        t(lang, "pct_below", cut=50),
        t(lang, "pct_below", cut="100 / 150*"),
        t(lang, "pct_at_least", cut="300 / 500*"),
        t(lang, "class"),
        t(lang, "flag"),
    ]
    rows = [header]
    for row in records:
        kind = Kind(row["kind"])
        low_cut = 150 if kind is Kind.PREGNANT else 100
        high_cuts = INDICATORS[kind].at_or_above
        high = (
            pct_text(
                row[pct_label(high_cuts[0], True)], row[pct_label(high_cuts[0], True) + "_hi"], lang
            )
            if high_cuts
            else "—"
        )
        flag = row["flag_met"]
        rows.append(
            [
                texts.region_name(names, row["region_code"], lang)
                if first == "region"
                else label(GROUP_LABELS, row["group_code"], lang),
                row["period"],
                f"{row['n_analysed']} ({row['n_collected']}/{row['n_rejected']})",
                median_ci_text(row, lang),
                f"{value_text(row['p25'], row['p25_below'], lang)}–"
                f"{value_text(row['p75'], row['p75_below'], lang)}"
                if row["n_analysed"]
                else "—",
                pct_text(row["pct_below_20"], row["pct_below_20_hi"], lang),
                pct_text(row["pct_below_50"], row["pct_below_50_hi"], lang),
                pct_text(row[pct_label(low_cut)], row[pct_label(low_cut) + "_hi"], lang),
                high,
                label(CLASS_LABELS, row["class_key"], lang),
                "—"
                if flag is None and not INDICATORS[kind].distribution_flag
                else t(lang, "undecided")
                if flag is None
                else t(lang, "yes" if flag else "no"),
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
SALT_WIDTHS = [30 * mm, 13 * mm, 22 * mm, 15 * mm, 16 * mm, 16 * mm, 17 * mm, 17 * mm, 27 * mm]


def _salt_rows(
    records: Records, lang: str, first: str, names: texts.RegionNames, params: StatsParams
) -> list[list[str]]:
    crit = params.salt
    low, high = crit.national_range
    rows = [
        [
            t(lang, "region") if first == "region" else t(lang, "method"),
            t(lang, "period"),
            f"{t(lang, 'n')} ({t(lang, 'collected')}/{t(lang, 'rejected')})",
            t(lang, "pct_any"),
            t(lang, "pct_adequate", cut=f"{crit.adequate_at_least:g}"),
            t(lang, "pct_non_iodized", cut=f"{crit.non_iodized_below:g}"),
            t(lang, "pct_range", low=f"{low:g}", high=f"{high:g}"),
            t(lang, "method") if first == "region" else "",
            t(lang, "median_iqr_salt"),
        ]
    ]
    for row in records:
        method = label(METHOD_LABELS, row["method"], lang)
        quantitative = row["method"] != str(SaltMethod.RTK)
        median = value_text(row["median"], row["median_below"], lang)
        if quantitative and row["n_analysed"]:
            median += (
                f" ({value_text(row['p25'], row['p25_below'], lang)}–"
                f"{value_text(row['p75'], row['p75_below'], lang)})"
            )
        rows.append(
            [
                texts.region_name(names, row["region_code"], lang) if first == "region" else method,
                row["period"],
                f"{row['n_analysed']} ({row['n_collected']}/{row['n_rejected']})",
                pct_text(row["pct_any_iodine"], row["pct_any_iodine_hi"], lang),
                pct_text(row["pct_at_least_15"], row["pct_at_least_15_hi"], lang),
                pct_text(row["pct_below_5"], row["pct_below_5_hi"], lang),
                pct_text(row["pct_national_range"], row["pct_national_range_hi"], lang),
                method if first == "region" else "",
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

    footer: tuple[str, str] = ("", "")  # (lang, fixed footer text), set per build

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:  # ReportLab names it
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        lang, fixed = self.footer
        total = len(self._pages)
        for number_, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(register_fonts(), 7)
            self.setFillColor(colors.HexColor("#555555"))
            self.drawString(15 * mm, 9 * mm, fixed)
            self.drawRightString(
                A4[0] - 15 * mm, 9 * mm, t(lang, "page", page=number_, pages=total)
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


def prepare_monitoring_data(
    urine_df: pd.DataFrame,
    salt_df: pd.DataFrame,
    *,
    params: ReportParams,
    previous: pd.DataFrame | None = None,
) -> MonitoringData:
    """The statistics behind a report (the slow part): summaries, bootstrap, trends, hashes."""
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
    )


def build_monitoring_report(
    urine_df: pd.DataFrame,
    salt_df: pd.DataFrame,
    *,
    params: ReportParams,
    lang: str,
    previous: pd.DataFrame | None = None,
    qc_annex: Mapping[str, Any] | None = None,
) -> bytes:
    """The monitoring report as PDF bytes. ``previous``: urine rows of earlier rounds (same columns)
    for the trend tables and charts. See the module docstring for ``qc_annex``."""
    texts.check_language(lang)
    data = prepare_monitoring_data(urine_df, salt_df, params=params, previous=previous)
    return render_monitoring_report(data, params=params, lang=lang, qc_annex=qc_annex)


def render_monitoring_report(
    data: MonitoringData,
    *,
    params: ReportParams,
    lang: str,
    qc_annex: Mapping[str, Any] | None = None,
) -> bytes:
    texts.check_language(lang)
    st = _Styles()
    sp = params.stats
    urine, salt, names = data.urine, data.salt, data.names
    urine_hash, urine_count = data.urine_fingerprint
    salt_hash, salt_count = data.salt_fingerprint

    story: list = []
    story += _cover(st, lang, params, data)
    story += [PageBreak()] + _summary(st, lang, params, urine, salt, names, data.trends)
    pooled = f"{t(lang, 'national_table')}: {texts.region_name(names, NATIONAL, lang)}"
    story += [PageBreak(), Paragraph(escape(pooled), st.h1)]
    urine_by_region, salt_by_region = _by_region(urine.table), _by_region(salt)
    story.append(
        _table(
            _urine_rows(urine_by_region.get(NATIONAL, []), lang, "group", names),
            URINE_WIDTHS,
            st,
            f"{t(lang, 'scheme')}: {sp.scheme.name}",
        )
    )
    story.append(
        _table(
            _salt_rows(salt_by_region.get(NATIONAL, []), lang, "method", names, sp),
            SALT_WIDTHS,
            st,
            f"{t(lang, 'salt_criteria')}: {sp.salt.label}",
        )
    )
    story.append(Paragraph(escape("* " + t(lang, "population_note")), st.small))
    story += _region_sections(st, lang, params, urine_by_region, salt_by_region, data.trends, names)
    story += [PageBreak()] + _charts(
        st, lang, params, data.urine_df, urine, data.earlier, salt, names
    )
    story += [PageBreak()] + _map(st, lang, params, urine, names)
    story += [PageBreak()] + _annex(st, lang, sp, urine, qc_annex or {})

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        invariant=1,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=16 * mm,
        title=t(lang, "title"),
        author=params.laboratory or "IodineLIMS",
        creator="IodineLIMS",
        subject=t(lang, "subtitle"),
    )
    footer = (
        f"{t(lang, 'issued')}: {params.issued.isoformat()} · "
        f"{t(lang, 'version')} {params.version} · "
        f"SHA-256 {urine_hash[:12]} ({urine_count} {t(lang, 'rows')}) / {salt_hash[:12]} "
        f"({salt_count} {t(lang, 'rows')})"
    )
    canvas_class = type("ReportCanvas", (_NumberedCanvas,), {"footer": (lang, footer)})
    doc.build(_flatten(story), canvasmaker=canvas_class)
    return buffer.getvalue()


def _cover(
    st: _Styles,
    lang: str,
    params: ReportParams,
    data: MonitoringData,
) -> list:
    periods = sorted(set(data.urine.table["period"]) | set(data.salt["period"]))
    rows = t(lang, "rows")
    datasets = [("UIC", data.urine_fingerprint), ("salt", data.salt_fingerprint)]
    if data.previous_fingerprint is not None:
        earlier = sorted(data.earlier.table["period"].unique()) if data.earlier else []
        datasets.append((f"UIC {', '.join(earlier)}", data.previous_fingerprint))
    lines = [
        (t(lang, "issued"), params.issued.isoformat()),
        (t(lang, "version"), params.version),
        (t(lang, "periods"), ", ".join(periods) or "—"),
        (t(lang, "scheme"), params.stats.scheme.name),
        (t(lang, "salt_criteria"), params.stats.salt.label),
    ] + [
        (f"{t(lang, 'dataset')} — {what}", f"{digest} ({count} {rows})")
        for what, (digest, count) in datasets
    ]
    story = [
        Spacer(1, 40 * mm),
        Paragraph(escape(t(lang, "title")), st.title),
        Paragraph(escape(t(lang, "subtitle")), st.h2),
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
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
            ]
        )
    )
    return story + [table]


def _latest(frame: pd.DataFrame) -> str | None:
    periods = sorted(frame["period"].unique())
    return periods[-1] if periods else None


def _summary(
    st: _Styles,
    lang: str,
    params: ReportParams,
    urine: UrineResult,
    salt: pd.DataFrame,
    names: texts.RegionNames,
    trends: pd.DataFrame | None,
) -> list:
    sp = params.stats
    story = [
        Paragraph(escape(t(lang, "summary")), st.h1),
        Paragraph(escape(t(lang, "summary_intro")), st.body),
        Paragraph(escape(f"{t(lang, 'scheme')}: {sp.scheme.name}"), st.small),
    ]
    regional = urine.table[urine.table.region_code != NATIONAL]
    latest = _latest(regional) if len(regional) else None
    groups = sorted(regional["group_code"].unique(), key=lambda g: (g != params.headline_group, g))
    for group in groups:
        rows = regional[(regional.group_code == group) & (regional.period == latest)]
        if not len(rows):
            continue
        table = sp.scheme.table(sp.group_kinds[group])
        for klass in list(table.classes) + ["indeterminate", "no_data"]:
            members = rows[rows.class_key == klass].sort_values("region_code")
            if not len(members):
                continue
            regions = ", ".join(texts.region_name(names, c, lang) for c in members["region_code"])
            story.append(
                Paragraph(
                    escape(
                        t(
                            lang,
                            "summary_line",
                            group=label(GROUP_LABELS, group, lang),
                            period=latest,
                            klass=label(CLASS_LABELS, klass, lang),
                            regions=regions,
                        )
                    ),
                    st.body,
                )
            )
    story += _summary_trends(st, lang, params, trends, latest)
    national_salt = salt[(salt.region_code == NATIONAL) & (salt.method != str(SaltMethod.RTK))]
    for row in national_salt.to_dict("records"):
        if row["period"] != _latest(national_salt):
            continue
        story.append(
            Paragraph(
                escape(
                    t(
                        lang,
                        "summary_salt",
                        period=row["period"],
                        method=label(METHOD_LABELS, row["method"], lang),
                        adequate=f"{sp.salt.adequate_at_least:g}",
                        pct=pct_text(row["pct_at_least_15"], row["pct_at_least_15_hi"], lang)
                        + " %",
                    )
                ),
                st.body,
            )
        )
    story.append(Paragraph(escape(t(lang, "population_note")), st.small))
    return story


def _summary_trends(
    st: _Styles, lang: str, params: ReportParams, trends: pd.DataFrame | None, latest: str | None
) -> list:
    """One line per group: the pooled median now against the latest earlier period's."""
    if trends is None or not len(trends) or latest is None:
        return []
    pooled = trends[(trends.region_code == NATIONAL) & (trends.period == latest)]
    story = []
    for group in sorted(set(pooled.group_code), key=lambda g: (g != params.headline_group, g)):
        row = pooled[pooled.group_code == group].sort_values("earlier_period").iloc[-1]
        difference = "—" if math.isnan(row["difference"]) else number(row["difference"], lang)
        if not (math.isnan(row["diff_ci_low"]) or math.isnan(row["diff_ci_high"])):
            difference += (f"; {t(lang, 'ci95')} {number(row['diff_ci_low'], lang)}"
                           f"…{number(row['diff_ci_high'], lang)}")
        story.append(Paragraph(escape(t(
            lang, "summary_trend", group=label(GROUP_LABELS, group, lang), period=latest,
            median=value_text(row["median"], math.nan, lang),
            earlier=value_text(row["earlier_median"], math.nan, lang),
            earlier_period=row["earlier_period"], difference=difference)), st.body))
    return story


def _region_sections(
    st: _Styles,
    lang: str,
    params: ReportParams,
    urine_by_region: dict[str, Records],
    salt_by_region: dict[str, Records],
    trends: pd.DataFrame | None,
    names: texts.RegionNames,
) -> list:
    sp = params.stats
    story = [PageBreak(), Paragraph(escape(t(lang, "regions")), st.h1)]
    trend_rows_of = _by_region(trends) if trends is not None else {}
    for code in sorted((set(urine_by_region) | set(salt_by_region)) - {NATIONAL}):
        section = [Paragraph(escape(texts.region_name(names, code, lang)), st.h2)]
        if rows := urine_by_region.get(code):
            section.append(
                _table(
                    _urine_rows(rows, lang, "group", names),
                    URINE_WIDTHS,
                    st,
                    f"{t(lang, 'scheme')}: {sp.scheme.name}",
                )
            )
        if salt_here := salt_by_region.get(code):
            section.append(
                _table(
                    _salt_rows(salt_here, lang, "method", names, sp),
                    SALT_WIDTHS,
                    st,
                    f"{t(lang, 'salt_criteria')}: {sp.salt.label}",
                )
            )
        if here := trend_rows_of.get(code):
            trend_rows = [
                [
                    t(lang, "group"),
                    t(lang, "period"),
                    t(lang, "earlier"),
                    t(lang, "median"),
                    t(lang, "earlier_median"),
                    t(lang, "difference"),
                ]
            ]
            for r in here:
                diff = "—" if math.isnan(r["difference"]) else number(r["difference"], lang)
                if not math.isnan(r["diff_ci_low"]) and not math.isnan(r["diff_ci_high"]):
                    diff += (
                        f" ({number(r['diff_ci_low'], lang)}; {number(r['diff_ci_high'], lang)})"
                    )
                trend_rows.append(
                    [
                        label(GROUP_LABELS, r["group_code"], lang),
                        r["period"],
                        r["earlier_period"],
                        value_text(r["median"], math.nan, lang),
                        value_text(r["earlier_median"], math.nan, lang),
                        diff,
                    ]
                )
            section.append(Paragraph(escape(t(lang, "trends")), st.small))
            section.append(
                _table(
                    trend_rows,
                    [40 * mm, 15 * mm, 15 * mm, 28 * mm, 25 * mm, 45 * mm],
                    st,
                    f"{t(lang, 'scheme')}: {sp.scheme.name}",
                )
            )
        story += section
    return _flatten(story)


def _bar(row: Mapping[str, Any], label_text: str, lang: str) -> charts.Bar:
    def num(v: float) -> float | None:
        return None if math.isnan(v) else float(v)

    return charts.Bar(
        label_text,
        num(row["median"]),
        num(row["ci_low"]),
        num(row["ci_high"]),
        row["class_key"],
        num(row["median_below"]),
        value_text(row["median"], row["median_below"], lang),
    )


def _charts(
    st: _Styles,
    lang: str,
    params: ReportParams,
    urine_df: pd.DataFrame,
    urine: UrineResult,
    earlier: UrineResult | None,
    salt: pd.DataFrame,
    names: texts.RegionNames,
) -> list:
    sp = params.stats
    story = [
        Paragraph(escape(t(lang, "charts")), st.h1),
        Paragraph(escape(f"{t(lang, 'scheme')}: {sp.scheme.name}"), st.small),
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
            _bar(r, texts.region_name(names, r["region_code"], lang), lang)
            for r in rows.to_dict("records")
        ]
        story.append(
            charts.horizontal_bars(
                bars,
                t(lang, "chart_median", group=label(GROUP_LABELS, group, lang), period=latest),
                cutoffs=sp.scheme.table(kind).breaks,
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
                    lang,
                    "chart_hist",
                    group=label(GROUP_LABELS, head, lang),
                    period=latest,
                    n=len(chosen),
                ),
            )
        )
    quantitative = salt[(salt.region_code != NATIONAL) & (salt.method != str(SaltMethod.RTK))]
    salt_latest = _latest(quantitative) if len(quantitative) else None
    if salt_latest is not None:
        rows = quantitative[quantitative.period == salt_latest].sort_values(
            ["region_code", "method"]
        )
        bars = [
            charts.Bar(
                f"{texts.region_name(names, r['region_code'], lang)} · "
                f"{label(METHOD_LABELS, r['method'], lang)}",
                None if math.isnan(r["pct_at_least_15"]) else r["pct_at_least_15"],
                class_key="salt_target_met" if r["pct_at_least_15"] > 90 else "salt_below_target",
                text=pct_text(r["pct_at_least_15"], r["pct_at_least_15_hi"], lang),
            )
            for r in rows.to_dict("records")
        ]
        story.append(Spacer(1, 4 * mm))
        story.append(
            charts.horizontal_bars(
                bars,
                t(lang, "chart_salt", cut=f"{sp.salt.adequate_at_least:g}", period=salt_latest),
                unit_max=100,
                target=90,
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
            series.append(charts.Series(label(GROUP_LABELS, group, lang), points))
        story.append(Spacer(1, 4 * mm))
        story.append(
            charts.trend_lines(
                periods,
                series,
                t(lang, "chart_trend", group=texts.region_name(names, NATIONAL, lang)),
            )
        )
    return story


def _map(
    st: _Styles, lang: str, params: ReportParams, urine: UrineResult, names: texts.RegionNames
) -> list:
    sp = params.stats
    head = params.headline_group
    regional = urine.table[(urine.table.region_code != NATIONAL) & (urine.table.group_code == head)]
    latest = _latest(regional) if len(regional) else None
    cells = {
        r["region_code"]: (r["class_key"], value_text(r["median"], r["median_below"], lang, 0))
        for r in regional[regional.period == latest].to_dict("records")
    }
    table = sp.scheme.table(sp.group_kinds[head]) if head in sp.group_kinds else None
    keys = list(table.classes if table else []) + ["indeterminate", "no_data"]
    legend = [(k, label(CLASS_LABELS, k, lang)) for k in keys]
    map_names = {code: texts.region_name(names, code, lang) for code in set(names) | set(cells)}
    title = f"{t(lang, 'map')}: {label(GROUP_LABELS, head, lang)}, {latest or '—'}"
    return [
        Paragraph(escape(t(lang, "map")), st.h1),
        Paragraph(escape(f"{t(lang, 'scheme')}: {sp.scheme.name}"), st.small),
        tile_map(cells, map_names, title, legend),
    ]


def _annex(
    st: _Styles, lang: str, sp: StatsParams, urine: UrineResult, qc: Mapping[str, Any]
) -> list:
    story = [Paragraph(escape(t(lang, "annex")), st.h1)]
    methods = qc.get("methods") or []
    story.append(Paragraph(escape(t(lang, "annex_methods")), st.h2))
    for line in ([methods] if isinstance(methods, str) else methods) or [t(lang, "annex_none")]:
        story.append(Paragraph(escape(str(line)), st.body))
    for key, title in (("calibration_range", "annex_calibration"), ("lod", "annex_lod")):
        story.append(
            Paragraph(escape(f"{t(lang, title)}: {qc.get(key) or t(lang, 'annex_none')}"), st.body)
        )
    story.append(Paragraph(escape(t(lang, "annex_controls")), st.h2))
    controls = qc.get("controls") or []
    if controls:
        rows = [
            [t(lang, "annex_control"), "target", "n", t(lang, "annex_mean"), t(lang, "annex_cv")]
        ]
        for c in controls:
            rows.append(
                [
                    str(c.get("name", "")),
                    _qc_number(c.get("target"), lang),
                    str(c.get("n", "")),
                    _qc_number(c.get("mean"), lang),
                    _qc_number(c.get("cv"), lang),
                ]
            )
        story.append(
            _table(
                rows, [40 * mm, 25 * mm, 15 * mm, 25 * mm, 20 * mm], st, t(lang, "annex_controls")
            )
        )
    else:
        story.append(Paragraph(escape(t(lang, "annex_none")), st.body))
    story.append(Paragraph(escape(t(lang, "annex_rejected_runs")), st.h2))
    runs = qc.get("rejected_runs") or []
    if runs:
        rows = [["run", "date", "reason"]] + [
            [str(r.get("run", "")), str(r.get("date", "")), str(r.get("reason", ""))] for r in runs
        ]
        story.append(_table(rows, [35 * mm, 25 * mm, 110 * mm], st, t(lang, "annex_rejected_runs")))
    else:
        story.append(Paragraph(escape(t(lang, "annex_none")), st.body))
    story.append(Paragraph(escape(t(lang, "annex_eqa")), st.h2))
    for line in qc.get("eqa") or [t(lang, "annex_none")]:
        story.append(Paragraph(escape(str(line)), st.body))
    clustered = bool(urine.table["clustered"].any()) if len(urine.table) else False
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            escape(
                t(
                    lang,
                    "bootstrap_note",
                    replicates=sp.replicates,
                    seed=sp.seed,
                    clusters=t(lang, "bootstrap_clusters") if clustered else "",
                )
            ),
            st.small,
        ),
        Paragraph(escape(t(lang, "censored_note")), st.small),
        Paragraph(escape(t(lang, "rtk_note")), st.small),
        Paragraph(escape(f"{t(lang, 'scheme')}: {sp.scheme.name}"), st.small),
        Paragraph(escape(f"{t(lang, 'salt_criteria')}: {sp.salt.label}"), st.small),
    ]
    return _flatten(story)


def _qc_number(value: Any, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return number(float(value), lang) if isinstance(value, (int, float)) else str(value)
