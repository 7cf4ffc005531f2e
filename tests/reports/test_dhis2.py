"""The DHIS2 payload builder and its mapping file: pure, no Flask."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reports.dhis2 import MappingError, ci_comment, data_value_set, import_counts, parse_mapping
from reports.indicators import COLUMNS

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "dhis2.example.toml"
REGIONS = {"KZ-71", "KZ-75", "KZ-79", "KZ-43"}


def table() -> pd.DataFrame:
    rows = [
        ("uic_median", "national", "SAC", "2026", 81, 105.84, 96.2, 117.0, None, "adequate", "µg/L"),
        ("uic_median", "KZ-75", "PW", "2026", 12, None, None, None, "< 10,0", None, "µg/L"),
        ("salt_median", "KZ-71", "titration", "2026", 40, 31.2, None, None, None, None, "mg/kg"),
        ("uic_median", "KZ-43", "SAC", "2026", 9, 88.0, 70.0, 101.0, None, "mild", "µg/L"),
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_the_example_mapping_is_valid_and_builds_data_values() -> None:
    mapping = parse_mapping(EXAMPLE.read_text(encoding="utf-8"), regions=REGIONS)
    payload = data_value_set(table(), mapping)
    values = payload.document["dataValues"]
    # the national SAC median and the salt median (default combo); the interval-only value and
    # the region the example does not map are skipped
    assert payload.skipped == 2 and len(values) == 2
    first = values[0]
    assert first == {"dataElement": mapping.data_elements["uic_median"], "period": "2026",
                     "orgUnit": mapping.org_units["national"],
                     "categoryOptionCombo": mapping.category_option_combos["SAC"],
                     "value": "105.8", "comment": "95% CI 96.2-117.0"}
    assert values[1]["categoryOptionCombo"] == mapping.default_category_option_combo
    assert "comment" not in values[1]


def test_an_unknown_indicator_or_region_names_its_line() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    bad = text.replace("uic_median = ", "uic_mean = ", 1)
    line = next(i for i, raw in enumerate(bad.splitlines(), 1) if raw.startswith("uic_mean"))
    with pytest.raises(MappingError, match=f"line {line}: unknown indicator 'uic_mean'") as error:
        parse_mapping(bad, regions=REGIONS)
    assert error.value.line == line
    bad = text.replace('"KZ-79" = ', '"KZ-99" = ', 1)
    line = next(i for i, raw in enumerate(bad.splitlines(), 1) if raw.startswith('"KZ-99"'))
    with pytest.raises(MappingError, match=f"line {line}: unknown region 'KZ-99'"):
        parse_mapping(bad, regions=REGIONS)
    bad = text.replace('"DeSaltMed01"', '"not a uid"', 1)
    with pytest.raises(MappingError, match=r"line \d+: \[data_elements\] salt_median"):
        parse_mapping(bad, regions=REGIONS)
    with pytest.raises(MappingError, match="not valid TOML"):
        parse_mapping("[data_elements\n", regions=REGIONS)
    with pytest.raises(MappingError, match="needs"):
        parse_mapping("", regions=REGIONS)


def test_ci_comment_and_import_counts() -> None:
    assert ci_comment(1.04, 2.26) == "95% CI 1.0-2.3"
    assert ci_comment(None, 2.0) is None and ci_comment(float("nan"), 1.0) is None
    summary = {"httpStatus": "Conflict", "status": "WARNING", "response": {
        "status": "WARNING", "importCount": {"imported": 1, "updated": 2, "ignored": 1,
                                              "deleted": 0},
        "conflicts": [{"object": "OuAlmatyCt1", "value": "Org unit not in data set"}]}}
    assert import_counts(summary) == {"status": "WARNING", "imported": 1, "updated": 2,
                                      "ignored": 1, "deleted": 0, "conflicts": [
                                          {"object": "OuAlmatyCt1",
                                           "value": "Org unit not in data set"}]}
    assert import_counts({"nonsense": True})["imported"] == 0
