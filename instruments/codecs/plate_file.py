"""A plate reader's export file (CSV or XLSX) → one 96-well `PlateReading`.

Why a file importer: Thermo Multiskan (SkanIt), Tecan (Magellan, i-control) and BioTek (Gen5)
readers have no public serial format (instruments.md §3.1); what the lab can rely on is the
plate table their PC software exports. Those exports differ in everything but the table itself
(title lines, "Wavelength: 405 nm", a ``<>`` corner cell, a trailing read label, blank lines), so
the grid is found by its shape: a header row numbering the columns 1..12 with the row labels A..H
in the column to its left, anywhere in the sheet. A file that is nothing but 8 rows of 12 numbers
is taken as rows A..H in order; anything less certain is refused rather than guessed.

All-or-nothing: every problem in the file is collected (each naming plate row/column and the
cell in the file) and raised together as one `PlateFileError`; a partly read plate is never
returned, because a missing well would silently shift a standard curve or drop a sample.

CSV: comma, semicolon or tab separated, chosen by which one yields the grid. A decimal comma is
accepted only when commas do not separate fields. Text is UTF-8 (with or without BOM), UTF-16
with BOM (Excel's "Unicode text"), otherwise cp1251 or latin-1 (see `_decode`).
XLSX: read with openpyxl (read-only, cached formula values), first sheet unless one is named,
within the limits of `instruments.codecs.workbook` (a plate export is a few KiB).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from openpyxl.utils import get_column_letter

from instruments.codecs._common import parse_number
from instruments.codecs.workbook import NoSuchSheet, SheetUnreadable, WorkbookRefused, read_sheet
from instruments.errors import PlateFileError
from instruments.records import PLATE_COLUMNS, PLATE_ROWS, WELLS, PlateReading

__all__ = ["is_over_range", "parse_plate_file"]

Cell = str | int | float | bool | date | datetime | time | None

_DELIMITERS = ("\t", ";", ",")  # preference order on a tie
_OVER_WORDS = {"OVRFLW", "OVER", "OVERFLOW"}
_STARS = re.compile(r"\*+(?:\.\*+)?")
_NM = re.compile(r"(?<!\d)(\d{3,4})\s*(?:nm|нм)(?![a-zа-я])", re.IGNORECASE)
_NM_LABELLED = re.compile(
    r"(?:wave\s*length|длина\s+волны|wellenlänge|filter|фильтр|read\s*\d*\s*:)"
    r"\D{0,20}?(?<!\d)(\d{3,4})(?!\d)", re.IGNORECASE)
_LETTER = re.compile(r"[A-Za-z]")
_ZIP_MAGIC = b"PK\x03\x04"
# An export of one plate is a few KiB: anything near these limits is not a plate file.
MAX_UNPACKED_BYTES = 4 * 2**20
MAX_ROWS = 2000
MAX_COLUMNS = 200
_REFUSALS = {
    "unpacked_size": "the workbook unpacks to more than {limit} bytes: not a plate export",
    "members": "the workbook has more than {limit} parts: not a plate export",
    "entities": "the workbook declares XML entities, which are not accepted",
    "rows": "the sheet has more than {limit} rows with data: not a plate export",
    "columns": "the sheet has more than {limit} columns: not a plate export",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy binary .xls


def is_over_range(text: str) -> bool:
    """True for the markers readers print instead of a too-high absorbance (``*.***``, ``OVRFLW``,
    ``OVER``, ``Overflow``, ``>3.5``)."""
    s = text.strip()
    if _STARS.fullmatch(s) or s.upper() in _OVER_WORDS:
        return True
    parsed = parse_number(s, decimal_comma=True)
    return parsed.comparator == ">" and parsed.value is not None


@dataclass(frozen=True)
class _Table:
    """A sheet as rows of cells, plus how to name a cell to the person who opens the file."""

    rows: list[list[Cell]]
    decimal_comma: bool
    raw: str
    where: Callable[[int, int], str]  # (row, column) index → "line 5, field 8" / "sheet cell H5"
    where_row: Callable[[int], str]  # row index → "line 5" / "sheet row 5"

    def cell(self, i: int, j: int) -> Cell:
        if 0 <= i < len(self.rows) and 0 <= j < len(self.rows[i]):
            return self.rows[i][j]
        return None


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _blank(row: Sequence[Cell]) -> bool:
    return all(_text(c) == "" for c in row)


def _int_cell(cell: Cell) -> int | None:
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)):
        return int(cell) if float(cell).is_integer() else None
    s = _text(cell)
    return int(s) if s.isdigit() else None


def _is_number(cell: Cell, decimal_comma: bool) -> bool:
    if isinstance(cell, bool):
        return False
    if isinstance(cell, (int, float)):
        return True
    return isinstance(cell, str) and parse_number(cell, decimal_comma=decimal_comma).problem is None


# -- reading the file -------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """Text of a CSV export.

    UTF-8 is tried first (it rarely decodes anything else by accident). Failing that, the file is
    in the PC's ANSI code page: cp1251 when it has runs of high-bit letters (Cyrillic words are
    made of them), latin-1 otherwise (Western text has isolated accented letters; latin-1 maps
    every byte, so nothing is lost). Only header text depends on the guess: numbers are ASCII.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if re.search(rb"[\xc0-\xff]{2}", data):
        try:
            return data.decode("cp1251")
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1")


