"""Run and QC charts: a calibration curve with its standards, and a Levey-Jennings chart.

Plain numbers in, ReportLab `Drawing` out, so the same drawing goes into a PDF run report or,
through `drawing_to_svg`, into a web page. Nothing here knows about the LIMS: the caller passes
the fitted curve as sampled points and the control target as mean and SD. Labels left out are
printed in the language of ``catalogue`` (English without one), in the embedded report font.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Group, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from reports.fonts import embedded_drawing, register_fonts
from reports.texts import Catalogue, translator

__all__ = ["ChartPoint", "calibration_chart", "drawing_to_svg", "levey_jennings_chart",
           "levey_jennings_points"]

WIDTH, HEIGHT = 480, 300
_PLOT = {"x": 60, "y": 50, "width": 380, "height": 200}
#: colours of the SD lines: mean, ±1, ±2, ±3 SD
_SD_COLOURS = {0: colors.black, 1: colors.green, 2: colors.orange, 3: colors.red}
VIOLATION_COLOUR = colors.red
#: values this many SD or more from the mean get a square around their dot: out of range is
#: shown by a shape, not by position or colour alone (WCAG 1.4.1)
OUT_OF_RANGE_SD = 2.0


@dataclass(frozen=True)
class ChartPoint:
    """One control value of a Levey-Jennings chart, as the chart's data table lists it."""

    #: the run's place on the chart's axis (1-based)
    position: int
    value: float | None
    #: distance from the mean in SD (None without a value)
    z: float | None
    #: the value's run was rejected (it does not count)
    rejected: bool

    @property
    def out_of_range(self) -> bool:
        return self.z is not None and abs(self.z) >= OUT_OF_RANGE_SD


def levey_jennings_points(values: Sequence[float | None], mean: float, sd: float,
                          violations: Sequence[int] = ()) -> list[ChartPoint]:
    """The chart's values as rows, for the table beside it: position, value, SD from the mean,
    and whether its run was rejected (the positions in `violations`, 0-based as the chart's)."""
    if not sd > 0:
        raise ValueError(f"SD must be positive, got {sd}")
    marked = set(violations)
    return [ChartPoint(i + 1, v, None if v is None else (v - mean) / sd, i in marked)
            for i, v in enumerate(values)]


def _frame(title: str, x_label: str, y_label: str, font: str) -> Drawing:
    d = embedded_drawing(WIDTH, HEIGHT)
    d.add(String(WIDTH / 2, HEIGHT - 20, title, fontName=font, fontSize=12, textAnchor="middle"))
    d.add(String(_PLOT["x"] + _PLOT["width"] / 2, 12, x_label, fontName=font, fontSize=9,
                 textAnchor="middle"))
    y_title = Group(String(0, 0, y_label, fontName=font, fontSize=9, textAnchor="middle"))
    y_title.translate(18, _PLOT["y"] + _PLOT["height"] / 2)
    y_title.rotate(90)
    d.add(y_title)
    return d


def _plot(series: list[list[tuple[float, float]]], font: str) -> LinePlot:
    lp = LinePlot()
    lp.x, lp.y, lp.width, lp.height = _PLOT["x"], _PLOT["y"], _PLOT["width"], _PLOT["height"]
    lp.data = series
    for axis in (lp.xValueAxis, lp.yValueAxis):
        axis.labels.fontName = font
        axis.labels.fontSize = 8
    return lp


def calibration_chart(standards: Sequence[tuple[float, float]],
                      curve: Sequence[tuple[float, float]], *, title: str | None = None,
                      x_label: str | None = None, y_label: str | None = None,
                      font: str | None = None, catalogue: Catalogue | None = None) -> Drawing:
    """Standards as circles, the fitted curve as a line (pass `CalibrationCurve.sample()`)."""
    if not standards or len(curve) < 2:
        raise ValueError("a calibration chart needs standards and at least two curve points")
    tr, font = translator("en", catalogue), font or register_fonts()
    d = _frame(title or tr.gettext("Calibration curve"),
               x_label or tr.gettext("Concentration (µg/L)"), y_label or tr.gettext("Absorbance"),
               font)
    lp = _plot([list(curve), list(standards)], font)
    lp.lines[0].lineStyle = "joinedLine"
    lp.lines[0].strokeColor = colors.steelblue
    lp.lines[0].strokeWidth = 1.2
    lp.lines[1].lineStyle = "line"  # markers only
    lp.lines[1].symbol = makeMarker("Circle", size=5, fillColor=colors.black)
    lp.lines[1].strokeColor = colors.black
    d.add(lp)
    return d


