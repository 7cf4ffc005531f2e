"""Run documents: the plate map to pipette from, and the run report (curve, QC, results).

Plain data in, PDF bytes out (no Flask, no database). The LIMS passes strings already formatted
and translated the lab's way, and the gettext catalogue of the reader's language for the
documents' own headings (English without one); the calibration chart is a `reports.qc_charts`
drawing. Set in the embedded report fonts (`reports.fonts`), never a PDF base-14 font. Rendered in
ReportLab's invariant mode, so the same run gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from io import BytesIO

from reportlab import rl_config
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports.fonts import Canvas, markup, register_fonts
from reports.texts import Catalogue, translator

__all__ = ["plate_map_pdf", "run_report_pdf"]

ROWS = "ABCDEFGH"
_ROLE_COLOURS = {"blank": colors.whitesmoke, "calibrator": colors.lightblue,
                 "control": colors.khaki, "sample": colors.white}


def _styles() -> dict[str, ParagraphStyle]:
    font = register_fonts()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, spaceAfter=2)
    return {"title": ParagraphStyle("title", fontName=font, fontSize=16, leading=20,
                                    spaceAfter=8, alignment=1),
            "heading": ParagraphStyle("heading", fontName=font, fontSize=11, leading=14,
                                      spaceBefore=6, spaceAfter=3),
            "body": body, "cell": body.clone("cell", fontSize=7.5, leading=9, spaceAfter=0),
            "well": body.clone("well", fontSize=6.5, leading=7.5, spaceAfter=0)}


def _fact(key: str, value: str) -> str:
    return f'<font color="#555555">{markup(key)}</font>: {markup(value)}'


def _doc(out: BytesIO, *, title: str, page: tuple[float, float]) -> SimpleDocTemplate:
    rl_config.invariant = 1
    return SimpleDocTemplate(out, pagesize=page, title=title, leftMargin=12 * mm,
                             rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm)


def grid_table(header: Sequence[str], rows: Sequence[Sequence[str]],
               cell: ParagraphStyle) -> Table:
    """A ruled table with a repeated grey header row, every cell a wrapped paragraph: the one
    table look of the lab's working documents (run report, pick list, box contents)."""
    data = [[Paragraph(markup(h), cell) for h in header]]
    data += [[Paragraph(markup(v), cell) for v in row] for row in rows]
    table = Table(data, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("FONT", (0, 0), (-1, -1), cell.fontName),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def plate_map_pdf(title: str, wells: Mapping[str, tuple[str, str]],
                  facts: Sequence[tuple[str, str]] = ()) -> bytes:
    """An 8 × 12 grid; ``wells`` maps A1..H12 to (role, label). Empty wells stay blank."""
    styles = _styles()
    cell = styles["well"]
    grid: list[list[object]] = [[""] + [str(c) for c in range(1, 13)]]
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("FONT", (0, 0), (-1, -1), cell.fontName),
             ("FONTSIZE", (0, 0), (-1, -1), 7), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
             ("BACKGROUND", (0, 0), (0, -1), colors.lightgrey)]
    for r, row in enumerate(ROWS, start=1):
        line: list[object] = [row]
        for c in range(1, 13):
            role, label = wells.get(f"{row}{c}", ("", ""))
            line.append(Paragraph(markup(label), cell))
            if role in _ROLE_COLOURS:
                style.append(("BACKGROUND", (c, r), (c, r), _ROLE_COLOURS[role]))
        grid.append(line)
    table = Table(grid, colWidths=[8 * mm] + [21 * mm] * 12, rowHeights=[6 * mm] + [16 * mm] * 8)
    table.setStyle(TableStyle(style))
    out = BytesIO()
    story = [Paragraph(markup(title), styles["title"]),
             *[Paragraph(_fact(k, v), styles["body"]) for k, v in facts],
             Spacer(1, 4 * mm), table]
    _doc(out, title=title, page=landscape(A4)).build(story, canvasmaker=Canvas)
    return out.getvalue()


def run_report_pdf(title: str, facts: Sequence[tuple[str, str]], *,
                   chart: Drawing | None, problems: Sequence[str], qc_lines: Sequence[str],
                   header: Sequence[str], rows: Sequence[Sequence[str]],
                   catalogue: Catalogue | None = None) -> bytes:
    """Facts, the calibration chart, curve problems, QC verdict and one row per sample; the
    headings in the language of ``catalogue``."""
    tr = translator("en", catalogue)
    styles = _styles()
    story: list[object] = [Paragraph(markup(title), styles["title"])]
    story += [Paragraph(_fact(k, v), styles["body"]) for k, v in facts]
    if chart is not None:
        story += [Spacer(1, 3 * mm), chart]
    for heading, lines in ((tr.gettext("Calibration"), problems),
                           (tr.gettext("Quality control"), qc_lines)):
        if lines:
            story.append(Paragraph(markup(heading), styles["heading"]))
            story += [Paragraph(markup(line), styles["body"]) for line in lines]
    story.append(Paragraph(markup(tr.gettext("Results")), styles["heading"]))
    table = grid_table(header, rows, styles["cell"])
    story.append(table)
    out = BytesIO()
    _doc(out, title=title, page=A4).build(story, canvasmaker=Canvas)
    return out.getvalue()
