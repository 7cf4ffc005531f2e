"""One definition of a valid id, number, date, JSON document, code and piece of text from outside.

Every value that arrives from a URL, a form, a file or the API is checked against these before it
reaches the database: an id beyond SQLite's and PostgreSQL's 64-bit integers, a NaN, an infinity,
a year 9999, a JSON document nested a hundred thousand deep or a code with an invisible character
in it would otherwise end as a 500, a stored infinity or a record that is not what it looks like.
Forms (``lims.core.forms``), the URL map, the query-string parsers, the batch intake and the
services all ask this module, so they cannot disagree.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter
from werkzeug.routing import ValidationError as NoMatch

from lims.core.errors import LimsError, ValidationError
from lims.core.text import hidden_character

#: Integers typed into forms end in 32-bit columns (PostgreSQL INTEGER).
INT32_MAX = 2**31 - 1
#: The largest id: primary keys are INTEGER, 32 bits in PostgreSQL, which refuses a larger value
#: in a comparison with one ("integer out of range", a 500) where SQLite would just find nothing.
ID_MAX = INT32_MAX
#: No measurement, target or limit of the lab comes near this; beyond it a number is a typo or
#: an attack (and 1e999 would be stored as infinity by a float column).
NUMBER_LIMIT = Decimal("1e15")
#: Dates a person may type: the archive does not reach before 1900, plans not beyond 2100.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)
#: JSON documents of the app (instrument settings, method definitions, reading batches) are flat;
#: a deeper one is refused before Python's recursion limit is anywhere near.
JSON_MAX_DEPTH = 20
#: A JSON integer longer than this is refused (Python refuses beyond 4300 digits anyway).
JSON_MAX_DIGITS = 40


class BadParameter(LimsError):
    """A query-string parameter that is not what the page accepts (400, naming the parameter)."""

    http_status = 400


# -- ids and integers ---------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,19}")


class BoundedIntConverter(IntegerConverter):
    """Flask's ``int`` converter, capped at the largest id (``ID_MAX``): ``/inbox/2147483648``
    matches no route (404) instead of overflowing PostgreSQL's integer (500); ASCII digits only
    (Werkzeug's ``\\d`` also takes ``/inbox/٣`` for 3)."""

    regex = r"[0-9]+"

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        ceiling = ID_MAX if max is None or max > ID_MAX else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=ceiling, signed=signed)


class _VisibleMixin:
    """A URL segment with NUL, a bidi override or a zero-width character matches no route (404):
    PostgreSQL refuses NUL in a query, and the others make one accession or code look like
    another."""

    def to_python(self, value: str) -> Any:
        if hidden_character(value) is not None:
            raise NoMatch()
        return super().to_python(value)  # type: ignore[misc]


class VisibleStringConverter(_VisibleMixin, UnicodeConverter):
    """Flask's default (``string``) converter, without invisible characters."""


class VisiblePathConverter(_VisibleMixin, PathConverter):
    """Flask's ``path`` converter, without invisible characters."""


#: Registered for every route of the app by ``create_app``.
URL_CONVERTERS: dict[str, type] = {"int": BoundedIntConverter, "default": VisibleStringConverter,
                                   "string": VisibleStringConverter, "path": VisiblePathConverter}


def parse_id(raw: str | None) -> int | None:
    """An id written in ASCII digits, 0 < id <= ``ID_MAX``; anything else is None (``"²".isdigit()``
    is true and ``int("٣")`` is 3, so neither ``isdigit`` nor ``int`` alone will do)."""
    if raw is None:
        return None
    raw = raw.strip()
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= ID_MAX else None


def query_id(args: Mapping[str, str], name: str) -> int | None:
    """An optional id parameter of a query string (a cursor, a filter): absent or empty is None,
    anything but a valid id is a 400 naming the parameter."""
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = parse_id(raw)
    if value is None:
        raise BadParameter(_("The parameter %(name)s must be a whole number between 1 and "
                             "%(max)s.", name=name, max=ID_MAX), field=name)
    return value


def bounded_int_problem(value: int | None, *, limit: int = INT32_MAX) -> str | None:
    if value is not None and not -limit <= value <= limit:
        return _("The number is too large.")
    return None


def require_int(value: int | None, *, field: str, limit: int = INT32_MAX) -> None:
    """For services that store a count: it fits the 32-bit column it goes to."""
    problem = bounded_int_problem(value, limit=limit)
    if problem is not None:
        raise ValidationError(problem, field=field)


# -- decimal numbers ----------------------------------------------------------------------------

