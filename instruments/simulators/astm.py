"""A virtual ASTM E1381/E1394 analyzer (e.g. an ICP-MS reporting urinary iodine as 127I).

It is the *sender* of LIS1-A (`astm_link.Sender`, instrument role) and uploads one session —
H, then P/O/R for every accession, then L — one record per message, as most analyzers do. When a
transfer fails (no reply, too many NAKs) it waits `retry_wait` seconds and sends the whole
session again, as real instruments do after a link failure: that retransmission is what the
driver's content-derived keys turn into no-ops. With `new_header_on_resend` the re-sent session
carries a new H-14, as an analyser's does after a PC crash.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from instruments.codecs import astm_link as link
from instruments.codecs.astm_records import format_record
from instruments.simulators.base import Faults, LineOut, Port, garbage

__all__ = ["AstmAnalyzer", "uic_values", "session_records"]


def uic_values(accessions: Sequence[str], seed: int = 1394) -> dict[str, float]:
    """Seeded urinary iodine values (µg/L), log-normal around a median of ~120 like a survey."""
    rng = random.Random(seed)
    return {a: round(min(999.9, rng.lognormvariate(4.8, 0.55)), 1) for a in accessions}


def session_records(
    values: dict[str, float],
    *,
    instrument_id: str = "ICPMS-01",
    test_code: str = "127I",
    unit: str = "ug/L",
    when: datetime = datetime(2026, 5, 14, 10, 30),
    header_time: datetime | None = None,
) -> list[bytes]:
    """The records of one upload session, each ending in CR (one LIS1-A message each).

    `when` stamps the orders and results (O-7, R-13); `header_time` the message (H-14, default
    `when`), which an analyser sets anew each time it sends a session."""
    stamp = when.strftime("%Y%m%d%H%M%S")
    header_stamp = (header_time or when).strftime("%Y%m%d%H%M%S")
    records = [
        [
            "H",
            None,
            None,
            None,
            ("IodineSim", "1.0", instrument_id),
            None,
            None,
            None,
            None,
            "LIMS",
            None,
            "P",
            "LIS2-A2",
            header_stamp,
        ]
    ]
    for n, (accession, value) in enumerate(values.items(), 1):
        records.append(["P", str(n), f"PAT-{n:05d}"])
        records.append(
            [
                "O",
                "1",
                accession,
                None,
                ("", "", "", test_code),
                "R",
                None,
                stamp,
                None,
                None,
                None,
                "N",
                None,
                None,
                None,
                "Urine",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                "F",
            ]
        )
        records.append(
            [
                "R",
                "1",
                ("", "", "", test_code),
                f"{value:.1f}",
                unit,
                "100 to 299",
                "N",
                None,
                "F",
                None,
                "sim",
                None,
                stamp,
                instrument_id,
            ]
        )
    records.append(["L", "1", "N"])
    return [format_record(r).encode("latin-1") for r in records]


class AstmAnalyzer:
    """``AstmAnalyzer(port, accessions).run(stop)``; `done` is set once the session is delivered."""

    def __init__(
        self,
        port: Port,
        accessions: Sequence[str],
        *,
        instrument_id: str = "ICPMS-01",
        test_code: str = "127I",
        seed: int = 1394,
        faults: Faults = Faults(),
        ack_timeout: float = 15.0,
        retry_wait: float = 10.0,
        unit: str = "ug/L",
        clock: Callable[[], float] = time.monotonic,
        new_header_on_resend: bool = False,
    ) -> None:
        self.values = uic_values(accessions, seed)
        self._session = {"instrument_id": instrument_id, "test_code": test_code, "unit": unit}
        self.records = session_records(self.values, **self._session)  # type: ignore[arg-type]
        #: re-send a failed session with a new H-14 (message date/time), as analysers do after a
        #: crash; the O and R records stay byte for byte the same
        self.new_header_on_resend = new_header_on_resend
        self.faults = faults
        self.retry_wait = retry_wait
        self.clock = clock
        self.line = LineOut(port, faults, clock)
        self.sender = link.Sender(
            role="instrument",
            reply_timeout=ack_timeout,
            busy_wait=retry_wait,
            interrupt_wait=retry_wait,
        )
        self.rng = random.Random(seed)
        self.done = threading.Event()
        self.transfers = 0  # how many times the session was (re)started
        self._frame_no = 0
        self._last_frame = b""
        self._garble_next_ack = False
        self._retry_at: float | None = None

    def run(self, stop: threading.Event) -> None:
        self._start()
        while not stop.is_set():
            now = self.clock()
            if self._retry_at is not None and now >= self._retry_at:
                self._retry_at = None
                self._start()
            deadline = self.sender.deadline
            wait = 0.05 if deadline is None else max(0.0, min(0.05, deadline - now))
            data = self.line.read(wait)
            now = self.clock()
            events = self.sender.feed(self._garble(data), now) if data else []
            if self.sender.deadline is not None and now >= self.sender.deadline:
                events += self.sender.tick(now)
            self._handle(events)

    def _start(self) -> None:
        self.transfers += 1
        if self.new_header_on_resend and self.transfers > 1:
            self.records = session_records(
                self.values,
                header_time=datetime(2026, 5, 14, 10, 30) + timedelta(minutes=self.transfers),
                **self._session,  # type: ignore[arg-type]
            )
        self._handle(self.sender.send(self.records, self.clock()))

    def _garble(self, data: bytes) -> bytes:
        """The `lost_ack` fault: the first ACK after the chosen frame arrives as noise."""
        if self._garble_next_ack and link.ACK in data:
            self._garble_next_ack = False
            i = data.index(link.ACK)
            return data[:i] + b"\x00" + data[i + 1 :]
        return data

    def _handle(self, events: list[link.LinkEvent]) -> None:
        for event in events:
            if isinstance(event, link.Send):
                self._send(event.data)
            elif (
                isinstance(event, link.TransferComplete)
                and tuple(self.records[-1:]) == event.messages[-1:]
            ):
                self.done.set()  # the L record was acknowledged, so was everything before it
            elif isinstance(event, link.TransferFailed):
                self._retry_at = self.clock() + self.retry_wait

    def _send(self, data: bytes) -> None:
        if data[:1] != bytes([link.STX]):
            self.line.write(data)
            return
        if data != self._last_frame:  # a new frame, not a retransmission
            self._frame_no += 1
            self._last_frame = data
            n = self._frame_no
            if n in self.faults.garbage:
                self.line.write(garbage(self.rng))
            if n in self.faults.lost_ack:
                self._garble_next_ack = True
            if n in self.faults.bad_checksum:
                wrong = b"%02X" % ((int(data[-4:-2], 16) + 1) & 0xFF)
                self.line.write(data[:-4] + wrong + data[-2:])
                return
        self.line.write(data)
