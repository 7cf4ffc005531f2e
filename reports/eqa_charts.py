"""Charts of the EQA documents: the results of a material (histogram with a kernel density, x_pt
and the ±2σ_pt / ±3σ_pt bands), a Youden plot of a pair of materials, and a laboratory's scores
over rounds. Plain numbers in, a ``Figure`` (ReportLab drawing plus its alternative text) out;
nothing here knows about the LIMS.

Every chart says what its lines and marks mean in a legend, tells lines apart by dash pattern as
well as colour (WCAG 1.4.1), and comes with an alternative text in the report's language that the
document prints under it: a reader who cannot see the chart reads the same facts.

A value far out (an outlier by a gross error, a unit mix-up) would squeeze every other result
into one bar: each axis spans the bands and the results up to ``SPAN_SIGMAS`` σ_pt (or score
units) from the centre, and a point beyond that is drawn as a triangle at the edge with its
value written, and named in the alternative text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from reports.charts import AXIS, GRID, fit, label_text, nice_scale
from reports.fonts import embedded_drawing, register_fonts
from reports.monitoring_report import number
from reports.texts import Translator

__all__ = ["SPAN_SIGMAS", "Figure", "HistoryMark", "YoudenPoint", "history_chart",
           "kde_bandwidth", "kernel_density", "results_chart", "youden_chart"]

WIDTH = 170 * mm
#: How far from the centre an axis reaches at most, in σ_pt (or score units); beyond: at the edge.
SPAN_SIGMAS = 6.0
CENTRE = colors.black
WARN = colors.HexColor("#e6550d")  # ±2: questionable from here on
ACTION = colors.HexColor("#b2182b")  # ±3: unsatisfactory from here on
BAND_2 = colors.HexColor("#e5f5e0")
BAND_3 = colors.HexColor("#fff3cd")
BARS = colors.HexColor("#9ecae1")
DENSITY = colors.HexColor("#08519c")
DASH_2 = (4, 2)
DASH_3 = (1.2, 1.8)
#: Two columns: the Russian and Kazakh legend texts are long, three would shrink them unreadably.
LEGEND_COLUMNS = 2


@dataclass(frozen=True)
class Figure:
    """A chart and its alternative text (what the chart shows, in words and figures)."""

    drawing: Drawing
    alt: str


@dataclass(frozen=True)
class YoudenPoint:
    """One laboratory's pair of results (by code only)."""

    code: str
    a: float
    b: float


@dataclass(frozen=True)
class HistoryMark:
    """One score of a laboratory: the round's label on the axis, the material, the score."""

    round_label: str
    material: str
    score: float


# --- kernel density -------------------------------------------------------------------------------


