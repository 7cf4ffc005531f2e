"""Bio-Rad 550/680 plate output: whole, split and byte by byte; checksum, over-range, dual mode."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from instruments.codecs.plate_reader import PlateReaderDecoder, block_checksum, format_plate, parse_row
from instruments.errors import FramingError
from instruments.records import WELLS, PlateReading, Quarantined

from .chunking import chunkings, read

SINGLE = read("biorad680_single.txt")
DUAL = read("biorad680_dual.txt")


def decode(chunks: list[bytes]) -> list:
    d = PlateReaderDecoder("BR-680")
    out: list = []
    for c in chunks:
        out += d.feed(c)
    return out + d.flush()


def test_single_wavelength_plate() -> None:
    (plate,) = decode([SINGLE])
    assert isinstance(plate, PlateReading)
    assert plate.wells["A1"] == 0.101 and plate.wells["H11"] == 0.811 and plate.wells["C5"] == 0.305
    assert plate.wells["A12"] is None
    assert plate.over_range == tuple(f"{r}12" for r in "ABCDEFGH")
    assert list(plate.wells) == list(WELLS) and len(WELLS) == 96
    assert plate.measured_at == datetime(2001, 2, 1, 1, 5, 2)  # day/month/year, per the manual
    assert plate.wavelength_nm == 415 and plate.reference_wells is None
    assert plate.model == "BIO-RAD Model 680 Microplate READER" and plate.problems == ()
    assert plate.raw.encode() == SINGLE
    assert json.loads(json.dumps(plate.to_dict()))["wells"]["A12"] is None


def test_dual_wavelength_plate() -> None:
    (plate,) = decode([DUAL])
    assert plate.reference_wavelength_nm == 655
    assert plate.reference_wells is not None and plate.reference_wells["A12"] == -0.004
    assert plate.reference_wells["B1"] == 0.021 and plate.reference_over_range == ()


@pytest.mark.parametrize("data", [SINGLE, DUAL, SINGLE + DUAL + SINGLE], ids=["single", "dual", "three"])
def test_same_result_for_every_chunking(data: bytes) -> None:
    expected = decode([data])
    assert all(isinstance(p, PlateReading) for p in expected)
    for label, chunks in chunkings(data, every_offset=len(data) < 1000):
        assert [p.to_dict() for p in decode(chunks)] == [p.to_dict() for p in expected], label


def test_crlf_terminators_are_accepted() -> None:
    (plate,) = decode([SINGLE.replace(b"\r", b"\r\n")])
    assert plate.wells["A1"] == 0.101 and plate.problems == ()


def test_negative_values_replace_the_separator() -> None:
    row = " 0.101-0.002 0.103 *.***-*.*** 0.106 0.107 0.108 0.109 0.110 0.111 3.499"
    assert parse_row(row) == [0.101, -0.002, 0.103, None, None, 0.106, 0.107, 0.108, 0.109, 0.110, 0.111, 3.499]
    assert parse_row(" " + " ".join(["*"] * 12))[0] is None  # model 550
    for bad in (" 0.101 0.102", row + " 0.5", row.replace("0.106", "0.1O6")):
        with pytest.raises(FramingError):
            parse_row(bad)


def test_bad_checksum_quarantines_the_plate_with_its_raw_text() -> None:
    bad = SINGLE.replace(b" 0.305", b" 0.395")
    (q,) = decode([bad])
    assert isinstance(q, Quarantined) and q.error_code == "checksum_error"
    assert q.raw.encode() == bad
    # the next plate is fine
    out = decode([bad, SINGLE])
    assert [type(x) for x in out] == [Quarantined, PlateReading]


def test_bad_checksum_in_dual_mode_never_turns_the_reference_block_into_a_plate() -> None:
    bad = DUAL.replace(b" 0.305", b" 0.395", 1)
    out = decode([bad])
    assert [type(x) for x in out] == [Quarantined, Quarantined]
    assert out[1].reason == "reference block of a rejected plate"


def test_truncated_plate() -> None:
    cut = SINGLE[: SINGLE.index(b" 0.501")]
    out = decode([cut, SINGLE])
    assert [type(x) for x in out] == [Quarantined, PlateReading]
    assert out[0].reason == "plate cut off by a new header" and out[0].raw.encode() == cut
    (q,) = decode([cut])
    assert q.reason == "incomplete plate at end of input"


def test_missing_rows_or_checksum() -> None:
    lines = SINGLE.split(b"\r")
    no_row = b"\r".join(lines[:5] + lines[6:])
    (q,) = decode([no_row])
    assert isinstance(q, Quarantined) and q.error_code == "framing_error"
    assert "no checksum" in q.reason  # the checksum line was taken as the 8th row
    no_sum = SINGLE.replace(b"\r244\r", b"\r")
    (q,) = decode([no_sum])
    assert isinstance(q, Quarantined) and "no checksum" in q.reason


def test_noise_and_device_errors_are_reported() -> None:
    out = decode([b"\x00\x13noise\r", b"ERE 03 \r", SINGLE])
    assert [type(x) for x in out] == [Quarantined, Quarantined, PlateReading]
    assert out[1].error_code == "device_error"


def test_headerless_block_is_a_plate_with_a_problem() -> None:
    body = SINGLE[SINGLE.index(b".begin"):]
    (plate,) = decode([body])
    assert plate.problems == ("no header (model, date and wavelength unknown)",)


def test_formatter_round_trip() -> None:
    wells = {w: round(0.05 * i - 0.5, 3) for i, w in enumerate(WELLS)}
    wells["D7"] = None
    ref = {w: 0.04 for w in WELLS}
    data = format_plate(wells, measured_at=datetime(2025, 3, 14, 10, 30), reference=ref)
    (plate,) = decode([data])
    assert dict(plate.wells) == wells and plate.over_range == ("D7",)
    assert dict(plate.reference_wells or {}) == ref
    assert plate.measured_at == datetime(2025, 3, 14, 10, 30)


def test_checksum_is_mod_256_of_cr_terminated_rows() -> None:
    rows = [" 0.101"] * 2
    assert block_checksum(rows) == sum(b" 0.101\r 0.101\r") % 256


def test_plate_reading_needs_96_wells() -> None:
    with pytest.raises(ValueError):
        PlateReading(instrument_id="x", wells={"A1": 0.1})
