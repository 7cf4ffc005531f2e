"""The shared loop of the text-line instruments (plate reader, titrator, balance).

They push blocks of text (a plate, a report, a weight) on their own, every `interval` seconds, and
some answer commands (Bio-Rad ``RPLATE``, MT-SICS ``S``). Subclasses say what the blocks are, how
to corrupt one (`corrupt`, for the bad-checksum fault) and how to answer a command line.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence

from instruments.codecs._common import LineSplitter
from instruments.simulators.base import Faults, LineOut, Port, garbage

__all__ = ["LineInstrument"]


class LineInstrument:
    """``run(stop)`` sends `blocks` (with `respond`: only on request); `done` once all are out."""

    def __init__(
        self,
        port: Port,
        blocks: Sequence[bytes],
        *,
        interval: float = 0.0,
        respond: bool = False,
        faults: Faults = Faults(),
        seed: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.blocks = list(blocks)
        self.interval = interval
        self.respond = respond
        self.faults = faults
        self.rng = random.Random(seed)
        self.clock = clock
        self.line = LineOut(port, faults, clock)
        self.done = threading.Event()
        self.sent = 0
        self._lines = LineSplitter(max_line=1024)

    def corrupt(self, block: bytes) -> bytes:
        """The block with a wrong checksum (formats without one: unchanged)."""
        return block

    def answer(self, command: str) -> bytes | None:
        """The reply to a command line, or None to ignore it."""
        return None

    def send_block(self, index: int) -> None:
        n = index + 1
        block = self.blocks[index]
        if n in self.faults.garbage:
            self.line.write(garbage(self.rng) + b"\r\n")
        if n in self.faults.bad_checksum:
            block = self.corrupt(block)
        self.line.write(block)

    def run(self, stop: threading.Event) -> None:
        next_at = self.clock()
        if not self.blocks or self.respond:
            self.done.set()
        while not stop.is_set():
            if not self.respond and self.sent < len(self.blocks) and self.clock() >= next_at:
                self.send_block(self.sent)
                self.sent += 1
                next_at = self.clock() + self.interval
                if self.sent == len(self.blocks):
                    self.done.set()
                continue
            for raw, _ in self._lines.feed(self.line.read(0.05)):
                reply = self.answer(raw.decode("latin-1").strip())
                if reply:
                    self.line.write(reply)
