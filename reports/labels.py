"""Sample labels: a Code128 barcode of the accession plus the readable accession, kind, cluster
and collection date, laid out on common A4 label sheets or a thermal roll.

Plain data in, PDF bytes out: no Flask, no database (the dependency rule in design.md). The caller
passes the kind already translated and the gettext catalogue of the reader's language for the
document's own words. Set in the embedded report font (`reports.fonts`): a label printed from a PC
without Helvetica shows no blanks, and Kazakh kinds render. The documents are rendered in
ReportLab's invariant mode, so the same labels give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from reports.fonts import Canvas, register_fonts
from reports.texts import Catalogue, translator


class LabelError(ValueError):
    """Labels that cannot be laid out as asked (unknown sheet, bad start position)."""


@dataclass(frozen=True)
class LabelData:
    accession: str
    kind: str
    cluster_code: str
    collected: str  # already formatted by the caller (a date, in the lab's convention)


@dataclass(frozen=True)
class SheetLayout:
    """A label stock, in millimetres, measured from the top-left corner of the page."""

    code: str
    description: str
    page_width: float
    page_height: float
    columns: int
    rows: int
    label_width: float
    label_height: float
    left_margin: float
    top_margin: float
    horizontal_pitch: float
    vertical_pitch: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def origin(self, slot: int) -> tuple[float, float]:
        """Bottom-left corner (points, PDF coordinates) of ``slot`` (0-based, row by row)."""
        row, column = divmod(slot, self.columns)
        x = self.left_margin + column * self.horizontal_pitch
        top = self.top_margin + row * self.vertical_pitch
        return x * mm, (self.page_height - top - self.label_height) * mm


A4 = (210.0, 297.0)
SHEETS: dict[str, SheetLayout] = {
    layout.code: layout
    for layout in (
        SheetLayout("L7651", "Avery L7651 · 65 per A4 sheet · 38.1 × 21.2 mm", *A4, columns=5, rows=13,
                    label_width=38.1, label_height=21.2, left_margin=4.75, top_margin=10.7,
                    horizontal_pitch=40.6, vertical_pitch=21.2),
        SheetLayout("L7160", "Avery L7160 · 21 per A4 sheet · 63.5 × 38.1 mm", *A4, columns=3, rows=7,
                    label_width=63.5, label_height=38.1, left_margin=7.25, top_margin=15.15,
                    horizontal_pitch=66.0, vertical_pitch=38.1),
        SheetLayout("L7163", "Avery L7163 · 14 per A4 sheet · 99.1 × 38.1 mm", *A4, columns=2, rows=7,
                    label_width=99.1, label_height=38.1, left_margin=4.65, top_margin=15.15,
                    horizontal_pitch=101.6, vertical_pitch=38.1),
        SheetLayout("ROLL50x25", "Thermal roll · one label per page · 50 × 25 mm", 50.0, 25.0, columns=1,
                    rows=1, label_width=50.0, label_height=25.0, left_margin=0.0, top_margin=0.0,
                    horizontal_pitch=50.0, vertical_pitch=25.0),
    )
}
DEFAULT_SHEET = "L7651"

PADDING = 1.5 * mm
# Bars narrower than this do not print reliably on office lasers and thermal heads (~3 dots at 203 dpi).
MIN_MODULE = 0.19 * mm
MAX_MODULE = 0.33 * mm
QUIET_MODULES = 10


def barcode_drawing(value: str, *, max_width: float, height: float) -> Drawing:
    """A Code128 drawing of ``value`` as wide as fits in ``max_width`` (points), quiet zones included."""
    probe = createBarcodeDrawing("Code128", value=value, barWidth=1, barHeight=height, humanReadable=False,
                                 quiet=False)
    modules = probe.width + 2 * QUIET_MODULES
    module = min(MAX_MODULE, max(MIN_MODULE, max_width / modules))
    barcode = createBarcodeDrawing("Code128", value=value, barWidth=module, barHeight=height, humanReadable=False,
                                   quiet=True, lquiet=QUIET_MODULES * module, rquiet=QUIET_MODULES * module)
    barcode.initialFontName = register_fonts()  # else rendering it sets Helvetica, unembedded
    return barcode


def _fit_text(canvas: Canvas, text: str, font: str, size: float, centre_x: float, y: float, width: float) -> None:
    """Centre a line, shrinking the font (down to 4 pt) rather than spilling off the label."""
    while size > 4 and stringWidth(text, font, size) > width:
        size -= 0.25
    canvas.setFont(font, size)
    canvas.drawCentredString(centre_x, y, text)


def draw_label(canvas: Canvas, label: LabelData, x: float, y: float, width: float, height: float) -> None:
    inner_width = width - 2 * PADDING
    inner_height = height - 2 * PADDING
    accession_size = min(10.0, inner_height * 0.22)
    detail_size = accession_size * 0.72
    text_height = accession_size + detail_size + 2
    barcode = barcode_drawing(label.accession, max_width=inner_width, height=inner_height - text_height - 1)
    centre = x + width / 2
    renderPDF.draw(barcode, canvas, centre - barcode.width / 2, y + PADDING + text_height)
    font = register_fonts()
    _fit_text(canvas, label.accession, font, accession_size, centre, y + PADDING + detail_size + 1.5,
              inner_width)
    details = " · ".join(part for part in (label.kind, label.cluster_code, label.collected) if part)
    _fit_text(canvas, details, font, detail_size, centre, y + PADDING, inner_width)


def render_labels(labels: Sequence[LabelData], sheet: str, out: BinaryIO, *, start_position: int = 1,
                  catalogue: Catalogue | None = None) -> None:
    """Write a PDF of ``labels`` on ``sheet``. ``start_position`` (1-based, row by row) skips the
    labels already used on a part-used first sheet. Errors and the document title are in the
    language of ``catalogue`` (English without one)."""
    tr = translator("en", catalogue)
    layout = SHEETS.get(sheet)
    if layout is None:
        raise LabelError(tr.gettext("Unknown label sheet %(sheet)s; known: %(known)s.", sheet=sheet,
                                    known=", ".join(SHEETS)))
    if not 1 <= start_position <= layout.per_page:
        raise LabelError(tr.gettext("The start position must be between 1 and %(last)d on %(sheet)s.",
                                    last=layout.per_page, sheet=sheet))
    if not labels:
        raise LabelError(tr.gettext("No labels to print."))
    canvas = Canvas(out, pagesize=(layout.page_width * mm, layout.page_height * mm), invariant=1,
                    pageCompression=1)
    canvas.setTitle(tr.ngettext("%(num)d sample label", "%(num)d sample labels", len(labels)))
    canvas.setCreator("IodineLIMS")
    slot = start_position - 1
    for label in labels:
        if slot == layout.per_page:
            canvas.showPage()
            slot = 0
        x, y = layout.origin(slot)
        draw_label(canvas, label, x, y, layout.label_width * mm, layout.label_height * mm)
        slot += 1
    canvas.showPage()
    canvas.save()
