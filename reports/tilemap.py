"""A tile-grid map of Kazakhstan's 20 first-level units, each tile coloured by class.

Equal tiles rather than a choropleth: the three cities (Astana, Almaty, Shymkent) are invisible on a
true-area map, and the project ships no region geometry. The grid keeps rough geography: west
(Atyrau, Mangystau) to the left, the north (Kostanay, North Kazakhstan, Pavlodar) on top, the south
(Turkistan, Shymkent, Jambyl, Almaty) at the bottom, each city next to or below its region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from reports.charts import AXIS, WIDTH, fit
from reports.criteria import CLASS_COLOURS
from reports.fonts import embedded_drawing, register_fonts

#: (column, row) of each ISO 3166-2:KZ unit; row 0 is the top (north).
GRID: dict[str, tuple[int, int]] = {
    "KZ-27": (0, 0),  # West Kazakhstan
    "KZ-39": (2, 0),  # Kostanay
    "KZ-59": (3, 0),  # North Kazakhstan
    "KZ-55": (5, 0),  # Pavlodar
    "KZ-23": (0, 1),  # Atyrau
    "KZ-15": (1, 1),  # Aktobe
    "KZ-11": (3, 1),  # Akmola
    "KZ-71": (4, 1),  # Astana (city)
    "KZ-10": (5, 1),  # Abai
    "KZ-63": (6, 1),  # East Kazakhstan
    "KZ-47": (0, 2),  # Mangystau
    "KZ-43": (2, 2),  # Kyzylorda
    "KZ-62": (3, 2),  # Ulytau
    "KZ-35": (4, 2),  # Karaganda
    "KZ-33": (5, 2),  # Jetisu
    "KZ-61": (3, 3),  # Turkistan
    "KZ-31": (4, 3),  # Jambyl
    "KZ-19": (5, 3),  # Almaty Region
    "KZ-79": (3, 4),  # Shymkent (city)
    "KZ-75": (5, 4),  # Almaty (city)
}
COLUMNS = 1 + max(c for c, _ in GRID.values())
ROWS = 1 + max(r for _, r in GRID.values())

_GENERIC = ("область", "облысы", "Region", "город", "(city)")


def short_name(name: str) -> str:
    """ "Акмолинская область" → "Акмолинская": the tile has no room for the generic word."""
    words = [w for w in name.split() if w not in _GENERIC]
    return " ".join(words) or name


def tile_names(names: Mapping[str, str]) -> dict[str, str]:
    """Short names, except where shortening would make two units look alike ("Алматы облысы" and
    "Алматы"): those keep their full names."""
    short = {code: short_name(name) for code, name in names.items()}
    seen: dict[str, int] = {}
    for name in short.values():
        seen[name] = seen.get(name, 0) + 1
    return {code: name if seen[name] == 1 else names[code] for code, name in short.items()}


def tile_map(
    cells: Mapping[str, tuple[str, str]],
    names: Mapping[str, str],
    title: str,
    legend: Sequence[tuple[str, str]],
) -> Drawing:
    """``cells``: ISO code → (class key, figure printed in the tile); ``names``: ISO code → name;
    ``legend``: (class key, label) in display order. Units without a cell are "no data"."""
    font = register_fonts()
    tile_w = WIDTH / COLUMNS
    tile_h = 17 * mm
    legend_h = 8 * (len(legend) + 1)
    labels = tile_names({code: names.get(code, code) for code in GRID})
    d = embedded_drawing(WIDTH, ROWS * tile_h + 16 + legend_h)
    d.add(
        String(
            0,
            d.height - 10,
            title,
            fontName=font,
            fontSize=fit(title, font, 9, WIDTH),
            fillColor=AXIS,
        )
    )
    for code, (col, row) in GRID.items():
        key, figure = cells.get(code, ("no_data", ""))
        x = col * tile_w
        y = legend_h + (ROWS - 1 - row) * tile_h
        d.add(
            Rect(
                x + 1,
                y + 1,
                tile_w - 2,
                tile_h - 2,
                fillColor=colors.HexColor(CLASS_COLOURS[key]),
                strokeColor=colors.HexColor("#666666"),
                strokeWidth=0.4,
            )
        )
        text_colour = (
            colors.white if key in ("severe", "moderate", "excessive", "adequate") else AXIS
        )
        name = labels[code]
        d.add(
            String(
                x + tile_w / 2,
                y + tile_h - 6 * mm,
                name,
                fontName=font,
                textAnchor="middle",
                fontSize=fit(name, font, 6.5, tile_w - 4),
                fillColor=text_colour,
            )
        )
        if figure:
            d.add(
                String(
                    x + tile_w / 2,
                    y + 3 * mm,
                    figure,
                    fontName=font,
                    fontSize=fit(figure, font, 8, tile_w - 4),
                    textAnchor="middle",
                    fillColor=text_colour,
                )
            )
    for i, (key, text) in enumerate(legend):
        y = legend_h - 8 * (i + 1)
        d.add(
            Rect(
                0,
                y,
                10,
                6,
                fillColor=colors.HexColor(CLASS_COLOURS[key]),
                strokeColor=AXIS,
                strokeWidth=0.3,
            )
        )
        d.add(
            String(
                14,
                y + 1,
                text,
                fontName=font,
                fontSize=fit(text, font, 7, WIDTH - 14),
                fillColor=AXIS,
            )
        )
    return d