def kde_bandwidth(values: Sequence[float], fallback: float) -> float:
    """Silverman's rule of thumb, h = 0.9·min(s, IQR/1.34)·n^(−1/5) (s alone where the IQR is 0);
    ``fallback`` where the results have no spread (one result, or all identical), so the curve
    is a bump of that width rather than a division by zero."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return fallback
    s = float(np.std(x, ddof=1))
    q75, q25 = np.percentile(x, [75, 25])
    spread = min(s, float(q75 - q25) / 1.34) if q75 > q25 else s
    h = 0.9 * spread * len(x) ** -0.2
    return h if h > 0 else fallback


def kernel_density(values: Sequence[float], grid: Sequence[float], bandwidth: float) -> np.ndarray:
    """The Gaussian kernel density estimate of ``values`` at ``grid`` (integrates to 1)."""
    x = np.asarray(values, dtype=float)[:, None]
    u = (np.asarray(grid, dtype=float)[None, :] - x) / bandwidth
    return np.exp(-0.5 * u * u).sum(axis=0) / (len(x) * bandwidth * math.sqrt(2 * math.pi))


# --- drawing helpers ------------------------------------------------------------------------------


def _axis_digits(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0


def _ticks(low: float, high: float, count: int = 6) -> tuple[list[float], int]:
    """Round tick values within [low, high] (a 1-2-5 step) and the decimals to print them with."""
    _, step = nice_scale(high - low, count)
    first = math.ceil(low / step - 1e-9)
    values = [round((first + i) * step, 10) for i in range(int((high - low) / step) + 2)]
    return [v for v in values if low - 1e-9 <= v <= high + 1e-9], _axis_digits(step)


def _title(d: Drawing, text: str) -> None:
    font = register_fonts()
    d.add(label_text(0, d.height - 10, text, fit(text, font, 9, d.width)))


def _marker(d: Drawing, kind: str, x: float, y: float, size: float, fill: colors.Color) -> None:
    r = size / 2
    if kind == "square":
        d.add(Rect(x - r, y - r, size, size, fillColor=fill, strokeColor=AXIS, strokeWidth=0.4))
    elif kind == "triangle":
        d.add(Polygon([x - r, y - r, x + r, y - r, x, y + r], fillColor=fill, strokeColor=AXIS,
                      strokeWidth=0.4))
    elif kind == "diamond":
        d.add(Polygon([x, y - r, x + r, y, x, y + r, x - r, y], fillColor=fill,
                      strokeColor=AXIS, strokeWidth=0.4))
    else:
        d.add(Circle(x, y, r, fillColor=fill, strokeColor=AXIS, strokeWidth=0.4))


def _edge_arrow(d: Drawing, x: float, y: float, direction: str, text: str) -> None:
    """A triangle pointing off the plot (``direction`` left/right/up/down) with ``text``."""
    s = 4.5
    points = {"left": [x, y, x + s, y - s, x + s, y + s],
              "right": [x, y, x - s, y - s, x - s, y + s],
              "up": [x, y, x - s, y - s, x + s, y - s],
              "down": [x, y, x - s, y + s, x + s, y + s]}[direction]
    d.add(Polygon(points, fillColor=ACTION, strokeColor=ACTION, strokeWidth=0.4))
    anchor = {"left": "start", "right": "end"}.get(direction, "middle")
    dx = {"left": s + 2, "right": -s - 2}.get(direction, 0)
    dy = {"up": -s - 8, "down": s + 2}.get(direction, s + 1)
    d.add(label_text(x + dx, y + dy, text, 6.5, anchor=anchor, colour=ACTION))


#: A legend entry: a filled box of a colour, a line (colour, width, dash pattern or None), or a
#: marker (shape, fill colour); each with its text.
LegendEntry = (tuple[Literal["box"], str, colors.Color]
               | tuple[Literal["line"], str, tuple[colors.Color, float, tuple[float, float] | None]]
               | tuple[Literal["marker"], str, tuple[str, colors.Color]])


def _legend(d: Drawing, entries: Sequence[LegendEntry], y: float) -> None:
    """Legend entries in rows of ``LEGEND_COLUMNS`` from ``y`` down: a filled box, a line with
    its dash pattern, or a marker, each with its text."""
    font = register_fonts()
    column = d.width / LEGEND_COLUMNS
    for i, (kind, text, style) in enumerate(entries):
        x, row_y = (i % LEGEND_COLUMNS) * column, y - (i // LEGEND_COLUMNS) * 10
        if kind == "box":
            d.add(Rect(x, row_y, 12, 6, fillColor=style, strokeColor=AXIS, strokeWidth=0.3))
        elif kind == "line":
            colour, width, dash = style
            d.add(Line(x, row_y + 3, x + 12, row_y + 3, strokeColor=colour, strokeWidth=width,
                       strokeDashArray=dash))
        else:
            shape, fill = style
            _marker(d, shape, x + 6, row_y + 3, 5, fill)
        d.add(label_text(x + 15, row_y + 1, text, fit(text, font, 6.5, column - 18)))


def _rows(entries: int) -> int:
    return math.ceil(entries / LEGEND_COLUMNS)


def _x_axis(d: Drawing, ticks: list[float], digits: int, sx: Callable[[float], float],
            y: float, top: float, tr: Translator, label: str) -> None:
    """Vertical grid lines at ``ticks`` from ``y`` to ``top``, their values and the axis label."""
    for v in ticks:
        d.add(Line(sx(v), y, sx(v), top, strokeColor=GRID, strokeWidth=0.3))
        d.add(label_text(sx(v), y - 8, number(v, tr, digits), 6.5, anchor="middle"))
    middle = (sx(ticks[0]) + sx(ticks[-1])) / 2 if ticks else d.width / 2
    d.add(label_text(middle, y - 17, label, 7, anchor="middle"))


# --- results of one material ----------------------------------------------------------------------


def results_chart(values: Sequence[float], x_pt: float, sigma_pt: float, *, tr: Translator,
                  title: str, unit: str, digits: int = 1) -> Figure:
    """The results of one material: a histogram in bins of σ_pt/2 aligned on x_pt (so the ±2σ_pt
    and ±3σ_pt limits fall on bin edges), the Gaussian kernel density scaled to the counts, x_pt
    as a solid line, ±2σ_pt dashed over a green band, ±3σ_pt dotted over an amber band."""
    if not (math.isfinite(x_pt) and math.isfinite(sigma_pt) and sigma_pt > 0):
        raise ValueError(f"a results chart needs a finite x_pt and σ_pt > 0, got {x_pt}, {sigma_pt}")
    values = [float(v) for v in values if math.isfinite(v)]
    low_limit, high_limit = x_pt - SPAN_SIGMAS * sigma_pt, x_pt + SPAN_SIGMAS * sigma_pt
    inside = [v for v in values if low_limit <= v <= high_limit]
    below = sorted(v for v in values if v < low_limit)
    above = sorted(v for v in values if v > high_limit)
    low = min([x_pt - 4 * sigma_pt, *inside])
    high = max([x_pt + 4 * sigma_pt, *inside])
    width = sigma_pt / 2
    first = math.floor((low - x_pt) / width - 1e-9)
    last = math.ceil((high - x_pt) / width + 1e-9)
    edges = x_pt + width * np.arange(first, last + 1)
    counts = np.histogram(inside, bins=edges)[0] if inside else np.zeros(len(edges) - 1, int)
    h = kde_bandwidth(values, sigma_pt / 4)
    grid = np.linspace(edges[0], edges[-1], 200)
    density = (kernel_density(values, grid, h) * len(values) * width if values
               else np.zeros_like(grid))
    legend: list[LegendEntry] = [
        ("box", tr.gettext("Results per interval of σₚₜ/2"), BARS),
        ("line", tr.gettext("Kernel density (Gaussian, Silverman's bandwidth)"),
         (DENSITY, 1.2, None)),
        ("line", tr.gettext("Assigned value xₚₜ"), (CENTRE, 1.0, None)),
        ("line", tr.gettext("xₚₜ ± 2σₚₜ"), (WARN, 0.9, DASH_2)),
        ("line", tr.gettext("xₚₜ ± 3σₚₜ"), (ACTION, 0.9, DASH_3)),
    ]
    if below or above:
        legend.append(("marker", tr.gettext("Results off the scale (value written)"),
                       ("triangle", ACTION)))
    legend_h = 10 * _rows(len(legend))
    height = 62 * mm + legend_h
    d = embedded_drawing(WIDTH, height)
    _title(d, title)
    x0, x1 = 26.0, WIDTH - 8
    y0, y1 = legend_h + 30, height - 22
    ymax, ystep = nice_scale(max(float(counts.max(initial=0)), float(density.max(initial=0)), 1))
    if ystep < 1:
        ymax, ystep = float(max(1, math.ceil(ymax))), 1.0

    def sx(v: float) -> float:
        return x0 + (x1 - x0) * (v - edges[0]) / (edges[-1] - edges[0])

    def sy(c: float) -> float:
        return y0 + (y1 - y0) * min(c, ymax) / ymax

    for k, fill in ((3, BAND_3), (2, BAND_2)):
        a, b = max(x_pt - k * sigma_pt, edges[0]), min(x_pt + k * sigma_pt, edges[-1])
        d.add(Rect(sx(a), y0, sx(b) - sx(a), y1 - y0, fillColor=fill, strokeColor=None))
    count = 0.0
    while count <= ymax + 1e-9:
        d.add(Line(x0, sy(count), x1, sy(count), strokeColor=GRID, strokeWidth=0.3))
        d.add(label_text(x0 - 3, sy(count) - 2, number(count, tr, 0), 6.5, anchor="end"))
        count += ystep
    ticks, digits_axis = _ticks(float(edges[0]), float(edges[-1]))
    _x_axis(d, ticks, digits_axis, sx, y0, y1, tr, unit)
    for i, c in enumerate(counts):
        if c:
            d.add(Rect(sx(edges[i]), y0, sx(edges[i + 1]) - sx(edges[i]), sy(c) - y0,
                       fillColor=BARS, strokeColor=AXIS, strokeWidth=0.3))
    if values:
        d.add(PolyLine([p for g, v in zip(grid, density) for p in (sx(g), sy(v))],
                       strokeColor=DENSITY, strokeWidth=1.2))
    d.add(Line(sx(x_pt), y0, sx(x_pt), y1, strokeColor=CENTRE, strokeWidth=1.0))
    for k, colour, dash in ((2, WARN, DASH_2), (3, ACTION, DASH_3)):
        for sign in (-1, 1):
            v = x_pt + sign * k * sigma_pt
            d.add(Line(sx(v), y0, sx(v), y1, strokeColor=colour, strokeWidth=0.9,
                       strokeDashArray=dash))
    d.add(Line(x0, y0, x1, y0, strokeColor=AXIS, strokeWidth=0.6))
    d.add(Line(x0, y0, x0, y1, strokeColor=AXIS, strokeWidth=0.6))
    mid = (y0 + y1) / 2
    if below:
        _edge_arrow(d, x0 + 1, mid, "left", ", ".join(number(v, tr, digits) for v in below))
    if above:
        _edge_arrow(d, x1 - 1, mid, "right", ", ".join(number(v, tr, digits) for v in above))
    _legend(d, legend, legend_h - 6)
    alt = tr.ngettext(
        "Histogram of %(num)d result with its kernel density (bandwidth %(h)s %(unit)s).",
        "Histogram of %(num)d results with their kernel density (bandwidth %(h)s %(unit)s).",
        len(values), h=number(h, tr, digits + 1), unit=unit)
    alt += " " + tr.gettext(
        "Assigned value %(x_pt)s %(unit)s; ±2σₚₜ from %(low2)s to %(high2)s, ±3σₚₜ from "
        "%(low3)s to %(high3)s %(unit)s. Within ±2σₚₜ: %(within2)s; at or beyond ±3σₚₜ: "
        "%(beyond3)s.", unit=unit, x_pt=number(x_pt, tr, digits),
        low2=number(x_pt - 2 * sigma_pt, tr, digits),
        high2=number(x_pt + 2 * sigma_pt, tr, digits),
        low3=number(x_pt - 3 * sigma_pt, tr, digits),
        high3=number(x_pt + 3 * sigma_pt, tr, digits),
        within2=sum(abs(v - x_pt) <= 2 * sigma_pt for v in values),
        beyond3=sum(abs(v - x_pt) >= 3 * sigma_pt for v in values))
    if below or above:
        alt += " " + tr.gettext("Off the scale: %(values)s %(unit)s.", unit=unit, values="; ".join(
            number(v, tr, digits) for v in below + above))
    return Figure(d, alt)


# --- Youden plot ----------------------------------------------------------------------------------


def _span(centre: float, sigma: float, values: Sequence[float]) -> tuple[float, float]:
    inside = [v for v in values if abs(v - centre) <= SPAN_SIGMAS * sigma]
    return min([centre - 4 * sigma, *inside]), max([centre + 4 * sigma, *inside])


def youden_chart(points: Sequence[YoudenPoint], material_a: tuple[str, float, float],
                 material_b: tuple[str, float, float], *, tr: Translator, title: str,
                 unit: str, digits: int = 1) -> Figure:
    """Each laboratory's result for material A (x) against material B (y), labelled with its
    code; x_pt of each as a solid line, the ±2σ_pt box dashed and the ±3σ_pt box dotted.
    ``material_a``/``material_b``: (code, x_pt, σ_pt). Points along the 45° diagonal through
    (x_pt,A, x_pt,B) err systematically, points away from it randomly."""
    (name_a, xa, sa), (name_b, xb, sb) = material_a, material_b
    if not all(math.isfinite(v) for v in (xa, sa, xb, sb)) or sa <= 0 or sb <= 0:
        raise ValueError("a Youden plot needs finite assigned values and σ_pt > 0")
    la, ha = _span(xa, sa, [p.a for p in points])
    lb, hb = _span(xb, sb, [p.b for p in points])
    legend: list[LegendEntry] = [
        ("marker", tr.gettext("Laboratory (by code)"), ("circle", DENSITY)),
        ("line", tr.gettext("Assigned values xₚₜ"), (CENTRE, 1.0, None)),
        ("line", tr.gettext("xₚₜ ± 2σₚₜ"), (WARN, 0.9, DASH_2)),
        ("line", tr.gettext("xₚₜ ± 3σₚₜ"), (ACTION, 0.9, DASH_3)),
    ]
    off = [p for p in points if not (la <= p.a <= ha and lb <= p.b <= hb)]
    if off:
        legend.append(("marker", tr.gettext("Results off the scale (value written)"),
                       ("triangle", ACTION)))
    legend_h = 10 * _rows(len(legend))
    side = 105 * mm
    height = side + legend_h + 60
    d = embedded_drawing(WIDTH, height)
    _title(d, title)
    x0 = (WIDTH - side) / 2
    x1, y0 = x0 + side, legend_h + 32
    y1 = y0 + side

    def sx(v: float) -> float:
        return x0 + (x1 - x0) * (min(max(v, la), ha) - la) / (ha - la)

    def sy(v: float) -> float:
        return y0 + (y1 - y0) * (min(max(v, lb), hb) - lb) / (hb - lb)

    ticks_a, da = _ticks(la, ha, 5)
    _x_axis(d, ticks_a, da, sx, y0, y1, tr, tr.gettext(
        "Material %(material)s, %(unit)s", material=name_a, unit=unit))
    ticks_b, db = _ticks(lb, hb, 5)
    for v in ticks_b:
        d.add(Line(x0, sy(v), x1, sy(v), strokeColor=GRID, strokeWidth=0.3))
        d.add(label_text(x0 - 3, sy(v) - 2, number(v, tr, db), 6.5, anchor="end"))
    y_label = tr.gettext("Material %(material)s, %(unit)s", material=name_b, unit=unit)
    d.add(label_text(x0 - 28, y1 + 6, y_label, 7))
    d.add(Rect(sx(xa - 2 * sa), sy(xb - 2 * sb), sx(xa + 2 * sa) - sx(xa - 2 * sa),
               sy(xb + 2 * sb) - sy(xb - 2 * sb), fillColor=BAND_2, strokeColor=WARN,
               strokeWidth=0.9, strokeDashArray=DASH_2))
    d.add(Rect(sx(xa - 3 * sa), sy(xb - 3 * sb), sx(xa + 3 * sa) - sx(xa - 3 * sa),
               sy(xb + 3 * sb) - sy(xb - 3 * sb), fillColor=None, strokeColor=ACTION,
               strokeWidth=0.9, strokeDashArray=DASH_3))
    d.add(Line(sx(xa), y0, sx(xa), y1, strokeColor=CENTRE, strokeWidth=1.0))
    d.add(Line(x0, sy(xb), x1, sy(xb), strokeColor=CENTRE, strokeWidth=1.0))
    # the diagonal through the assigned values, in σ units: systematic errors lie along it
    k = min((ha - xa) / sa, (xa - la) / sa, (hb - xb) / sb, (xb - lb) / sb)
    d.add(Line(sx(xa - k * sa), sy(xb - k * sb), sx(xa + k * sa), sy(xb + k * sb),
               strokeColor=AXIS, strokeWidth=0.4, strokeDashArray=(6, 3)))
    d.add(Rect(x0, y0, side, side, fillColor=None, strokeColor=AXIS, strokeWidth=0.6))
    for p in points:
        x, y = sx(p.a), sy(p.b)
        if p in off:
            d.add(Polygon([x - 3, y - 3, x + 3, y - 3, x, y + 3], fillColor=ACTION,
                          strokeColor=ACTION))
            text = f"{p.code} ({number(p.a, tr, digits)}; {number(p.b, tr, digits)})"
            d.add(label_text(x + (4 if x < x1 - 40 else -4), y + 3, text, 5.5,
                             anchor="start" if x < x1 - 40 else "end", colour=ACTION))
        else:
            _marker(d, "circle", x, y, 4, DENSITY)
            d.add(String(x + 3, y + 2, p.code, fontName=register_fonts(), fontSize=5.5,
                         fillColor=AXIS))
    _legend(d, legend, legend_h - 6)
    both2 = sum(abs(p.a - xa) <= 2 * sa and abs(p.b - xb) <= 2 * sb for p in points)
    alt = tr.gettext(
        "Youden plot: material %(a)s (assigned value %(xa)s %(unit)s) against material %(b)s "
        "(assigned value %(xb)s %(unit)s). Laboratories: %(n)s; inside the ±2σₚₜ box for both "
        "materials: %(inside)s.", n=len(points), a=name_a, b=name_b,
        xa=number(xa, tr, digits), xb=number(xb, tr, digits), unit=unit, inside=both2)
    outside = [p.code for p in points if abs(p.a - xa) > 2 * sa or abs(p.b - xb) > 2 * sb]
    if outside:
        alt += " " + tr.gettext("Outside it: %(codes)s.", codes=", ".join(outside))
    return Figure(d, alt)


# --- a laboratory's scores over rounds ------------------------------------------------------------


def history_chart(marks: Sequence[HistoryMark], *, tr: Translator, title: str,
                  score_name: str) -> Figure:
    """A laboratory's scores by round (in the order given: oldest first; a round's materials side
    by side), joined in that order; 0 solid, ±2 dashed over a green band, ±3 dotted. Scores
    beyond ±``SPAN_SIGMAS`` are drawn at the edge with their value."""
    if not marks:
        raise ValueError("a history chart needs at least one score")
    rounds = list(dict.fromkeys(m.round_label for m in marks))
    per_round = {r: [m for m in marks if m.round_label == r] for r in rounds}
    reach = max([4.0, *(abs(m.score) for m in marks if abs(m.score) <= SPAN_SIGMAS)])
    top = math.ceil(reach)
    legend: list[LegendEntry] = [
        ("marker", tr.gettext("Score of a material"), ("circle", DENSITY)),
        ("line", tr.gettext("±2: questionable beyond"), (WARN, 0.9, DASH_2)),
        ("line", tr.gettext("±3: unsatisfactory from"), (ACTION, 0.9, DASH_3))]
    far = [m for m in marks if abs(m.score) > SPAN_SIGMAS]
    if far:
        legend.append(("marker", tr.gettext("Scores off the scale (value written)"),
                       ("triangle", ACTION)))
    legend_h = 10 * _rows(len(legend))
    height = 62 * mm + legend_h
    d = embedded_drawing(WIDTH, height)
    _title(d, title)
    x0, x1 = 26.0, WIDTH - 8
    y0, y1 = legend_h + 30, height - 30
    slot = (x1 - x0) / len(rounds)

    def sx(mark: HistoryMark) -> float:
        own = per_round[mark.round_label]
        offset = (own.index(mark) - (len(own) - 1) / 2) * min(8.0, slot / (len(own) + 1))
        return x0 + slot * (rounds.index(mark.round_label) + 0.5) + offset

    def sy(v: float) -> float:
        return y0 + (y1 - y0) * (min(max(v, -top), top) + top) / (2 * top)

    d.add(Rect(x0, sy(-2), x1 - x0, sy(2) - sy(-2), fillColor=BAND_2, strokeColor=None))
    for k in range(-top, top + 1):
        d.add(Line(x0, sy(k), x1, sy(k), strokeColor=GRID, strokeWidth=0.3))
        d.add(label_text(x0 - 3, sy(k) - 2, number(k, tr, 0), 6.5, anchor="end"))
    for k, colour, width, dash in ((0, CENTRE, 1.0, None), (2, WARN, 0.9, DASH_2),
                                   (3, ACTION, 0.9, DASH_3)):
        for sign in ((1,) if k == 0 else (-1, 1)):
            d.add(Line(x0, sy(sign * k), x1, sy(sign * k), strokeColor=colour, strokeWidth=width,
                       strokeDashArray=dash))
    font = register_fonts()
    for i, name in enumerate(rounds):
        x = x0 + slot * (i + 0.5)
        d.add(label_text(x, y0 - 8, name, fit(name, font, 6.5, slot - 2), anchor="middle"))
    d.add(label_text((x0 + x1) / 2, y0 - 17, tr.gettext("Round"), 7, anchor="middle"))
    d.add(label_text(4, y1 + 6, score_name, 7))
    ordered = [m for r in rounds for m in per_round[r]]
    if len(ordered) > 1:
        d.add(PolyLine([p for m in ordered for p in (sx(m), sy(m.score))], strokeColor=DENSITY,
                       strokeWidth=0.5))
    for m in ordered:
        if m in far:
            _edge_arrow(d, sx(m), sy(m.score), "up" if m.score > 0 else "down",
                        number(m.score, tr, 1))
        else:
            _marker(d, "circle", sx(m), sy(m.score), 5, DENSITY)
    d.add(Rect(x0, y0, x1 - x0, y1 - y0, fillColor=None, strokeColor=AXIS, strokeWidth=0.6))
    _legend(d, legend, legend_h - 6)
    alt = tr.gettext("Scores by round: %(scores)s.", scores="; ".join(
        f"{m.round_label}, {m.material}: {number(m.score, tr, 1)}" for m in marks))
    return Figure(d, alt)
