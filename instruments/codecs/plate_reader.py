"""Bio-Rad Model 550/680 microplate reader RS-232 absorbance output → `PlateReading`.

Format (Bio-Rad 680 accessories manual §1-3, quoted in instruments.md §3.1), CR-terminated lines::

    BIO-RAD Model 680 Microplate READER
    01/01/2001 01:05:02          <- day/month/year per the manual
    Mes. filter:415nm            <- wavelength text format not documented; digits are taken
    Ref. filter:655nm            <- only in dual-wavelength mode
    .begin
     0.101 0.102 ... 0.111 *.***   <- 8 rows (A..H) of 12; a '-' replaces the separating space
    ...                              for negative values; *.*** (550: *) = over range
    123                          <- checksum: decimal 0..255
    .end
    [.begin ... .end]            <- reference-wavelength block in dual mode

Why line-incremental and tolerant: the reader pushes whenever a plate is read, the PC may start
listening mid-output, and an operator may press RTPLATE to resend. Everything that does not form
a valid plate comes back as `Quarantined` with its text — never silently skipped — and a plate
whose checksum fails is quarantined whole, including its reference block, so reference
absorbances can never be mistaken for measurement ones.

Checksum: "sum of all the ASCII characters transmitted in the data block, not including
``.begin<cr>``", sent as decimal 0..255. Whether the row terminators count is not stated; the
checksum is accepted if it matches the rows with CR terminators (what the manual's wording
implies), with CR LF, or without terminators, and `PlateReading.problems` says which.
"""

from __future__ import annotations

import re
from datetime import datetime

from instruments.codecs._common import LineSplitter, decode_text
from instruments.errors import ChecksumError, FramingError, ProtocolError
from instruments.records import PLATE_ROWS, WELLS, PlateReading, Quarantined

__all__ = ["PlateReaderDecoder", "parse_row", "block_checksum", "format_plate"]

_TOKEN = re.compile(r"-?(?:\d+\.\d+|\*(?:\.\*+)?)")
_ROW = re.compile(r"(?:\s*-?(?:\d+\.\d+|\*(?:\.\*+)?)){12}\s*")
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2,4})\s+(\d{1,2}):(\d{2}):(\d{2})")
_NM = re.compile(r"(\d{3,4})")


def parse_row(line: str) -> list[float | None]:
    """Parse one row of 12 absorbances; over-range (asterisks) → None. Raises `FramingError`."""
    if not _ROW.fullmatch(line):
        raise FramingError(f"not a row of 12 absorbances: {line!r}", line.encode("latin-1", "replace"))
    return [None if "*" in tok else float(tok) for tok in _TOKEN.findall(line)]


def block_checksum(rows: list[str], terminator: str = "\r") -> int:
    """The checksum the reader sends for these rows (sum of characters mod 256)."""
    return sum(b"".join((row + terminator).encode("latin-1") for row in rows)) & 0xFF


def _format_value(value: float | None) -> str:
    if value is None:
        return " *.***"
    text = f"{abs(value):.3f}"
    return ("-" if value < 0 else " ") + text


def format_plate(wells: dict[str, float | None], *, model: str = "680", measured_at: datetime | None = None,
                 wavelength_nm: int = 415, reference: dict[str, float | None] | None = None,
                 reference_wavelength_nm: int = 655) -> bytes:
    """The bytes a Bio-Rad reader would send for these wells (for simulators and tests)."""
    when = measured_at or datetime(2001, 1, 1, 1, 5, 2)
    lines = [f"BIO-RAD Model {model} Microplate READER", when.strftime("%d/%m/%Y %H:%M:%S"),
             f"Mes. filter:{wavelength_nm}nm"]
    if reference is not None:
        lines.append(f"Ref. filter:{reference_wavelength_nm}nm")
    for block in [wells] + ([reference] if reference is not None else []):
        rows = ["".join(_format_value(block[f"{r}{c}"]) for c in range(1, 13)) for r in PLATE_ROWS]
        lines += [".begin", *rows, str(block_checksum(rows)), ".end"]
    return ("\r".join(lines) + "\r").encode("latin-1")


class _Block:
    def __init__(self, orphan: bool = False) -> None:
        self.rows: list[str] = []
        self.checksum: str | None = None
        #: the reference block of a plate whose measurement block was rejected
        self.orphan = orphan


