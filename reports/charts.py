"""ReportLab drawings for the monitoring report: medians by region, distributions, salt coverage,
trends. Plain numbers in, ``Drawing`` out; the caller translates labels.

Drawn with shapes rather than ReportLab's chart widgets because each chart needs per-bar colours by
class, censored values and cut-off lines, which the widgets make awkward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from reportlab.graphics.shapes import Drawing, Group, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from reports.criteria import CLASS_COLOURS
from reports.fonts import embedded_drawing, register_fonts, runs

WIDTH = 170 * mm
AXIS = colors.HexColor("#444444")
GRID = colors.HexColor("#dddddd")
CUT = colors.HexColor("#b2182b")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no number (no data, or a censored median: see ``below``)
    low: float | None = None  # CI whisker
    high: float | None = None
    class_key: str = "no_data"
    below: float | None = None  # a censored value: known only to lie below this bound
    text: str = ""  # the figure printed at the end of the bar


def text_width(text: str, size: float) -> float:
    return sum(stringWidth(piece, font, size) for font, piece in runs(text))


def fit(text: str, font: str, size: float, width: float) -> float:
    """The largest font size ≤ ``size`` (down to 4 pt) at which ``text`` fits in ``width``."""
    while size > 4 and text_width(text, size) > width:
        size -= 0.25
    return size


def label_text(
    x: float,
    y: float,
    text: str,
    size: float,
    *,
    anchor: str = "start",
    colour: colors.Color = AXIS,
) -> Group:
    """A string that may contain "≥"/"≤" (drawn in the Symbol font, see ``reports.fonts``)."""
    width = text_width(text, size)
    x -= {"start": 0, "middle": width / 2, "end": width}[anchor]
    group = Group()
    for font, piece in runs(text):
        group.add(String(x, y, piece, fontName=font, fontSize=size, fillColor=colour))
        x += stringWidth(piece, font, size)
    return group


def nice_scale(value: float, intervals: int = 5) -> tuple[float, float]:
    """(top, step) of an axis from 0 that shows ``value``: the step a 1-2-5 number (…, 10, 20,
    50, 100, …) giving at most ``intervals`` intervals, the top the first multiple of it at or
    above ``value`` — ticks at 0, 50, 100, 150, never at 62.5 or 187.5."""
    if value <= 0 or not math.isfinite(value):
        return 1.0, 0.2
    power = 10 ** math.floor(math.log10(value / intervals))
    for factor in (1, 2, 5, 10):
        step = factor * power
        if math.ceil(value / step - 1e-9) <= intervals:
            return round(math.ceil(value / step - 1e-9) * step, 10), step
    return 10 * power * intervals, 10 * power


def ticks(top: float, step: float) -> list[float]:
    """0, step, 2·step, … top (rounded, so that 0.1 + 0.2 prints as 0.3)."""
    return [round(i * step, 10) for i in range(int(round(top / step)) + 1)]


def legend_row(d: Drawing, entries: Sequence[tuple[str, str]], y: float, font: str,
               width: float) -> None:
    """Colour swatches with their labels in one or more rows from ``y`` down: every chart that
    colours by class says what its colours mean."""
    column = width / max(1, min(len(entries), 3))
    for i, (key, text) in enumerate(entries):
        x, row_y = (i % 3) * column, y - (i // 3) * 10
        d.add(Rect(x, row_y, 10, 6, fillColor=colors.HexColor(CLASS_COLOURS.get(key, key)),
                   strokeColor=AXIS, strokeWidth=0.3))
        d.add(String(x + 13, row_y + 1, text, fontName=font,
                     fontSize=fit(text, font, 6.5, column - 16), fillColor=AXIS))


def _title(d: Drawing, text: str, font: str) -> None:
    d.add(label_text(0, d.height - 10, text, fit(text, font, 9, d.width)))


def horizontal_bars(
    bars: Sequence[Bar],
    title: str,
    *,
    unit_max: float | None = None,
    cutoffs: Sequence[float] = (),
    target: float | None = None,
    legend: Sequence[tuple[str, str]] = (),
) -> Drawing:
    """One horizontal bar per row, coloured by class, with CI whiskers and vertical cut-off lines.
    A censored value is drawn as a hatched bar to its bound, labelled "< x". ``legend``: (class
    key, label) of the colours, drawn under the axis."""
    font = register_fonts()
    row = 5.2 * mm
    label_w = 55 * mm
    top = 16
    legend_h = 10 * math.ceil(len(legend) / 3)
    height = top + row * max(len(bars), 1) + 18 + legend_h
    d = embedded_drawing(WIDTH, height)
    _title(d, title, font)
    plot_w = WIDTH - label_w - 22 * mm
    highs = [
        v for b in bars for v in (b.value, b.high, b.below) if v is not None and math.isfinite(v)
    ]
    vmax, step = nice_scale(unit_max or max(highs + list(cutoffs) + [target or 0], default=1))
    x0 = label_w
    y_axis = 14 + legend_h
    if legend:
        legend_row(d, legend, legend_h - 6, font, WIDTH)

    def sx(v: float) -> float:
        return x0 + plot_w * min(max(v, 0), vmax) / vmax

    for v in ticks(vmax, step):
        d.add(Line(sx(v), y_axis, sx(v), height - top, strokeColor=GRID, strokeWidth=0.4))
        d.add(
            String(
                sx(v),
                y_axis - 8,
                f"{v:g}",
                fontName=font,
                fontSize=6,
                textAnchor="middle",
                fillColor=AXIS,
            )
        )
    for i, bar in enumerate(bars):
        y = height - top - (i + 1) * row + 1
        d.add(
            label_text(
                x0 - 3, y + 1.2, bar.label, fit(bar.label, font, 6.5, label_w - 4), anchor="end"
            )
        )
        colour = colors.HexColor(CLASS_COLOURS.get(bar.class_key, "#999999"))
        if bar.value is not None:
            d.add(Rect(x0, y, sx(bar.value) - x0, row - 2, fillColor=colour, strokeColor=None))
            end = sx(bar.value)
        elif bar.below is not None:
            d.add(
                Rect(
                    x0,
                    y,
                    sx(bar.below) - x0,
                    row - 2,
                    fillColor=colors.white,
                    strokeColor=colour,
                    strokeWidth=0.6,
                    strokeDashArray=[1.5, 1.5],
                )
            )
            end = sx(bar.below)
        else:
            end = x0
        if bar.low is not None and bar.high is not None:
            mid = y + (row - 2) / 2
            d.add(Line(sx(bar.low), mid, sx(bar.high), mid, strokeColor=AXIS, strokeWidth=0.6))
            for v in (bar.low, bar.high):
                d.add(Line(sx(v), mid - 1.5, sx(v), mid + 1.5, strokeColor=AXIS, strokeWidth=0.6))
            end = max(end, sx(bar.high))
        if bar.text:
            d.add(String(end + 2, y + 1.2, bar.text, fontName=font, fontSize=6, fillColor=AXIS))
    for cut in cutoffs:
        d.add(
            Line(
                sx(cut),
                y_axis,
                sx(cut),
                height - top,
                strokeColor=CUT,
                strokeWidth=0.5,
                strokeDashArray=[2, 2],
            )
        )
    if target is not None:
        d.add(
            Line(
                sx(target),
                y_axis,
                sx(target),
                height - top,
                strokeColor=colors.HexColor("#31a354"),
                strokeWidth=0.8,
                strokeDashArray=[3, 1.5],
            )
        )
    d.add(Line(x0, y_axis, x0 + plot_w, y_axis, strokeColor=AXIS, strokeWidth=0.5))
    return d


def histogram(
    values: np.ndarray,
    censored: int,
    cutoffs: Sequence[float],
    title: str,
    *,
    bin_width: float = 25.0,
    top: float = 600.0,
    lod_label: str = "< LOD",
) -> Drawing:
    """Distribution of the detected values in ``bin_width`` bins up to ``top`` (the last bin is
    open), with a separate bar for the censored results and vertical lines at the cut-offs."""
    font = register_fonts()
    d = embedded_drawing(WIDTH, 62 * mm)
    _title(d, title, font)
    edges = np.arange(0, top + bin_width, bin_width)
    counts, _ = np.histogram(np.minimum(values, top - bin_width / 2), bins=edges)
    x0, y0 = 14 * mm, 12
    plot_w, plot_h = WIDTH - x0 - 4 * mm, d.height - y0 - 18
    slot = plot_w / (len(counts) + 1.5)
    cmax, step = nice_scale(max(int(counts.max(initial=0)), censored, 1), 4)

    def sy(c: float) -> float:
        return y0 + plot_h * c / cmax

    for c in ticks(cmax, step):
        d.add(Line(x0, sy(c), x0 + plot_w, sy(c), strokeColor=GRID, strokeWidth=0.4))
        d.add(
            String(
                x0 - 2,
                sy(c) - 2,
                f"{c:g}",
                fontName=font,
                fontSize=6,
                textAnchor="end",
                fillColor=AXIS,
            )
        )
    d.add(
        Rect(
            x0,
            y0,
            slot * 0.9,
            sy(censored) - y0,
            fillColor=colors.HexColor("#bdbdbd"),
            strokeColor=None,
        )
    )
    d.add(
        String(
            x0 + slot * 0.45,
            y0 - 8,
            lod_label,
            fontName=font,
            fontSize=5.5,
            textAnchor="middle",
            fillColor=AXIS,
        )
    )
    start = x0 + 1.5 * slot

    def sx(v: float) -> float:
        return start + slot * v / bin_width

    for i, c in enumerate(counts):
        d.add(
            Rect(
                sx(edges[i]),
                y0,
                slot * 0.95,
                sy(c) - y0,
                fillColor=colors.HexColor("#6baed6"),
                strokeColor=None,
            )
        )
    for v in edges[::4]:
        d.add(
            String(
                sx(v),
                y0 - 8,
                f"{v:g}" + ("+" if v >= top else ""),
                fontName=font,
                fontSize=6,
                textAnchor="middle",
                fillColor=AXIS,
            )
        )
    for cut in cutoffs:
        d.add(
            Line(
                sx(cut),
                y0,
                sx(cut),
                y0 + plot_h,
                strokeColor=CUT,
                strokeWidth=0.6,
                strokeDashArray=[2, 2],
            )
        )
        d.add(
            String(
                sx(cut) + 1, y0 + plot_h - 6, f"{cut:g}", fontName=font, fontSize=6, fillColor=CUT
            )
        )
    d.add(Line(x0, y0, x0 + plot_w, y0, strokeColor=AXIS, strokeWidth=0.5))
    return d


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[
        tuple[float | None, float | None, float | None]
    ]  # (median, ci_low, ci_high) per period


def trend_lines(periods: Sequence[str], series: Sequence[Series], title: str) -> Drawing:
    """Medians by survey round, one line per series, with CI whiskers (points without a number —
    no data or a censored median — break the line)."""
    font = register_fonts()
    palette = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
    ]
    legend_rows = math.ceil(len(series) / 3)
    d = embedded_drawing(WIDTH, 60 * mm + legend_rows * 9)
    _title(d, title, font)
    x0, y0 = 14 * mm, 14 + legend_rows * 9
    plot_w, plot_h = WIDTH - x0 - 6 * mm, d.height - y0 - 18
    values = [v for s in series for p in s.points for v in p if v is not None and math.isfinite(v)]
    vmax, step = nice_scale(max(values, default=1) * 1.05, 5)

    def sx(i: int) -> float:
        return x0 + plot_w * (i + 0.5) / max(len(periods), 1)

    def sy(v: float) -> float:
        return y0 + plot_h * v / vmax

    for v in ticks(vmax, step):
        d.add(Line(x0, sy(v), x0 + plot_w, sy(v), strokeColor=GRID, strokeWidth=0.4))
        d.add(
            String(
                x0 - 2,
                sy(v) - 2,
                f"{v:g}",
                fontName=font,
                fontSize=6,
                textAnchor="end",
                fillColor=AXIS,
            )
        )
    for i, p in enumerate(periods):
        d.add(
            String(
                sx(i), y0 - 8, p, fontName=font, fontSize=6.5, textAnchor="middle", fillColor=AXIS
            )
        )
    for k, s in enumerate(series):
        colour = colors.HexColor(palette[k % len(palette)])
        run: list[float] = []
        for i, (median, low, high) in enumerate(s.points):
            if median is None:
                if len(run) >= 4:
                    d.add(PolyLine(run, strokeColor=colour, strokeWidth=0.9))
                run = []
                continue
            run += [sx(i), sy(median)]
            d.add(Rect(sx(i) - 1.5, sy(median) - 1.5, 3, 3, fillColor=colour, strokeColor=None))
            if low is not None and high is not None:
                d.add(Line(sx(i), sy(low), sx(i), sy(high), strokeColor=colour, strokeWidth=0.5))
        if len(run) >= 4:
            d.add(PolyLine(run, strokeColor=colour, strokeWidth=0.9))
        lx, ly = (k % 3) * WIDTH / 3, 2 + (legend_rows - 1 - k // 3) * 9
        d.add(Rect(lx, ly, 6, 3, fillColor=colour, strokeColor=None))
        d.add(
            String(
                lx + 8,
                ly,
                s.label,
                fontName=font,
                fontSize=fit(s.label, font, 6.5, WIDTH / 3 - 10),
                fillColor=AXIS,
            )
        )
    d.add(Line(x0, y0, x0 + plot_w, y0, strokeColor=AXIS, strokeWidth=0.5))
    return d
