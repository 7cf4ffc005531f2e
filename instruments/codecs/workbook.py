"""Opening an uploaded XLSX workbook without letting it cost more than its limits.

Why: an XLSX is a zip of XML. 234 KiB can unpack to a 77 MiB sheet that takes a minute to
parse, and XML may declare entities (the "billion laughs"). Every workbook that comes from
outside is opened here first:

1. the zip's central directory is checked before anything is unpacked: too many members, or
   declared sizes that add up past ``max_unpacked`` bytes, are refused at once (``zipfile``
   never unpacks a member past its declared size: a lying header ends in a CRC error);
2. no XML member may carry a document type declaration (where entities are declared); openpyxl
   also parses through defusedxml, which refuses them while parsing;
3. the sheet is read row by row in read-only mode, and reading stops as soon as ``max_rows``
   rows have been passed. (openpyxl's read-only sheet would first scan the whole sheet for a
   ``<dimension>`` element when it has none; `_UnsizedSheet` skips that scan.)

Sans-IO and free of Flask: ``lims`` turns a `WorkbookRefused` into a message in the reader's
language, the plate-file codec into its own problem list.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

__all__ = ["NoSuchSheet", "Sheet", "SheetUnreadable", "WorkbookRefused", "check_workbook", "read_sheet"]

Cell = str | int | float | bool | date | datetime | time | None
Reason = Literal["unpacked_size", "members", "entities", "rows", "columns"]

MAX_MEMBERS = 1000
EXCEL_MAX_ROWS = 1_048_576
_PROLOG_BYTES = 4096  # a document type declaration can only stand before the root element
_DOCTYPE_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", "<!DOCTYPE".encode("utf-16-le"),
                    "<!DOCTYPE".encode("utf-16-be"))


class WorkbookRefused(ValueError):
    """The workbook passes one of the limits; ``reason`` says which and ``limit`` how far."""

    def __init__(self, reason: Reason, limit: int) -> None:
        super().__init__(f"workbook refused: {reason} over {limit}")
        self.reason = reason
        self.limit = limit


class NoSuchSheet(KeyError):
    """The workbook has no sheet of the asked name; ``names`` are the ones it has."""

    def __init__(self, name: str, names: list[str]) -> None:
        super().__init__(name)
        self.names = names


class SheetUnreadable(ValueError):
    """The workbook opened but the sheet ``title`` breaks while it is read (``reason``)."""

    def __init__(self, title: str, reason: Exception) -> None:
        super().__init__(str(reason))
        self.title = title


@dataclass(frozen=True)
class Sheet:
    title: str
    rows: list[list[Cell]]


def check_workbook(data: bytes, *, max_unpacked: int) -> None:
    """Refuse a workbook before parsing it: by its declared unpacked size, its member count and
    any XML entity declaration. ``zipfile.BadZipFile`` passes through for the caller to report."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise WorkbookRefused("members", MAX_MEMBERS)
        if sum(member.file_size for member in members) > max_unpacked:
            raise WorkbookRefused("unpacked_size", max_unpacked)
        for member in members:
            if member.filename.endswith((".xml", ".rels", ".vml")):
                with archive.open(member) as stream:
                    prolog = stream.read(_PROLOG_BYTES)
                if any(marker in prolog for marker in _DOCTYPE_MARKERS):
                    raise WorkbookRefused("entities", 0)


def read_sheet(data: bytes, *, max_unpacked: int, max_rows: int, max_columns: int,
               sheet: str | None = None) -> Sheet:
    """The rows of one sheet (the first unless ``sheet`` names one) as lists of cell values,
    trailing empty cells dropped; ``max_rows`` counts the rows that hold anything. Raises
    `WorkbookRefused` past a limit, `NoSuchSheet` for an unknown sheet name, `SheetUnreadable`
    for a damaged sheet, and zipfile/XML/ValueError exceptions for a damaged workbook."""
    check_workbook(data, max_unpacked=max_unpacked)
    reader = _BoundedReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    reader.read()
    book = reader.wb
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise NoSuchSheet(sheet, list(book.sheetnames))
        worksheet = book.worksheets[0] if sheet is None else book[sheet]
        try:
            rows = list(_bounded_rows(worksheet, max_rows, max_columns))
        except WorkbookRefused:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, SyntaxError) as exc:
            # broken sheet XML raises xml.etree's ParseError, a SyntaxError
            raise SheetUnreadable(worksheet.title, exc) from exc
        return Sheet(worksheet.title, rows)
    finally:
        book.close()


class _UnsizedSheet(ReadOnlyWorksheet):  # type: ignore[misc]
    def _get_size(self) -> None:
        """Never parse a whole sheet to learn its size: the rows are read with explicit bounds."""


class _BoundedReader(ExcelReader):  # type: ignore[misc]
    """openpyxl's reader with `_UnsizedSheet` for worksheets (charts and the rest are not read)."""

    def read_worksheets(self) -> None:
        for sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                worksheet = _UnsizedSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                worksheet.sheet_state = sheet.state
                self.wb._sheets.append(worksheet)


def _bounded_rows(worksheet: object, max_rows: int, max_columns: int) -> Iterator[list[Cell]]:
    """Rows with data count towards ``max_rows``; empty ones keep the numbering (one shared
    empty list each) up to Excel's own last row. ``max_col`` bounds the padding read-only mode
    gives every row (a sheet may claim 16,384 columns)."""
    empty: list[Cell] = []
    filled = 0
    rows = worksheet.iter_rows(max_row=EXCEL_MAX_ROWS, max_col=max_columns + 1,  # type: ignore[attr-defined]
                               values_only=True)
    for row in rows:
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        if not any(cell is not None for cell in cells):
            yield empty
            continue
        filled += 1
        if filled > max_rows:
            raise WorkbookRefused("rows", max_rows)
        if len(cells) > max_columns:
            raise WorkbookRefused("columns", max_columns)
        yield cells
