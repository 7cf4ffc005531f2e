"""Exceptions of the instrument layer.

One root (`InstrumentError`) so a driver loop can catch everything the instrument side raises
without catching programming errors; below it, the split that matters when deciding what to do:
a *transport* problem (cable, port, timeout: retry or reconnect), a *protocol* problem (the host saw
bytes it cannot accept: NAK, quarantine) and a *device-reported* error (the instrument itself said no).
Protocol errors carry the offending bytes, because the raw input is evidence that must be kept.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "InstrumentError",
    "TransportError",
    "InstrumentTimeout",
    "ProtocolError",
    "FramingError",
    "ChecksumError",
    "SequenceError",
    "RecordError",
    "PlateFileError",
    "DeviceReportedError",
    "ConfigurationError",
]


class InstrumentError(Exception):
    """Root of everything raised by `instruments`.

    `error_code` is a short stable string (for logs, JSON problems and the spool's "reason"
    column); the message is for humans.
    """

    error_code: str = "instrument_error"

    def __init__(self, message: str, *, error_code: str | None = None) -> None:
        super().__init__(message)
        if error_code is not None:
            self.error_code = error_code


class TransportError(InstrumentError):
    """The port could not be opened, read or written."""

    error_code = "transport_error"


class InstrumentTimeout(TransportError, TimeoutError):
    """A protocol timer expired; also a `TimeoutError` so generic timeout handling works."""

    error_code = "timeout"


class ProtocolError(InstrumentError):
    """The host received bytes it cannot accept.

    `raw` holds the offending bytes exactly as received (the frame, line or block), so the
    caller can quarantine them; it is never a decoded or cleaned-up copy.
    """

    error_code = "protocol_error"

    def __init__(self, message: str, raw: bytes = b"", *, error_code: str | None = None) -> None:
        super().__init__(message, error_code=error_code)
        self.raw = bytes(raw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, raw={self.raw!r})"


class FramingError(ProtocolError):
    """A frame, line or block has the wrong shape (missing terminator, oversize, bad characters)."""

    error_code = "framing_error"


class ChecksumError(ProtocolError):
    """The checksum sent with a frame or block does not match its content."""

    error_code = "checksum_error"

    def __init__(self, message: str, raw: bytes = b"", *, expected: str = "", received: str = "") -> None:
        super().__init__(message, raw)
        self.expected = expected
        self.received = received


class SequenceError(ProtocolError):
    """An ASTM frame number is neither the last accepted one nor the next one."""

    error_code = "sequence_error"


class RecordError(ProtocolError):
    """A record (E1394 record, report section) could not be parsed."""

    error_code = "record_error"


class PlateFileError(RecordError):
    """A plate reader's export file is not one readable 96-well plate.

    `problems` lists every problem found (each naming its row, column and cell), so the operator
    fixes the file in one go instead of one error per upload; `raw` is the file as uploaded.
    """

    error_code = "plate_file_error"

    def __init__(self, filename: str, problems: Sequence[str], raw: bytes = b"") -> None:
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        super().__init__(f"{filename}: {count}: " + "; ".join(problems), raw)
        self.filename = filename
        self.problems = tuple(problems)


class DeviceReportedError(InstrumentError):
    """The instrument answered with an error code (e.g. MT-SICS `ES`, `S I`, Bio-Rad `ERE`)."""

    error_code = "device_error"

    def __init__(self, message: str, code: str, raw: bytes = b"") -> None:
        super().__init__(message)
        self.code = code
        self.raw = bytes(raw)


class ConfigurationError(InstrumentError):
    """An instrument profile or driver setting is missing or invalid (names the file and key)."""

    error_code = "configuration_error"
