"""Plate reader export files for tests: a known plate written as CSV or XLSX in vendor-like layouts.

The layouts imitate what SkanIt, Magellan and Gen5 put around the grid (title lines, a wavelength
line, a ``<>`` corner, a trailing read label); the grid itself is always written from `wells`, so a
test can compare what the importer returns with what was written.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import openpyxl

from instruments.records import PLATE_COLUMNS, PLATE_ROWS, WELLS

Cell = str | float | int | None


def make_wells(seed: int = 405) -> dict[str, float]:
    """96 distinct absorbances, 3 decimals, as readers export them (blank-corrected: some < 0)."""
    rng = random.Random(seed)
    values = rng.sample(range(-20, 3400), 96)
    return {w: v / 1000 for w, v in zip(WELLS, values)}


def grid(wells: Mapping[str, Cell], *, labelled: bool = True, corner: str = "",
         trailer: str | None = None, column_offset: int = 0) -> list[list[Cell]]:
    """The 8×12 grid as rows of cells: header 1..12 and labels A..H when `labelled`.

    `trailer` adds a cell after column 12 of every data row (Gen5 writes the read's wavelength
    there); `column_offset` puts empty cells before the grid.
    """
    pad: list[Cell] = [""] * column_offset
    rows: list[list[Cell]] = []
    if labelled:
        rows.append(pad + [corner, *PLATE_COLUMNS])
    for r in PLATE_ROWS:
        cells: list[Cell] = [wells[f"{r}{c}"] for c in PLATE_COLUMNS]
        label: list[Cell] = [r] if labelled else []
        rows.append(pad + label + cells + ([trailer] if trailer is not None else []))
    return rows


LAYOUTS: dict[str, tuple[list[list[Cell]], list[list[Cell]]]] = {
    # (lines before the grid, lines after it)
    "skanit": ([["Plate 1"], ["Wavelength: 405 nm"], []], [[], ["Protocol: Iodine S-K"]]),
    "magellan": ([["Magellan"], ["Measurement wavelength", "405"], ["Date", "01.02.2026"], []], []),
    "gen5": ([["Software Version", "3.11"], ["Read 1:405"], []], [[], ["Results"]]),
}


def layout(wells: Mapping[str, Cell], name: str) -> list[list[Cell]]:
    """The grid framed by the title and footer lines of a vendor-like export."""
    before, after = LAYOUTS[name]
    corner = "<>" if name == "magellan" else ""
    trailer = "405" if name == "gen5" else None
    framed = grid(wells, corner=corner, trailer=trailer)
    return [list(r) for r in before] + framed + [list(r) for r in after]


def _text(cell: Cell, decimal_comma: bool) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float):
        text = f"{cell:.3f}"
        return text.replace(".", ",") if decimal_comma else text
    return str(cell)


def to_csv(rows: Sequence[Sequence[Cell]], *, delimiter: str = ",", decimal_comma: bool = False,
           encoding: str = "utf-8", bom: bool = False, line_end: str = "\r\n") -> bytes:
    """CSV bytes as a Windows export would write them (floats with 3 decimals)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    for row in rows:
        writer.writerow([_text(c, decimal_comma) for c in row])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def to_xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[Cell]]]) -> bytes:
    """Write a workbook with these sheets (in order, the first active) and return its bytes.

    Empty strings are left as empty cells, as Excel does.
    """
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for i, row in enumerate(rows, start=1):
            for j, cell in enumerate(row, start=1):
                if cell not in ("", None):
                    ws.cell(row=i, column=j, value=cell)
    book.save(path)
    return path.read_bytes()
