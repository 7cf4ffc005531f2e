"""Label PDFs: readable text, barcodes that decode to the accession, sheet geometry, invariance."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.graphics.barcode.code128 import _patterns
from reportlab.graphics.shapes import Group, Rect
from reportlab.lib.units import mm

from reports.labels import SHEETS, LabelData, LabelError, barcode_drawing, render_labels

LABELS = [LabelData(f"U-2026-{n:06d}", "URINE", "C-0012", "2026-05-13") for n in range(1, 31)]


def render(labels=LABELS, sheet="L7651", **kwargs) -> bytes:
    out = io.BytesIO()
    render_labels(labels, sheet, out, **kwargs)
    return out.getvalue()


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def bars(shape) -> list[Rect]:
    if isinstance(shape, Rect):
        return [shape] if shape.fillColor is not None else []  # skip the unfilled background
    if isinstance(shape, Group):
        return [r for child in shape.contents for r in bars(child)]
    return []


def decode_code128(rects: list[Rect]) -> str:
    """Read the drawn bars back: widths in modules, six per symbol, Code128 sets B and C."""
    rects = sorted(rects, key=lambda r: r.x)
    module = min(r.width for r in rects)
    widths: list[int] = []
    for previous, rect in zip([None, *rects], rects, strict=False):
        if previous is not None:
            widths.append(round((rect.x - previous.x - previous.width) / module))  # space
        widths.append(round(rect.width / module))  # bar
    letters = "".join(("ABCD" if i % 2 == 0 else "abcd")[w - 1] for i, w in enumerate(widths))
    by_pattern = {pattern: value for value, pattern in _patterns.items()}
    symbols = [by_pattern[letters[i:i + 6]] for i in range(0, len(letters) - 7, 6)]
    assert letters[-7:] == _patterns[106], "stop pattern"
    start, *data, check = symbols
    assert check == (start + sum(i * v for i, v in enumerate(data, 1))) % 103, "checksum"
    code_set = {104: "B", 105: "C"}[start]
    text = ""
    for value in data:
        if value == 99:
            code_set = "C"
        elif value == 100:
            code_set = "B"
        elif code_set == "C":
            text += f"{value:02d}"
        else:
            text += chr(value + 32)
    return text


def test_text_of_every_label_is_readable():
    pages = text_of(render())
    assert len(pages) == 1
    for label in LABELS:
        assert label.accession in pages[0]
    assert "URINE · C-0012 · 2026-05-13" in pages[0]


@pytest.mark.parametrize("value", ["U-2026-000123", "S-2026-000045", "UR-2031-1234567"])
def test_barcode_decodes_to_the_accession(value):
    drawing = barcode_drawing(value, max_width=34 * mm, height=8 * mm)
    [widget] = drawing.contents
    assert widget.value == value
    assert decode_code128(bars(widget.draw())) == value
    assert drawing.width <= 34 * mm or widget.barWidth == pytest.approx(0.19 * mm)


def test_bars_fit_the_smallest_label_with_quiet_zones():
    drawing = barcode_drawing("U-2026-000123", max_width=(38.1 - 3) * mm, height=8 * mm)
    assert drawing.width <= (38.1 - 3) * mm
    assert drawing.contents[0].barWidth >= 0.19 * mm


def test_two_renders_are_byte_identical():
    assert render() == render()


def test_start_position_reuses_a_part_used_sheet():
    # 30 labels from position 50 of 65: 16 on the first sheet, 14 on the second.
    pages = text_of(render(start_position=50))
    assert len(pages) == 2
    assert "U-2026-000016" in pages[0] and "U-2026-000017" in pages[1]


@pytest.mark.parametrize(("sheet", "per_page"), [("L7651", 65), ("L7160", 21), ("L7163", 14), ("ROLL50x25", 1)])
def test_sheet_geometry_fills_the_page(sheet, per_page):
    layout = SHEETS[sheet]
    assert layout.per_page == per_page
    right = layout.left_margin + (layout.columns - 1) * layout.horizontal_pitch + layout.label_width
    bottom = layout.top_margin + (layout.rows - 1) * layout.vertical_pitch + layout.label_height
    # symmetric margins: the sheet is fully described by its margins and pitches
    assert layout.page_width - right == pytest.approx(layout.left_margin, abs=0.05)
    assert layout.page_height - bottom == pytest.approx(layout.top_margin, abs=0.05)
    labels = [LabelData(f"S-2026-{n:06d}", "SALT", "C-1", "2026-05-13") for n in range(per_page + 1)]
    reader = PdfReader(io.BytesIO(render(labels, sheet)))
    assert len(reader.pages) == 2
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (width / mm, height / mm) == (pytest.approx(layout.page_width, abs=0.1),
                                         pytest.approx(layout.page_height, abs=0.1))


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"sheet": "A4-ANY"}, "Unknown label sheet"),
    ({"start_position": 66}, "between 1 and 65"),
    ({"start_position": 0}, "between 1 and 65"),
    ({"labels": []}, "No labels"),
])
def test_bad_requests(kwargs, text):
    with pytest.raises(LabelError, match=text):
        render(**kwargs)


def test_reports_never_import_lims_flask_or_sqlalchemy():
    forbidden = {"lims", "flask", "sqlalchemy", "flask_babel"}
    root = Path(__file__).resolve().parents[2] / "reports"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & forbidden, path
