"""Shared by the catalogue tests: what the real extraction yields, the catalogues, compiling.

The extraction reads ``babel.cfg`` (as ``pybabel extract -F babel.cfg`` does) with the project's
keywords, so the tests check exactly the messages the translators are given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "lims" / "translations"
LANGUAGES = ("ru", "kk")
PLURAL_FORMS = {"ru": 3, "kk": 2}
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# PDFs and workbooks take their words from the same catalogues (design.md, "Languages").
REQUIRED_PATTERNS = {"lims/**.py": "python", "reports/**.py": "python"}
# %(name)s, %(num)d, a bare %s, and {name} / {0} / {}
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]|%[sdifr]|\{\w*\}")


@dataclass(frozen=True)
class Extracted:
    msgid: str | tuple[str, ...]
    context: str | None
    where: str

    @property
    def singular(self) -> str:
        return self.msgid if isinstance(self.msgid, str) else self.msgid[0]


def method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with (ROOT / "babel.cfg").open() as cfg:
        methods, options = parse_mapping_cfg(cfg)
    for pattern, method in REQUIRED_PATTERNS.items():
        if pattern not in dict(methods):
            methods.append((pattern, method))
    return methods, options


def extract_messages() -> list[Extracted]:
    methods, options = method_map()
    found = []
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), methods, options, keywords=KEYWORDS, strip_comment_tags=True
    ):
        if not message or (isinstance(message, tuple) and not message[0]):
            continue
        found.append(Extracted(message, context, f"{filename}:{lineno}"))
    return found


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def load_catalogue(lang: str) -> Catalog:
    with po_path(lang).open("rb") as po:
        return read_po(po, locale=lang)


def catalogues_present() -> bool:
    return all(po_path(lang).is_file() for lang in LANGUAGES)


def compile_catalogues(target: Path) -> Path:
    """Compile every ``messages.po`` into ``target`` (a translation directory Flask-Babel can
    load), so a test uses the catalogues as they are now, not a stale ``.mo``."""
    for lang in LANGUAGES:
        out = target / lang / "LC_MESSAGES"
        out.mkdir(parents=True, exist_ok=True)
        with (out / "messages.mo").open("wb") as mo:
            write_mo(mo, load_catalogue(lang), use_fuzzy=False)
    return target


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))
