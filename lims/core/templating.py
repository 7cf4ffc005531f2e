"""Template helpers: locale-aware dates, permission checks, enum labels, pagination links."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, make_response, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from lims.audit import labels as audit_labels
from lims.config import DEFAULTS
from lims.core.i18n import LANGUAGE_NAMES
from lims.core.labels import label
from lims.core.permissions import Permission
from reports.rounding import rounded

# Kazakhstan writes dates ДД.ММ.ГГГГ in Russian and Kazakh alike (CLDR's Kazakh short form has a
# two-digit year); other locales take CLDR's medium form.
DATE_PATTERNS: dict[str, tuple[str, str]] = {
    "ru": ("dd.MM.yyyy", "dd.MM.yyyy HH:mm"),
    "kk": ("dd.MM.yyyy", "dd.MM.yyyy HH:mm"),
}


# A longer ``next`` is no page of ours; it only bloats the redirect.
MAX_NEXT_LENGTH = 2048


def fmt_datetime(value: datetime | None) -> str:
    """A moment in the lab's zone (``BABEL_DEFAULT_TIMEZONE``), as the reader's locale writes it."""
    if value is None:
        return ""
    return format_datetime(value, DATE_PATTERNS.get(str(get_locale()), ("", "medium"))[1])


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return format_date(value, DATE_PATTERNS.get(str(get_locale()), ("medium", ""))[0])


def fmt_number(value: float | Decimal | None, digits: int = 1) -> str:
    """A number as the reader's locale writes it (``4,5`` in ru/kk, ``4.5`` in en; grouped
    thousands), with exactly ``digits`` decimals, so columns line up. Rounded by the reports' one
    rule (half away from zero on the decimal value, as Excel's ROUND), so a page shows what the
    PDF and the workbook show; Babel alone rounds half to even (118.25 → 118.2)."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(rounded(value, digits), format=pattern)


# The lab's name as shipped (``LAB_NAME``'s default), in the reader's language. A lab that sets
# its own name may give it per language too: ``LAB_NAME_RU``, ``LAB_NAME_KK``, ``LAB_NAME_EN``.
DEFAULT_LAB_NAME = _l("Reference Laboratory for Iodine Deficiency Disorders")


def lab_name(config: Mapping[str, Any]) -> str:
    own = config.get(f"LAB_NAME_{str(get_locale()).upper()}")
    if own:
        return str(own)
    name = str(config["LAB_NAME"])
    return str(DEFAULT_LAB_NAME) if name == DEFAULTS["LAB_NAME"] else name


def url_with(**changes: Any) -> str:
    """The current URL with some query arguments replaced (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint or "home.index", **(request.view_args or {}), **args)


def language_label(code: str) -> str:
    """A language code ("kk") by its name in the reader's language."""
    return str(audit_labels.LANGUAGE_LABELS.get(code, code))


def _key_label(key: str) -> str:
    """A key of a nested audit mapping: a field's label, else an enum value's (a count per
    score class is keyed by the class)."""
    return audit_labels.field_label(key) if key in audit_labels.FIELD_LABELS else label(key)


def audit_value(field: str, value: Any, entity: str | None = None) -> str:
    """An audit payload value as a timeline shows it, never as raw JSON: times and dates in the
    reader's zone and format, numbers in the locale, enums by their label, booleans as yes/no,
    language codes by name, lists joined and nested mappings as one "Field: value" line each.
    Text people typed (notes, names) and codes are shown exactly as stored. Row ids are named
    by what they are ("Receipt of U-2026-000123", ``entity`` being the event's entity label)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, dict):
        return "\n".join(f"{_key_label(k)}: {audit_value(k, v, entity)}"
                         for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(audit_value(field, v, entity) for v in value)
    if field in audit_labels.ID_TITLES:
        return str(audit_labels.ID_TITLES[field]) % {"id": value, "entity": entity or "—"}
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_decimal(value)
    text = str(value)
    if field in audit_labels.VERBATIM_FIELDS:
        return text
    if field in audit_labels.NUMBER_FIELDS:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        exponent = number.as_tuple().exponent  # keep the digits stored: 18.0 stays 18,0
        return fmt_number(number, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    if field in audit_labels.DATE_FIELDS or field.endswith(("_at", "_until")):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        return fmt_date(moment) if field in audit_labels.DATE_FIELDS else fmt_datetime(moment)
    if field in ("language", "lang"):
        return language_label(text)
    return label(text)


def safe_next(target: str | None, default: str) -> str:
    r"""Only a path on this site. Browsers drop tab, CR and LF inside a URL and read ``\`` as
    ``/``, so ``/\t/evil.example`` and ``/\evil.example`` lead to another host, and a CR or LF
    cannot go into a ``Location`` header at all: such targets, and anything with a scheme or a
    host, fall back to ``default``."""
    if not target or len(target) > MAX_NEXT_LENGTH:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target) or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def showing_secret(page: str, status: int = 200) -> Response:
    """The response for a page that shows a secret (a token, once): ``Cache-Control: no-store``
    so that neither the browser nor a proxy keeps it. The secret goes out in this response
    only: never in a flash or the session (a signed, not encrypted, cookie) nor behind a
    redirect."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = fmt_datetime
    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.filters["number"] = fmt_number
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["language"] = language_label
    app.jinja_env.globals["status_label"] = label
    app.jinja_env.globals["audit_value"] = audit_value
    app.jinja_env.globals["audit_action"] = audit_labels.action_label
    app.jinja_env.globals["audit_field"] = audit_labels.field_label
    app.jinja_env.globals["audit_verbatim"] = audit_labels.VERBATIM_FIELDS.__contains__

    @app.context_processor
    def inject() -> dict[str, Any]:
        def can(permission: str) -> bool:
            return bool(current_user.is_authenticated and current_user.can(Permission(permission)))

        return {
            "can": can,
            "url_with": url_with,
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "language_names": LANGUAGE_NAMES,
            "lab_name": lab_name(app.config),
        }
