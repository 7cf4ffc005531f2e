"""Criteria tables as data."""

from __future__ import annotations

import pytest

from reports.criteria import IGN3, SCHEMES, WHO2007, ClassTable, Kind, SaltCriteria


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