def finite_problem(value: Any) -> str | None:
    """What is wrong with a number from outside (NaN, an infinity, an absurd magnitude), or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _("Enter a number.")
    if isinstance(value, Decimal):
        if not value.is_finite():
            return _("Enter a finite number (not NaN or infinity).")
        magnitude = abs(value)
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return _("Enter a finite number (not NaN or infinity).")
        try:
            magnitude = abs(Decimal(value))
        except (InvalidOperation, ValueError):
            return _("Enter a number.")
    else:
        return None
    if magnitude >= NUMBER_LIMIT:
        return _("The number is too large.")
    return None


def require_finite(value: Any, *, field: str) -> None:
    """For services that store numbers: the same rule as the forms, whichever way the number came
    (a form, the API, the CLI, a script)."""
    problem = finite_problem(value)
    if problem is not None:
        raise ValidationError(problem, field=field)


# -- dates ---------------------------------------------------------------------------------------

def date_problem(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        return _("Enter a date between %(first)s and %(last)s.", first=DATE_MIN.isoformat(),
                 last=DATE_MAX.isoformat())
    return None


# -- strict JSON ---------------------------------------------------------------------------------

class JsonProblem(ValueError):
    """A JSON document refused: ``reason`` is one of ``syntax``, ``non-finite``, ``too-deep``,
    ``too-long-number``; the message is English (the API speaks English to machines), forms
    translate by ``reason`` (``json_problem_text``)."""

    def __init__(self, reason: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.detail = detail or message


#: A JSON string, written as "unrolled loop" (runs of plain characters, then one escape): three
#: times faster than an alternation per character on a 1,000-item readings batch.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_NUL_ESCAPE = re.compile(r"\\u0000")


def json_depth(text: str) -> int:
    """The nesting depth of a JSON text, found without recursion (strings are skipped)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise JsonProblem("non-finite", f"{name} is not a JSON number; send a finite number or null")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonProblem("non-finite", f"the number {text[:40]} is too large")
    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > JSON_MAX_DIGITS:
        raise JsonProblem("too-long-number", f"an integer of {len(text)} digits is too long")
    return int(text)


def loads_strict(text: str | bytes, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """``json.loads`` as RFC 8259 says: no NaN, no Infinity, no number that overflows to one, no
    nesting deeper than ``max_depth``. Raises ``JsonProblem``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise JsonProblem("syntax", "the body is not UTF-8") from error
    if "\x00" in text or _NUL_ESCAPE.search(text):
        raise JsonProblem("nul", "the document contains a NUL character (\\u0000), which no "
                                 "text field can store")
    # Parsed first (C), measured after: a walk over the parsed containers costs a fifth of
    # `json_depth` on a readings batch. A text that is refused is measured as text, so a
    # document that is both too deep and otherwise wrong is still answered "too deep".
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_parse_float,
                           parse_int=_parse_int)
    except (json.JSONDecodeError, RecursionError, JsonProblem) as error:
        depth = json_depth(text)
        if depth > max_depth:
            raise JsonProblem("too-deep", f"the document is nested {depth} levels deep; at most "
                                          f"{max_depth} are accepted") from None
        if isinstance(error, JsonProblem):
            raise
        if isinstance(error, RecursionError):  # unreachable below the depth limit; a last guard
            raise JsonProblem("too-deep", "the document is nested too deeply") from error
        raise JsonProblem("syntax", f"not valid JSON: {error}", str(error)) from error
    depth = _depth_of(value)
    if depth > max_depth:
        raise JsonProblem("too-deep", f"the document is nested {depth} levels deep; at most "
                                      f"{max_depth} are accepted")
    return value


def _depth_of(value: Any) -> int:
    """The nesting depth of a value from `json.loads` (as `json_depth` counts it), level by
    level without recursion (`json.loads` makes exact dicts and lists only)."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        below: list[Any] = []
        for container in level:
            below.extend([child for child in (container.values() if type(container) is dict
                                              else container)
                          if type(child) is dict or type(child) is list])
        level = below
    return depth


def json_problem_text(problem: JsonProblem) -> str:
    """The reader's-language message for a JSON field of a form."""
    if problem.reason == "too-deep":
        return _("The JSON is nested too deeply (at most %(num)d levels).", num=JSON_MAX_DEPTH)
    if problem.reason == "nul":
        return _("The text contains an invisible or control character (%(char)s); retype it.",
                 char="U+0000")
    if problem.reason in ("non-finite", "too-long-number"):
        return _("The JSON contains NaN, Infinity or a number too large to store.")
    return _("Not valid JSON: %(error)s", error=problem.detail)


# -- text and codes ------------------------------------------------------------------------------

#: The documented character set of codes (participant, household, cluster, round, lot, run
#: labels, instrument codes): Latin or Cyrillic letters (Russian and Kazakh), digits 0-9 and
#: ``- _ . /`` inside; a code starts with a letter or digit, so it can never start a spreadsheet
#: formula, and it does not mix Latin and Cyrillic letters (``A`` and ``А`` look alike).
CODE_PATTERN = re.compile(r"[0-9A-Za-z\u0400-\u04ff][0-9A-Za-z\u0400-\u04ff._/-]*")
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def text_problem(text: str | None) -> str | None:
    if not text:
        return None
    hidden = hidden_character(text)
    if hidden is not None:
        return _("The text contains an invisible or control character (%(char)s); retype it.",
                 char=hidden)
    return None


def code_problem(code: str | None) -> str | None:
    if not code:
        return None
    problem = text_problem(code)
    if problem is not None:
        return problem
    if not CODE_PATTERN.fullmatch(code):
        return _("A code may contain only letters, digits and - _ . / and must start with a "
                 "letter or digit.")
    if _LATIN.search(code) and _CYRILLIC.search(code):
        return _("A code may not mix Latin and Cyrillic letters.")
    return None


def require_code(code: str | None, *, field: str) -> None:
    problem = code_problem(code)
    if problem is not None:
        raise ValidationError(problem, field=field)


def require_text(text: str | None, *, field: str) -> None:
    problem = text_problem(text)
    if problem is not None:
        raise ValidationError(problem, field=field)
