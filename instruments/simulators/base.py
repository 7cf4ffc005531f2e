"""What every simulator shares: the instrument end of a port, and fault injection.

A simulator is the *device* side: it writes what the instrument would and reads what the host
answers. It runs on a pty pair (``PtyPort``: the slave path goes to the driver) or on any pyserial
URL (``SerialPort``: a socat pair, a USB-serial adapter looped to the driver's, a TCP server).
Faults are injected into the bytes on the way out, never by building invalid messages, so the
codecs stay strict: the simulator corrupts what a correct encoder produced, as a noisy line would.
"""

from __future__ import annotations

import os
import random
import select
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from instruments.errors import TransportError
from instruments.profiles import SerialSettings
from instruments.transport import SerialTransport

__all__ = [
    "Port",
    "PtyPort",
    "SerialPort",
    "open_port",
    "Faults",
    "parse_faults",
    "LineOut",
    "garbage",
]


class Port(Protocol):
    def read(self, timeout: float) -> bytes: ...

    def write(self, data: bytes) -> None: ...

    def unplug(self) -> None: ...

    def replug(self) -> None: ...

    def close(self) -> None: ...


class PtyPort:
    """The master end of a fresh pty; `slave_path` (e.g. /dev/pts/7) is for the driver.

    The slave is put in raw mode *before* anything is written (data written while it is cooked
    stays cooked) and one slave fd stays open here, so the master never reads EIO when the driver
    closes or restarts. Unplugging a pty cannot cut the line without destroying it, so `unplug()`
    only goes silent (the caller drops input and output until `replug()`).
    """

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.slave_path = os.ttyname(self._slave)

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        if not ready:
            return b""
        try:
            return os.read(self.master, 65536)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self.master], [], 5.0)
            if not ready:
                raise TransportError(f"{self.slave_path}: nobody reads the pty (write blocked 5 s)")
            view = view[os.write(self.master, view) :]

    def unplug(self) -> None:
        """Nothing to do on a pty: see the class docstring."""

    def replug(self) -> None:
        """Nothing to do on a pty: see the class docstring."""

    def close(self) -> None:
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class SerialPort:
    """Any pyserial URL as the instrument's end; `unplug()` really closes the port."""

    def __init__(self, url: str, settings: SerialSettings = SerialSettings(timeout=0.05)) -> None:
        self.url = url
        self._transport = SerialTransport(url, settings).open()
        self._settings = settings

    def read(self, timeout: float) -> bytes:
        if not self._transport.is_open:
            time.sleep(min(timeout, 0.05))
            return b""
        return self._transport.read()

    def write(self, data: bytes) -> None:
        if self._transport.is_open:
            self._transport.write(data)

    def unplug(self) -> None:
        self._transport.close()

    def replug(self) -> None:
        self._transport = SerialTransport(self.url, self._settings).open()

    def close(self) -> None:
        self._transport.close()


def open_port(url: str) -> PtyPort | SerialPort:
    """``"pty"`` → a new pty pair; anything else → a pyserial URL."""
    return PtyPort() if url == "pty" else SerialPort(url)


@dataclass(frozen=True)
class Faults:
    """Faults to inject; frame/plate/line numbers count from 1, each fault fires once.

    * ``bad_checksum``: send item N with a wrong checksum (ASTM: the retransmission is correct);
    * ``lost_ack``: ASTM only — the ACK for frame N arrives garbled, so the sender retransmits
      the same frame (the receiver must ACK and drop the duplicate);
    * ``garbage``: noise bytes on the line just before item N;
    * ``unplug_after``: the cable comes out after that many bytes (mid-frame), for `unplug_for` s.
    """

    bad_checksum: frozenset[int] = frozenset()
    lost_ack: frozenset[int] = frozenset()
    garbage: frozenset[int] = frozenset()
    unplug_after: int | None = None
    unplug_for: float = 2.0


def parse_faults(specs: list[str] | tuple[str, ...], unplug_for: float = 2.0) -> Faults:
    """``["bad-checksum@3", "lost-ack@5", "garbage@2", "unplug@200"]`` → `Faults`."""
    sets: dict[str, set[int]] = {"bad-checksum": set(), "lost-ack": set(), "garbage": set()}
    unplug: int | None = None
    for spec in specs:
        name, _, number = spec.partition("@")
        if not number.isdigit() or int(number) < 1:
            raise ValueError(f"fault {spec!r}: expected NAME@N with N >= 1")
        if name == "unplug":
            unplug = int(number)
        elif name in sets:
            sets[name].add(int(number))
        else:
            raise ValueError(
                f"fault {spec!r}: unknown fault (bad-checksum, lost-ack, garbage, unplug)"
            )
    return Faults(
        frozenset(sets["bad-checksum"]),
        frozenset(sets["lost-ack"]),
        frozenset(sets["garbage"]),
        unplug,
        unplug_for,
    )


def garbage(rng: random.Random, n: int = 12) -> bytes:
    """Line noise without the bytes a receiver treats as structure (STX, ETX, EOT, CR...)."""
    allowed = [
        b for b in range(256) if b not in (0x02, 0x03, 0x04, 0x05, 0x17, 0x0D, 0x0A, 0x06, 0x15)
    ]
    return bytes(rng.choice(allowed) for _ in range(n))


class LineOut:
    """The outgoing side of a port with the `unplug_after` fault: counts bytes, cuts the cable.

    While unplugged, writes are lost and `read()` returns nothing, as with a pulled connector.
    `clock` is injectable so tests do not wait.
    """

    def __init__(
        self, port: Port, faults: Faults, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.port = port
        self.faults = faults
        self.clock = clock
        self.written = 0
        self.replug_at: float | None = None
        self.unplugged = threading.Event()  # set while the cable is out (observable by tests)
        self._cut_done = False

    def write(self, data: bytes) -> None:
        if self.replug_at is not None:
            return
        limit = self.faults.unplug_after
        if limit is not None and not self._cut_done and self.written + len(data) >= limit:
            keep = limit - self.written
            self.port.write(data[:keep])
            self.written += keep
            self._cut_done = True
            self.replug_at = self.clock() + self.faults.unplug_for
            self.port.unplug()
            self.unplugged.set()
            return
        self.port.write(data)
        self.written += len(data)

    def read(self, timeout: float) -> bytes:
        if self.replug_at is not None:
            if self.clock() < self.replug_at:
                time.sleep(min(timeout, 0.02))
                self.port.read(0)  # drain what the host sends into the void
                return b""
            self.replug_at = None
            self.port.replug()
            self.unplugged.clear()
        return self.port.read(timeout)
