"""The schema that crosses the wire: frozen, JSON-ready."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest

from instruments import ChecksumError, FramingError, InstrumentError, InstrumentTimeout, ProtocolError
from instruments.records import WELLS, PlateReading, Quarantined, Reading


def test_reading_is_frozen_and_json_ready() -> None:
    r = Reading(instrument_id="i", sample_id="U25-0001", analyte="uic", raw_value="<20", value=20.0,
                comparator="<", unit="ug/L", flags=("L",), status="F",
                measured_at=datetime(2025, 3, 14, 10, 30), position="1^2", raw="R|1|^^^UIC|<20", test_code="UIC")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.value = 1.0  # type: ignore[misc]
    d = json.loads(json.dumps(r.to_dict()))
    assert d["comparator"] == "<" and d["flags"] == ["L"] and d["measured_at"] == "2025-03-14T10:30:00"
    assert set(d) == {f.name for f in dataclasses.fields(Reading)}


def test_plate_reading_wells_are_read_only_and_ordered() -> None:
    wells = {w: 0.1 for w in reversed(WELLS)}
    p = PlateReading(instrument_id="i", wells=wells)
    assert list(p.wells) == list(WELLS)
    with pytest.raises(TypeError):
        p.wells["A1"] = 2.0  # type: ignore[index]
    wells["A1"] = 9.9
    assert p.wells["A1"] == 0.1
    assert set(p.to_dict()) == {f.name for f in dataclasses.fields(PlateReading)}


def test_quarantined_to_dict() -> None:
    assert Quarantined("bad", "raw", "checksum_error").to_dict()["error_code"] == "checksum_error"


def test_error_hierarchy() -> None:
    e = ChecksumError("bad", b"\x02x", expected="04", received="05")
    assert isinstance(e, ProtocolError) and isinstance(e, InstrumentError) and e.raw == b"\x02x"
    assert e.error_code == "checksum_error" and "raw=" in repr(e)
    assert FramingError("x", b"", error_code="oversize_frame").error_code == "oversize_frame"
    assert issubclass(InstrumentTimeout, TimeoutError)
