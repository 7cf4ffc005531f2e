"""One loop per instrument: transport → codec → items → spool (→ acknowledgement).

A *handler* per protocol wraps the sans-IO codec and turns its output into `Action`s, in the
order they must happen: `SpoolEntry` (store this) and `Write` (put these bytes on the line).
The loop executes them in order and commits every pending entry before it writes anything, so
for ASTM the spool commit of a message always precedes the ACK of the frame that completed it:
if the PC dies in between, the instrument gets no ACK, retransmits, and the content-derived
idempotency key makes the second copy a no-op (locally and in the LIMS).

Keys (idempotency keys, `instruments.spool`): an item that is the same measurement must get the
same key however the instrument re-sends it, and two measurements must never share one.

* **ASTM results** (`measurement_key`) are keyed by what identifies one measurement in E1394 terms
  (``shared/instruments.md`` §2.3): the instrument, the specimen ID (the O fields the profile's
  ``specimen_fields`` names, O-3 by default), the universal test ID (R-3), the result's own
  date/time (R-13 test completed, else R-12 test started) and the R record from field 3 on (value,
  unit, reference range, flags, status, operator, times, instrument ID). Deliberately *not* part of
  the key: the H record (H-14, the message date/time, is new in every session an analyser re-sends
  after a crash), O-2 and R-2 (sequence numbers, renumbered when a resend starts at the first
  unacknowledged result), the frame boundaries and the position in the session. Two identical R
  records for one specimen and test inside one order stay two readings: an occurrence counter
  within that order is part of the key. When the instrument sends neither R-13 nor R-12, the key
  cannot tell a retransmission from a genuine repeat of the same value; such a reading is attached
  as usual and the LIMS flags it ("no instrument time"), unless the profile declares
  ``always_sends_r13``, in which case a missing R-13 is a problem on the reading.
  Keys of this form start with ``m:``; keys stored before (``c:``, which hashed the H and O
  records and the result's index in the session) stay valid and nothing stored is migrated.
* **Plates** are keyed by their wavelengths and absorbances, not by the header and date lines
  that precede the ``.begin`` block, so a plate re-sent (RTPLATE) under a new header line is the
  same plate.
* **Metrohm** items get `content_key` of the report text plus the quantity's place in it (a
  re-sent report file is byte for byte the same file).
* Balance masses get random keys (a balance never retransmits, and two equal masses are two
  weighings). Link-level faults (garbage, NAKed frames, abandoned messages) are quarantined with
  random keys: they are events on the line, not instrument content.

Never crash on input: codecs do not raise on bad bytes (they return `Quarantined`), and any
`InstrumentError` a handler raises is logged and the bytes quarantined; a `TransportError` closes
the port and reopens it after `reconnect_delay`. Errors of the spool itself (disk full) propagate:
without a durable spool nothing may be acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from instruments.codecs import astm_link as link
from instruments.codecs.astm_records import Record, ResultAssembler
from instruments.codecs.metrohm import MetrohmReportDecoder, TitrationReport
from instruments.codecs.mtsics import (
    BalanceError,
    BalanceResponse,
    MtSicsDecoder,
    StableMass,
    UnstableMass,
)
from instruments.codecs.plate_reader import PlateReaderDecoder
from instruments.errors import InstrumentError, TransportError
from instruments.health import DriverStatus
from instruments.profiles import Profile
from instruments.records import PlateReading, Quarantined, Reading
from instruments.spool import Spool, SpoolEntry, content_key, random_key
from instruments.transport import SerialTransport
from instruments.wire import envelope_for

__all__ = [
    "Write",
    "Action",
    "Handler",
    "AstmHandler",
    "PlateHandler",
    "MetrohmHandler",
    "MtSicsHandler",
    "make_handler",
    "measurement_key",
    "plate_key",
    "Driver",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Write:
    """Bytes to put on the line once everything before them is spooled."""

    data: bytes


Action = SpoolEntry | Write


class Handler(Protocol):
    """A protocol's glue between bytes and actions. `deadline` is when `tick()` is next due."""

    @property
    def deadline(self) -> float | None: ...

    def feed(self, data: bytes, now: float) -> list[Action]: ...

    def tick(self, now: float) -> list[Action]: ...

    def flush(self) -> list[Action]: ...