def _csv_table(text: str, delimiter: str) -> _Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[Cell]] = []
    lines: list[int] = []
    for row in reader:
        rows.append([c.strip() for c in row])
        lines.append(reader.line_num)
    return _Table(rows=rows, decimal_comma=delimiter != ",", raw=text,
                  where=lambda i, j: f"line {lines[i]}, field {j + 1}",
                  where_row=lambda i: f"line {lines[i]}")


def _read_csv(text: str) -> _Table:
    """The table under the delimiter that shows a grid header, else the most 12-field rows."""
    present = [d for d in _DELIMITERS if d in text] or [","]
    tables = [_csv_table(text, d) for d in present]

    def score(t: _Table) -> tuple[bool, int]:
        return bool(_headers(t)), sum(len([c for c in r if _text(c)]) >= 12 for r in t.rows)

    return max(tables, key=score)  # max keeps the first of equals: the preference order


def _read_xlsx(data: bytes, filename: str, sheet: str | None) -> _Table:
    # broken XML raises xml.etree's ParseError, a SyntaxError; an entity defusedxml's ValueError
    unreadable = (zipfile.BadZipFile, OSError, ValueError, SyntaxError)
    try:
        found = read_sheet(data, max_unpacked=MAX_UNPACKED_BYTES, max_rows=MAX_ROWS,
                           max_columns=MAX_COLUMNS, sheet=sheet)
    except WorkbookRefused as refused:
        raise PlateFileError(filename, [_REFUSALS[refused.reason].format(limit=refused.limit)],
                             data) from refused
    except NoSuchSheet as missing:
        names = ", ".join(missing.names)
        raise PlateFileError(filename, [f"no sheet named {sheet!r} (sheets: {names})"],
                             data) from missing
    except SheetUnreadable as exc:
        raise PlateFileError(filename, [f"sheet {exc.title!r} is not readable ({exc})"],
                             data) from exc
    except unreadable as exc:
        raise PlateFileError(filename, [f"not a readable XLSX workbook ({exc})"], data) from exc
    title, rows = found.title, found.rows
    raw = "\n".join("\t".join(_text(c) for c in row).rstrip("\t") for row in rows)
    return _Table(rows=rows, decimal_comma=True, raw=f"[{title}]\n{raw}",
                  where=lambda i, j: f"sheet cell {get_column_letter(j + 1)}{i + 1}",
                  where_row=lambda i: f"sheet row {i + 1}")


# -- finding the grid -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    row: int
    col: int      # column index of the "1"
    length: int   # how far it counts: 1..length


