"""Workbooks from outside are opened within their limits, and refused fast when they pass one."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest

from instruments.codecs.plate_file import parse_plate_file
from instruments.codecs.workbook import (
    NoSuchSheet,
    SheetUnreadable,
    WorkbookRefused,
    check_workbook,
    read_sheet,
)
from instruments.errors import PlateFileError
from tests.instruments.workbooks import rewrite_sheet, xlsx_with_entity, zip_bomb_xlsx

MiB = 2**20


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zip_bomb_xlsx(77 * MiB)


def test_a_zip_bomb_is_refused_by_its_declared_size_before_parsing(bomb: bytes) -> None:
    assert len(bomb) < MiB
    started = time.monotonic()
    with pytest.raises(WorkbookRefused) as refused:
        read_sheet(bomb, max_unpacked=48 * MiB, max_rows=1000, max_columns=50)
    assert time.monotonic() - started < 0.5
    assert (refused.value.reason, refused.value.limit) == ("unpacked_size", 48 * MiB)


def test_reading_stops_at_the_row_limit_without_scanning_the_sheet(bomb: bytes) -> None:
    """Allowed to unpack, the 77 MiB sheet (no <dimension>) still stops after max_rows rows:
    openpyxl alone would parse all of it twice (its size, then its rows)."""
    started = time.monotonic()
    with pytest.raises(WorkbookRefused) as refused:
        read_sheet(bomb, max_unpacked=100 * MiB, max_rows=1000, max_columns=50)
    assert time.monotonic() - started < 1.0
    assert refused.value.reason == "rows"


def test_entity_declarations_are_refused() -> None:
    with pytest.raises(WorkbookRefused) as refused:
        check_workbook(xlsx_with_entity(), max_unpacked=MiB)
    assert refused.value.reason == "entities"


def test_an_entity_past_the_prolog_check_is_refused_by_the_parser() -> None:
    """defusedxml under openpyxl refuses what the quick prolog check cannot see."""
    hidden = rewrite_sheet(lambda body: b" " * 5000 + body.replace(
        b"<worksheet", b'<!DOCTYPE x [<!ENTITY e "boom">]><worksheet', 1))
    with pytest.raises(SheetUnreadable, match="EntitiesForbidden"):
        read_sheet(hidden, max_unpacked=MiB, max_rows=10, max_columns=10)


def test_an_ordinary_sheet_reads_with_its_row_numbers() -> None:
    book = openpyxl.Workbook()
    book.active.title = "Data"
    book.active.append(["a", "b"])
    book.active.append([1, 2.5])
    book.active["C5"] = "far"
    book.create_sheet("Other")["A1"] = "other"
    data = io.BytesIO()
    book.save(data)
    sheet = read_sheet(data.getvalue(), max_unpacked=MiB, max_rows=10, max_columns=10)
    assert sheet.title == "Data"
    assert sheet.rows == [["a", "b"], [1, 2.5], [], [], [None, None, "far"]]
    assert read_sheet(data.getvalue(), max_unpacked=MiB, max_rows=10, max_columns=10,
                      sheet="Other").rows == [["other"]]
    with pytest.raises(NoSuchSheet) as missing:
        read_sheet(data.getvalue(), max_unpacked=MiB, max_rows=10, max_columns=10, sheet="Raw")
    assert missing.value.names == ["Data", "Other"]
    with pytest.raises(WorkbookRefused) as wide:
        read_sheet(data.getvalue(), max_unpacked=MiB, max_rows=10, max_columns=2)
    assert (wide.value.reason, wide.value.limit) == ("columns", 2)


def test_a_plate_file_bomb_is_a_plate_file_error(bomb: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(PlateFileError, match="unpacks to more than"):
        parse_plate_file(bomb, "plate.xlsx", instrument_id="MULTISKAN-01")
    assert time.monotonic() - started < 0.5
    with pytest.raises(PlateFileError, match="declares XML entities"):
        parse_plate_file(xlsx_with_entity(), "plate.xlsx", instrument_id="MULTISKAN-01")
