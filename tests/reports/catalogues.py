"""The gettext catalogues a report test renders ru/kk documents with, and the no-English check.

Reports take their words from the application's catalogues (lims/translations). Those are
``.po`` files in git (``.mo`` files are built, never committed), so a test compiles the ``.po``
of a language in memory. A missing catalogue fails the test that needs it: the catalogues are
part of the checkout.
"""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "lims" / "translations"

#: Latin-script words a Russian or Kazakh report may print: statistical symbols and method,
#: code and organisation abbreviations kept in Latin letters in both languages (glossary), and
#: the variables of the censoring note ("< x", "a–b"). Codes are always allowed: a token with a
#: digit (KZ-43, SHA-256, U-2026-000001, P25, r1, r², 1₃s) or upper-case words joined by hyphens
#: (the method code UIC-SK-PLATE) is an identifier, not a word.
ALLOWED_LATIN = frozenset({
    "A", "B", "C", "D", "E", "F", "G", "H",  # the rows of a 96-well plate
    "n",  # sample size, "n = 412"
    "x", "a", "b",  # variables of the censoring note: "< x", "a–b"
    "CV", "SD",  # coefficient of variation, standard deviation (glossary keeps them)
    "RTK", "WYD",  # rapid test kit, WYD iodine checker: method abbreviations
    "ICCIDD", "IGN",  # organisations named in the classification scheme
    "UTC",  # time zone of the run's timestamps
    "EQUIP",  # the CDC's external quality assessment programme, a proper name
    "t",  # Student's t quantiles of the design-based intervals
    "z", "p", "s", "u", "U", "h", "min",  # EQA scores and formulas: z′, p results, s*, u(x)
    "ISO",  # ISO 13528, the proficiency-testing statistics standard
    "R", "survey", "svyquantile", "svyciprop",  # the reference software and its functions
    "plotly", "kz", "map", "assets", "PyPI", "MIT",  # the map geometry's source and licence
})
_DIGITS = "0123456789₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹"
_TOKEN = re.compile(rf"[{_DIGITS}A-Za-z]+(?:[-_.][{_DIGITS}A-Za-z]+)*")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CODE = re.compile(r"[A-Z]+(?:-[A-Z]+)+")
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def english_words(text: str) -> list[str]:
    """The Latin-script words of ``text`` outside ``ALLOWED_LATIN`` (codes pass, and the
    placeholders of a message). Cyrillic text, numbers and signs pass."""
    found = []
    for token in _TOKEN.findall(_PLACEHOLDER.sub(" ", text)):
        if any(c in _DIGITS for c in token) or _CODE.fullmatch(token):
            continue
        found += [w for w in _LATIN_WORD.findall(token) if w not in ALLOWED_LATIN]
    return found


def compile_po(path: Path, lang: str) -> Translations:
    """A ``.po`` file compiled in memory (its plural rule included)."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo)


@cache
def catalogue(lang: str) -> Translations:
    """The application's catalogue of ``lang``, compiled from its ``.po`` file."""
    source = CATALOGUES / lang / "LC_MESSAGES" / "messages.po"
    assert source.is_file(), f"no {lang} catalogue at {source}"
    return compile_po(source, lang)
