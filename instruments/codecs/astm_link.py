"""ASTM E1381 / CLSI LIS1-A low-level protocol (the data link), sans-IO.

Why sans-IO: the same state machines serve the LIMS-side driver (real serial port), the
simulators (instrument side) and the tests (bytes split anywhere, corrupted on purpose), and the
timers can be tested without waiting. Both machines take bytes with ``feed(data, now)`` and
return a list of *events*; an event ``Send(data)`` means "write these bytes to the line now".
Neither reads a clock: each exposes ``deadline`` (when it next needs attention, or ``None``) and
the caller calls ``tick(now)`` once that time has come. ``now`` is any monotonic seconds value;
if omitted, the last value given is reused (handy in tests that do not care about time).

Events are returned in the order the caller must act on them. In particular a completed message
(`MessageReceived`) comes *before* the `Send(ACK)` of the frame that completed it, so a driver
that handles events in order stores the message durably before acknowledging it — an instrument
whose ACK never arrives retransmits rather than losing the result.

Reference: ``shared/instruments.md`` §1 (frame format, checksum, FN 1..7,0, timers, contention).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from instruments.errors import ChecksumError, FramingError, ProtocolError, SequenceError

__all__ = [
    "STX", "ETX", "EOT", "ENQ", "ACK", "NAK", "ETB", "CR", "LF",
    "MAX_FRAME", "MAX_TEXT",
    "Frame", "checksum", "encode_frame", "decode_frame", "split_message", "encode_message",
    "Send", "LinkEstablished", "FrameAccepted", "DuplicateFrame", "FrameRejected",
    "NakLimitReached", "MessageReceived", "MessageDiscarded", "Garbage", "TransmissionEnded",
    "TransferComplete", "TransferFailed", "ContentionYielded", "InterruptRequested",
    "Receiver", "Sender", "frames_of",
]

STX = 0x02
ETX = 0x03
EOT = 0x04
ENQ = 0x05
ACK = 0x06
NAK = 0x15
ETB = 0x17
CR = 0x0D
LF = 0x0A

#: Max bytes of one frame including STX, FN, ETX/ETB, C1, C2, CR, LF (LIS1-A).
MAX_FRAME = 247
#: Max text bytes per frame (247 - 7 bytes of overhead).
MAX_TEXT = MAX_FRAME - 7

# Characters that must not appear in message text (LIS1-A): SOH STX ETX EOT ENQ ACK DLE NAK SYN
# ETB DC1-DC4 and LF (LF only as the frame's last byte).
RESTRICTED = frozenset({0x01, STX, ETX, EOT, ENQ, ACK, 0x10, NAK, 0x16, ETB, 0x11, 0x12, 0x13, 0x14, LF})

_HEX = frozenset(b"0123456789ABCDEFabcdef")


# --------------------------------------------------------------------------- frames (pure)

@dataclass(frozen=True)
class Frame:
    """One decoded frame. `final` is True for an end frame (ETX), False for ETB."""

    fn: int
    text: bytes
    final: bool
    raw: bytes


def checksum(body: bytes) -> bytes:
    """Checksum of FN..ETX/ETB inclusive: sum mod 256 as two uppercase hex digits."""
    return b"%02X" % (sum(body) & 0xFF)


def encode_frame(fn: int, text: bytes, *, final: bool = True) -> bytes:
    """Build ``STX FN text ETX|ETB C1 C2 CR LF``.

    Raises `ValueError` for text the receiver would have to reject (too long, or containing
    restricted control characters), so a simulator cannot send what the standard forbids by
    accident; fault injection corrupts the *encoded* bytes instead.
    """
    if not 0 <= fn <= 7:
        raise ValueError(f"frame number must be 0..7, got {fn}")
    if len(text) > MAX_TEXT:
        raise ValueError(f"frame text is {len(text)} bytes, max {MAX_TEXT}")
    bad = sorted({b for b in text if b in RESTRICTED})
    if bad:
        raise ValueError(f"restricted characters in frame text: {[hex(b) for b in bad]}")
    body = b"%d" % fn + text + bytes([ETX if final else ETB])
    return bytes([STX]) + body + checksum(body) + b"\r\n"


def decode_frame(raw: bytes, *, max_text: int = MAX_TEXT) -> Frame:
    """Check and decode one complete frame (STX .. LF).

    Raises `FramingError` (shape, size, restricted characters) or `ChecksumError`; both carry
    `raw`. The frame-number *sequence* is not checked here: that needs the receiver's state.
    """
    if len(raw) < 7 or raw[0] != STX or raw[-2:] != b"\r\n" or raw[-5] not in (ETX, ETB):
        raise FramingError("malformed frame (expected STX FN text ETX|ETB C1 C2 CR LF)", raw)
    fn_char = raw[1]
    if not 0x30 <= fn_char <= 0x37:
        raise FramingError(f"frame number {chr(fn_char)!r} is not a digit 0..7", raw)
    text = raw[2:-5]
    if len(text) > max_text:
        raise FramingError(f"oversize frame: {len(text)} text bytes, max {max_text}", raw,
                           error_code="oversize_frame")
    c1c2 = raw[-4:-2]
    expected = checksum(raw[1:-4])
    if not all(c in _HEX for c in c1c2) or c1c2.upper() != expected:
        raise ChecksumError(f"checksum mismatch: frame says {c1c2!r}, content gives {expected!r}", raw,
                            expected=expected.decode(), received=c1c2.decode("latin-1"))
    bad = sorted({b for b in text if b in RESTRICTED})
    if bad:
        raise FramingError(f"restricted characters in frame text: {[hex(b) for b in bad]}", raw)
    return Frame(fn=fn_char - 0x30, text=text, final=raw[-5] == ETX, raw=raw)


def split_message(text: bytes, max_text: int = MAX_TEXT) -> list[bytes]:
    """Cut a message's text into frame-sized pieces (all but the last go out with ETB)."""
    if not text:
        return [b""]
    return [text[i:i + max_text] for i in range(0, len(text), max_text)]