def _headers(t: _Table) -> list[_Header]:
    """Rows numbering columns 1, 2, 3, ... with no number just before the 1 (so not a data row)."""
    found = []
    for i, row in enumerate(t.rows):
        for j in range(len(row)):
            counts = [_int_cell(t.cell(i, j + k)) for k in range(3)]
            if counts == [1, 2, 3] and not (j > 0 and _is_number(row[j - 1], t.decimal_comma)):
                n = 3
                while _int_cell(t.cell(i, j + n)) == n + 1:
                    n += 1
                found.append(_Header(i, j, n))
    return found


def _labelled_grid(t: _Table, h: _Header, problems: list[str]) -> dict[str, int]:
    """Map row letter → row index below header `h`; missing/extra rows go to `problems`."""
    if h.length > 12:
        problems.append(f"the header row ({t.where_row(h.row)}) numbers columns up to {h.length}: "
                        "not a 96-well plate")
    elif h.length < 12:
        missing = ", ".join(str(c) for c in PLATE_COLUMNS[h.length:])
        problems.append(f"the header row ({t.where_row(h.row)}) stops at column {h.length}: "
                        f"column{'s' if h.length < 11 else ''} {missing} missing")
    i = h.row + 1
    while i < len(t.rows) and _blank(t.rows[i]):
        i += 1
    rows: dict[str, int] = {}
    while i < len(t.rows):
        label = _text(t.cell(i, h.col - 1)) if h.col > 0 else ""
        if not (len(label) == 1 and _LETTER.fullmatch(label)):
            break
        letter = label.upper()
        if letter not in PLATE_ROWS:
            problems.append(f"row label {label!r} ({t.where(i, h.col - 1)}): more than 8 rows, "
                            "not a 96-well plate")
        elif letter in rows:
            problems.append(f"row {letter} appears twice "
                            f"({t.where_row(rows[letter])} and {t.where_row(i)})")
        else:
            rows[letter] = i
        i += 1
    if not rows:
        problems.append(f"no row labels A..H below the header row ({t.where_row(h.row)}) "
                        "in the column left of column 1")
    else:
        missing_rows = [r for r in PLATE_ROWS if r not in rows]
        if missing_rows:
            plural = "s" if len(missing_rows) > 1 else ""
            problems.append(f"row{plural} {', '.join(missing_rows)} missing "
                            f"below the header row ({t.where_row(h.row)})")
    return rows


def _unlabelled_grid(t: _Table, problems: list[str]) -> dict[str, int] | None:
    """Exactly 8 non-blank rows, mostly numbers: rows A..H in order, their cells from column 1.

    Rows of the wrong width are reported and left out (their cells would only add noise).
    """
    filled = [i for i, row in enumerate(t.rows) if not _blank(row)]
    if len(filled) != 8:
        return None
    cells = [c for i in filled for c in t.rows[i] if _text(c)]
    numbers = sum(_is_number(c, t.decimal_comma) or is_over_range(_text(c)) for c in cells)
    if numbers * 2 <= len(cells):
        return None
    rows: dict[str, int] = {}
    for letter, i in zip(PLATE_ROWS, filled):
        width = max(j + 1 for j, c in enumerate(t.rows[i]) if _text(c))
        if width == 12:
            rows[letter] = i
        else:
            problems.append(f"row {letter} ({t.where_row(i)}) has {width} fields, "
                            "expected 12 numbers")
    return rows


def _well(t: _Table, letter: str, column: int, i: int, j: int,
          problems: list[str]) -> tuple[float | None, bool]:
    """(value, over_range) of one well; a problem is appended when it is neither."""
    cell = t.cell(i, j)
    where = f"row {letter}, column {column} ({t.where(i, j)})"
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return float(cell), False
    text = _text(cell)
    if not text:
        problems.append(f"{where}: empty well")
        return None, False
    if is_over_range(text):
        return None, True
    parsed = parse_number(text, decimal_comma=t.decimal_comma) if isinstance(cell, str) else None
    if parsed is not None and parsed.problem is None and parsed.comparator is None:
        return parsed.value, False
    if parsed is not None and parsed.comparator == "<" and parsed.value is not None:
        problems.append(f"{where}: {text!r} is below the reader's range, not a number")
    else:
        problems.append(f"{where}: {text!r} is not a number")
    return None, False


