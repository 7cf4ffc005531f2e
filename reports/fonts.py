"""The TTF font every report embeds, so Kazakh and Russian text renders (design.md, reports/).

The font comes from the ``fontpkg-noto-sans`` dependency (Noto Sans, OFL-1.1), installed with the
project, not from the operating system. ReportLab's built-in Helvetica has no Cyrillic: drawing
Kazakh with it would print empty boxes, so a missing font is an error, never a silent fallback.

The package ships Noto Sans as a variable font; ReportLab reads its default instance (Regular).
There is no separate bold face, so documents mark emphasis by size and colour. Noto Sans has no
"≥"/"≤" (they live in Noto Sans Math); those two are set in the PDF base-14 Symbol font, which every
viewer has: ``markup`` does it for paragraphs, ``runs`` for drawings.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "NotoSans"
SYMBOL_FONT = "Symbol"
SYMBOL_CHARS = "≥≤"
_SYMBOL_RUN = re.compile(f"([{SYMBOL_CHARS}]+)")
#: Letters a report must be able to draw: Russian plus the Kazakh additions.
REQUIRED_LETTERS = "АаЯяЁёЫыЭэЩщӘәҒғҚқҢңӨөҰұҮүҺһІі"


class FontMissingError(RuntimeError):
    """The report font is not installed or lacks Cyrillic letters."""


def font_path() -> Path:
    try:
        import fontpkg

        path = Path(fontpkg.path("Noto Sans"))
    except Exception as exc:  # ImportError, fontpkg.FamilyNotInstalled, ...
        raise FontMissingError(
            "the report font Noto Sans is not installed: install the project's dependencies "
            "(pip install fontpkg-noto-sans) — Cyrillic cannot be rendered without it"
        ) from exc
    if not path.is_file():
        raise FontMissingError(
            f"the report font file {path} is missing; reinstall fontpkg-noto-sans"
        )
    return path


@cache
def register_fonts() -> str:
    """Register the report font with ReportLab once per process and return its name."""
    font = TTFont(FONT, str(font_path()))
    missing = [c for c in REQUIRED_LETTERS if ord(c) not in font.face.charToGlyph]
    if missing:
        raise FontMissingError(f"{font_path()} lacks the letters {''.join(missing)}")
    pdfmetrics.registerFont(font)
    return FONT


def markup(text: str) -> str:
    """Paragraph markup for plain ``text``: XML-escaped, "≥"/"≤" switched to the Symbol font."""
    return _SYMBOL_RUN.sub(
        lambda m: f'<font name="{SYMBOL_FONT}">{m.group(1)}</font>', escape(text)
    )


def runs(text: str) -> list[tuple[str, str]]:
    """``text`` split into (font, piece) runs for drawing strings one font at a time."""
    return [
        (SYMBOL_FONT if piece[0] in SYMBOL_CHARS else register_fonts(), piece)
        for piece in _SYMBOL_RUN.split(text)
        if piece
    ]
