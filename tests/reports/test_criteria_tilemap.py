"""Criteria tables as data, and the tile map covering all 20 units."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reports.criteria import IGN3, SCHEMES, WHO2007, ClassTable, Kind, SaltCriteria
from reports.tilemap import GRID, tile_map, tile_names

ROOT = Path(__file__).resolve().parents[2]


def test_every_scheme_has_a_table_for_every_kind_and_a_printed_name() -> None:
    for scheme in SCHEMES.values():
        assert scheme.name and set(scheme.tables) == set(Kind)
    assert WHO2007.table(Kind.GENERAL).breaks == (20, 50, 100, 200, 300)
    assert IGN3.table(Kind.GENERAL).breaks == (100, 300)
    assert IGN3.table(Kind.PREGNANT) is WHO2007.table(Kind.PREGNANT)


def test_class_tables_refuse_inconsistent_data() -> None:
    with pytest.raises(ValueError):
        ClassTable((100.0, 50.0), ("a", "b", "c"))
    with pytest.raises(ValueError):
        SaltCriteria(national_range=(55, 25))
    assert "25–55" in SaltCriteria().label


def test_grid_covers_the_20_units_without_overlap() -> None:
    codes = set(pd.read_csv(ROOT / "lims" / "data" / "kz-regions.csv")["iso_code"])
    assert set(GRID) == codes and len(set(GRID.values())) == 20


def test_tile_names_stay_distinct() -> None:
    names = tile_names({"KZ-19": "Алматы облысы", "KZ-75": "Алматы", "KZ-11": "Ақмола облысы"})
    assert names == {"KZ-19": "Алматы облысы", "KZ-75": "Алматы", "KZ-11": "Ақмола"}
    drawing = tile_map(
        {"KZ-11": ("adequate", "150")}, {"KZ-11": "Ақмола облысы"}, "map", [("adequate", "ok")]
    )
    assert drawing.width > 0
