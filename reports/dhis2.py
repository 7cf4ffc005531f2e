"""A report's indicators as a DHIS2 ``dataValueSets`` document, from an editable mapping.

The mapping (``config/dhis2.example.toml`` documents it) says which DHIS2 data element each
indicator goes to, which organisation unit each region (and the nation) is, and which category
option combo each group is. The builder is pure: tidy indicator table (``reports.indicators``)
+ mapping → the JSON document. Each value carries its 95 % CI as the stored comment. A row whose
indicator, region or group the mapping leaves out is skipped and counted, never guessed.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reports.indicators import INDICATOR_CODES
from reports.stats import NATIONAL

#: DHIS2 UIDs: 11 characters, a letter first.
UID = re.compile(r"[A-Za-z][A-Za-z0-9]{10}")


class MappingError(ValueError):
    """A mapping file that cannot be used; ``line`` is the 1-based line it is about, if known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Dhis2Mapping:
    data_elements: Mapping[str, str]  # indicator code → data element UID
    org_units: Mapping[str, str]  # region ISO code or "national" → organisation unit UID
    category_option_combos: Mapping[str, str] = field(default_factory=dict)  # group → COC UID
    default_category_option_combo: str | None = None
    attribute_option_combo: str | None = None
    data_set: str | None = None


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """(table, key) → line number, for naming the line of a bad entry (tomllib keeps none)."""
    lines: dict[tuple[str, str], int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            table = line.strip("[]").strip()
        elif "=" in line:
            key = line.split("=", 1)[0].strip().strip('"').strip("'")
            lines.setdefault((table, key), number)
    return lines


def _uid(value: Any, what: str, line: int | None) -> str:
    if not isinstance(value, str) or not UID.fullmatch(value):
        raise MappingError(f"{what}: {value!r} is not a DHIS2 UID (11 letters and digits, a "
                           "letter first)", line)
    return value


def parse_mapping(text: str, *, regions: Collection[str]) -> Dhis2Mapping:
    """Read a mapping file. ``regions``: the ISO codes the LIMS knows; an unknown indicator or
    region, or a value that is not a UID, raises ``MappingError`` naming its line."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"not valid TOML: {error}") from error
    lines = _key_lines(text)

    def table(name: str, known: Collection[str] | None, what: str) -> dict[str, str]:
        entries = document.get(name, {})
        if not isinstance(entries, dict):
            raise MappingError(f"[{name}] must be a table", lines.get(("", name)))
        mapped = {}
        for key, value in entries.items():
            line = lines.get((name, key))
            if known is not None and key not in known:
                raise MappingError(f"unknown {what} {key!r} in [{name}] (known: "
                                   f"{', '.join(sorted(known))})", line)
            mapped[key] = _uid(value, f"[{name}] {key}", line)
        return mapped

    data_elements = table("data_elements", INDICATOR_CODES, "indicator")
    org_units = table("org_units", {*regions, NATIONAL}, "region")
    combos = table("category_option_combos", None, "group")
    if not data_elements or not org_units:
        raise MappingError("the mapping needs [data_elements] and [org_units] entries")
    optional = {}
    for key in ("data_set", "default_category_option_combo", "attribute_option_combo"):
        if key in document:
            optional[key] = _uid(document[key], key, lines.get(("", key)))
    return Dhis2Mapping(data_elements=data_elements, org_units=org_units,
                        category_option_combos=combos, **optional)


def _figure(value: float) -> str:
    return f"{value:.1f}"


def ci_comment(low: Any, high: Any) -> str | None:
    """The stored comment of a value: its 95 % CI, as DHIS2 shows it beside the value."""
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (low, high)):
        return None
    return f"95% CI {_figure(low)}-{_figure(high)}"


@dataclass(frozen=True)
class Payload:
    document: dict[str, Any]
    skipped: int  # rows with no estimate, or an indicator/region/group the mapping leaves out


def data_value_set(table: pd.DataFrame, mapping: Dhis2Mapping) -> Payload:
    """The ``dataValueSets`` document of a tidy indicator table."""
    values: list[dict[str, Any]] = []
    skipped = 0
    for row in table.to_dict("records"):
        element = mapping.data_elements.get(row["indicator"])
        unit = mapping.org_units.get(row["region_code"])
        combo = mapping.category_option_combos.get(row["group"],
                                                   mapping.default_category_option_combo)
        estimate = row["estimate"]
        if (element is None or unit is None or combo is None or row["period"] is None
                or not isinstance(estimate, (int, float)) or not math.isfinite(estimate)):
            skipped += 1
            continue
        value: dict[str, Any] = {"dataElement": element, "period": str(row["period"]),
                                 "orgUnit": unit, "categoryOptionCombo": combo,
                                 "value": _figure(estimate)}
        if mapping.attribute_option_combo:
            value["attributeOptionCombo"] = mapping.attribute_option_combo
        comment = ci_comment(row["ci_low"], row["ci_high"])
        if comment:
            value["comment"] = comment
        values.append(value)
    document: dict[str, Any] = {"dataValues": values}
    if mapping.data_set:
        document = {"dataSet": mapping.data_set, **document}
    return Payload(document, skipped)


def import_counts(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What to keep of a DHIS2 import summary (2.36+ wraps it in ``response``): the status, the
    counts and the conflicts."""
    body = summary.get("response", summary) if isinstance(summary, Mapping) else {}
    if not isinstance(body, Mapping):
        body = {}
    counts = body.get("importCount", {}) if isinstance(body.get("importCount"), Mapping) else {}
    conflicts = body.get("conflicts") or []
    return {
        "status": str(body.get("status", "")),
        **{key: int(counts.get(key, 0) or 0) for key in ("imported", "updated", "ignored",
                                                         "deleted")},
        "conflicts": [{"object": str(c.get("object", "")), "value": str(c.get("value", ""))}
                      for c in conflicts if isinstance(c, Mapping)][:50],
    }
