"""Storage documents: the pick list a technician walks the freezers with, and a box's contents
sheet (its code as a Code128 barcode, then what sits in each position).

Plain data in, PDF bytes out (no Flask, no database): the LIMS passes every string already
translated. Built with the run documents' styles and page (`reports.run_report`) and the label
sheets' barcode (`reports.labels`), in the embedded report fonts, in invariant mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from reports.fonts import Canvas, markup
from reports.labels import barcode_drawing
from reports.run_report import _doc, _fact, _styles, grid_table

__all__ = ["table_pdf"]


def table_pdf(title: str, facts: Sequence[tuple[str, str]], header: Sequence[str],
              rows: Sequence[Sequence[str]], *, barcode: str | None = None) -> bytes:
    """A titled A4 table (header repeated on every page), optionally led by a Code128 barcode
    of ``barcode`` (a box's code, scanned at the freezer)."""
    styles = _styles()
    story: list[object] = [Paragraph(markup(title), styles["title"])]
    if barcode:
        story += [barcode_drawing(barcode, max_width=80 * mm, height=14 * mm), Spacer(1, 2 * mm)]
    story += [Paragraph(_fact(k, v), styles["body"]) for k, v in facts]
    table = grid_table(header, rows, styles["cell"])
    story += [Spacer(1, 3 * mm), table]
    out = BytesIO()
    _doc(out, title=title, page=A4).build(story, canvasmaker=Canvas)
    return out.getvalue()