def encode_message(text: bytes, first_fn: int = 1, max_text: int = MAX_TEXT) -> list[bytes]:
    """Encode one message (usually one E1394 record ending in CR) as ETB frames + one ETX frame."""
    parts = split_message(text, max_text)
    return [encode_frame((first_fn + i) % 8, part, final=i == len(parts) - 1) for i, part in enumerate(parts)]


# --------------------------------------------------------------------------- events

@dataclass(frozen=True)
class Send:
    """Write these bytes to the line now."""

    data: bytes


@dataclass(frozen=True)
class LinkEstablished:
    """The receiver accepted an ENQ; a transfer phase begins."""


@dataclass(frozen=True)
class FrameAccepted:
    """A new frame passed all checks (it will be ACKed)."""

    frame: Frame


@dataclass(frozen=True)
class DuplicateFrame:
    """A repeat of the last accepted frame (its ACK was lost): ACKed and dropped.

    `identical` is False when the repeat's bytes differ from the accepted frame; the standard
    still says "drop", but the caller should keep the raw bytes for review.
    """

    frame: Frame
    identical: bool


@dataclass(frozen=True)
class FrameRejected:
    """A frame was NAKed; `error.raw` holds its bytes. `nak_count` counts NAKs since the last accepted frame."""

    error: ProtocolError
    nak_count: int


@dataclass(frozen=True)
class NakLimitReached:
    """The same frame has now been NAKed `count` times: a conforming sender aborts (sends EOT)."""

    count: int


@dataclass(frozen=True)
class MessageReceived:
    """A complete message (frames up to and including an ETX frame), text joined across ETB frames."""

    text: bytes
    frames: tuple[bytes, ...]


@dataclass(frozen=True)
class MessageDiscarded:
    """An incomplete message (ETB frames without their ETX frame) was abandoned; kept for quarantine."""

    reason: str
    text: bytes
    frames: tuple[bytes, ...]


@dataclass(frozen=True)
class Garbage:
    """Bytes that belong to no valid frame (noise, truncated frames); ignored by the protocol, kept here."""

    data: bytes
    reason: str = "bytes outside a frame"


