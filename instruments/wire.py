"""The JSON that crosses from a driver's spool to the LIMS: ``POST /api/v1/readings``.

One schema, owned here because the driver writes it and the LIMS reads it (design.md: the LIMS
may import this small module to validate; `instruments/` never imports the LIMS). The schema is
JSON Schema 2020-12, the dialect of OpenAPI 3.1, so the same dict is embedded in the LIMS's
OpenAPI document and used to validate requests: what is documented is what is enforced.

A batch is ``{"items": [Item, ...]}``. Each item is an *envelope* around one thing a codec
produced:

* ``type: "result"`` — a `Reading` (one value for one sample and analyte);
* ``type: "plate"`` — a `PlateReading` (96 absorbances, the layout is applied by the LIMS);
* ``type: "quarantine"`` — a `Quarantined` block the codec could not read; it is sent anyway so
  a person sees it in the LIMS's unmatched queue, with its raw bytes.

``idempotency_key`` is made once, when the item is spooled, and never changes: the LIMS stores it
under a unique constraint per instrument, so an item sent twice (a lost HTTP response, a driver
restarted mid-batch) is recognised and answered ``duplicate`` with the first item's id.

The answer (HTTP 200) lists one outcome per item, in order: ``{"results": [{"idempotency_key",
"outcome": "attached" | "unmatched" | "pending" | "duplicate", "reading_id", "reason"}]}``
(``pending``: a plate waiting for an analytical run to claim it). A batch that
fails validation is refused whole with HTTP 422 and a problem document whose ``errors`` name the
item (``index``) and the place (``path``), so the uplink can set exactly those items aside.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from instruments.records import PlateReading, Quarantined, Reading

__all__ = [
    "ITEM_TYPES",
    "MAX_BATCH",
    "ItemType",
    "Envelope",
    "envelope_for",
    "READING_SCHEMA",
    "PLATE_SCHEMA",
    "QUARANTINE_SCHEMA",
    "ITEM_SCHEMA",
    "BATCH_SCHEMA",
    "OUTCOME_SCHEMA",
    "BATCH_RESULT_SCHEMA",
]

ItemType = Literal["result", "plate", "quarantine"]
ITEM_TYPES: tuple[str, ...] = ("result", "plate", "quarantine")
#: Most items one request may carry; the uplink sends at most this many (bounded request size).
MAX_BATCH = 1000

_TEXT = {"type": "string", "maxLength": 200}
_OPT_TEXT = {"type": ["string", "null"], "maxLength": 200}
_RAW = {"type": "string", "maxLength": 200_000}
#: The instrument's own clock: ISO 8601, usually without a zone (instruments send none), so not
#: an RFC 3339 ``date-time``; the LIMS parses it and refuses what does not parse.
_LOCAL_TIME = {"type": ["string", "null"], "maxLength": 40,
               "description": "ISO 8601 date and time of the instrument's clock, as sent."}
_NUMBER = {"type": ["number", "null"]}
_NOTES = {"type": "array", "items": {"type": "string", "maxLength": 1000}, "maxItems": 50}
_WELL_VALUES = {
    "type": "object",
    "propertyNames": {"pattern": "^[A-H](?:[1-9]|1[0-2])$"},
    "additionalProperties": _NUMBER,
    "minProperties": 96,
    "maxProperties": 96,
}

READING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One value for one sample and analyte, as the instrument sent it.",
    "required": ["instrument_id", "sample_id", "analyte", "raw_value", "value"],
    "additionalProperties": False,
    "properties": {
        "instrument_id": _TEXT,
        "sample_id": _OPT_TEXT,
        "analyte": _OPT_TEXT,
        "test_code": _TEXT,
        "raw_value": _TEXT,
        "value": _NUMBER,
        "comparator": {"type": ["string", "null"], "enum": ["<", ">", None]},
        "unit": {"type": "string", "maxLength": 40},
        "flags": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 20},
        "status": {"type": "string", "maxLength": 40},
        "measured_at": _LOCAL_TIME,
        "position": {"type": "string", "maxLength": 40},
        "raw": _RAW,
        "problems": _NOTES,
    },
}

PLATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One 96-well plate of absorbances; null wells are over range (see over_range).",
    "required": ["instrument_id", "wells"],
    "additionalProperties": False,
    "properties": {
        "instrument_id": _TEXT,
        "model": {"type": "string", "maxLength": 80},
        "measured_at": _LOCAL_TIME,
        "wavelength_nm": {"type": ["integer", "null"], "minimum": 200, "maximum": 1000},
        "reference_wavelength_nm": {"type": ["integer", "null"], "minimum": 200, "maximum": 1000},
        "wells": _WELL_VALUES,
        "over_range": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 96},
        "reference_wells": {"oneOf": [{"type": "null"}, _WELL_VALUES]},
        "reference_over_range": {"type": "array", "items": {"type": "string", "maxLength": 3},
                                 "maxItems": 96},
        "raw": _RAW,
        "problems": _NOTES,
    },
}

QUARANTINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Input the driver could not read, kept with its raw bytes (latin-1 text).",
    "required": ["reason", "raw"],
    "additionalProperties": False,
    "properties": {
        "reason": {"type": "string", "maxLength": 1000},
        "raw": _RAW,
        "error_code": {"type": "string", "maxLength": 40},
        "details": _NOTES,
    },
}

ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One spooled item: a result, a plate or a quarantined block, with its key.",
    "required": ["idempotency_key", "type", "instrument_id", "spooled_at", "payload"],
    "additionalProperties": False,
    "properties": {
        "idempotency_key": {"type": "string", "minLength": 8, "maxLength": 100,
                            "pattern": "^[A-Za-z0-9._:-]+$"},
        "type": {"type": "string", "enum": list(ITEM_TYPES)},
        "instrument_id": _TEXT,
        "spooled_at": {"type": "string", "format": "date-time", "maxLength": 40},
        "payload": {"type": "object"},
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "result"}}},
         "then": {"properties": {"payload": READING_SCHEMA}}},
        {"if": {"properties": {"type": {"const": "plate"}}},
         "then": {"properties": {"payload": PLATE_SCHEMA}}},
        {"if": {"properties": {"type": {"const": "quarantine"}}},
         "then": {"properties": {"payload": QUARANTINE_SCHEMA}}},
    ],
}

BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["items"],
    "additionalProperties": False,
    "properties": {"items": {"type": "array", "items": ITEM_SCHEMA, "minItems": 1, "maxItems": MAX_BATCH}},
}

OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["idempotency_key", "outcome", "reading_id"],
    "properties": {
        "idempotency_key": {"type": "string"},
        "outcome": {"type": "string", "enum": ["attached", "unmatched", "pending", "duplicate"]},
        "reading_id": {"type": "integer"},
        "reason": {"type": ["string", "null"]},
    },
}

BATCH_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {"results": {"type": "array", "items": OUTCOME_SCHEMA}},
}


@dataclass(frozen=True)
class Envelope:
    """One spooled item, ready to be sent (see the module docstring)."""

    idempotency_key: str
    type: ItemType
    instrument_id: str
    spooled_at: datetime
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.idempotency_key,
            "type": self.type,
            "instrument_id": self.instrument_id,
            "spooled_at": self.spooled_at.isoformat(),
            "payload": self.payload,
        }


def envelope_for(instrument_id: str, item: Reading | PlateReading | Quarantined, *,
                 now: datetime | None = None, key: str | None = None) -> Envelope:
    """Wrap a codec's output; the key is random (uuid4) so it is unique across restarts and PCs."""
    kind: ItemType
    if isinstance(item, Reading):
        kind = "result"
    elif isinstance(item, PlateReading):
        kind = "plate"
    else:
        kind = "quarantine"
    return Envelope(
        idempotency_key=key or uuid.uuid4().hex,
        type=kind,
        instrument_id=instrument_id,
        spooled_at=now or datetime.now(UTC),
        payload=item.to_dict(),
    )