def _wavelengths(t: _Table, grid_cells: set[tuple[int, int]]) -> list[int]:
    """Wavelengths (nm) stated anywhere outside the grid, in order of first mention."""
    found: list[int] = []
    for i, row in enumerate(t.rows):
        text = " ".join(_text(c) for j, c in enumerate(row)
                        if (i, j) not in grid_cells and _text(c))
        for m in [*_NM.finditer(text), *_NM_LABELLED.finditer(text)]:
            nm = int(m.group(1))
            if 200 <= nm <= 1100 and nm not in found:
                found.append(nm)
    return found


# -- the entry point --------------------------------------------------------------------------


def parse_plate_file(data: bytes, filename: str, *, instrument_id: str,
                     sheet: str | None = None) -> PlateReading:
    """Read one 96-well plate from a reader's CSV or XLSX export.

    The format is recognised by content (an XLSX is a zip archive), not by the file name, which
    users rename. Raises `PlateFileError` listing every problem; over-range wells come back as
    ``None`` and are listed in `over_range`.
    """
    if not data.strip():
        raise PlateFileError(filename, ["the file is empty"], data)
    if data.startswith(_OLE_MAGIC):
        raise PlateFileError(filename, ["legacy binary .xls workbooks are not read: "
                                        "save it as .xlsx or CSV"], data)
    if data.startswith(_ZIP_MAGIC):
        table = _read_xlsx(data, filename, sheet)
    elif sheet is not None:
        raise PlateFileError(filename, [f"sheet {sheet!r} was asked for, "
                                        "but the file is CSV, not XLSX"], data)
    else:
        table = _read_csv(_decode(data))
    if all(_blank(r) for r in table.rows):
        raise PlateFileError(filename, ["the file has no data (only blank cells)"], data)

    problems: list[str] = []
    headers = _headers(table)
    if len(headers) > 1:
        places = ", ".join(table.where(h.row, h.col) for h in headers)
        raise PlateFileError(filename, [f"{len(headers)} plate grids found "
                                        f"(header rows 1..12 at {places}): "
                                        "ambiguous; export one plate per file or sheet"], data)
    if headers:
        h = headers[0]
        rows, first_col, width = _labelled_grid(table, h, problems), h.col, min(h.length, 12)
    else:
        found = _unlabelled_grid(table, problems)
        if found is None:
            n = sum(not _blank(r) for r in table.rows)
            raise PlateFileError(filename, [
                "no 96-well grid found: need a header row numbering columns 1..12 with row labels "
                "A..H in the column to its left, or a file of exactly 8 rows of 12 numbers "
                f"({n} non-blank rows)"], data)
        rows, first_col, width = found, 0, 12

    wells: dict[str, float | None] = {}
    over: list[str] = []
    grid_cells: set[tuple[int, int]] = set()
    for letter, i in rows.items():
        for column in PLATE_COLUMNS[:width]:
            j = first_col + column - 1
            grid_cells.add((i, j))
            value, is_over = _well(table, letter, column, i, j, problems)
            wells[f"{letter}{column}"] = value
            if is_over:
                over.append(f"{letter}{column}")
    if problems:
        raise PlateFileError(filename, problems, data)

    notes: list[str] = []
    stated = _wavelengths(table, grid_cells)
    if len(stated) > 1:
        notes.append(f"several wavelengths stated ({', '.join(f'{nm} nm' for nm in stated)}): "
                     "wavelength left unset")
    return PlateReading(
        instrument_id=instrument_id,
        wells=wells,
        over_range=tuple(w for w in WELLS if w in over),
        wavelength_nm=stated[0] if len(stated) == 1 else None,
        raw=table.raw,
        problems=tuple(notes),
    )