def _latin1(data: bytes) -> str:
    return data.decode("latin-1")


def _entry(
    instrument_id: str, item: Reading | PlateReading | Quarantined, key: str, raw: bytes
) -> SpoolEntry:
    return SpoolEntry(envelope_for(instrument_id, item, key=key), raw)


def _fault(instrument_id: str, reason: str, raw: bytes, code: str) -> SpoolEntry:
    """A link-level fault kept for review (random key: the line produced it, not the instrument)."""
    log.warning("%s: quarantined %d bytes: %s", instrument_id, len(raw), reason)
    return _entry(instrument_id, Quarantined(reason, _latin1(raw), code), random_key(), raw)


#: Bytes that carry no data: a stray EOT after a restart or an ENQ the port flushed is not worth a
#: person's review, whereas any other garbage may be a damaged result and is quarantined.
_LINK_CONTROL = frozenset({link.EOT, link.ENQ, link.ACK, link.NAK, link.CR, link.LF})


class AstmHandler:
    """ASTM E1381 receiver + E1394 result assembly."""

    def __init__(self, profile: Profile) -> None:
        opts = profile.astm
        self.instrument_id = profile.instrument_id
        self.units = dict(opts.units)
        self.specimen_fields = opts.specimen_fields
        self.always_sends_r13 = opts.always_sends_r13
        self.receiver = link.Receiver(
            frame_timeout=opts.frame_timeout, idle_timeout=opts.idle_timeout, max_naks=opts.max_naks
        )
        self.assembler = ResultAssembler(
            profile.instrument_id,
            opts.test_codes,
            specimen_fields=opts.specimen_fields,
            decimal_comma=opts.decimal_comma,
        )
        self._reset_session()

    def _reset_session(self) -> None:
        self._order: Record | None = None
        self._result: Record | None = None
        #: occurrences of each measurement within the current order (identical R records)
        self._seen: dict[str, int] = {}

    @property
    def deadline(self) -> float | None:
        return self.receiver.deadline

    def feed(self, data: bytes, now: float) -> list[Action]:
        return self._events(self.receiver.feed(data, now))

    def tick(self, now: float) -> list[Action]:
        return self._events(self.receiver.tick(now))

    def flush(self) -> list[Action]:
        return self._events(self.receiver.flush())

    def _events(self, events: Iterable[link.LinkEvent]) -> list[Action]:
        out: list[Action] = []
        iid = self.instrument_id
        for event in events:
            if isinstance(event, link.Send):
                out.append(Write(event.data))
            elif isinstance(event, link.MessageReceived):
                out += self._message(event)
            elif isinstance(event, link.FrameRejected):
                out.append(
                    _fault(
                        iid,
                        f"frame rejected (NAK {event.nak_count}): {event.error}",
                        event.error.raw,
                        event.error.error_code,
                    )
                )
            elif isinstance(event, link.Garbage):
                if set(event.data) <= _LINK_CONTROL:
                    log.info("%s: stray link control bytes %s ignored", iid, event.data.hex(" "))
                else:
                    out.append(_fault(iid, event.reason, event.data, "garbage"))
            elif isinstance(event, link.MessageDiscarded):
                out.append(_fault(iid, event.reason, b"".join(event.frames), "incomplete_message"))
            elif isinstance(event, link.DuplicateFrame):
                if event.identical:
                    log.info(
                        "%s: repeated frame %d (lost ACK) acknowledged and dropped",
                        iid,
                        event.frame.fn,
                    )
                else:
                    out.append(
                        _fault(
                            iid,
                            "repeated frame number with different content (dropped per LIS1-A)",
                            event.frame.raw,
                            "duplicate_frame",
                        )
                    )
            elif isinstance(event, link.NakLimitReached):
                log.warning(
                    "%s: %d NAKs for one frame; the instrument should abort", iid, event.count
                )
            elif isinstance(event, link.TransmissionEnded):
                log.info(
                    "%s: transmission ended (%s), %d message(s)", iid, event.reason, event.messages
                )
                self.assembler.reset()
                self._reset_session()
        return out

    def _message(self, event: link.MessageReceived) -> list[Action]:
        raw = b"".join(event.frames)
        out: list[Action] = []
        for item in self.assembler.feed(event.text):
            if isinstance(item, Record):
                if item.type in ("H", "P", "O", "L"):  # a new order context (as the assembler's)
                    self._order = item if item.type == "O" else None
                    self._seen = {}
                self._result = item if item.type == "R" else None
                continue
            if isinstance(item, Reading):
                if not item.unit and item.analyte in self.units:
                    item = _with_unit(item, self.units[item.analyte])
                if self.always_sends_r13 and self._result is not None and not self._result.text(13):
                    item = replace(item, problems=item.problems + (_NO_R13,))
                kind, record = "result", self._result_fields()
            else:
                kind, record = "quarantine", item.raw
            key = self._key(kind, record)
            out.append(_entry(self.instrument_id, item, key, raw))
        return out

    def _result_fields(self) -> str:
        """R-3 (test ID), R-13 else R-12 (time) and the R record from field 3 on, as sent
        (trailing empty fields dropped: a record may or may not carry them)."""
        r = self._result
        if r is None:
            return ""
        when = r.raw_field(13) or r.raw_field(12)
        return "\x1f".join((r.raw_field(3), when, r.delimiters.field.join(r.fields[2:]).rstrip(
            r.delimiters.field)))

    def _key(self, kind: str, record: str) -> str:
        """`measurement_key` of one result (or unreadable record) under the current order."""
        order = self._order
        specimen = (
            "\x1f".join(order.raw_field(n) for n in self.specimen_fields) if order else ""
        )
        identity = f"{kind}\x1e{specimen}\x1e{record}"
        self._seen[identity] = occurrence = self._seen.get(identity, 0) + 1
        return measurement_key(self.instrument_id, kind, specimen, record, occurrence)


