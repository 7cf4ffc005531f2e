"""Run documents: the plate map to pipette from, and the run report (curve, QC, results).

Plain data in, PDF bytes out (no Flask, no database). The LIMS passes strings already formatted
the lab's way; the calibration chart is a `reports.qc_charts` drawing. Rendered in ReportLab's
invariant mode, so the same run gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from io import BytesIO

from reportlab import rl_config
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

__all__ = ["plate_map_pdf", "run_report_pdf"]

ROWS = "ABCDEFGH"
_ROLE_COLOURS = {"blank": colors.whitesmoke, "calibrator": colors.lightblue,
                 "control": colors.khaki, "sample": colors.white}


def _pdf_text(text: str) -> str:
    """Characters the standard PDF fonts lack, written out (a TTF is the reports module's job)."""
    return (text.replace("≥", ">=").replace("≤", "<=").replace("²", "2").replace("−", "-")
            .replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _doc(out: BytesIO, *, title: str, page: tuple[float, float]) -> SimpleDocTemplate:
    rl_config.invariant = 1
    return SimpleDocTemplate(out, pagesize=page, title=title, leftMargin=12 * mm,
                             rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm)


def plate_map_pdf(title: str, wells: Mapping[str, tuple[str, str]],
                  facts: Sequence[tuple[str, str]] = ()) -> bytes:
    """An 8 × 12 grid; ``wells`` maps A1..H12 to (role, label). Empty wells stay blank."""
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=6.5, leading=7.5)
    grid: list[list[object]] = [[""] + [str(c) for c in range(1, 13)]]
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
             ("FONTSIZE", (0, 0), (-1, -1), 7), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
             ("BACKGROUND", (0, 0), (0, -1), colors.lightgrey)]
    for r, row in enumerate(ROWS, start=1):
        line: list[object] = [row]
        for c in range(1, 13):
            role, label = wells.get(f"{row}{c}", ("", ""))
            line.append(Paragraph(_pdf_text(label), cell))
            if role in _ROLE_COLOURS:
                style.append(("BACKGROUND", (c, r), (c, r), _ROLE_COLOURS[role]))
        grid.append(line)
    table = Table(grid, colWidths=[8 * mm] + [21 * mm] * 12, rowHeights=[6 * mm] + [16 * mm] * 8)
    table.setStyle(TableStyle(style))
    out = BytesIO()
    story = [Paragraph(_pdf_text(title), styles["Title"]),
             *[Paragraph(f"<b>{_pdf_text(k)}</b>: {_pdf_text(v)}", styles["BodyText"])
               for k, v in facts],
             Spacer(1, 4 * mm), table]
    _doc(out, title=title, page=landscape(A4)).build(story)
    return out.getvalue()


def run_report_pdf(title: str, facts: Sequence[tuple[str, str]], *,
                   chart: Drawing | None, problems: Sequence[str], qc_lines: Sequence[str],
                   header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """Facts, the calibration chart, curve problems, QC verdict and one row per sample."""
    styles = getSampleStyleSheet()
    story: list[object] = [Paragraph(_pdf_text(title), styles["Title"])]
    story += [Paragraph(f"<b>{_pdf_text(k)}</b>: {_pdf_text(v)}", styles["BodyText"])
              for k, v in facts]
    if chart is not None:
        story += [Spacer(1, 3 * mm), chart]
    for heading, lines in (("Calibration", problems), ("Quality control", qc_lines)):
        if lines:
            story.append(Paragraph(heading, styles["Heading3"]))
            story += [Paragraph(_pdf_text(line), styles["BodyText"]) for line in lines]
    story.append(Paragraph("Results", styles["Heading3"]))
    cell = styles["BodyText"].clone("cell", fontSize=7.5, leading=9)
    data = [[Paragraph(f"<b>{_pdf_text(h)}</b>", cell) for h in header]]
    data += [[Paragraph(_pdf_text(v), cell) for v in row] for row in rows]
    table = Table(data, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(table)
    out = BytesIO()
    _doc(out, title=title, page=A4).build(story)
    return out.getvalue()
