"""Characters that make text look other than it is. Pure (no Flask, no database), so the pure
modules (accession numbers) and ``lims.core.inputs`` share one definition."""

from __future__ import annotations

import re

#: Characters that make text look other than it is: NUL and other C0/C1 controls (PostgreSQL
#: refuses NUL), bidirectional overrides and isolates (reorder what is shown), zero-width
#: characters and the BOM (invisible). Tab, CR and LF stay allowed in free text.
HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
                    "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def hidden_character(text: str) -> str | None:
    """The first control, bidi or zero-width character of ``text``, as U+XXXX, or None."""
    found = HIDDEN.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def strip_hidden(text: str) -> str:
    """``text`` without its control, bidi and zero-width characters: for lookups (a scan, a
    search), where the cleaned value is what the page then shows and searches for."""
    return HIDDEN.sub("", text)