#: The problem noted on a result without R-13 from an instrument declared to always send it.
_NO_R13 = (
    "no R-13 (test completed date/time), although the profile says this instrument always sends"
    " it: a re-send cannot be told from a repeat"
)


def measurement_key(
    instrument_id: str, kind: str, specimen: str, record: str, occurrence: int
) -> str:
    """The idempotency key of one ASTM measurement (see the module docstring): the same for every
    re-send of it, whatever the session, header, sequence numbers or frame boundaries."""
    return content_key(instrument_id, kind, specimen, record, str(occurrence), form="m")


def _with_unit(reading: Reading, unit: str) -> Reading:
    return replace(
        reading, unit=unit, problems=reading.problems + (f"no unit sent; profile unit {unit!r}",)
    )


class _LineHandler:
    """Base of the push-style text protocols: no timers, nothing to write back."""

    deadline: float | None = None

    def tick(self, now: float) -> list[Action]:
        return []


class PlateHandler(_LineHandler):
    """Bio-Rad 550/680 plate output; one item per plate (or per quarantined block)."""

    def __init__(self, profile: Profile) -> None:
        self.instrument_id = profile.instrument_id
        self.decoder = PlateReaderDecoder(profile.instrument_id)

    def feed(self, data: bytes, now: float) -> list[Action]:
        return self._items(self.decoder.feed(data))

    def flush(self) -> list[Action]:
        return self._items(self.decoder.flush())

    def _items(self, items: Iterable[PlateReading | Quarantined]) -> list[Action]:
        out: list[Action] = []
        for item in items:
            if isinstance(item, PlateReading):
                key = plate_key(item)
            else:
                key = content_key(self.instrument_id, "quarantine", item.raw, "0")
            out.append(_entry(self.instrument_id, item, key, item.raw.encode("latin-1", "replace")))
        return out


def plate_key(plate: PlateReading) -> str:
    """A plate is its wavelengths and absorbances (over-range wells included), not the header
    and date lines before them: the same plate re-sent under a new header gets the same key."""
    def wells(values: Mapping[str, float | None] | None) -> str:
        if values is None:
            return ""
        return " ".join("*" if v is None else repr(v) for v in values.values())

    return content_key(
        plate.instrument_id, "plate", str(plate.wavelength_nm), str(plate.reference_wavelength_nm),
        wells(plate.wells), wells(plate.reference_wells), form="m",
    )


