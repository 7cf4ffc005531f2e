"""Iodometric titration against domain.md §3.1's worked numbers."""

from __future__ import annotations

import pytest

from lims.analysis.titration import (
    IODINE_MG_PER_MMOL_THIOSULFATE,
    check_duplicates,
    salt_iodine_mg_per_kg,
)
from lims.core.errors import ValidationError


def test_the_constant_is_126_90_over_6() -> None:
    assert IODINE_MG_PER_MMOL_THIOSULFATE == pytest.approx(21.15)


def test_domain_worked_numbers() -> None:
    # 0.005 M, 10 g: iodine = 10.58 × V (domain.md rounds 10.575)
    assert salt_iodine_mg_per_kg(1.0, 0.005, 10.0) == pytest.approx(10.575)
    assert salt_iodine_mg_per_kg(1.0, 0.005, 10.0) == pytest.approx(10.58, abs=0.005)
    # "15 mg/kg ≈ 1.42 mL titrant"
    assert salt_iodine_mg_per_kg(1.42, 0.005, 10.0) == pytest.approx(15.0, abs=0.02)
    # V × C × 21 150 / m with other values
    assert salt_iodine_mg_per_kg(3.2, 0.0049, 9.85) == pytest.approx(3.2 * 0.0049 * 21150 / 9.85)


def test_no_titrant_means_no_iodine() -> None:
    assert salt_iodine_mg_per_kg(0.0, 0.005, 10.0) == 0.0


@pytest.mark.parametrize(("args", "field", "words"), [
    ((1.0, None, 10.0), "molarity", "thiosulfate molarity is missing"),
    ((1.0, 0.005, None), "mass_g", "salt sample mass is missing"),
    ((None, 0.005, 10.0), "volume_ml", "titrant volume is missing"),
    ((1.0, 0.0, 10.0), "molarity", "must be positive"),
    ((1.0, 0.005, -1.0), "mass_g", "must be positive"),
    ((-0.1, 0.005, 10.0), "volume_ml", "cannot be negative"),
])
def test_missing_or_impossible_values_are_named(args: tuple, field: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        salt_iodine_mg_per_kg(*args)
    assert info.value.field == field


def test_parallels_within_the_gost_repeatability_limit() -> None:
    ok = check_duplicates([30.0, 35.4])
    assert ok.acceptable and ok.mean == pytest.approx(32.7) and ok.message == ""
    bad = check_duplicates([30.0, 35.5])
    assert not bad.acceptable and bad.difference == pytest.approx(5.5)
    assert bad.message == ("Parallel determinations differ by 5.50 mg/kg, more than the "
                           "repeatability limit 5.4 mg/kg: repeat.")
    assert check_duplicates([30.0, 33.0], limit=2.0).acceptable is False
    with pytest.raises(ValueError, match="at least two"):
        check_duplicates([30.0])
