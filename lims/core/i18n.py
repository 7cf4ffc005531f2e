"""The languages IodineLIMS ships catalogues for, and how the switcher names them."""

from __future__ import annotations

# As on adilet.zan.kz: each language named in itself, short enough for the header.
LANGUAGE_NAMES: dict[str, str] = {"ru": "РУС", "kk": "ҚАЗ", "en": "ENG"}
# Each language by its full name in itself, as a chooser of a document's language names it.
LANGUAGE_ENDONYMS: dict[str, str] = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
# A person's stored language is one of these (a database CHECK holds it); the configured
# ``LANGUAGES`` of a deployment choose among them.
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(LANGUAGE_NAMES)