class MetrohmHandler(_LineHandler):
    """Metrohm PC/LIMS reports; one reading per mapped quantity (and per unmapped result)."""

    def __init__(self, profile: Profile) -> None:
        self.instrument_id = profile.instrument_id
        self.analytes = dict(profile.metrohm.analytes)
        self.decoder = MetrohmReportDecoder(profile.instrument_id)

    def feed(self, data: bytes, now: float) -> list[Action]:
        return self._items(self.decoder.feed(data))

    def flush(self) -> list[Action]:
        return self._items(self.decoder.flush())

    def _items(self, items: Iterable[TitrationReport | Quarantined]) -> list[Action]:
        out: list[Action] = []
        for item in items:
            raw = item.raw.encode("utf-8", "surrogateescape")
            if isinstance(item, Quarantined):
                key = content_key(self.instrument_id, "quarantine", item.raw, "0")
                out.append(_entry(self.instrument_id, item, key, raw))
                continue
            readings = item.readings(self.analytes)
            if not readings:
                out.append(
                    _entry(
                        self.instrument_id,
                        Quarantined(
                            "report without any mapped quantity",
                            item.raw,
                            "record_error",
                            item.problems,
                        ),
                        content_key(self.instrument_id, "quarantine", item.raw, "0"),
                        raw,
                    )
                )
            for i, reading in enumerate(readings):
                key = content_key(self.instrument_id, "result", item.raw, reading.test_code, str(i))
                out.append(_entry(self.instrument_id, reading, key, raw))
        return out


class MtSicsHandler:
    """MT-SICS balance: a stable mass is a reading (no sample ID: the LIMS pairs it).

    Unstable (dynamic) weights and acknowledgements are only logged. Error answers that say the
    balance could not weigh (busy, overload, underload, syntax/logic errors) carry no value and
    are logged as warnings; a line that *looks* like a weight but cannot be read (``PARSE``,
    ``OVERLONG``) is quarantined, because it may hide a mass.
    """

    _QUARANTINE_CODES = frozenset({"PARSE", "OVERLONG"})

    def __init__(self, profile: Profile) -> None:
        opts = profile.mtsics
        self.instrument_id = profile.instrument_id
        self.analyte = opts.analyte
        self.poll = (opts.poll_command.encode("ascii") + b"\r\n") if opts.poll_command else None
        self.poll_interval = opts.poll_interval
        self.decoder = MtSicsDecoder()
        self._next_poll: float | None = 0.0 if self.poll else None
        self._last_stable: float | None = None

    @property
    def deadline(self) -> float | None:
        return self._next_poll

    def tick(self, now: float) -> list[Action]:
        if self.poll is None or self._next_poll is None or now < self._next_poll:
            return []
        self._next_poll = now + self.poll_interval
        return [Write(self.poll)]

    def feed(self, data: bytes, now: float) -> list[Action]:
        out: list[Action] = []
        for event in self.decoder.feed(data):
            if isinstance(event, StableMass):
                if self.poll is not None:
                    changed = event.value != self._last_stable
                    self._last_stable = event.value
                    if not changed or event.value == 0:
                        continue
                reading = Reading(
                    instrument_id=self.instrument_id,
                    sample_id=None,
                    analyte=self.analyte,
                    raw_value=event.raw_value,
                    value=event.value,
                    unit=event.unit,
                    status="S",
                    raw=event.raw,
                    test_code="S",
                )
                out.append(
                    _entry(self.instrument_id, reading, random_key(), event.raw.encode("latin-1"))
                )
            elif isinstance(event, BalanceError):
                if event.code in self._QUARANTINE_CODES:
                    out.append(
                        _entry(
                            self.instrument_id,
                            Quarantined(event.message, event.raw, "device_error"),
                            random_key(),
                            event.raw.encode("latin-1", "replace"),
                        )
                    )
                else:
                    log.warning(
                        "%s: balance reports %s: %s", self.instrument_id, event.code, event.message
                    )
            elif isinstance(event, UnstableMass):
                log.debug("%s: unstable %s %s", self.instrument_id, event.raw_value, event.unit)
            elif isinstance(event, BalanceResponse):
                log.debug("%s: balance says %r", self.instrument_id, event.raw)
        return out

    def flush(self) -> list[Action]:
        return []


