"""ASTM E1394 / CLSI LIS2-A2 records (the layer above `astm_link`), and R records → `Reading`.

Why a separate layer: the link layer delivers message *text*; how records are laid out in that
text differs by vendor (one record per message, or — cobas c111 — a whole session in one message
of ETB frames). Here the text is split into records on CR, delimiters are taken from the H record
(never hard-coded), escapes are undone per component, and results become `Reading` objects.

A result is never dropped for being odd: an unknown test code, a non-numeric value, a missing
specimen ID or a bad date still yields a `Reading`, with ``value=None`` or ``analyte=None`` and a
note in ``problems``; text that is not a record at all is returned as `Quarantined`.

Reference: ``shared/instruments.md`` §2 (record types, fields, escapes, example session).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from instruments.codecs._common import parse_number
from instruments.errors import RecordError
from instruments.records import Quarantined, Reading

__all__ = [
    "Delimiters", "DEFAULT_DELIMITERS", "Record", "RECORD_TYPES",
    "escape", "unescape", "parse_record", "parse_records", "parse_datetime",
    "format_field", "format_record", "format_records", "ResultAssembler",
]

#: Record types of LIS2-A2 (S, scientific, is rare but legal).
RECORD_TYPES = frozenset("HPORCQMLS")


@dataclass(frozen=True)
class Delimiters:
    """Field, repeat, component and escape characters, as declared by an H record (``H|\\^&``)."""

    field: str = "|"
    repeat: str = "\\"
    component: str = "^"
    escape: str = "&"

    @classmethod
    def from_header(cls, text: str) -> Delimiters:
        """Read the delimiters from the first five characters of an H record."""
        if len(text) < 5 or text[0] != "H":
            raise RecordError("not an H record with a delimiter definition", text.encode("latin-1", "replace"))
        chars = text[1:5]
        if len(set(chars)) != 4 or any(c.isalnum() or c in "\r\n" for c in chars):
            raise RecordError(f"bad delimiter definition {chars!r}", text.encode("latin-1", "replace"))
        return cls(field=chars[0], repeat=chars[1], component=chars[2], escape=chars[3])

    @property
    def spec(self) -> str:
        """The H-2 field content (repeat, component, escape)."""
        return self.repeat + self.component + self.escape


DEFAULT_DELIMITERS = Delimiters()


def unescape(text: str, d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Undo E1394 escapes: &F& &S& &R& &E&, &Xhh..& (hex bytes); &H&/&N& (highlighting) are dropped.

    Unknown sequences and a lone escape character are kept literally — better to show a user the
    odd text than to lose characters.
    """
    e = d.escape
    if e not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != e:
            out.append(ch)
            i += 1
            continue
        j = text.find(e, i + 1)
        if j == -1:
            out.append(text[i:])
            break
        seq = text[i + 1:j]
        mapped = {"F": d.field, "S": d.component, "R": d.repeat, "E": d.escape, "H": "", "N": ""}.get(seq)
        if mapped is not None:
            out.append(mapped)
        elif seq[:1] == "X" and len(seq) > 1 and len(seq) % 2 == 1 and re.fullmatch(r"[0-9A-Fa-f]+", seq[1:]):
            out.append(bytes.fromhex(seq[1:]).decode("latin-1"))
        else:
            out.append(text[i:j + 1])
        i = j + 1
    return "".join(out)


