"""The serial line: any pyserial URL, opened with an instrument profile's settings.

Why `serial_for_url(..., do_not_open=True)`: the same code then opens a device path, a pty
(``/dev/pts/7``), ``socket://``, ``rfc2217://``, ``loop://`` or a ``spy://`` wrapper that hex-dumps
the traffic, and the line settings are applied *before* the port opens, so a real instrument
never sees a moment of wrong baud rate or parity. Reads are byte-wise with a short timeout
(never ``readline()``: ASTM's ENQ/ACK/EOT carry no line end), and every pyserial or OS error
becomes a `TransportError` that says which port and what happened.
"""

from __future__ import annotations

import logging
from types import TracebackType

import serial

from instruments.errors import TransportError
from instruments.profiles import SerialSettings

__all__ = ["SerialTransport", "open_transport"]

log = logging.getLogger(__name__)

_PARITY = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
}
_STOPBITS = {1: serial.STOPBITS_ONE, 1.5: serial.STOPBITS_ONE_POINT_FIVE, 2: serial.STOPBITS_TWO}


class SerialTransport:
    """One open port. `read()` returns b"" when nothing arrived within the read timeout."""

    def __init__(self, url: str, settings: SerialSettings = SerialSettings()) -> None:
        self.url = url
        self.settings = settings
        try:
            port = serial.serial_for_url(url, do_not_open=True)
            port.baudrate = settings.baudrate
            port.bytesize = settings.bytesize
            port.parity = _PARITY[settings.parity]
            port.stopbits = _STOPBITS[settings.stopbits]
            port.xonxoff = settings.xonxoff
            port.rtscts = settings.rtscts
            port.timeout = settings.timeout
            port.write_timeout = settings.write_timeout
        except (serial.SerialException, ValueError) as exc:
            raise TransportError(f"{url}: cannot configure port ({exc})") from exc
        self._port = port

    def open(self) -> SerialTransport:
        try:
            self._port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"{self.url}: cannot open port ({exc})") from exc
        log.info(
            "opened %s (%d %d%s%s)",
            self.url,
            self.settings.baudrate,
            self.settings.bytesize,
            self.settings.parity,
            self.settings.stopbits,
        )
        return self

    @property
    def is_open(self) -> bool:
        return bool(self._port.is_open)

    def read(self, max_bytes: int = 4096) -> bytes:
        """Wait up to the read timeout for one byte, then take whatever else is already buffered."""
        try:
            data = self._port.read(1)
            if data:
                waiting = self._port.in_waiting
                if waiting:
                    data += self._port.read(min(waiting, max_bytes - 1))
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self.url}: read failed ({exc})") from exc
        if data:
            log.debug("%s rx %s", self.url, data.hex(" "))
        return data

    def write(self, data: bytes) -> None:
        log.debug("%s tx %s", self.url, data.hex(" "))
        try:
            self._port.write(data)
            self._port.flush()
        except serial.SerialTimeoutException as exc:
            raise TransportError(
                f"{self.url}: write timed out after {self.settings.write_timeout} s "
                "(flow control holding the line?)"
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self.url}: write failed ({exc})") from exc

    def close(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError) as exc:  # closing a vanished device
            log.warning("%s: close failed (%s)", self.url, exc)

    def __enter__(self) -> SerialTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_transport(url: str, settings: SerialSettings = SerialSettings()) -> SerialTransport:
    """Configure and open `url` (a device path or any pyserial URL)."""
    return SerialTransport(url, settings).open()
