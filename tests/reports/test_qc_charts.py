"""Charts render to SVG with the expected elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from reportlab.graphics.charts.lineplots import LinePlot

from reports.qc_charts import calibration_chart, drawing_to_svg, levey_jennings_chart

SVG = "{http://www.w3.org/2000/svg}"
RED = "fill: rgb(100%,0%,0%)"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return [(t.text or "").strip() for t in root.iter(f"{SVG}text")]


def test_calibration_chart_has_standards_and_curve() -> None:
    standards = [(0.0, 1.2), (0.0, 1.19), (50.0, 0.91), (100.0, 0.69), (300.0, 0.23)]
    curve = [(x * 10.0, 1.2 * 2.718281828 ** (-0.0055 * x * 10)) for x in range(31)]
    svg = drawing_to_svg(calibration_chart(standards, curve, title="Plate 26-014 · Калибровка"))
    root = parse(svg)
    assert len(list(root.iter(f"{SVG}circle"))) == len(standards)
    assert "Plate 26-014 · Калибровка" in texts(root)
    assert {"Concentration (µg/L)", "Absorbance"} <= set(texts(root))
    (line,) = root.iter(f"{SVG}polyline")  # the fitted curve, one joined line through its points
    assert len(line.get("points", "").split(",")) == len(curve)


def test_levey_jennings_lines_points_and_violations() -> None:
    values = [100.0, 103.0, None, 96.0, 117.0, 99.0, 101.0]
    svg = drawing_to_svg(levey_jennings_chart(values, 100.0, 5.0, violations=[4], title="QC low"))
    root = parse(svg)
    assert len(list(root.iter(f"{SVG}circle"))) == 6  # the run without a value is not plotted
    marks = [p for p in root.iter(f"{SVG}polygon") if RED in p.get("style", "")]
    assert len(marks) == 1
    labels = {"mean", "+1 SD", "-1 SD", "+2 SD", "-2 SD", "+3 SD", "-3 SD", "QC low"}
    assert labels <= set(texts(root))


def test_levey_jennings_without_violations_has_no_marks() -> None:
    root = parse(drawing_to_svg(levey_jennings_chart([100.0, 101.0], 100.0, 5.0)))
    assert not [p for p in root.iter(f"{SVG}polygon") if RED in p.get("style", "")]


def test_a_value_far_out_stays_on_the_chart() -> None:
    drawing = levey_jennings_chart([100.0, 160.0], 100.0, 5.0, violations=[1])
    (plot,) = [c for c in drawing.contents if isinstance(c, LinePlot)]
    assert plot.yValueAxis.valueMax >= 160.0


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="SD must be positive"):
        levey_jennings_chart([1.0], 1.0, 0.0)
    with pytest.raises(ValueError, match="no control values"):
        levey_jennings_chart([None], 1.0, 1.0)
    with pytest.raises(ValueError, match="needs standards"):
        calibration_chart([], [(0.0, 1.0), (1.0, 0.5)])


def test_values_out_of_range_have_a_square_not_only_a_place() -> None:
    """WCAG 1.4.1: a value 2 SD or more from the mean is marked by a shape of its own."""
    root = parse(drawing_to_svg(levey_jennings_chart([100.0, 111.0, 99.0, 85.0], 100.0, 5.0)))
    squares = [r for r in root.iter(f"{SVG}rect") if "fill-opacity: 0;" in r.get("style", "")]
    assert len(squares) == 2


def test_chart_points_for_the_data_table() -> None:
    from reports.qc_charts import levey_jennings_points

    points = levey_jennings_points([100.0, None, 111.0, 94.0], 100.0, 5.0, violations=[2])
    assert [p.position for p in points] == [1, 2, 3, 4]
    assert [p.z for p in points] == [0.0, None, pytest.approx(2.2), pytest.approx(-1.2)]
    assert [p.rejected for p in points] == [False, False, True, False]
    assert [p.out_of_range for p in points] == [False, False, True, False]
    with pytest.raises(ValueError):
        levey_jennings_points([1.0], 1.0, 0.0)
