"""The map of Kazakhstan: crosswalk to the project's region keys, the print geometry, the
equal-area projection, hatching, lineage, and the choropleth drawing of all 20 units."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from reportlab.graphics.shapes import Path as DrawnPath

from reports import geo, kzmap

ROOT = Path(__file__).resolve().parents[2]
REGIONS = pd.read_csv(ROOT / "lims" / "data" / "kz-regions.csv")


def _letters(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalpha()).replace("region", "")[:4]


def test_crosswalk_maps_every_pcode_to_one_region_key() -> None:
    data = json.loads(kzmap.DATA.read_text(encoding="utf-8"))
    assert sorted(kzmap.PCODE_TO_ISO.values()) == sorted(REGIONS["iso_code"])
    assert set(data["units"]) == set(REGIONS["iso_code"])
    english = dict(zip(REGIONS["iso_code"], REGIONS["name_en"]))
    for code, unit in data["units"].items():
        assert kzmap.PCODE_TO_ISO[unit["pcode"]] == code
        # the source's English name and ours agree up to spelling (Abay/Abai, Jetisu)
        assert _letters(unit["name_en"])[:3] == _letters(english[code])[:3], code
    assert data["source"]["licence"] == "MIT" and len(data["source"]["sha256"]) == 64


def test_print_geometry_is_small_and_whole() -> None:
    data = json.loads(kzmap.DATA.read_text(encoding="utf-8"))
    for code, unit in data["units"].items():
        points = sum(len(ring) for polygon in unit["polygons"] for ring in polygon)
        assert 20 <= points <= 500, (code, points)
        for polygon in unit["polygons"]:
            for lon, lat in polygon[0]:
                assert 46 <= lon <= 88 and 40 <= lat <= 56
    shapes = kzmap.geometry().shapes
    area = {code: sum(abs(geo.ring_area(p[0])) for p in shape) for code, shape in shapes.items()}
    assert 2.6e6 < sum(area.values()) < 2.8e6  # Kazakhstan: 2.72 million km²
    assert max(area, key=area.get) == "KZ-35" or max(area, key=area.get) == "KZ-15"
    assert min(area, key=area.get) in ("KZ-71", "KZ-75", "KZ-79")


def test_albers_is_equal_area() -> None:
    albers = geo.Albers()
    for lat in (42.0, 48.0, 54.0):
        cell = [albers(68, lat), albers(69, lat), albers(69, lat + 1), albers(68, lat + 1)]
        sphere = (geo.EARTH_RADIUS_KM ** 2 * math.radians(1)
                  * (math.sin(math.radians(lat + 1)) - math.sin(math.radians(lat))))
        assert abs(geo.ring_area(cell)) == pytest.approx(sphere, rel=0.005)
    assert albers(68, 48) == (0.0, 0.0)


def test_simplification_keeps_shape_within_tolerance() -> None:
    line = [(x / 10, 0.001 * math.sin(x)) for x in range(101)]
    assert geo.simplify_line(line, 0.01) == [line[0], line[-1]]
    corner = [(0, 0), (1, 0.001), (2, 0), (2, 2)]
    assert geo.simplify_line(corner, 0.01) == [(0, 0), (2, 0), (2, 2)]
    square = [(0, 0), (0.5, 0), (1, 0), (1, 1), (0, 1), (0, 0)]
    assert sorted(geo.simplify_ring(square, 0.01)) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_hatching_stays_inside_and_skips_holes() -> None:
    frame = [[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)],
             [(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0)]]
    segments = geo.hatch([frame], 1.0)
    assert len(segments) > 10
    for a, b in segments:
        for x, y in (a, b):
            assert -1e-9 <= x <= 10 + 1e-9 and -1e-9 <= y <= 10 + 1e-9
        middle = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        assert not (4 < middle[0] < 6 and 4 < middle[1] < 6)  # never across the hole


def test_a_2021_survey_is_mapped_on_its_units() -> None:
    starts = {"KZ-10": datetime.date(2022, 6, 8), "KZ-33": datetime.date(2022, 6, 8),
              "KZ-62": datetime.date(2022, 6, 8), "KZ-79": datetime.date(2018, 6, 19)}
    parents = {"KZ-10": "KZ-63", "KZ-33": "KZ-19", "KZ-62": "KZ-35"}
    assert kzmap.merged_units(starts, parents, datetime.date(2021, 10, 31)) == parents
    assert kzmap.merged_units(starts, parents, datetime.date(2024, 10, 31)) == {}


def _fills(drawing) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counts: dict[str, int] = {}
    for item in drawing.contents:
        if isinstance(item, DrawnPath) and item.fillColor is not None:
            counts[item.fillColor.hexval()] = counts.get(item.fillColor.hexval(), 0) + 1
    return counts


def test_the_choropleth_draws_20_units_with_legend_labels_and_no_data() -> None:
    names = dict(zip(REGIONS["iso_code"], REGIONS["name_ru"]))
    cells = {code: ("adequate", "150") for code in names if code != "KZ-43"}
    drawing = kzmap.choropleth(cells, names, "title", [("adequate", "адекватное")],
                               no_data_label="нет данных")
    fills = _fills(drawing)
    assert sum(fills.values()) == 20
    assert fills["0x31a354"] == 19 and fills["0xffffff"] == 1  # Kyzylorda: no data, hatched
    strings = [item.text for item in drawing.contents if hasattr(item, "text")]
    assert "Кызылординская" in strings and "адекватное" in strings and "нет данных" in strings
    assert any("Астана" in s for s in strings)  # a city, beside its marker
    merged = kzmap.choropleth({"KZ-35": ("mild", "80")}, names, "t", [("mild", "m")],
                              no_data_label="n", merged={"KZ-62": "KZ-35"}, merged_note="dashed")
    assert _fills(merged)["0xfdae6b"] == 2  # Ulytau drawn as part of Karaganda
    assert "dashed" in [item.text for item in merged.contents if hasattr(item, "text")]