def escape(text: str, d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Escape delimiter characters in data so the text survives splitting."""
    table = {d.escape: "E", d.field: "F", d.component: "S", d.repeat: "R"}
    return "".join(f"{d.escape}{table[c]}{d.escape}" if c in table else c for c in text)


@dataclass(frozen=True)
class Record:
    """One record. `fields` are still escaped; use the accessors (1-based field numbers, as in the
    standard: field 1 is the record type, so ``record.text(3)`` of an O record is O-3)."""

    type: str
    fields: tuple[str, ...]
    raw: str
    delimiters: Delimiters = DEFAULT_DELIMITERS

    def raw_field(self, n: int) -> str:
        """Field n as sent (escaped, delimiters inside); '' if the record stops before it."""
        return self.fields[n - 1] if 1 <= n <= len(self.fields) else ""

    def text(self, n: int) -> str:
        """Field n unescaped as one string (for fields without repeats/components)."""
        return unescape(self.raw_field(n), self.delimiters)

    def repeats(self, n: int) -> tuple[tuple[str, ...], ...]:
        """Field n as repeats of components, each unescaped."""
        raw = self.raw_field(n)
        d = self.delimiters
        return tuple(tuple(unescape(c, d) for c in rep.split(d.component)) for rep in raw.split(d.repeat))

    def components(self, n: int, repeat: int = 0) -> tuple[str, ...]:
        """Components of field n (of its first repeat by default)."""
        reps = self.repeats(n)
        return reps[repeat] if repeat < len(reps) else ("",)

    def component(self, n: int, c: int, repeat: int = 0) -> str:
        """Component c (1-based) of field n; '' if absent."""
        comps = self.components(n, repeat)
        return comps[c - 1] if 1 <= c <= len(comps) else ""


def parse_record(text: str, delimiters: Delimiters | None = None) -> Record:
    """Parse one record (without or with its trailing CR). An H record declares its own delimiters."""
    line = text.rstrip("\r\n")
    if not line:
        raise RecordError("empty record", b"")
    rtype = line[0].upper()
    raw_bytes = line.encode("latin-1", "replace")
    if rtype not in RECORD_TYPES:
        raise RecordError(f"unknown record type {line[0]!r}", raw_bytes)
    if rtype == "H":
        d = Delimiters.from_header(line)
        # H-2 is the delimiter definition itself: it must not be split like data.
        rest = line[5:]
        fields = ("H", d.spec) + (tuple(rest[1:].split(d.field)) if rest.startswith(d.field) else ())
        if rest and not rest.startswith(d.field):
            raise RecordError("H record: delimiter definition not followed by a field delimiter", raw_bytes)
    else:
        d = delimiters or DEFAULT_DELIMITERS
        if len(line) > 1 and line[1] != d.field:
            raise RecordError(f"record type {line[:2]!r} not followed by the field delimiter {d.field!r}", raw_bytes)
        fields = tuple(line.split(d.field))
        fields = (rtype,) + fields[1:]
    return Record(type=rtype, fields=fields, raw=line, delimiters=d)


def _split_records(text: str) -> list[str]:
    return [part for part in re.split(r"[\r\n]+", text) if part]


def parse_records(text: str | bytes, delimiters: Delimiters | None = None) -> list[Record]:
    """Parse all records of a message or session (raises `RecordError` on the first bad one)."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    records: list[Record] = []
    d = delimiters
    for part in _split_records(text):
        record = parse_record(part, d)
        d = record.delimiters
        records.append(record)
    return records


_DT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?")


def parse_datetime(text: str) -> datetime | None:
    """Parse ``YYYYMMDD[HHMM[SS]]``; None for empty text; `ValueError` for anything else."""
    s = text.strip()
    if not s:
        return None
    m = _DT.fullmatch(s)
    if not m:
        raise ValueError(f"not an E1394 date/time: {text!r}")
    parts = [int(g) if g else 0 for g in m.groups()]
    return datetime(*parts)  # type: ignore[arg-type]


Field = str | tuple[str, ...] | list[str | tuple[str, ...]] | None


def format_field(value: Field, d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """A field from data: str (escaped), tuple (components), list (repeats), None (empty)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return escape(value, d)
    if isinstance(value, tuple):
        return d.component.join(escape(c, d) for c in value)
    return d.repeat.join(format_field(v, d) for v in value)


def format_record(values: Sequence[Field], d: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Format one record, ending in CR. ``values[0]`` is the type; for H, ``values[1]`` is ignored
    (the delimiter definition is written from `d`)."""
    if not values or not isinstance(values[0], str) or values[0] not in RECORD_TYPES:
        raise ValueError(f"first value must be a record type, got {values[:1]!r}")
    if values[0] == "H":
        head = "H" + d.field + d.spec
        rest = [format_field(v, d) for v in values[2:]]
        return d.field.join([head, *rest]) + "\r"
    return d.field.join([values[0], *(format_field(v, d) for v in values[1:])]) + "\r"


def format_records(records: Sequence[Sequence[Field]], d: Delimiters = DEFAULT_DELIMITERS) -> list[str]:
    """Format several records (one string each: one LIS1-A message per record, as most analysers do)."""
    return [format_record(r, d) for r in records]


class ResultAssembler:
    """Turns the messages of a session into records and readings, keeping context across messages.

    Stateful because an R record only makes sense with the O record before it (specimen ID), and
    with one record per LIS1-A message those arrive in separate messages. ``feed(message)``
    returns, in order, every parsed `Record` (so the caller sees queries, comments, terminators),
    a `Reading` right after each R record, and `Quarantined` for text that is not a record.

    Per-instrument settings: `test_codes` maps the instrument's test code (R-3 component 4, the
    manufacturer's local code; component 1 if that is empty) to a LIMS analyte; `specimen_fields`
    lists the O fields tried for the specimen ID (default O-3 only; the cobas c111 leaves O-3
    empty and puts its sample ID in O-4, so its profile would use ``(3, 4)``); `decimal_comma`
    allows ``12,5``.
    """

    def __init__(self, instrument_id: str, test_codes: Mapping[str, str], *,
                 specimen_fields: Sequence[int] = (3,), decimal_comma: bool = False) -> None:
        self.instrument_id = instrument_id
        self.test_codes = dict(test_codes)
        self.specimen_fields = tuple(specimen_fields)
        self.decimal_comma = decimal_comma
        self.reset()

    def reset(self) -> None:
        """Forget the session context (call when a transfer is abandoned)."""
        self._delimiters: Delimiters | None = None
        self._order: Record | None = None

    def feed(self, message: str | bytes) -> list[Record | Reading | Quarantined]:
        text = message.decode("latin-1") if isinstance(message, bytes) else message
        out: list[Record | Reading | Quarantined] = []
        for part in _split_records(text):
            try:
                record = parse_record(part, self._delimiters)
            except RecordError as exc:
                out.append(Quarantined(str(exc), part, exc.error_code))
                continue
            out.append(record)
            if record.type == "H":
                self._delimiters = record.delimiters
                self._order = None
            elif record.type in ("P", "L"):
                self._order = None
            elif record.type == "O":
                self._order = record
            elif record.type == "R":
                out.append(self._reading(record))
        return out

    def _reading(self, r: Record) -> Reading:
        problems: list[str] = []
        if self._delimiters is None:
            problems.append("no H record before this result (default delimiters assumed)")
        comps = r.components(3)
        code = comps[3] if len(comps) > 3 and comps[3] else next((c for c in comps if c), "")
        analyte = self.test_codes.get(code)
        if not code:
            problems.append("no test code in R-3")
        elif analyte is None:
            problems.append(f"unknown test code {code!r}")
        sample_id: str | None = None
        position = ""
        if self._order is None:
            problems.append("result without an order (O) record")
        else:
            position = self._order.text(4)
            for n in self.specimen_fields:
                candidate = self._order.component(n, 1).strip()
                if candidate:
                    sample_id = candidate
                    break
            if sample_id is None:
                problems.append("no specimen ID in O-" + "/O-".join(map(str, self.specimen_fields)))
        raw_value = r.text(4)
        number = parse_number(r.component(4, 1), decimal_comma=self.decimal_comma)
        if number.problem:
            problems.append(number.problem)
        measured_at = None
        for n in (13, 12):
            try:
                measured_at = parse_datetime(r.text(n))
            except ValueError as exc:
                problems.append(f"R-{n}: {exc}")
            if measured_at is not None:
                break
        flags = tuple(rep[0] for rep in r.repeats(7) if rep[0])
        return Reading(
            instrument_id=self.instrument_id, sample_id=sample_id, analyte=analyte,
            raw_value=raw_value, value=number.value, comparator=number.comparator,
            unit=r.text(5), flags=flags, status=r.text(9), measured_at=measured_at,
            position=position, raw=r.raw, test_code=code, problems=tuple(problems),
        )