@dataclass(frozen=True)
class TransmissionEnded:
    """The transfer phase is over (EOT, timeout, or a new ENQ); back to neutral."""

    reason: str
    messages: int


@dataclass(frozen=True)
class TransferComplete:
    """Sender: these messages were all acknowledged."""

    messages: tuple[bytes, ...]


@dataclass(frozen=True)
class TransferFailed:
    """Sender: gave up; `messages` were not (completely) delivered and may be queued again."""

    reason: str
    messages: tuple[bytes, ...]


@dataclass(frozen=True)
class ContentionYielded:
    """Sender (computer role): both sides sent ENQ; we yield and may retry at `retry_at`."""

    retry_at: float


@dataclass(frozen=True)
class InterruptRequested:
    """Sender: the receiver answered a frame with EOT (receiver interrupt); we stopped after it."""

    retry_at: float


LinkEvent = (Send | LinkEstablished | FrameAccepted | DuplicateFrame | FrameRejected | NakLimitReached
             | MessageReceived | MessageDiscarded | Garbage | TransmissionEnded | TransferComplete
             | TransferFailed | ContentionYielded | InterruptRequested)


# --------------------------------------------------------------------------- receiver

class ReceiverState(StrEnum):
    NEUTRAL = "neutral"
    TRANSFER = "transfer"


