"""Spreadsheet cells that stay data: OWASP's rule against CSV/formula injection.

A participant code, a note or a rejection reason is typed by a person (or sent by an instrument). If
such text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, Excel and LibreOffice
read the cell as a formula when the exported file is opened — a ministry analyst's machine would
run what someone typed at the receipt desk. OWASP's CSV-injection guidance: prefix such a cell with
a single quote so that it is shown as the text it is. Numbers (and booleans, dates, ``None``) are
not text and pass unchanged, so that a numeric column stays numeric in the workbook.

Every CSV and XLSX writer of the project sends its cell values through :func:`safe_cell`.
"""

from __future__ import annotations

from typing import TypeVar

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def safe_cell(value: T) -> T | str:
    """``value`` itself unless it is text a spreadsheet would evaluate; then the text behind a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
