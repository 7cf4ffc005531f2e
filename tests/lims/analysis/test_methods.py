"""Method versions: defaults from domain.md, JSON round trip, and what a version refuses."""

from __future__ import annotations

import json

import pytest

from lims.analysis.methods import (
    RTK_CATEGORIES,
    WESTGARD_N3,
    CalibrationModel,
    CalibrationSpec,
    ControlLevel,
    DilutionRule,
    Matrix,
    MethodVersion,
    ResponseDirection,
    ResultScale,
    ToleranceKind,
    default_catalogue,
)

CATALOGUE = {m.code: m for m in default_catalogue()}


def test_catalogue_has_the_six_methods_once() -> None:
    assert len(CATALOGUE) == len(default_catalogue()) == 6
    assert set(CATALOGUE) == {"UIC-SK-PLATE", "UIC-SK-TUBE", "UIC-ICPMS", "SALT-TITR", "SALT-WYD",
                              "SALT-RTK"}


@pytest.mark.parametrize("method", default_catalogue(), ids=lambda m: m.code)
def test_round_trip_through_json(method: MethodVersion) -> None:
    text = json.dumps(method.to_dict())
    assert MethodVersion.from_dict(json.loads(text)) == method


def test_sk_defaults_follow_domain() -> None:
    sk = CATALOGUE["UIC-SK-PLATE"]
    assert sk.calibration is not None
    assert sk.calibration.model is CalibrationModel.LN_LINEAR
    assert sk.calibration.direction is ResponseDirection.DECREASING  # absorbance falls with iodine
    assert sk.calibration.concentrations == (0, 20, 50, 100, 150, 200, 300)
    assert sk.lod == 14.0 and sk.unit == "µg/L" and sk.matrix is Matrix.URINE
    assert [c.level for c in sk.controls] == [ControlLevel.LOW, ControlLevel.MID, ControlLevel.HIGH]
    assert sk.westgard_rules == WESTGARD_N3
    assert "calibration.concentrations" in sk.unconfirmed


def test_titration_flags_parallels_over_gost_repeatability() -> None:
    titr = CATALOGUE["SALT-TITR"]
    assert titr.duplicate_tolerance is not None
    assert titr.duplicate_tolerance.kind is ToleranceKind.ABS_DIFF
    assert titr.duplicate_tolerance.limit == 5.4
    assert titr.replicates == 2 and titr.unit == "mg/kg"
    assert titr.titration is not None and titr.titration.nominal_molarity == 0.005


def test_rapid_test_kit_is_ordinal_and_never_numeric() -> None:
    rtk = CATALOGUE["SALT-RTK"]
    assert rtk.scale is ResultScale.ORDINAL and rtk.categories == RTK_CATEGORIES
    assert rtk.calibration is None and rtk.lod is None and rtk.reportable_range is None
    assert rtk.category(" <15 ") == "<15"
    for bad in ("12", "12.5", "15", ">=15"):
        with pytest.raises(ValueError, match="not one of the categories"):
            rtk.category(bad)


def test_an_ordinal_method_cannot_carry_numbers() -> None:
    with pytest.raises(ValueError, match="no curve, LOD"):
        MethodVersion("X", 1, "x", Matrix.SALT, "a", "", scale=ResultScale.ORDINAL,
                      categories=("0",), lod=5.0)
    with pytest.raises(ValueError, match="needs its categories"):
        MethodVersion("X", 1, "x", Matrix.SALT, "a", "", scale=ResultScale.ORDINAL)


def test_a_version_refuses_bad_rules_and_series() -> None:
    with pytest.raises(ValueError, match="unknown Westgard rule"):
        MethodVersion("X", 1, "x", Matrix.URINE, "UIC", "µg/L", westgard_rules=("1-3s", "3x3"))
    with pytest.raises(ValueError, match="distinct and ascending"):
        CalibrationSpec((0.0, 50.0, 20.0))
    with pytest.raises(ValueError, match="LOQ"):
        MethodVersion("X", 1, "x", Matrix.URINE, "UIC", "µg/L", lod=14.0, loq=10.0)


def test_new_version_leaves_the_old_one_alone() -> None:
    sk = CATALOGUE["UIC-SK-PLATE"]
    v2 = sk.new_version(lod=12.0)
    assert (v2.version, v2.lod, v2.key) == (2, 12.0, "UIC-SK-PLATE@v2")
    assert (sk.version, sk.lod) == (1, 14.0)


@pytest.mark.parametrize(("estimate", "factor"), [(400.0, 2.0), (480.0, 2.0), (481.0, 5.0),
                                                  (1200.0, 5.0), (2500.0, 10.0),
                                                  (float("inf"), 10.0)])
def test_dilution_suggestion_brings_the_sample_under_the_top(estimate: float,
                                                            factor: float) -> None:
    # target: estimate / factor ≤ 0.8 × 300 = 240
    assert DilutionRule().suggest(estimate, 300.0) == factor
