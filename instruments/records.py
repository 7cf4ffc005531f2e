"""The data that leaves a codec: readings, plate readings, and what could not be read.

These frozen dataclasses are the one schema that crosses from a lab PC to the LIMS (as JSON via
`to_dict()`), so they hold plain values only: text exactly as the instrument sent it *and* the
parsed number, never one without the other. A value that cannot be parsed still produces a
reading (value ``None`` plus a note in ``problems``) — dropping it would lose a result silently;
the LIMS decides what to do with it (unmatched queue).

Raw input is kept as ``str``: codecs decode bytes as latin-1, which maps every byte to exactly one
code point, so ``raw.encode("latin-1")`` gives back the bytes on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

__all__ = ["Reading", "PlateReading", "Quarantined", "PLATE_ROWS", "PLATE_COLUMNS", "WELLS"]

PLATE_ROWS = "ABCDEFGH"
PLATE_COLUMNS = tuple(range(1, 13))
#: The 96 wells in the order plate readers send them (row by row: A1..A12, B1..B12, ... H12).
WELLS: tuple[str, ...] = tuple(f"{r}{c}" for r in PLATE_ROWS for c in PLATE_COLUMNS)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Reading:
    """One result for one sample and one analyte, as sent by an instrument.

    `sample_id` is the accession/barcode the instrument reported (``None`` if it sent none);
    `analyte` is the LIMS analyte code mapped from the instrument's `test_code` (``None`` when the
    code is not in the instrument's mapping). `raw_value` is the text as sent (``"<20"``,
    ``"142.5"``, ``"***"``); `value` is its number and `comparator` keeps a censoring sign
    (``"<"`` / ``">"``) so ``<20`` never turns into 20. `measured_at` is the instrument's local
    time as sent (naive: instruments send no zone). `raw` is the source record.
    """

    instrument_id: str
    sample_id: str | None
    analyte: str | None
    raw_value: str
    value: float | None
    comparator: str | None = None
    unit: str = ""
    flags: tuple[str, ...] = ()
    status: str = ""
    measured_at: datetime | None = None
    position: str = ""
    raw: str = ""
    test_code: str = ""
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 text, tuples as lists)."""
        return {
            "instrument_id": self.instrument_id,
            "sample_id": self.sample_id,
            "analyte": self.analyte,
            "test_code": self.test_code,
            "raw_value": self.raw_value,
            "value": self.value,
            "comparator": self.comparator,
            "unit": self.unit,
            "flags": list(self.flags),
            "status": self.status,
            "measured_at": _iso(self.measured_at),
            "position": self.position,
            "raw": self.raw,
            "problems": list(self.problems),
        }


def _freeze_wells(wells: Mapping[str, float | None]) -> Mapping[str, float | None]:
    missing = [w for w in WELLS if w not in wells]
    extra = [w for w in wells if w not in WELLS]
    if missing or extra:
        raise ValueError(f"a plate needs exactly the 96 wells A1..H12 (missing {missing}, extra {extra})")
    return MappingProxyType({w: wells[w] for w in WELLS})


@dataclass(frozen=True)
class PlateReading:
    """One 96-well plate read by a photometer (e.g. Sandell–Kolthoff absorbances).

    `wells` maps A1..H12 to the absorbance, ``None`` where the reader printed an over-range
    marker (``*.***``); those wells are listed in `over_range` so "no value" and "too high to
    measure" are never confused. Dual-wavelength readers add `reference_wells`. The plate layout
    (which well holds which sample or standard) is not known to the reader and is applied later.
    """

    instrument_id: str
    wells: Mapping[str, float | None]
    over_range: tuple[str, ...] = ()
    reference_wells: Mapping[str, float | None] | None = None
    reference_over_range: tuple[str, ...] = ()
    wavelength_nm: int | None = None
    reference_wavelength_nm: int | None = None
    measured_at: datetime | None = None
    model: str = ""
    raw: str = ""
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "wells", _freeze_wells(self.wells))
        if self.reference_wells is not None:
            object.__setattr__(self, "reference_wells", _freeze_wells(self.reference_wells))

    __hash__ = None  # type: ignore[assignment]  # the well maps are not hashable

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; wells keep the A1..H12 order."""
        return {
            "instrument_id": self.instrument_id,
            "model": self.model,
            "measured_at": _iso(self.measured_at),
            "wavelength_nm": self.wavelength_nm,
            "reference_wavelength_nm": self.reference_wavelength_nm,
            "wells": dict(self.wells),
            "over_range": list(self.over_range),
            "reference_wells": dict(self.reference_wells) if self.reference_wells is not None else None,
            "reference_over_range": list(self.reference_over_range),
            "raw": self.raw,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class Quarantined:
    """Input a codec could not turn into a reading, kept with its raw text.

    Codecs return this instead of raising from `feed()`, so one bad block never stops the stream
    and nothing is dropped silently: the driver stores it for a human to look at.
    """

    reason: str
    raw: str
    error_code: str = "protocol_error"
    details: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "raw": self.raw, "error_code": self.error_code,
                "details": list(self.details)}
