"""Accession numbers: ``<prefix>-<year>-<6 digits>``, e.g. ``U-2026-000123``. Pure."""

from __future__ import annotations

import re

from lims.core.text import strip_hidden

ACCESSION_RE = re.compile(r"^(?P<prefix>[A-Z]{1,4})-(?P<year>\d{4})-(?P<number>\d{6,})$")
KIND_PREFIX = {"urine": "U", "salt": "S"}


def format_accession(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year:04d}-{number:06d}"


def parse_accession(text: str) -> tuple[str, int, int] | None:
    m = ACCESSION_RE.match(text.strip().upper())
    if m is None:
        return None
    return m.group("prefix"), int(m.group("year")), int(m.group("number"))


def normalise_query(text: str) -> str:
    """Scanner input and typed searches: trimmed, upper case, no inner spaces and no invisible
    characters (a scanner's GS separator, a pasted zero-width space or NUL, which PostgreSQL
    refuses in a query): the page shows the cleaned accession it looked for."""
    return strip_hidden("".join(text.split())).upper()


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (byte order),
    so a prefix search is ``prefix <= accession < bound`` on a plain index."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