def levey_jennings_chart(values: Sequence[float | None], mean: float, sd: float, *,
                         violations: Sequence[int] = (), title: str | None = None,
                         x_label: str | None = None, y_label: str | None = None,
                         font: str | None = None, catalogue: Catalogue | None = None) -> Drawing:
    """Control values by run (1-based on the axis; ``None`` = no value that run), lines at the
    mean and ±1/2/3 SD, the values at the 0-based positions in `violations` marked with red
    diamonds, and values 2 SD or more from the mean with a square around them."""
    if not sd > 0:
        raise ValueError(f"SD must be positive, got {sd}")
    points = [(float(i + 1), float(v)) for i, v in enumerate(values) if v is not None]
    if not points:
        raise ValueError("no control values to plot")
    flagged = [(float(i + 1), float(values[i])) for i in violations  # type: ignore[arg-type]
               if 0 <= i < len(values) and values[i] is not None]
    last = float(max(len(values), 2))
    ys = [y for _, y in points]
    low = min(min(ys), mean - 3.5 * sd)
    high = max(max(ys), mean + 3.5 * sd)
    sd_lines = [[(1.0, mean + k * sd), (last, mean + k * sd)] for k in (0, 1, -1, 2, -2, 3, -3)]
    tr, font = translator("en", catalogue), font or register_fonts()
    d = _frame(title or tr.gettext("Levey-Jennings chart"), x_label or tr.gettext("Run"),
               y_label or tr.gettext("Control value"), font)
    far = [(x, y) for x, y in points if abs(y - mean) >= OUT_OF_RANGE_SD * sd]
    extra = ([flagged] if flagged else []) + ([far] if far else [])
    lp = _plot([*sd_lines, points, *extra], font)
    lp.xValueAxis.valueMin, lp.xValueAxis.valueMax = 1.0, last
    lp.yValueAxis.valueMin, lp.yValueAxis.valueMax = low, high
    for i, k in enumerate((0, 1, 1, 2, 2, 3, 3)):
        lp.lines[i].lineStyle = "joinedLine"
        lp.lines[i].strokeColor = _SD_COLOURS[k]
        lp.lines[i].strokeWidth = 0.6
        if k:
            lp.lines[i].strokeDashArray = (3, 2)
    values_line = lp.lines[7]
    values_line.lineStyle = "joinedLine"
    values_line.strokeColor = colors.black
    values_line.symbol = makeMarker("Circle", size=4, fillColor=colors.black)
    if flagged:
        marks = lp.lines[8]
        marks.lineStyle = "line"  # markers only, over the values
        marks.strokeColor = VIOLATION_COLOUR
        marks.symbol = makeMarker("FilledDiamond", size=9, fillColor=VIOLATION_COLOUR,
                                  strokeColor=VIOLATION_COLOUR)
    if far:
        squares = lp.lines[8 + bool(flagged)]
        squares.lineStyle = "line"
        squares.strokeColor = colors.black
        squares.symbol = makeMarker("Square", size=11, fillColor=colors.transparent,
                                    strokeColor=colors.black, strokeWidth=0.8)
    d.add(lp)
    right = _PLOT["x"] + _PLOT["width"] + 4
    for k in (3, 2, 1, 0, -1, -2, -3):
        y = _PLOT["y"] + (mean + k * sd - low) / (high - low) * _PLOT["height"]
        label = tr.gettext("mean") if k == 0 else f"{k:+d} SD"
        d.add(String(right, y - 3, label, fontName=font, fontSize=7, fillColor=_SD_COLOURS[abs(k)]))
    return d


def drawing_to_svg(drawing: Drawing) -> str:
    """SVG text of a drawing, for embedding in a web page."""
    return renderSVG.drawToString(drawing)
