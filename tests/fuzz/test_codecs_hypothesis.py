"""Property tests of the instrument codecs (ASTM E1381 link, E1394 records, Bio-Rad plate reader,
Metrohm titrator reports, Mettler Toledo MT-SICS balances): random bytes never raise anything but
the codec's own error (the incremental decoders raise nothing and quarantine instead);
encode → decode gives back what was encoded; a stream split at any bytes decodes to the same
records as the whole stream. Example counts are bounded (``settings`` below) to keep the suite
quick; Hypothesis shrinks any failure to a minimal input."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instruments.codecs.astm_link import (
    ENQ,
    EOT,
    MAX_TEXT,
    RESTRICTED,
    Frame,
    MessageReceived,
    Receiver,
    decode_frame,
    encode_frame,
    frames_of,
)
from instruments.codecs.astm_records import (
    RECORD_TYPES,
    ResultAssembler,
    format_record,
    parse_record,
    parse_records,
)
from instruments.codecs.metrohm import MetrohmReportDecoder, parse_report
from instruments.codecs.mtsics import MtSicsDecoder, StableMass, format_weight
from instruments.codecs.plate_reader import PlateReaderDecoder, format_plate
from instruments.errors import InstrumentError
from instruments.records import WELLS, PlateReading
from instruments.simulators.titrator import format_report

FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
ROUND_TRIP = settings(max_examples=100, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])

# Streams that look like the real thing often enough to reach deep states: random bytes mixed
# with the bytes and words each protocol is made of.
TOKENS = [b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x15", b"\x17", b"\r", b"\n", b"\r\n",
          b"1", b"7", b"H|\\^&", b"R|1|^^^UIC|", b"O|1|U-2026-1", b"|", b"^", b"&", b"3A",
          b".begin",
          b".end", b" 0.123", b"-1.5", b"*.***", b"$S ", b"$E", b"\t", b"S S ", b"S D ", b" g",
          b"ES", b"\xff", b"\xc3", b"0" * 300]
streams = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(TOKENS)),
                   max_size=40).map(b"".join)


def cut(data: bytes, points: Sequence[int]) -> list[bytes]:
    """``data`` split at the given offsets (taken modulo its length, in order)."""
    offsets = sorted({p % (len(data) + 1) for p in points})
    bounds = [0, *offsets, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


split_points = st.lists(st.integers(min_value=0, max_value=10_000), max_size=12)


def shown(events: list[Any]) -> list[str]:
    """Events as text, to compare runs: the exceptions some events carry equal only themselves."""
    return [repr(e) for e in events]


def run(decoder_factory: Callable[[], Any], chunks: Sequence[bytes]) -> list[Any]:
    decoder = decoder_factory()
    out: list[Any] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    if hasattr(decoder, "flush"):
        out += decoder.flush()
    return out


# --- ASTM E1381 frames and the link ---------------------------------------------------------------

@FUZZ
@given(st.one_of(st.binary(max_size=300), streams))
def test_decode_frame_raises_only_protocol_errors(raw: bytes) -> None:
    try:
        frame = decode_frame(raw)
    except InstrumentError:
        return
    assert isinstance(frame, Frame) and frame.raw == raw


frame_text = st.binary(max_size=MAX_TEXT).map(lambda b: bytes(c for c in b if c not in RESTRICTED))


@ROUND_TRIP
@given(st.integers(0, 7), frame_text, st.booleans())
def test_frames_round_trip(fn: int, text: bytes, final: bool) -> None:
    frame = decode_frame(encode_frame(fn, text, final=final))
    assert (frame.fn, frame.text, frame.final) == (fn, text, final)


@FUZZ
@given(streams, split_points)
def test_the_receiver_takes_any_bytes_in_any_pieces(data: bytes, points: list[int]) -> None:
    whole = run(Receiver, [data])
    assert shown(run(Receiver, cut(data, points))) == shown(whole)


message_text = st.binary(min_size=1, max_size=700).map(
    lambda b: bytes(c for c in b if c not in RESTRICTED) or b"L|1|N\r")


@ROUND_TRIP
@given(st.lists(message_text, min_size=1, max_size=4), split_points)
def test_messages_split_anywhere_arrive_whole(messages: list[bytes], points: list[int]) -> None:
    stream = bytes([ENQ]) + b"".join(frames_of(messages)) + bytes([EOT])
    events = run(Receiver, cut(stream, points))
    received = [e.text for e in events if isinstance(e, MessageReceived)]
    assert received == messages


# --- ASTM E1394 records ---------------------------------------------------------------------------

@FUZZ
@given(st.one_of(st.text(max_size=200), streams.map(lambda b: b.decode("latin-1"))))
def test_parse_records_raises_only_record_errors(text: str) -> None:
    try:
        records = parse_records(text)
    except InstrumentError:
        return
    assert all(r.type in RECORD_TYPES for r in records)


@FUZZ
@given(st.lists(streams, max_size=6))
def test_the_result_assembler_quarantines_instead_of_raising(messages: list[bytes]) -> None:
    assembler = ResultAssembler("AN-1", {"UIC": "uic"}, specimen_fields=(3, 4))
    for message in messages:
        assembler.feed(message)


# printable latin-1 without the record separators (CR, LF)
record_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    blacklist_categories=("Cc",)), max_size=20)
field_value = st.one_of(
    st.none(), record_text,
    st.tuples(record_text, record_text, record_text, record_text),
    st.lists(st.tuples(record_text, record_text), min_size=2, max_size=3))


@ROUND_TRIP
@given(st.sampled_from(sorted(RECORD_TYPES - {"H"})), st.lists(field_value, max_size=12))
def test_records_round_trip(record_type: str, values: list[Any]) -> None:
    record = parse_record(format_record([record_type, *values]))
    assert record.type == record_type
    for n, value in enumerate(values, start=2):
        if value is None:
            assert record.raw_field(n) == ""
        elif isinstance(value, str):
            assert record.text(n) == value
        elif isinstance(value, tuple):
            assert record.components(n) == value
        else:
            assert record.repeats(n) == tuple(value)


# --- Bio-Rad plate reader -------------------------------------------------------------------------

@FUZZ
@given(streams, split_points)
def test_the_plate_decoder_takes_any_bytes_in_any_pieces(data: bytes, points: list[int]) -> None:
    whole = run(lambda: PlateReaderDecoder("PR-1"), [data])
    assert shown(run(lambda: PlateReaderDecoder("PR-1"), cut(data, points))) == shown(whole)


absorbance = st.one_of(st.none(), st.integers(-999, 3999).map(lambda n: n / 1000))
plates = st.lists(absorbance, min_size=len(WELLS), max_size=len(WELLS)).map(
    lambda values: dict(zip(WELLS, values, strict=True)))


@ROUND_TRIP
@given(plates, st.one_of(st.none(), plates), split_points)
def test_plates_round_trip_split_anywhere(wells: dict[str, float | None],
                                          reference: dict[str, float | None] | None,
                                          points: list[int]) -> None:
    data = format_plate(wells, reference=reference, measured_at=datetime(2026, 5, 14, 9, 30, 5))
    readings = run(lambda: PlateReaderDecoder("PR-1"), cut(data, points))
    assert len(readings) == 1 and isinstance(readings[0], PlateReading), readings
    reading = readings[0]
    assert dict(reading.wells) == wells
    assert set(reading.over_range) == {w for w, v in wells.items() if v is None}
    shown_reference = reading.reference_wells
    assert (dict(shown_reference) if shown_reference is not None else None) == reference
    assert reading.measured_at == datetime(2026, 5, 14, 9, 30, 5)


# --- Metrohm titrator reports ---------------------------------------------------------------------

@FUZZ
@given(streams, split_points)
def test_the_titrator_decoder_takes_any_bytes_in_any_pieces(data: bytes, points: list[int]) -> None:
    whole = run(lambda: MetrohmReportDecoder("TI-1"), [data])
    assert shown(run(lambda: MetrohmReportDecoder("TI-1"), cut(data, points))) == shown(whole)
    try:
        parse_report(data)
    except ValueError:
        pass  # parse_report's own refusal of what is not one report


@ROUND_TRIP
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,24}", fullmatch=True),
       st.integers(1, 999_999).map(lambda n: n / 10_000),
       st.integers(1, 250_000).map(lambda n: n / 10_000),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
           lambda d: d.replace(microsecond=0)),
       split_points)
def test_titrator_reports_round_trip_split_anywhere(sample_id: str, mass_g: float, ep_ml: float,
                                                    determined_at: datetime,
                                                    points: list[int]) -> None:
    data = format_report(sample_id, mass_g, ep_ml, determined_at)
    reports = run(lambda: MetrohmReportDecoder("TI-1"), cut(data, points))
    assert len(reports) == 1, reports
    report = reports[0]
    assert report.sample_id == sample_id.strip()
    assert report.sample_size == mass_g and report.endpoint_volume_ml == ep_ml
    assert report.determined_at == determined_at
    assert report == parse_report(data, "TI-1")


# --- Mettler Toledo MT-SICS balances --------------------------------------------------------------

@FUZZ
@given(streams, split_points)
def test_the_balance_decoder_takes_any_bytes_in_any_pieces(data: bytes, points: list[int]) -> None:
    assert shown(run(MtSicsDecoder, cut(data, points))) == shown(run(MtSicsDecoder, [data]))


@ROUND_TRIP
@given(st.lists(st.tuples(st.integers(-99_999_999, 999_999_999).map(lambda n: n / 10_000),
                          st.sampled_from(["g", "mg", "kg"])), min_size=1, max_size=5),
       split_points)
def test_weights_round_trip_split_anywhere(weights: list[tuple[float, str]],
                                           points: list[int]) -> None:
    data = b"".join(format_weight(value, unit) for value, unit in weights)
    events = run(MtSicsDecoder, cut(data, points))
    assert [(e.value, e.unit) for e in events if isinstance(e, StableMass)] == weights
    assert all(isinstance(e, StableMass) for e in events)
