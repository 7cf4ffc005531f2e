"""The re-send matrix: the ASTM handler fed bytes (no port, no spool), keys compared.

A key must be equal exactly where the measurement is the same: an identical resend, a resend
with a new H-14, a resend starting at any result k of n (O-2 renumbered), other frame
boundaries, a whole session as one message (cobas c111 style) — and two identical R records
inside one order stay two readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from instruments.codecs import astm_link as link
from instruments.codecs.astm_records import format_record
from instruments.codecs.plate_reader import format_plate
from instruments.driver import AstmHandler, PlateHandler
from instruments.records import WELLS
from instruments.spool import SpoolEntry
from tests.instruments.harness import example_profile

H14 = datetime(2026, 5, 14, 10, 30)


@dataclass(frozen=True)
class Result:
    """One measurement: the order it belongs to (a number within the session), its specimen,
    value and R-13 time (None: the instrument sends no time)."""

    order: int
    accession: str
    value: str
    completed: datetime | None = H14


def records(results: Sequence[Result], *, h14: datetime = H14) -> list[bytes]:
    """The session's records (H, then P/O/R per order, L); O-2 and R-2 count from 1 in *this*
    session, as an instrument numbers them when it sends."""
    stamp = h14.strftime("%Y%m%d%H%M%S")
    out = [["H", None, None, None, ("Sim", "1.0", "ICPMS-01"), None, None, None, None, "LIMS",
            None, "P", "LIS2-A2", stamp]]
    o_seq, last_order, r_seq = 0, None, 0
    for r in results:
        if r.order != last_order:
            o_seq, last_order, r_seq = o_seq + 1, r.order, 0
            out.append(["P", str(o_seq)])
            out.append(["O", str(o_seq), r.accession, None, ("", "", "", "127I"), "R"])
        r_seq += 1
        when = r.completed.strftime("%Y%m%d%H%M%S") if r.completed else None
        out.append(["R", str(r_seq), ("", "", "", "127I"), r.value, "ug/L", None, "N", None, "F",
                    None, "op", None, when])
    out.append(["L", "1", "N"])
    return [format_record(rec).encode("latin-1") for rec in out]


def wire(messages: list[bytes], *, max_text: int = link.MAX_TEXT, one_message: bool = False
         ) -> bytes:
    """ENQ, the frames (of at most `max_text` characters of text), EOT."""
    if one_message:
        messages = [b"".join(messages)]
    return b"\x05" + b"".join(link.frames_of(messages, max_text=max_text)) + b"\x04"


def keys(data: bytes, chunk: int = 0, **options: object) -> list[tuple[str, str]]:
    """(sample ID, key) of every result the handler spools for these bytes."""
    handler = AstmHandler(example_profile("icpms", **options))
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
    out: list[tuple[str, str]] = []
    for piece in pieces:
        for action in handler.feed(piece, now=0.0):
            if isinstance(action, SpoolEntry) and action.envelope.type == "result":
                out.append((action.envelope.payload["sample_id"], action.envelope.idempotency_key))
    return out


def session(n: int = 6, *, repeats: int = 1) -> list[Result]:
    return [Result(i, f"U26-{i:06d}", f"{100 + 7.3 * i:.1f}", H14 + timedelta(minutes=i))
            for i in range(1, n + 1) for _ in range(repeats)]


SESSION = session()
FIRST = keys(wire(records(SESSION)))


def test_every_result_has_its_own_measurement_key() -> None:
    assert len(FIRST) == len(SESSION) == len({k for _, k in FIRST})
    assert all(k.startswith("m:") for _, k in FIRST)


def test_identical_resend_gives_the_same_keys() -> None:
    assert keys(wire(records(SESSION))) == FIRST


def test_resend_with_a_new_h14_gives_the_same_keys() -> None:
    assert keys(wire(records(SESSION, h14=H14 + timedelta(hours=3)))) == FIRST


def test_resend_from_any_result_k_with_o2_renumbered() -> None:
    for k in range(len(SESSION)):
        resent = records(SESSION[k:], h14=H14 + timedelta(minutes=k))
        assert resent[2].startswith(b"O|1|")  # result k's order is now the first
        assert keys(wire(resent)) == FIRST[k:], k


def test_other_frame_boundaries_and_one_message_sessions() -> None:
    messages = records(SESSION)
    for max_text in (7, 20, 61, link.MAX_TEXT):
        assert keys(wire(messages, max_text=max_text)) == FIRST, max_text
        assert keys(wire(messages, max_text=max_text), chunk=5) == FIRST, max_text
    assert keys(wire(messages, one_message=True)) == FIRST


def test_a_different_measurement_gets_a_different_key() -> None:
    changed = [SESSION[0], Result(2, SESSION[1].accession, "999.9", SESSION[1].completed),
               *SESSION[2:]]
    later = [*SESSION[:2], Result(3, SESSION[2].accession, SESSION[2].value,
                                  SESSION[2].completed + timedelta(seconds=1)), *SESSION[3:]]
    other_sample = [*SESSION[:3], Result(4, "U26-999999", SESSION[3].value, SESSION[3].completed),
                    *SESSION[4:]]
    for variant, index in ((changed, 1), (later, 2), (other_sample, 3)):
        got = keys(wire(records(variant)))
        assert [k == f for (_, k), (_, f) in zip(got, FIRST, strict=True)] == [
            i != index for i in range(len(FIRST))]


def test_identical_r_records_in_one_order_stay_two_readings() -> None:
    twice = session(3, repeats=2)  # each order carries the same R record twice
    first = keys(wire(records(twice)))
    assert len({k for _, k in first}) == 6
    assert keys(wire(records(twice, h14=H14 + timedelta(days=1)), max_text=30)) == first
    # the same value in two different orders of one specimen, and at another time: other keys
    assert keys(wire(records([Result(1, "U26-000001", "101.0"), Result(2, "U26-000001", "101.0")])))[1] \
        != keys(wire(records([Result(1, "U26-000001", "101.0"), Result(1, "U26-000001", "101.0")])))[1]


def test_without_r13_the_time_falls_back_to_r12_or_nothing() -> None:
    no_time = [Result(i, f"U26-{i:06d}", "120.0", None) for i in (1, 2)]
    first = keys(wire(records(no_time)))
    assert keys(wire(records(no_time, h14=H14 + timedelta(hours=1)))) == first
    handler = AstmHandler(example_profile("icpms"))
    payloads = [a.envelope.payload for a in handler.feed(wire(records(no_time)), 0.0)
                if isinstance(a, SpoolEntry)]
    assert [p["measured_at"] for p in payloads] == [None, None]
    assert all(p["problems"] == [] for p in payloads)  # attached as usual; the LIMS flags it


def test_a_profile_that_promises_r13_makes_its_absence_a_problem() -> None:
    handler = AstmHandler(example_profile("icpms", always_sends_r13=True))
    data = wire(records([Result(1, "U26-000001", "120.0", None), Result(2, "U26-000002", "99.0")]))
    payloads = [a.envelope.payload for a in handler.feed(data, 0.0) if isinstance(a, SpoolEntry)]
    assert [bool(p["problems"]) for p in payloads] == [True, False]
    assert "R-13" in payloads[0]["problems"][0]


def test_a_plate_resent_under_a_new_header_is_the_same_plate() -> None:
    wells = {w: round(0.1 + i / 1000, 3) for i, w in enumerate(WELLS)}
    wells["H12"] = None

    def plate_keys(data: bytes) -> list[str]:
        handler = PlateHandler(example_profile("sk-reader"))
        actions = handler.feed(data, 0.0) + handler.flush()
        return [a.envelope.idempotency_key for a in actions if isinstance(a, SpoolEntry)]

    first = plate_keys(format_plate(wells, measured_at=datetime(2026, 5, 14, 9, 0)))
    again = plate_keys(format_plate(wells, model="550", measured_at=datetime(2026, 5, 14, 9, 7)))
    assert len(first) == 1 and first == again and first[0].startswith("m:")
    other = plate_keys(format_plate({**wells, "A1": 0.2}, measured_at=datetime(2026, 5, 14, 9, 0)))
    assert other != first


# -- the property: a resend from any cut point gives the same keys after the cut ------------------

@st.composite
def sessions(draw: st.DrawFn) -> list[Result]:
    """Random sessions: 1..6 orders of 1..4 results; within one order no two R records are
    identical (identical R records inside an order are told apart by their occurrence, which a
    resend starting between them cannot know: see the next test)."""
    out: list[Result] = []
    for order in range(1, draw(st.integers(1, 6)) + 1):
        accession = f"U26-{draw(st.integers(1, 5)):06d}"
        count = draw(st.integers(1, 4))
        values = draw(st.lists(st.integers(1, 9999), min_size=count, max_size=count))
        minutes = draw(st.lists(st.integers(0, 5), min_size=count, max_size=count,
                                unique=True) if len(set(values)) < count else
                       st.lists(st.integers(0, 5), min_size=count, max_size=count))
        timed = draw(st.booleans())
        for value, minute in zip(values, minutes, strict=True):
            out.append(Result(order, accession, f"{value / 10:.1f}",
                              H14 + timedelta(minutes=minute) if timed else None))
    # drop identical results within one order (possible when the session sends no time)
    seen: set[tuple[int, str, datetime | None]] = set()
    return [r for r in out if (r.order, r.value, r.completed) not in seen
            and not seen.add((r.order, r.value, r.completed))]  # type: ignore[func-returns-value]


@settings(max_examples=150, deadline=None)
@given(sessions(), st.data())
def test_resend_from_a_random_cut_gives_the_same_keys_after_it(
        results: list[Result], data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(results) - 1))
    max_text = data.draw(st.sampled_from([9, 33, 100, link.MAX_TEXT]))
    hours = data.draw(st.integers(1, 48))
    first = keys(wire(records(results)))
    resent = keys(wire(records(results[cut:], h14=H14 + timedelta(hours=hours)), max_text=max_text))
    assert resent == first[cut:]
