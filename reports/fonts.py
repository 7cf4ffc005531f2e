"""The TTF fonts every report embeds, so Kazakh and Russian text renders (design.md, reports/).

The fonts come from the project's dependencies, not from the operating system:
``fontpkg-noto-sans`` (Noto Sans, OFL-1.1) sets the text, and ``fontpkg-pt-sans`` (PT Sans,
OFL-1.1, made for the languages of the former USSR, Kazakh included) sets the few signs Noto
Sans lacks: "≥", "≤" and "√" live in Noto Sans Math, which is not packaged. Both are embedded (as
subsets) in every PDF: a PDF base-14 font such as Symbol or Helvetica is never used, because a
viewer without it shows blanks, and ReportLab's Helvetica has no Cyrillic at all. A missing font is
an error, never a silent fallback.

The package ships Noto Sans as a variable font; ReportLab reads its default instance (Regular).
There is no separate bold face, so documents mark emphasis by size and colour. ``markup`` switches
the font for paragraphs, ``runs`` for drawings.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = "NotoSans"
SYMBOL_FONT = "PTSans"
#: Signs set in ``SYMBOL_FONT`` because ``FONT`` has no glyph for them.
SYMBOL_CHARS = "≥≤√"
_SYMBOL_RUN = re.compile(f"([{SYMBOL_CHARS}]+)")
#: Letters a report must be able to draw: Russian plus the Kazakh additions.
REQUIRED_LETTERS = "АаЯяЁёЫыЭэЩщӘәҒғҚқҢңӨөҰұҮүҺһІі"
#: Signs the reports print (units, ranges, QC codes): each must be in one of the two fonts.
REQUIRED_SIGNS = "≥≤√µ±−×·–—«»…°²₂₃₄ₚₜσζ′"
_FAMILIES = {FONT: ("Noto Sans", "fontpkg-noto-sans"), SYMBOL_FONT: ("PT Sans", "fontpkg-pt-sans")}


class FontMissingError(RuntimeError):
    """A report font is not installed or lacks the letters or signs a report prints."""


def font_path(name: str = FONT) -> Path:
    family, package = _FAMILIES[name]
    try:
        import fontpkg

        path = Path(fontpkg.path(family))
    except Exception as exc:  # ImportError, fontpkg.FamilyNotInstalled, ...
        raise FontMissingError(
            f"the report font {family} is not installed: install the project's dependencies "
            f"(pip install {package}) — Cyrillic cannot be rendered without it"
        ) from exc
    if not path.is_file():
        raise FontMissingError(f"the report font file {path} is missing; reinstall {package}")
    return path


@cache
def register_fonts() -> str:
    """Register the report fonts with ReportLab once per process and return the text font."""
    text, signs = TTFont(FONT, str(font_path(FONT))), TTFont(SYMBOL_FONT, str(font_path(SYMBOL_FONT)))
    missing = [c for c in REQUIRED_LETTERS if ord(c) not in text.face.charToGlyph]
    missing += [c for c in REQUIRED_SIGNS
                if ord(c) not in (signs if c in SYMBOL_CHARS else text).face.charToGlyph]
    if missing:
        raise FontMissingError(f"the report fonts lack {''.join(missing)}")
    pdfmetrics.registerFont(text)
    pdfmetrics.registerFont(signs)
    return FONT


def markup(text: str) -> str:
    """Paragraph markup for plain ``text``: XML-escaped, "≥"/"≤" switched to the sign font."""
    register_fonts()
    return _SYMBOL_RUN.sub(
        lambda m: f'<font name="{SYMBOL_FONT}">{m.group(1)}</font>', escape(text)
    )


def runs(text: str) -> list[tuple[str, str]]:
    """``text`` split into (font, piece) runs for drawing strings one font at a time."""
    font = register_fonts()
    return [
        (SYMBOL_FONT if piece[0] in SYMBOL_CHARS else font, piece)
        for piece in _SYMBOL_RUN.split(text)
        if piece
    ]


class Canvas(canvas.Canvas):
    """A canvas whose initial font is the embedded report font. ReportLab's default starts every
    page in Helvetica, which a PDF then lists as a font it does not embed, even where no text is
    set in it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # A document template passes initialFontName=None when it was not given one.
        kwargs["initialFontName"] = kwargs.get("initialFontName") or register_fonts()
        super().__init__(*args, **kwargs)


def embedded_drawing(width: float, height: float) -> Drawing:
    """A drawing whose initial font is the embedded report font (ReportLab's default state sets
    Helvetica when the drawing is rendered, even if no text uses it)."""
    d = Drawing(width, height)
    d.initialFontName = register_fonts()
    return d
