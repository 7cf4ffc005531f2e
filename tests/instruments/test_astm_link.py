"""ASTM E1381 link layer: captured sessions fed whole, split and byte by byte; broken input;
timers as data; the sender state machine; sender → receiver round trips."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from instruments.codecs.astm_link import (
    ACK, ENQ, EOT, ETB, ETX, MAX_FRAME, MAX_TEXT, NAK, STX,
    ContentionYielded, DuplicateFrame, FrameAccepted, FrameRejected, Garbage, InterruptRequested,
    LinkEstablished, MessageDiscarded, MessageReceived, NakLimitReached, Receiver, Send, Sender,
    TransferComplete, TransferFailed, TransmissionEnded, checksum, decode_frame, encode_frame,
    encode_message, frames_of, split_message,
)
from instruments.errors import ChecksumError, FramingError

from .chunking import chunkings, read

C111 = read("cobas_c111.astm")
PEER = read("iodine_peer_session.astm")


def frames_in(stream: bytes) -> list[bytes]:
    """The frames of a clean capture (STX .. CR LF)."""
    out, i = [], 0
    while (i := stream.find(bytes([STX]), i)) != -1:
        j = i + 1
        while stream[j] not in (ETX, ETB):
            j += 1
        out.append(stream[i:j + 5])
        i = j + 5
    return out


def run(chunks: Sequence[bytes], rx: Receiver | None = None) -> tuple[Receiver, list]:
    rx = rx or Receiver()
    events: list = []
    for chunk in chunks:
        events += rx.feed(chunk)
    events += rx.flush()
    return rx, events


def summary(events: list) -> dict:
    return {
        "messages": [e.text for e in events if isinstance(e, MessageReceived)],
        "sent": b"".join(e.data for e in events if isinstance(e, Send)),
        "garbage": b"".join(e.data for e in events if isinstance(e, Garbage)),
        "rejected": [type(e.error).__name__ for e in events if isinstance(e, FrameRejected)],
        "duplicates": sum(isinstance(e, DuplicateFrame) for e in events),
        "discarded": [e.text for e in events if isinstance(e, MessageDiscarded)],
        "ended": [(e.reason, e.messages) for e in events if isinstance(e, TransmissionEnded)],
    }


# --------------------------------------------------------------------------- frames

def test_checksum_worked_example() -> None:
    # instruments.md §1.2: 1L|1|N<CR><ETX> sums to 0x204 -> "04"
    assert checksum(b"1L|1|N\r\x03") == b"04"
    assert encode_frame(1, b"L|1|N\r") == b"\x021L|1|N\r\x0304\r\n"


@pytest.mark.parametrize("raw", frames_in(C111) + frames_in(PEER), ids=lambda r: r[1:4].decode())
def test_captured_frames_have_valid_checksums(raw: bytes) -> None:
    frame = decode_frame(raw)
    assert encode_frame(frame.fn, frame.text, final=frame.final) == raw


def test_encode_message_splits_at_240_with_etb() -> None:
    text = (b"C|1|I|" + b"x" * 600 + b"|G\r")
    frames = encode_message(text, first_fn=6)
    assert [f[1:2] for f in frames] == [b"6", b"7", b"0"]
    assert [f[-5] for f in frames] == [ETB, ETB, ETX]
    assert all(len(f) <= MAX_FRAME for f in frames)
    assert len(frames[0]) == MAX_FRAME
    assert b"".join(decode_frame(f).text for f in frames) == text
    assert split_message(b"") == [b""]


def test_encode_frame_refuses_what_a_receiver_must_reject() -> None:
    with pytest.raises(ValueError):
        encode_frame(1, b"x" * (MAX_TEXT + 1))
    with pytest.raises(ValueError):
        encode_frame(1, b"R|1|\x03|")
    with pytest.raises(ValueError):
        encode_frame(8, b"L|1\r")


@pytest.mark.parametrize("raw, error", [
    (b"\x021L|1|N\r\x0305\r\n", ChecksumError),
    (b"\x021L|1|N\r\x03zz\r\n", ChecksumError),
    (b"\x029L|1|N\r\x03" + checksum(b"9L|1|N\r\x03") + b"\r\n", FramingError),
    (b"\x021L|1|N\r\x0304\n\n", FramingError),
    (b"\x021" + b"x" * 241 + b"\x03" + checksum(b"1" + b"x" * 241 + b"\x03") + b"\r\n", FramingError),
    (b"\x021L|\x05|N\r\x03" + checksum(b"1L|\x05|N\r\x03") + b"\r\n", FramingError),
])
def test_decode_frame_errors_carry_the_raw_bytes(raw: bytes, error: type) -> None:
    with pytest.raises(error) as exc_info:
        decode_frame(raw)
    assert exc_info.value.raw == raw


def test_lowercase_checksum_is_accepted() -> None:
    assert decode_frame(b"\x021R|1\r\x03" + checksum(b"1R|1\r\x03").lower() + b"\r\n").text == b"R|1\r"


# --------------------------------------------------------------------------- receiver: captures

def test_c111_capture_etb_frames_join_into_one_message() -> None:
    _, events = run([C111])
    s = summary(events)
    assert len(s["messages"]) == 1
    text = s["messages"][0]
    assert text.startswith(b"H|\\^&|||SENAITE") and text.endswith(b"L|1|N\r")
    assert text.count(b"\r") == 7  # seven records, split later on CR
    assert s["sent"] == bytes([ACK]) * 8
    assert s["ended"] == [("eot", 1)] and s["garbage"] == b"" and s["rejected"] == []


def test_peer_session_one_message_per_record_with_fn_wrap() -> None:
    _, events = run([PEER])
    s = summary(events)
    assert [m.split(b"|")[0] for m in s["messages"]] == [b"H", b"P", b"O", b"R", b"O", b"R", b"O", b"R", b"L"]
    assert [e.frame.fn for e in events if isinstance(e, FrameAccepted)] == [1, 2, 3, 4, 5, 6, 7, 0, 1]
    assert s["sent"] == bytes([ACK]) * 10
    assert s["ended"] == [("eot", 9)]


@pytest.mark.parametrize("name", ["cobas_c111.astm", "iodine_peer_session.astm"])
def test_same_result_for_every_chunking(name: str) -> None:
    data = read(name)
    expected = summary(run([data])[1])
    for label, chunks in chunkings(data):
        assert summary(run(chunks)[1]) == expected, label


def test_message_is_reported_before_the_ack_that_completes_it() -> None:
    _, events = run([PEER])
    for i, event in enumerate(events):
        if isinstance(event, MessageReceived):
            assert events[i + 1] == Send(bytes([ACK]))
    assert isinstance(events[0], LinkEstablished) and events[1] == Send(bytes([ACK]))


# --------------------------------------------------------------------------- receiver: broken input

def corrupt(frame: bytes) -> bytes:
    """Flip one text byte, keeping the checksum (a line error)."""
    return frame[:4] + bytes([frame[4] ^ 0x01]) + frame[5:]


def peer_frames() -> list[bytes]:
    return frames_in(PEER)


def stream(*parts: bytes | int) -> bytes:
    return b"".join(bytes([p]) if isinstance(p, int) else p for p in parts)


def test_bad_checksum_nak_then_retransmission_gives_exactly_one_message() -> None:
    f = peer_frames()
    data = stream(ENQ, f[0], corrupt(f[1]), f[1], *f[2:], EOT)
    expected = None
    for label, chunks in chunkings(data):
        _, events = run(chunks)
        s = summary(events)
        assert s["rejected"] == ["ChecksumError"], label
        assert len(s["messages"]) == 9 and s["messages"][1] == b"P|1|PAT-0001\r", label
        assert s["sent"] == bytes([ACK, ACK, NAK]) + bytes([ACK]) * 8, label
        expected = expected or s
        assert s == expected, label


def test_wrong_frame_number_is_naked() -> None:
    f = peer_frames()
    skipped = f[3]  # FN 4 sent where 3 is expected
    _, events = run([stream(ENQ, f[0], f[1], skipped, f[2], f[3], EOT)])
    s = summary(events)
    assert s["rejected"] == ["SequenceError"]
    rejected = next(e for e in events if isinstance(e, FrameRejected))
    assert rejected.error.raw == skipped and "expected 3" in str(rejected.error)
    assert len(s["messages"]) == 4


def test_first_frame_must_be_number_one() -> None:
    f = frames_of([b"H|\\^&\r"], first_fn=0)
    _, events = run([stream(ENQ, f[0])])
    assert summary(events)["rejected"] == ["SequenceError"]


def test_repeated_frame_after_lost_ack_is_acked_and_dropped() -> None:
    f = peer_frames()
    data = stream(ENQ, f[0], f[1], f[1], f[2], EOT)
    for label, chunks in chunkings(data):
        _, events = run(chunks)
        s = summary(events)
        assert s["duplicates"] == 1 and s["rejected"] == [], label
        assert len(s["messages"]) == 3, label
        assert s["sent"] == bytes([ACK]) * 5, label
    dup = next(e for e in run([data])[1] if isinstance(e, DuplicateFrame))
    assert dup.identical and dup.frame.fn == 2


def test_repeat_with_different_content_is_flagged() -> None:
    f = peer_frames()
    other = encode_frame(2, b"P|1|PAT-9999\r")
    _, events = run([stream(ENQ, f[0], f[1], other, EOT)])
    dup = next(e for e in events if isinstance(e, DuplicateFrame))
    assert not dup.identical and dup.frame.raw == other


def test_garbage_between_frames_is_ignored_but_reported() -> None:
    f = peer_frames()
    noise1, noise2, noise3 = b"\x00\xff~junk", b"\r\n\x7f", b"after"
    data = stream(noise1, ENQ, f[0], noise2, f[1], *f[2:], EOT, noise3)
    expected = summary(run([data])[1])
    assert expected["garbage"] == noise1 + noise2 + noise3
    assert len(expected["messages"]) == 9 and expected["rejected"] == []
    for label, chunks in chunkings(data):
        assert summary(run(chunks)[1]) == expected, label


def test_truncated_frame_followed_by_retransmission() -> None:
    f = peer_frames()
    cut = f[1][:9]
    data = stream(ENQ, f[0], cut, f[1], *f[2:], EOT)
    for label, chunks in chunkings(data, every_offset=False):
        _, events = run(chunks)
        s = summary(events)
        assert s["garbage"] == cut and len(s["messages"]) == 9, label
    assert next(e for e in run([data])[1] if isinstance(e, Garbage)).reason == "truncated frame"


def test_truncated_frame_then_silence_is_naked_after_the_frame_timeout() -> None:
    f = peer_frames()
    rx = Receiver()
    rx.feed(stream(ENQ, f[0]), now=0.0)
    assert rx.deadline == 30.0
    assert rx.feed(f[1][:10], now=1.0) == []
    assert rx.deadline == 16.0
    assert rx.tick(15.9) == []
    events = rx.tick(16.0)
    rejected = [e for e in events if isinstance(e, FrameRejected)]
    assert len(rejected) == 1 and rejected[0].error.raw == f[1][:10]
    assert rejected[0].error.error_code == "truncated_frame"
    assert events[-1] == Send(bytes([NAK]))
    # the sender retransmits and all is well
    events = rx.feed(f[1], now=17.0)
    assert any(isinstance(e, MessageReceived) for e in events)


def test_missing_etx_lf_ends_the_frame_with_a_nak() -> None:
    f = peer_frames()
    broken = f[1].replace(bytes([ETX]), b"")
    _, events = run([stream(ENQ, f[0], broken, f[1], EOT)])
    s = summary(events)
    assert s["rejected"] == ["FramingError"] and len(s["messages"]) == 2


def test_oversize_frame_is_naked() -> None:
    text = b"C|1|I|" + b"y" * 236 + b"\r"  # 243 text bytes > 240
    body = b"1" + text + bytes([ETX])
    oversize = bytes([STX]) + body + checksum(body) + b"\r\n"
    _, events = run([stream(ENQ, oversize)])
    rejected = next(e for e in events if isinstance(e, FrameRejected))
    assert rejected.error.error_code == "oversize_frame" and rejected.error.raw == oversize
    assert summary(events)["sent"] == bytes([ACK, NAK])


def test_runaway_frame_is_cut_and_kept_as_garbage() -> None:
    _, events = run([stream(ENQ, STX, b"z" * 5000)])
    garbage = [e for e in events if isinstance(e, Garbage)]
    assert sum(len(g.data) for g in garbage) == 5001
    assert garbage[0].reason == "runaway frame"


def test_six_naks_of_one_frame_are_tracked_then_eot_discards_the_partial_message() -> None:
    long = frames_of([b"C|1|I|" + b"z" * 300 + b"\r"])
    assert len(long) == 2
    bad = corrupt(long[1])
    rx, events = run([stream(ENQ, long[0], *[bad] * 6, EOT)])
    limit = [e for e in events if isinstance(e, NakLimitReached)]
    assert limit == [NakLimitReached(6)]
    assert [e.nak_count for e in events if isinstance(e, FrameRejected)] == [1, 2, 3, 4, 5, 6]
    s = summary(events)
    assert s["discarded"] == [decode_frame(long[0]).text]
    assert s["ended"] == [("eot", 0)]
    assert rx.state == "neutral"


def test_nak_count_resets_after_an_accepted_frame() -> None:
    f = peer_frames()
    rx, events = run([stream(ENQ, corrupt(f[0]), f[0], corrupt(f[1]))])
    assert [e.nak_count for e in events if isinstance(e, FrameRejected)] == [1, 1]


def test_idle_timeout_discards_the_incomplete_message() -> None:
    long = frames_of([b"C|1|I|" + b"z" * 300 + b"\r"])
    rx = Receiver()
    rx.feed(bytes([ENQ]), now=100.0)
    rx.feed(long[0], now=105.0)
    assert rx.deadline == 135.0
    assert rx.tick(134.9) == []
    events = rx.tick(135.0)
    assert [type(e) for e in events] == [MessageDiscarded, TransmissionEnded]
    assert events[1].reason == "timeout"
    assert rx.deadline is None and rx.state == "neutral"
    # a new session works
    events = rx.feed(stream(ENQ, *frames_of([b"L|1|N\r"]), EOT), now=200.0)
    assert len(summary(events)["messages"]) == 1


def test_busy_receiver_naks_enq() -> None:
    rx = Receiver()
    rx.busy = True
    assert rx.feed(bytes([ENQ])) == [Send(bytes([NAK]))]
    assert rx.state == "neutral" and rx.deadline is None


def test_enq_during_transfer_starts_over() -> None:
    f = peer_frames()
    _, events = run([stream(ENQ, f[0], ENQ, f[0], f[1], EOT)])
    s = summary(events)
    assert s["ended"] == [("enq during transfer", 1), ("eot", 2)]
    assert s["sent"] == bytes([ACK]) * 5


def test_frames_before_enq_are_garbage() -> None:
    f = peer_frames()
    _, events = run([stream(f[0], EOT)])
    s = summary(events)
    assert s["messages"] == [] and s["sent"] == b"" and s["garbage"] == f[0] + bytes([EOT])


# --------------------------------------------------------------------------- sender

def sends(events: list) -> list[bytes]:
    return [e.data for e in events if isinstance(e, Send)]


def test_sender_happy_path() -> None:
    tx = Sender()
    msgs = [b"H|\\^&\r", b"L|1|N\r"]
    assert sends(tx.send(msgs, now=0.0)) == [bytes([ENQ])]
    assert tx.deadline == 15.0
    assert sends(tx.feed(bytes([ACK]))) == [encode_frame(1, msgs[0])]
    assert sends(tx.feed(bytes([ACK]))) == [encode_frame(2, msgs[1])]
    events = tx.feed(bytes([ACK]))
    assert sends(events) == [bytes([EOT])]
    assert TransferComplete(tuple(msgs)) in events
    assert tx.state == "idle" and tx.deadline is None


def test_sender_retransmits_on_nak_six_sends_at_most() -> None:
    tx = Sender()
    tx.send([b"R|1\r"], now=0.0)
    frame = sends(tx.feed(bytes([ACK])))[0]
    for attempt in range(2, 7):
        assert sends(tx.feed(bytes([NAK]))) == [frame]
        assert tx.attempts == attempt
    events = tx.feed(bytes([NAK]))
    assert sends(events) == [bytes([EOT])]
    assert TransferFailed("frame rejected 6 times", (b"R|1\r",)) in events


def test_sender_treats_any_other_reply_as_nak() -> None:
    tx = Sender()
    tx.send([b"R|1\r"])
    frame = sends(tx.feed(bytes([ACK])))[0]
    assert sends(tx.feed(b"?")) == [frame]


def test_sender_gives_up_without_reply() -> None:
    tx = Sender()
    tx.send([b"R|1\r"], now=10.0)
    tx.feed(bytes([ACK]), now=11.0)
    assert tx.deadline == 26.0
    assert tx.tick(25.0) == []
    events = tx.tick(26.0)
    assert sends(events) == [bytes([EOT])]
    assert isinstance(events[-1], TransferFailed) and events[-1].reason == "no reply to frame"

    tx = Sender()
    tx.send([b"R|1\r"], now=0.0)
    events = tx.tick(15.0)
    assert sends(events) == [bytes([EOT])] and events[-1].reason == "no reply to ENQ"


def test_sender_waits_ten_seconds_after_busy_nak() -> None:
    tx = Sender(max_enq_attempts=2)
    tx.send([b"R|1\r"], now=0.0)
    assert tx.feed(bytes([NAK]), now=1.0) == []
    assert tx.deadline == 11.0 and tx.tick(10.9) == []
    assert sends(tx.tick(11.0)) == [bytes([ENQ])]
    events = tx.feed(bytes([NAK]), now=12.0)
    assert events == [TransferFailed("receiver busy (ENQ refused)", (b"R|1\r",))]


def test_contention_instrument_repeats_enq_after_one_second() -> None:
    tx = Sender(role="instrument")
    tx.send([b"R|1\r"], now=0.0)
    assert tx.feed(bytes([ENQ]), now=0.5) == []
    assert tx.deadline == 1.5
    assert sends(tx.tick(1.5)) == [bytes([ENQ])]


def test_contention_computer_yields_for_twenty_seconds() -> None:
    tx = Sender(role="computer")
    tx.send([b"O|1\r"], now=0.0)
    events = tx.feed(bytes([ENQ]), now=0.5)
    assert events == [ContentionYielded(20.5)]
    assert tx.state == "waiting" and tx.deadline == 20.5
    # meanwhile the instrument's repeated ENQ goes to the host's receiver, which ACKs it
    rx = Receiver()
    assert rx.feed(bytes([ENQ]), now=1.5)[-1] == Send(bytes([ACK]))


def test_receiver_interrupt_counts_as_ack_and_defers_the_rest() -> None:
    tx = Sender()
    msgs = [b"H|\\^&\r", b"P|1\r", b"L|1|N\r"]
    tx.send(msgs, now=0.0)
    tx.feed(bytes([ACK]))
    events = tx.feed(bytes([EOT]), now=2.0)  # EOT answers frame 1 (H): accepted + stop
    assert sends(events) == [bytes([EOT])]
    assert TransferComplete((msgs[0],)) in events and InterruptRequested(17.0) in events
    assert sends(tx.tick(17.0)) == [bytes([ENQ])]
    assert sends(tx.feed(bytes([ACK]))) == [encode_frame(1, msgs[1])]  # new transfer: FN from 1


# --------------------------------------------------------------------------- round trips

Manipulator = Callable[[int, bytes], bytes]


def pump(tx: Sender, rx: Receiver, messages: Sequence[bytes], *, to_rx: Manipulator = lambda i, b: b,
         to_tx: Manipulator = lambda i, b: b) -> tuple[list, list]:
    """Connect a sender and a receiver in-process; manipulators may corrupt the i-th transmission."""
    rx_events: list = []
    tx_events: list = tx.send(messages, now=0.0)
    outbox = sends(tx_events)
    n_out = n_back = 0
    while outbox:
        data = to_rx(n_out, outbox.pop(0))
        n_out += 1
        new = rx.feed(data)
        rx_events += new
        for reply in sends(new):
            reply = to_tx(n_back, reply)
            n_back += 1
            more = tx.feed(reply)
            tx_events += more
            outbox += sends(more)
    return rx_events, tx_events


MESSAGES = [b"H|\\^&|||Sim\r"] + [b"R|%d|^^^UIC|%d.5|ug/L\r" % (i, i) for i in range(1, 20)] + \
    [b"C|1|I|" + b"long comment " * 40 + b"|G\r", b"L|1|N\r"]


def test_round_trip_many_messages_fn_wraps_and_etb() -> None:
    rx_events, tx_events = pump(Sender(), Receiver(), MESSAGES)
    assert summary(rx_events)["messages"] == MESSAGES
    assert TransferComplete(tuple(MESSAGES)) in tx_events
    fns = [e.frame.fn for e in rx_events if isinstance(e, FrameAccepted)]
    assert fns[:10] == [1, 2, 3, 4, 5, 6, 7, 0, 1, 2]


def test_round_trip_with_line_errors_delivers_each_message_once() -> None:
    # corrupt the 3rd and 4th transmissions (a frame and its first retransmission)
    def noisy(i: int, b: bytes) -> bytes:
        return corrupt(b) if i in (3, 4) and b[:1] == bytes([STX]) else b
    rx_events, tx_events = pump(Sender(), Receiver(), MESSAGES, to_rx=noisy)
    s = summary(rx_events)
    assert s["messages"] == MESSAGES and s["rejected"] == ["ChecksumError", "ChecksumError"]
    assert TransferComplete(tuple(MESSAGES)) in tx_events


def test_round_trip_with_a_garbled_ack_delivers_each_message_once() -> None:
    # the receiver's ACK to frame 2 arrives as noise: the sender retransmits, the receiver drops the duplicate
    rx_events, tx_events = pump(Sender(), Receiver(), MESSAGES, to_tx=lambda i, b: b"\x7f" if i == 2 else b)
    s = summary(rx_events)
    assert s["messages"] == MESSAGES and s["duplicates"] == 1
    assert TransferComplete(tuple(MESSAGES)) in tx_events


def test_round_trip_sender_aborts_after_six_rejections() -> None:
    rx_events, tx_events = pump(Sender(), Receiver(), MESSAGES[:3],
                                to_rx=lambda i, b: corrupt(b) if b.startswith(b"\x022") else b)
    assert [e for e in rx_events if isinstance(e, NakLimitReached)] == [NakLimitReached(6)]
    s = summary(rx_events)
    assert s["messages"] == MESSAGES[:1] and s["ended"] == [("eot", 1)]
    failed = next(e for e in tx_events if isinstance(e, TransferFailed))
    assert failed.messages == tuple(MESSAGES[1:3])
    assert TransferComplete((MESSAGES[0],)) in tx_events
