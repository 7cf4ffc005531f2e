"""Mettler Toledo MT-SICS balance responses → stable masses.

Only a *stable* weight (``S S     10.0123 g``) may become a result: a dynamic reading (``S D``)
is still settling, so it is reported (the driver may show it live) but never yields a mass.
Error answers (``S I`` busy, ``S +`` overload, ``S -`` underload, ``ES``/``ET``/``EL`` syntax,
transmission, logic errors) become `BalanceError` events; other responses (``Z A``, ``I4 A
"…"``) are passed through as `BalanceResponse` so a driver sending commands can match them.
Lines are CR LF terminated; bare CR or LF is accepted too (see `LineSplitter`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from instruments.codecs._common import LineSplitter, decode_text, parse_number

__all__ = ["StableMass", "UnstableMass", "BalanceError", "BalanceResponse", "MtSicsDecoder", "format_weight"]

_ERRORS = {
    "S I": "command not executable (balance busy or timed out)",
    "S +": "overload (above weighing range)",
    "S -": "underload (below weighing range)",
    "ES": "syntax error (command not recognised)",
    "ET": "transmission error",
    "EL": "logical error (command not executable now)",
}


@dataclass(frozen=True)
class StableMass:
    value: float
    unit: str
    raw_value: str
    raw: str


@dataclass(frozen=True)
class UnstableMass:
    """A dynamic reading: reported, never a result."""

    raw_value: str
    unit: str
    raw: str


@dataclass(frozen=True)
class BalanceError:
    code: str
    message: str
    raw: str


@dataclass(frozen=True)
class BalanceResponse:
    """Any other line (acknowledgements like ``Z A``, identification, unknown text)."""

    raw: str


MtSicsEvent = StableMass | UnstableMass | BalanceError | BalanceResponse


def parse_line(line: str) -> MtSicsEvent:
    """Classify one response line (without terminator)."""
    text = line.strip()
    norm = " ".join(text.split())
    if norm in _ERRORS:
        return BalanceError(norm, _ERRORS[norm], line)
    m = re.fullmatch(r"S\s+([SD])\s+(\S+)\s+(\S+)", text)
    if m:
        kind, raw_value, unit = m.groups()
        if kind == "D":
            return UnstableMass(raw_value, unit, line)
        number = parse_number(raw_value)
        if number.value is None or number.comparator is not None:
            return BalanceError("PARSE", f"stable weight with a non-numeric value {raw_value!r}", line)
        return StableMass(number.value, unit, raw_value, line)
    m = re.fullmatch(r"S\s+([SD])\s+(\S+)", text)
    if m:
        # "S S 10.0123g" (no space before the unit) or a value without unit: not trustworthy.
        return BalanceError("PARSE", "weight line without a separate unit", line)
    return BalanceResponse(line)


def format_weight(value: float, unit: str = "g", *, stable: bool = True, decimals: int = 4) -> bytes:
    """The line a balance sends for a weight (for simulators): value right-aligned in 10 chars."""
    return f"S {'S' if stable else 'D'} {value:>10.{decimals}f} {unit}\r\n".encode("ascii")


class MtSicsDecoder:
    """Incremental decoder: ``feed(bytes) -> list[events]``; only `StableMass` is a result."""

    def __init__(self) -> None:
        self._lines = LineSplitter(max_line=1024)

    def feed(self, data: bytes) -> list[MtSicsEvent]:
        out: list[MtSicsEvent] = []
        for raw_line, overlong in self._lines.feed(data):
            line = decode_text(raw_line)
            if overlong:
                out.append(BalanceError("OVERLONG", "line too long (wrong baud rate?)", line))
            else:
                out.append(parse_line(line))
        return out