class Receiver:
    """The receiving side of LIS1-A (the LIMS, when an instrument uploads results).

    Behaviour, each point from instruments.md §1:

    * neutral: ENQ → ACK (or NAK while `busy`); any other byte is garbage;
    * transfer: frames are checked (shape, size ≤ `max_text`, checksum, FN); a frame with FN =
      last accepted + 1 (mod 8, first frame = 1) is accepted and ACKed; a frame repeating the last
      accepted FN is a retransmission after a lost ACK and is ACKed and dropped (unlike senaite
      and UniversaLIS, which NAK it and make the sender give up on a good message); anything else
      is NAKed. NAKs are counted; after `max_naks` for one frame the sender is expected to abort;
    * ETB frames are joined until the ETX frame; records inside are not split here (see
      `astm_records`), because vendors differ (the cobas c111 sends a whole session as one
      message of ETB frames);
    * EOT ends the transfer; an unfinished message is reported as `MessageDiscarded`;
    * bytes outside frames are reported as `Garbage` (coalesced, so the report does not depend on
      how the input was chunked) rather than silently skipped;
    * timers: while a frame is arriving, `frame_timeout` (15 s) after its last byte the partial
      frame is discarded and NAKed (a sender still waiting will retransmit it); otherwise
      `idle_timeout` (30 s) after entering transfer or after our last reply, the transfer is
      abandoned and any incomplete message discarded.

    Contention: the receiver never sends ENQ, so it cannot collide. A host that also *sends*
    (e.g. orders) uses a `Sender(role="computer")`, which yields when it sees the instrument's ENQ
    while waiting for the answer to its own ENQ; the instrument repeats its ENQ ≥ 1 s later and
    this receiver ACKs that one. A driver routes incoming bytes to the sender only while the
    sender awaits a reply, otherwise to the receiver.
    """

    def __init__(self, *, max_text: int = MAX_TEXT, frame_timeout: float = 15.0,
                 idle_timeout: float = 30.0, max_naks: int = 6, max_buffer: int = 4096) -> None:
        self.max_text = max_text
        self.frame_timeout = frame_timeout
        self.idle_timeout = idle_timeout
        self.max_naks = max_naks
        self.max_buffer = max_buffer
        #: When True, an ENQ is answered with NAK ("not ready"); the sender retries ≥ 10 s later.
        self.busy = False
        self.state = ReceiverState.NEUTRAL
        self._now = 0.0
        self._garbage = bytearray()
        self._garbage_reason = "bytes outside a frame"
        self._frame: bytearray | None = None
        self._trailer_left = 0
        self._frame_deadline: float | None = None
        self._idle_deadline: float | None = None
        self._reset_transfer()

    # -- public API -------------------------------------------------------------------------

    @property
    def deadline(self) -> float | None:
        """When `tick()` must next be called (monotonic seconds), or None if no timer runs."""
        if self.state is ReceiverState.NEUTRAL:
            return None
        if self._frame is not None:
            return self._frame_deadline
        return self._idle_deadline

    @property
    def nak_count(self) -> int:
        """NAKs sent since the last accepted (or duplicate) frame."""
        return self._nak_count

    def feed(self, data: bytes, now: float | None = None) -> list[LinkEvent]:
        """Consume received bytes; return events (including `Send` replies) in order."""
        if now is not None:
            self._now = now
        out: list[LinkEvent] = []
        for byte in data:
            self._byte(byte, out)
        if self._frame is not None:
            self._frame_deadline = self._now + self.frame_timeout
        return out

    def tick(self, now: float) -> list[LinkEvent]:
        """Let timers expire; also reports pending garbage. Call when `now >= deadline` (or any time)."""
        self._now = now
        out: list[LinkEvent] = []
        if self.state is ReceiverState.TRANSFER:
            if self._frame is not None and self._frame_deadline is not None and now >= self._frame_deadline:
                raw = bytes(self._frame)
                self._frame = None
                self._reject(FramingError("incomplete frame timed out", raw, error_code="truncated_frame"), out)
            elif self._frame is None and self._idle_deadline is not None and now >= self._idle_deadline:
                self._flush_garbage(out)
                self._end_transfer("timeout", out)
        if self._frame is None:
            self._flush_garbage(out)
        return out

    def flush(self) -> list[LinkEvent]:
        """Report buffered garbage and any partial frame now (end of a replayed capture)."""
        out: list[LinkEvent] = []
        if self._frame is not None:
            self._add_garbage(bytes(self._frame), "truncated frame", out)
            self._frame = None
        self._flush_garbage(out)
        return out

    # -- internals --------------------------------------------------------------------------

    def _reset_transfer(self) -> None:
        self._last_fn = 0
        self._last_raw: bytes | None = None
        self._nak_count = 0
        self._messages = 0
        self._partial_text = bytearray()
        self._partial_frames: list[bytes] = []

    def _add_garbage(self, data: bytes | int, reason: str, out: list[LinkEvent]) -> None:
        if self._garbage and reason != self._garbage_reason:
            self._flush_garbage(out)
        self._garbage_reason = reason
        if isinstance(data, int):
            self._garbage.append(data)
        else:
            self._garbage += data

    def _flush_garbage(self, out: list[LinkEvent]) -> None:
        if self._garbage:
            out.append(Garbage(bytes(self._garbage), self._garbage_reason))
            self._garbage.clear()

    def _byte(self, byte: int, out: list[LinkEvent]) -> None:
        if self._frame is not None:
            self._frame_byte(byte, out)
            return
        if self.state is ReceiverState.NEUTRAL:
            if byte == ENQ:
                self._flush_garbage(out)
                self._enq(out)
            else:
                self._add_garbage(byte, "bytes outside a frame", out)
            return
        # transfer, between frames
        if byte == STX:
            self._flush_garbage(out)
            self._frame = bytearray([STX])
            self._trailer_left = 0
        elif byte == EOT:
            self._flush_garbage(out)
            self._end_transfer("eot", out)
        elif byte == ENQ:
            # The sender restarted without EOT (it timed out on us): close this transfer, then
            # treat the ENQ as the start of a new one.
            self._flush_garbage(out)
            self._end_transfer("enq during transfer", out)
            self._enq(out)
        else:
            self._add_garbage(byte, "bytes outside a frame", out)

    def _frame_byte(self, byte: int, out: list[LinkEvent]) -> None:
        frame = self._frame
        assert frame is not None
        if self._trailer_left:
            if byte in (STX, EOT, ENQ):
                self._truncated(byte, out)
                return
            frame.append(byte)
            self._trailer_left -= 1
            if self._trailer_left == 0:
                self._frame = None
                self._complete(bytes(frame), out)
            return
        if byte in (ETX, ETB):
            frame.append(byte)
            self._trailer_left = 4  # C1 C2 CR LF
        elif byte == LF:
            # LF may only end a frame: the terminator was lost or corrupted. The sender now
            # waits for our reply, so answer (NAK) instead of waiting for a timeout.
            frame.append(byte)
            self._frame = None
            self._reject(FramingError("frame without ETX/ETB", bytes(frame)), out)
        elif byte in (STX, EOT, ENQ):
            self._truncated(byte, out)
        else:
            frame.append(byte)
            if len(frame) > self.max_buffer:
                # Runaway "frame" (noise, wrong baud rate): stop buffering, keep it as garbage.
                self._frame = None
                self._add_garbage(bytes(frame), "runaway frame", out)

    def _truncated(self, byte: int, out: list[LinkEvent]) -> None:
        """A control byte arrived inside a frame: the frame was cut short; keep it, process the byte."""
        assert self._frame is not None
        self._add_garbage(bytes(self._frame), "truncated frame", out)
        self._frame = None
        self._byte(byte, out)

    def _enq(self, out: list[LinkEvent]) -> None:
        if self.busy:
            out.append(Send(bytes([NAK])))
            return
        self.state = ReceiverState.TRANSFER
        self._reset_transfer()
        out.append(LinkEstablished())
        self._reply(ACK, out)

    def _reply(self, byte: int, out: list[LinkEvent]) -> None:
        out.append(Send(bytes([byte])))
        self._idle_deadline = self._now + self.idle_timeout

    def _end_transfer(self, reason: str, out: list[LinkEvent]) -> None:
        if self._partial_frames:
            out.append(MessageDiscarded(f"incomplete message ({reason})", bytes(self._partial_text),
                                        tuple(self._partial_frames)))
        out.append(TransmissionEnded(reason, self._messages))
        self.state = ReceiverState.NEUTRAL
        self._frame = None
        self._idle_deadline = None
        self._frame_deadline = None
        self._reset_transfer()

    def _reject(self, error: ProtocolError, out: list[LinkEvent]) -> None:
        self._nak_count += 1
        out.append(FrameRejected(error, self._nak_count))
        if self._nak_count == self.max_naks:
            out.append(NakLimitReached(self._nak_count))
        self._reply(NAK, out)

    def _complete(self, raw: bytes, out: list[LinkEvent]) -> None:
        try:
            frame = decode_frame(raw, max_text=self.max_text)
        except ProtocolError as exc:
            self._reject(exc, out)
            return
        if frame.fn == (self._last_fn + 1) % 8:
            self._last_fn = frame.fn
            self._last_raw = raw
            self._nak_count = 0
            self._partial_text += frame.text
            self._partial_frames.append(raw)
            out.append(FrameAccepted(frame))
            if frame.final:
                self._messages += 1
                out.append(MessageReceived(bytes(self._partial_text), tuple(self._partial_frames)))
                self._partial_text.clear()
                self._partial_frames.clear()
            self._reply(ACK, out)
        elif self._last_raw is not None and frame.fn == self._last_fn:
            self._nak_count = 0
            out.append(DuplicateFrame(frame, identical=raw == self._last_raw))
            self._reply(ACK, out)
        else:
            expected = (self._last_fn + 1) % 8
            self._reject(SequenceError(f"frame number {frame.fn}, expected {expected}", raw), out)