class PlateReaderDecoder:
    """Incremental decoder: ``feed(bytes) -> list[PlateReading | Quarantined]``."""

    def __init__(self, instrument_id: str) -> None:
        self.instrument_id = instrument_id
        self._lines = LineSplitter()
        self._orphan_next = False
        self._reset_plate()

    def _reset_plate(self) -> None:
        self._raw: list[str] = []
        self._model = ""
        self._measured_at: datetime | None = None
        self._wavelength: int | None = None
        self._ref_wavelength: int | None = None
        self._dual = False
        self._problems: list[str] = []
        self._blocks: list[tuple[list[float | None], list[str]]] = []
        self._block: _Block | None = None
        self._failed: Quarantined | None = None  # a plate already rejected, swallowing its other block

    def feed(self, data: bytes) -> list[PlateReading | Quarantined]:
        out: list[PlateReading | Quarantined] = []
        for raw_line, overlong in self._lines.feed(data):
            line = decode_text(raw_line)
            if overlong:
                self._quarantine_plate(out)
                out.append(Quarantined("overlong line", line, "framing_error"))
                continue
            self._line(line, out)
        return out

    def flush(self) -> list[PlateReading | Quarantined]:
        """End of input: anything unfinished is quarantined."""
        out: list[PlateReading | Quarantined] = []
        rest = self._lines.flush()
        if rest:
            self._line(decode_text(rest), out)
        if self._blocks and not self._dual:
            self._emit(out)
        elif self._raw:
            self._quarantine_plate(out, "incomplete plate at end of input")
        return out

    # -- internals ----------------------------------------------------------------------------

    def _quarantine_plate(self, out: list[PlateReading | Quarantined], reason: str = "incomplete plate",
                          code: str = "framing_error") -> None:
        if self._raw:
            out.append(Quarantined(reason, "\r".join(self._raw) + "\r", code, tuple(self._problems)))
        self._reset_plate()

    def _line(self, line: str, out: list[PlateReading | Quarantined]) -> None:
        text = line.strip()
        if not text:
            return
        if self._block is not None:
            self._block_line(line, text, out)
            return
        if text.upper().startswith("BIO-RAD"):
            self._orphan_next = False
            if self._raw:
                self._quarantine_plate(out, "plate cut off by a new header")
            self._raw.append(line)
            self._model = text
            return
        if text in (".begin", "begin"):
            if self._blocks and not self._dual:
                self._emit(out)  # a second plate without its own header (e.g. RTPLATE output)
            self._raw.append(line)
            self._block = _Block(orphan=self._orphan_next)
            self._orphan_next = False
            return
        if text.startswith("ERE"):
            out.append(Quarantined(f"reader reported an error: {text}", line, "device_error"))
            return
        m = _DATE.fullmatch(text)
        if m and self._raw and not self._blocks:
            self._raw.append(line)
            day, month, year, hh, mm, ss = (int(g) for g in m.groups())
            year += 2000 if year < 100 else 0
            try:
                self._measured_at = datetime(year, month, day, hh, mm, ss)
            except ValueError:
                self._problems.append(f"bad date/time {text!r}")
            return
        for prefix, attr in (("Mes. filter:", "_wavelength"), ("Ref. filter:", "_ref_wavelength")):
            if text.startswith(prefix) and not self._blocks:
                self._raw.append(line)
                nm = _NM.search(text[len(prefix):])
                setattr(self, attr, int(nm.group(1)) if nm else None)
                if nm is None:
                    self._problems.append(f"no wavelength in {text!r}")
                if attr == "_ref_wavelength":
                    self._dual = True
                return
        if self._blocks and not self._dual:
            self._emit(out)
        out.append(Quarantined("unexpected line", line, "framing_error"))

    def _block_line(self, line: str, text: str, out: list[PlateReading | Quarantined]) -> None:
        block = self._block
        assert block is not None
        if text.upper().startswith("BIO-RAD"):
            self._block = None
            self._line(line, out)  # quarantines the cut-off plate, starts the new one
            return
        self._raw.append(line)
        if text in (".begin", "begin"):
            self._raw.pop()
            self._block = None
            self._quarantine_plate(out, "block cut off by a new .begin")
            self._raw.append(line)
            self._block = _Block()
            return
        if text == ".end":
            self._block = None
            if block.orphan:
                self._quarantine_plate(out, "reference block of a rejected plate")
            else:
                self._end_block(block, out)
            return
        if len(block.rows) < 8:
            block.rows.append(line)
        elif block.checksum is None and text.isdigit():
            block.checksum = text
        else:
            self._block = None
            self._quarantine_plate(out, f"unexpected line in data block: {text!r}")

    def _end_block(self, block: _Block, out: list[PlateReading | Quarantined]) -> None:
        raw_plate = "\r".join(self._raw) + "\r"
        try:
            if len(block.rows) != 8 or block.checksum is None:
                raise FramingError(f"data block has {len(block.rows)} rows and "
                                   f"{'a' if block.checksum else 'no'} checksum (need 8 rows + checksum)",
                                   raw_plate.encode("latin-1", "replace"))
            values = [v for row in block.rows for v in parse_row(row)]
            sent = int(block.checksum)
            variants = {"\r": "CR-terminated rows", "\r\n": "CR LF-terminated rows", "": "rows without terminators"}
            matched = [name for term, name in variants.items() if block_checksum(block.rows, term) == sent]
            if not matched:
                raise ChecksumError(f"plate checksum mismatch: sent {sent}, rows give "
                                    f"{block_checksum(block.rows)}", raw_plate.encode("latin-1", "replace"),
                                    expected=str(block_checksum(block.rows)), received=str(sent))
            if matched[0] != variants["\r"]:
                self._problems.append(f"checksum matched {matched[0]}")
        except ProtocolError as exc:
            first_of_dual = self._dual and not self._blocks
            self._problems.append(str(exc))
            self._quarantine_plate(out, str(exc), exc.error_code)
            # Its reference block follows; without this it would pass for a plate of its own.
            self._orphan_next = first_of_dual
            return
        self._blocks.append((values, block.rows))
        if not self._dual or len(self._blocks) == 2:
            self._emit(out)

    def _emit(self, out: list[PlateReading | Quarantined]) -> None:
        measured = self._blocks[0][0]
        reference = self._blocks[1][0] if len(self._blocks) > 1 else None
        if not self._model:
            self._problems.append("no header (model, date and wavelength unknown)")
        out.append(PlateReading(
            instrument_id=self.instrument_id,
            wells=dict(zip(WELLS, measured)),
            over_range=tuple(w for w, v in zip(WELLS, measured) if v is None),
            reference_wells=dict(zip(WELLS, reference)) if reference is not None else None,
            reference_over_range=tuple(w for w, v in zip(WELLS, reference) if v is None) if reference else (),
            wavelength_nm=self._wavelength,
            reference_wavelength_nm=self._ref_wavelength,
            measured_at=self._measured_at,
            model=self._model,
            raw="\r".join(self._raw) + "\r",
            problems=tuple(self._problems),
        ))
        self._reset_plate()
