"""Small helpers shared by the codecs (number parsing, line splitting)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ParsedNumber", "parse_number", "LineSplitter", "decode_text"]

# A plain decimal number: no "nan"/"inf", no thousands separators, optional exponent.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class ParsedNumber:
    """The outcome of reading a result value: number, censoring sign and why it failed, if it did."""

    value: float | None
    comparator: str | None
    problem: str | None


def parse_number(text: str, *, decimal_comma: bool = False) -> ParsedNumber:
    """Parse an instrument's value text, keeping a leading ``<``/``>`` as the comparator.

    ``float()`` alone is not used: it accepts ``nan``, ``inf`` and ``1_000``, none of which is a
    measurement. A decimal comma is accepted only when the instrument is configured for it,
    because ``1,234`` means 1.234 in one locale and 1234 in another.
    """
    s = text.strip()
    comparator: str | None = None
    if s[:1] in ("<", ">"):
        comparator, s = s[0], s[1:].strip()
    if not s:
        return ParsedNumber(None, comparator, "empty value" if comparator is None else "comparator without a number")
    if decimal_comma and s.count(",") == 1 and "." not in s:
        s = s.replace(",", ".")
    if not _NUMBER.fullmatch(s):
        return ParsedNumber(None, comparator, f"non-numeric value {text.strip()!r}")
    return ParsedNumber(float(s), comparator, None)


def decode_text(line: bytes) -> str:
    """Decode one line of a vendor text format: UTF-8 when valid, else latin-1 (never fails).

    Vendor software writes either (Metrohm reports contain ``Rührer``, ``°C``, ``µL``); latin-1
    as the fallback maps every byte, so no input is lost.
    """
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


class LineSplitter:
    """Split a byte stream into lines on CR, LF or CR LF, independent of chunking.

    Instruments differ (Bio-Rad ends lines with CR, MT-SICS with CR LF, a report file with LF);
    splitting on either byte and skipping the empty line that CR LF produces gives the same lines
    whatever the terminator and however the bytes were split. `max_line` bounds memory on a line
    that never ends (noise, wrong baud rate); the overlong text is returned, flagged, not dropped.
    """

    def __init__(self, max_line: int = 65536) -> None:
        self._buf = bytearray()
        self._max = max_line

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """Return complete lines as ``(line_without_terminator, overlong)``; empty lines are skipped."""
        out: list[tuple[bytes, bool]] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._buf:
                    out.append((bytes(self._buf), False))
                    self._buf.clear()
            else:
                self._buf.append(byte)
                if len(self._buf) >= self._max:
                    out.append((bytes(self._buf), True))
                    self._buf.clear()
        return out

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished line (for a caller that closes the stream and wants to keep them)."""
        return bytes(self._buf)

    def flush(self) -> bytes:
        """Return and forget the unfinished line."""
        rest = bytes(self._buf)
        self._buf.clear()
        return rest