# --------------------------------------------------------------------------- sender

class SenderState(StrEnum):
    IDLE = "idle"
    WAIT_ENQ_REPLY = "wait_enq_reply"
    WAIT_FRAME_REPLY = "wait_frame_reply"
    WAITING = "waiting"  # back-off before the next ENQ (after NAK, contention or interrupt)


class Sender:
    """The sending side of LIS1-A: for simulators (instrument role) and host-to-instrument messages.

    ``send(messages)`` queues messages (each usually one E1394 record ending in CR) and starts
    with ENQ. Replies drive it: ACK → next frame (FN 1..7,0 across the whole transfer); NAK or
    any other byte → the same frame again, at most `max_attempts` sends in all (6, as our peer
    library does), then EOT and `TransferFailed`; EOT → receiver interrupt: counts as ACK, we
    stop with EOT and retry the rest after 15 s. ENQ answered by NAK → retry after `busy_wait`
    (10 s), up to `max_enq_attempts`. ENQ answered by ENQ → contention: the instrument has
    priority, so in the ``"instrument"`` role we repeat ENQ after 1 s, and in the ``"computer"``
    role we yield (`ContentionYielded`) and wait 20 s. No reply within `reply_timeout` (15 s)
    → EOT and `TransferFailed` with the undelivered messages.
    """

    def __init__(self, *, role: str = "instrument", max_attempts: int = 6, max_enq_attempts: int = 6,
                 reply_timeout: float = 15.0, busy_wait: float = 10.0, interrupt_wait: float = 15.0,
                 max_text: int = MAX_TEXT) -> None:
        if role not in ("instrument", "computer"):
            raise ValueError("role must be 'instrument' or 'computer'")
        self.role = role
        self.max_attempts = max_attempts
        self.max_enq_attempts = max_enq_attempts
        self.reply_timeout = reply_timeout
        self.busy_wait = busy_wait
        self.interrupt_wait = interrupt_wait
        self.contention_wait = 1.0 if role == "instrument" else 20.0
        self.max_text = max_text
        self.state = SenderState.IDLE
        self._now = 0.0
        self._queue: list[bytes] = []
        self._frames: list[tuple[bytes, int, bool]] = []  # (frame, message index, ends message)
        self._batch = 0
        self._index = 0
        self._attempts = 0
        self._enq_attempts = 0
        self._deadline: float | None = None

    @property
    def deadline(self) -> float | None:
        """When `tick()` must next be called, or None."""
        return self._deadline

    @property
    def busy(self) -> bool:
        """True while a transfer is under way or pending (bytes from the line belong to us)."""
        return self.state is not SenderState.IDLE

    @property
    def attempts(self) -> int:
        """How many times the current frame has been sent."""
        return self._attempts

    def send(self, messages: Iterable[bytes | str], now: float | None = None) -> list[LinkEvent]:
        """Queue messages; if idle, start establishment (ENQ)."""
        if now is not None:
            self._now = now
        for message in messages:
            data = message.encode("latin-1") if isinstance(message, str) else bytes(message)
            for part in split_message(data, self.max_text):
                if any(b in RESTRICTED for b in part):
                    raise ValueError("restricted characters in message text")
            self._queue.append(data)
        out: list[LinkEvent] = []
        if self.state is SenderState.IDLE and self._queue:
            self._start(out)
        return out

    def feed(self, data: bytes, now: float | None = None) -> list[LinkEvent]:
        """Consume the receiver's replies."""
        if now is not None:
            self._now = now
        out: list[LinkEvent] = []
        ignored = bytearray()
        for byte in data:
            if self.state is SenderState.WAIT_ENQ_REPLY:
                self._enq_reply(byte, out, ignored)
            elif self.state is SenderState.WAIT_FRAME_REPLY:
                self._frame_reply(byte, out)
            else:
                ignored.append(byte)
        if ignored:
            out.append(Garbage(bytes(ignored), "reply while not waiting for one"))
        return out

    def tick(self, now: float) -> list[LinkEvent]:
        """Let timers expire: give up on a missing reply, or send the next ENQ after a back-off."""
        self._now = now
        out: list[LinkEvent] = []
        if self._deadline is None or now < self._deadline:
            return out
        if self.state is SenderState.WAITING:
            self._enq(out)
        elif self.state is SenderState.WAIT_ENQ_REPLY:
            self._fail("no reply to ENQ", out)
        elif self.state is SenderState.WAIT_FRAME_REPLY:
            self._fail("no reply to frame", out)
        return out

    # -- internals --------------------------------------------------------------------------

    def _start(self, out: list[LinkEvent]) -> None:
        self._enq_attempts = 0
        self._enq(out)

    def _enq(self, out: list[LinkEvent]) -> None:
        self.state = SenderState.WAIT_ENQ_REPLY
        self._enq_attempts += 1
        self._deadline = self._now + self.reply_timeout
        out.append(Send(bytes([ENQ])))

    def _wait(self, seconds: float) -> None:
        self.state = SenderState.WAITING
        self._deadline = self._now + seconds

    def _build_frames(self) -> None:
        frames: list[tuple[bytes, int, bool]] = []
        fn = 1
        for idx, message in enumerate(self._queue):
            parts = split_message(message, self.max_text)
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                frames.append((encode_frame(fn, part, final=last), idx, last))
                fn = (fn + 1) % 8
        self._frames = frames
        self._batch = len(self._queue)  # messages queued later wait for the next transfer
        self._index = 0

    def _send_frame(self, out: list[LinkEvent]) -> None:
        self._attempts += 1
        self._deadline = self._now + self.reply_timeout
        out.append(Send(self._frames[self._index][0]))

    def _enq_reply(self, byte: int, out: list[LinkEvent], ignored: bytearray) -> None:
        if byte == ACK:
            self.state = SenderState.WAIT_FRAME_REPLY
            self._build_frames()
            self._attempts = 0
            self._send_frame(out)
        elif byte == NAK:
            if self._enq_attempts >= self.max_enq_attempts:
                self._fail("receiver busy (ENQ refused)", out, send_eot=False)
            else:
                self._wait(self.busy_wait)
        elif byte == ENQ:
            if self.role == "computer":
                self._wait(self.contention_wait)
                out.append(ContentionYielded(self._deadline or self._now))
            else:
                self._wait(self.contention_wait)
        else:
            ignored.append(byte)  # the standard says: ignore anything but ACK/NAK/ENQ here

    def _frame_reply(self, byte: int, out: list[LinkEvent]) -> None:
        _, idx, ends_message = self._frames[self._index]
        if byte in (ACK, EOT):
            done_upto = idx + 1 if ends_message else idx  # messages [0, done_upto) are delivered
            self._index += 1
            self._attempts = 0
            if self._index >= len(self._frames):
                self._finish(self._batch, out)
                return
            if byte == EOT:
                self._finish(done_upto, out, interrupted=True)
                return
            self._send_frame(out)
        else:
            if self._attempts >= self.max_attempts:
                self._fail(f"frame rejected {self._attempts} times", out)
            else:
                self._send_frame(out)

    def _finish(self, delivered: int, out: list[LinkEvent], interrupted: bool = False) -> None:
        out.append(Send(bytes([EOT])))
        done, self._queue = self._queue[:delivered], self._queue[delivered:]
        self._frames = []
        if done:
            out.append(TransferComplete(tuple(done)))
        if interrupted and self._queue:
            self._wait(self.interrupt_wait)
            out.append(InterruptRequested(self._deadline or self._now))
        elif self._queue:
            self._start(out)
        else:
            self.state = SenderState.IDLE
            self._deadline = None

    def _fail(self, reason: str, out: list[LinkEvent], *, send_eot: bool = True) -> None:
        if send_eot:
            out.append(Send(bytes([EOT])))
        # Messages already ACKed in this transfer are delivered; report them, fail the rest.
        delivered = 0
        if self._frames:
            delivered = self._frames[self._index][1] if self._index < len(self._frames) else self._batch
        done, failed = self._queue[:delivered], self._queue[delivered:]
        if done:
            out.append(TransferComplete(tuple(done)))
        out.append(TransferFailed(reason, tuple(failed)))
        self._queue = []
        self._frames = []
        self.state = SenderState.IDLE
        self._deadline = None


def frames_of(messages: Sequence[bytes], first_fn: int = 1, max_text: int = MAX_TEXT) -> list[bytes]:
    """All frames of one transfer phase carrying `messages` (FN continues across messages)."""
    frames: list[bytes] = []
    fn = first_fn
    for message in messages:
        new = encode_message(message, fn, max_text)
        frames += new
        fn = (fn + len(new)) % 8
    return frames