_HANDLERS: dict[str, Callable[[Profile], Handler]] = {
    "astm": AstmHandler,
    "biorad": PlateHandler,
    "metrohm": MetrohmHandler,
    "mtsics": MtSicsHandler,
}


def make_handler(profile: Profile) -> Handler:
    return _HANDLERS[profile.protocol](profile)


class Driver:
    """One instrument: ``Driver(profile, port_url, spool).run(stop_event)`` blocks until stop."""

    def __init__(
        self,
        profile: Profile,
        port_url: str,
        spool: Spool,
        *,
        clock: Callable[[], float] = time.monotonic,
        reconnect_delay: float = 1.0,
        status: DriverStatus | None = None,
    ) -> None:
        self.profile = profile
        self.port_url = port_url
        self.spool = spool
        self.clock = clock
        self.reconnect_delay = reconnect_delay
        self.handler = make_handler(profile)
        self.transport: SerialTransport | None = None
        #: set once the port is open (tests and callers wait on it instead of sleeping)
        self.connected = threading.Event()
        self.stored = 0
        #: what the heartbeat reports (port, last error, last bytes, quarantined items)
        self.status = status or DriverStatus(profile.instrument_id)

    # -- the pure part: usable without a port (replay) -----------------------------------------

    def execute(
        self, actions: Iterable[Action], write: Callable[[bytes], None] | None = None
    ) -> None:
        """Spool entries, then write bytes, in order; entries before a write are committed first."""
        pending: list[SpoolEntry] = []
        for action in actions:
            if isinstance(action, SpoolEntry):
                pending.append(action)
                continue
            self._commit(pending)
            pending = []
            if write is not None:
                write(action.data)
        self._commit(pending)

    def _commit(self, entries: list[SpoolEntry]) -> None:
        if entries:
            new = self.spool.add(entries)
            self.stored += new
            self.status.quarantined += sum(e.envelope.type == "quarantine" for e in entries)
            if new < len(entries):
                log.info(
                    "%s: %d item(s) already spooled (retransmission)",
                    self.profile.instrument_id,
                    len(entries) - new,
                )

    def feed(self, data: bytes, write: Callable[[bytes], None] | None = None) -> None:
        """Process received bytes (from the port, or a capture being replayed)."""
        now = self.clock()
        if data:
            self.status.received()
        try:
            actions = self.handler.feed(data, now) if data else []
            deadline = self.handler.deadline
            if deadline is not None and now >= deadline:
                actions += self.handler.tick(now)
        except InstrumentError as exc:
            log.error("%s: codec error (%s); bytes quarantined", self.profile.instrument_id, exc)
            actions = [_fault(self.profile.instrument_id, str(exc), data, exc.error_code)]
        self.execute(actions, write)

    def flush(self) -> None:
        """End of input: whatever the codec still holds is spooled (quarantined if incomplete)."""
        self.execute(self.handler.flush())

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Read, decode, spool, acknowledge until `stop` is set; reconnect on transport errors."""
        iid = self.profile.instrument_id
        while not stop.is_set():
            try:
                self.transport = SerialTransport(self.port_url, self.profile.serial).open()
            except TransportError as exc:
                log.error("%s: %s; retrying in %.1f s", iid, exc, self.reconnect_delay)
                self.status.closed(str(exc))
                stop.wait(self.reconnect_delay)
                continue
            self.connected.set()
            self.status.opened()
            error: str | None = None
            try:
                while not stop.is_set():
                    self.feed(self.transport.read(), self.transport.write)
            except TransportError as exc:
                error = str(exc)
                log.error("%s: %s; reconnecting in %.1f s", iid, exc, self.reconnect_delay)
                self.status.closed(error)
                stop.wait(self.reconnect_delay)
            finally:
                self.connected.clear()
                self.status.closed(error)
                self.transport.close()
        self.flush()
        log.info("%s: driver stopped", iid)
