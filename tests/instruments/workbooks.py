"""Hostile workbooks for tests, built on the spot: small on the wire, costly to parse."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"


def rewrite_sheet(change: Callable[[bytes], bytes], rows: list[list[object]] | None = None) -> bytes:
    """A workbook written by openpyxl (with ``rows`` in its sheet), its sheet XML then changed."""
    seed = io.BytesIO()
    book = openpyxl.Workbook()
    for row in rows or [["x"]]:
        book.active.append(row)
    book.save(seed)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(seed.getvalue())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as result:
        for item in source.infolist():
            body = source.read(item)
            result.writestr(item.filename, change(body) if item.filename == SHEET else body)
    return out.getvalue()


def zip_bomb_xlsx(unpacked_bytes: int) -> bytes:
    """A valid workbook whose one sheet inflates to ``unpacked_bytes`` of identical rows, with no
    ``<dimension>`` element (a few hundred KiB on the wire, like the 234 KiB file that once
    stalled the lab for a minute)."""
    row = b'<row><c t="inlineStr"><is><t>' + b"a" * 40 + b"</t></is></c></row>"
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
             b'.org/spreadsheetml/2006/main"><sheetData>' + row * (unpacked_bytes // len(row))
             + b"</sheetData></worksheet>")
    return rewrite_sheet(lambda _: sheet)


def xlsx_with_entity(rows: list[list[object]] | None = None) -> bytes:
    """A workbook whose sheet declares an XML entity (the start of a "billion laughs")."""

    def declare(body: bytes) -> bytes:
        changed = body.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY e "boom">]><worksheet', 1)
        assert b"<!ENTITY" in changed
        return changed

    return rewrite_sheet(declare, rows)
