"""Plate reader export files (CSV, XLSX) → one PlateReading; every problem reported at once."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from instruments.codecs.plate_file import is_over_range, parse_plate_file
from instruments.errors import PlateFileError, RecordError
from instruments.records import WELLS, PlateReading

from .plate_files import Cell, grid, layout, make_wells, to_csv, to_xlsx

WELLS_IN = make_wells()


def plate_with(**cells: Cell) -> dict[str, Cell]:
    """The written plate with some wells replaced."""
    return {**WELLS_IN, **cells}


def parse(data: bytes, name: str = "plate.csv", **kw: object) -> PlateReading:
    return parse_plate_file(data, name, instrument_id="MSK-1", **kw)  # type: ignore[arg-type]


def problems(data: bytes, name: str = "plate.csv", **kw: object) -> tuple[str, ...]:
    with pytest.raises(PlateFileError) as info:
        parse(data, name, **kw)
    assert str(info.value).startswith(f"{name}: ")
    assert info.value.raw == data and info.value.error_code == "plate_file_error"
    return info.value.problems


def assert_same_plate(plate: PlateReading) -> None:
    assert list(plate.wells) == list(WELLS)
    assert dict(plate.wells) == WELLS_IN
    assert plate.over_range == () and plate.instrument_id == "MSK-1"


# -- CSV variants -------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
@pytest.mark.parametrize("name", ["skanit", "magellan", "gen5"])
def test_csv_each_delimiter_and_layout(delimiter: str, name: str) -> None:
    plate = parse(to_csv(layout(WELLS_IN, name), delimiter=delimiter))
    assert_same_plate(plate)
    assert plate.wavelength_nm == 405 and plate.problems == ()


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_decimal_comma_when_commas_do_not_separate_fields(delimiter: str) -> None:
    data = to_csv(layout(WELLS_IN, "skanit"), delimiter=delimiter, decimal_comma=True)
    assert b"0," in data or b"1," in data
    assert_same_plate(parse(data))


def test_decimal_comma_is_refused_in_a_comma_separated_file() -> None:
    rows = grid(WELLS_IN)
    rows[3][5] = "0,5"  # quoted by the writer: one field, but ambiguous (0.5 or 5?)
    (problem,) = problems(to_csv(rows, delimiter=","))
    assert problem == "row C, column 5 (line 4, field 6): '0,5' is not a number"


def test_utf8_bom_and_crlf_or_lf() -> None:
    assert_same_plate(parse(to_csv(layout(WELLS_IN, "skanit"), delimiter=";", bom=True)))
    assert_same_plate(parse(to_csv(layout(WELLS_IN, "skanit"), delimiter=";", line_end="\n")))


def test_utf16_export() -> None:
    rows = layout(WELLS_IN, "skanit")
    data = to_csv(rows, delimiter="\t", encoding="utf-16")  # Python's utf-16 writes a BOM
    assert data[:2] == b"\xff\xfe"
    assert_same_plate(parse(data))


def test_cp1251_header_text_and_russian_wavelength() -> None:
    rows: list[list[Cell]] = [["Планшет 1"], ["Длина волны: 415 нм"], [], *grid(WELLS_IN), [],
                              ["Оператор: Иванова"]]
    data = to_csv(rows, delimiter=";", decimal_comma=True, encoding="cp1251")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    plate = parse(data)
    assert_same_plate(plate)
    assert plate.wavelength_nm == 415 and "Длина волны: 415 нм" in plate.raw


def test_latin1_header_text() -> None:
    rows: list[list[Cell]] = [["Wellenlänge: 420 nm"], *grid(WELLS_IN, corner="<>")]
    plate = parse(to_csv(rows, delimiter="\t", encoding="latin-1"))
    assert_same_plate(plate)
    assert plate.wavelength_nm == 420 and "Wellenlänge" in plate.raw


def test_grid_anywhere_in_the_sheet() -> None:
    rows: list[list[Cell]] = [["", "", "Run 7"], *grid(WELLS_IN, column_offset=3),
                              ["", "", "", "Mean", 0.5]]
    assert_same_plate(parse(to_csv(rows, delimiter=";")))


def test_unlabelled_grid_of_exactly_8_by_12() -> None:
    rows = grid(WELLS_IN, labelled=False)
    assert len(rows) == 8 and all(len(r) == 12 for r in rows)
    plate = parse(to_csv(rows, delimiter=";", decimal_comma=True))
    assert_same_plate(plate)
    assert plate.wavelength_nm is None
    # blank lines and a trailing delimiter are tolerated
    data = to_csv(rows[:4] + [[]] + rows[4:], delimiter="\t").replace(b"\r\n", b"\t\r\n")
    assert_same_plate(parse(data))


def test_unlabelled_grid_with_extra_lines_is_not_guessed() -> None:
    (problem,) = problems(to_csv([["Plate 1"], *grid(WELLS_IN, labelled=False)]))
    assert problem.startswith("no 96-well grid found") and "(9 non-blank rows)" in problem


def test_over_range_markers() -> None:
    marked = plate_with(A12="*.***", B3="OVRFLW", C4="OVER", D5=">3.5", E6="Overflow", F7="*",
                  H12=">3,500")
    plate = parse(to_csv(grid(marked), delimiter=";"))
    assert plate.over_range == ("A12", "B3", "C4", "D5", "E6", "F7", "H12")
    assert all(plate.wells[w] is None for w in plate.over_range)
    assert all(plate.wells[w] == WELLS_IN[w] for w in WELLS if w not in plate.over_range)
    assert json.loads(json.dumps(plate.to_dict()))["wells"]["B3"] is None


@pytest.mark.parametrize("text", ["abc", "<3.5", ">", "nan", "inf", "1.2.3", "0.1 0.2"])
def test_not_over_range(text: str) -> None:
    assert not is_over_range(text)


def test_several_wavelengths_leave_it_unset_with_a_note() -> None:
    rows: list[list[Cell]] = [["Measurement filter: 405 nm"], ["Reference filter: 620 nm"],
                              *grid(WELLS_IN)]
    plate = parse(to_csv(rows))
    assert plate.wavelength_nm is None
    assert plate.problems == ("several wavelengths stated (405 nm, 620 nm): wavelength left unset",)


# -- XLSX -----------------------------------------------------------------------------------------


def test_xlsx_first_sheet_numbers_as_written(tmp_path: Path) -> None:
    data = to_xlsx(tmp_path / "p.xlsx", {"Plate": layout(WELLS_IN, "magellan"),
                                        "Other": [["nothing here"]]})
    plate = parse(data, "p.xlsx")
    assert_same_plate(plate)
    assert plate.wavelength_nm == 405 and plate.raw.startswith("[Plate]\n")


def test_xlsx_named_sheet_and_missing_sheet(tmp_path: Path) -> None:
    data = to_xlsx(tmp_path / "p.xlsx", {"Info": [["Gen5 export"]],
                                        "Results": layout(WELLS_IN, "gen5")})
    assert_same_plate(parse(data, "p.xlsx", sheet="Results"))
    (problem,) = problems(data, "p.xlsx")  # the first sheet holds no grid
    assert problem.startswith("no 96-well grid found")
    assert problems(data, "p.xlsx", sheet="Raw") == (
        "no sheet named 'Raw' (sheets: Info, Results)",)


def test_xlsx_text_cells_and_unlabelled_grid(tmp_path: Path) -> None:
    text_wells = {w: f"{v:.3f}".replace(".", ",") for w, v in WELLS_IN.items()}
    text_wells["G9"] = "*.***"
    data = to_xlsx(tmp_path / "t.xlsx", {"S": grid(text_wells, labelled=False)})
    plate = parse(data, "t.xlsx")
    assert plate.over_range == ("G9",)
    assert all(plate.wells[w] == WELLS_IN[w] for w in WELLS if w != "G9")


def test_xlsx_errors_name_sheet_cells(tmp_path: Path) -> None:
    bad = plate_with(C7="abc", E2=None)
    data = to_xlsx(tmp_path / "b.xlsx", {"S": [["Plate 1"], *grid(bad)]})
    assert problems(data, "b.xlsx") == (
        "row C, column 7 (sheet cell H5): 'abc' is not a number",
        "row E, column 2 (sheet cell C7): empty well",
    )


def test_not_an_xlsx_and_legacy_xls(tmp_path: Path) -> None:
    (problem,) = problems(b"PK\x03\x04 broken archive", "x.xlsx")
    assert problem.startswith("not a readable XLSX workbook")
    (problem,) = problems(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old.xls")
    assert "save it as .xlsx or CSV" in problem
    assert problems(to_csv(grid(WELLS_IN)), sheet="S") == (
        "sheet 'S' was asked for, but the file is CSV, not XLSX",)


def test_damaged_sheet_xml(tmp_path: Path) -> None:
    good = zipfile.ZipFile(io.BytesIO(to_xlsx(tmp_path / "g.xlsx", {"S": grid(WELLS_IN)})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as damaged:
        for name in good.namelist():
            content = good.read(name)
            damaged.writestr(name, content[:-40] if name == "xl/worksheets/sheet1.xml" else content)
    (problem,) = problems(out.getvalue(), "d.xlsx")
    assert problem.startswith("sheet 'S' is not readable (")


# -- errors ---------------------------------------------------------------------------------------


def test_all_cell_problems_are_listed_with_plate_and_file_positions() -> None:
    bad = plate_with(A1="0.1O1", C7="abc", H12="", D4="<0.005")
    found = problems(to_csv([["Plate 1"], [], *grid(bad)], delimiter=";"))
    assert found == (
        "row A, column 1 (line 4, field 2): '0.1O1' is not a number",
        "row C, column 7 (line 6, field 8): 'abc' is not a number",
        "row D, column 4 (line 7, field 5): '<0.005' is below the reader's range, not a number",
        "row H, column 12 (line 11, field 13): empty well",
    )


def test_error_message_lists_everything() -> None:
    bad = plate_with(A1="x", B2="y")
    with pytest.raises(RecordError) as info:
        parse(to_csv(grid(bad)))
    assert str(info.value) == ("plate.csv: 2 problems: "
                               "row A, column 1 (line 2, field 2): 'x' is not a number; "
                               "row B, column 2 (line 3, field 3): 'y' is not a number")


def test_missing_row() -> None:
    rows = grid(WELLS_IN)
    del rows[3]  # row C
    assert problems(to_csv(rows)) == ("row C missing below the header row (line 1)",)
    del rows[-2:]  # rows G, H: the grid just ends
    assert problems(to_csv(rows + [[], ["footer"]])) == (
        "rows C, G, H missing below the header row (line 1)",)


def test_missing_row_together_with_a_bad_cell() -> None:
    rows = grid(plate_with(A3="?"))
    del rows[8]  # row H
    assert problems(to_csv(rows, delimiter="\t")) == (
        "row H missing below the header row (line 1)",
        "row A, column 3 (line 2, field 4): '?' is not a number",
    )


def test_missing_column() -> None:
    rows = [r[:12] for r in grid(WELLS_IN)]  # label + columns 1..11
    assert problems(to_csv(rows)) == (
        "the header row (line 1) stops at column 11: column 12 missing",)


def test_384_well_plate_is_refused() -> None:
    rows = [["", *range(1, 25)], *[[r, *[0.1] * 24] for r in "ABCDEFGHIJKLMNOP"]]
    found = problems(to_csv(rows))
    assert found[0] == "the header row (line 1) numbers columns up to 24: not a 96-well plate"
    assert found[1] == "row label 'I' (line 10, field 1): more than 8 rows, not a 96-well plate"
    assert len(found) == 9  # header + rows I..P


def test_duplicate_row_label() -> None:
    rows = grid(WELLS_IN)
    rows[4][0] = "C"  # D becomes a second C
    assert problems(to_csv(rows)) == ("row C appears twice (line 4 and line 5)",
                                      "row D missing below the header row (line 1)")


def test_header_without_row_labels() -> None:
    rows = [[*range(1, 13)], *grid(WELLS_IN, labelled=False)]
    assert problems(to_csv(rows)) == (
        "no row labels A..H below the header row (line 1) in the column left of column 1",)


def test_unlabelled_grid_row_of_wrong_width() -> None:
    rows = grid(WELLS_IN, labelled=False)
    rows[2] = rows[2][:11]
    rows[5][3] = "bad"
    assert problems(to_csv(rows, delimiter=";")) == (
        "row C (line 3) has 11 fields, expected 12 numbers",
        "row F, column 4 (line 6, field 4): 'bad' is not a number",
    )


def test_two_grids_are_ambiguous(tmp_path: Path) -> None:
    two: list[list[Cell]] = [["Read 1:405"], *grid(WELLS_IN), [], ["Read 2:620"], *grid(WELLS_IN)]
    assert problems(to_csv(two)) == (
        "2 plate grids found (header rows 1..12 at line 2, field 2, line 13, field 2): "
        "ambiguous; export one plate per file or sheet",)
    data = to_xlsx(tmp_path / "two.xlsx", {"S": two})
    (problem,) = problems(data, "two.xlsx")
    assert "sheet cell B2, sheet cell B13" in problem


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b" ", b"\xef\xbb\xbf\n;;;\n"],
                         ids=["empty", "blank-lines", "space", "bom-and-delimiters"])
def test_empty_file(data: bytes) -> None:
    (problem,) = problems(data)
    assert problem in ("the file is empty", "the file has no data (only blank cells)")


def test_empty_xlsx(tmp_path: Path) -> None:
    assert problems(to_xlsx(tmp_path / "e.xlsx", {"S": []}), "e.xlsx") == (
        "the file has no data (only blank cells)",)
