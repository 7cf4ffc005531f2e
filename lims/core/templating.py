"""Template helpers: locale-aware dates, permission checks, enum labels, pagination links."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale, gettext
from flask_login import current_user

from lims.core.labels import label
from lims.core.permissions import Permission
from reports.rounding import rounded


def fmt_datetime(value: datetime | None) -> str:
    return "" if value is None else format_datetime(value, "medium")


def fmt_date(value: date | datetime | None) -> str:
    return "" if value is None else format_date(value, "medium")


def fmt_number(value: float | None, digits: int = 1) -> str:
    """A number as the reader's locale writes it (``4,5`` in ru/kk, ``4.5`` in en; grouped
    thousands), with exactly ``digits`` decimals, so columns line up. Rounded by the reports' one
    rule (half away from zero on the decimal value, as Excel's ROUND), so a page shows what the
    PDF and the workbook show; Babel alone rounds half to even (118.25 → 118.2)."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(rounded(value, digits), format=pattern)


def url_with(**changes: Any) -> str:
    """The current URL with some query arguments replaced (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint or "core.index", **(request.view_args or {}), **args)


def audit_value(field: str, value: Any) -> str:
    """An audit payload value as a timeline shows it: times in the user's zone, enums by their
    label, booleans as yes/no, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(audit_value(field, v) for v in value)
    if isinstance(value, str) and field.endswith("_at"):
        try:
            return fmt_datetime(datetime.fromisoformat(value))
        except ValueError:
            return value
    return label(value) if isinstance(value, str) else str(value)


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (browsers take ``//host`` and ``/\\host`` as another host)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = fmt_datetime
    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.filters["number"] = fmt_number
    app.jinja_env.filters["label"] = label
    app.jinja_env.globals["status_label"] = label
    app.jinja_env.globals["audit_value"] = audit_value

    @app.context_processor
    def inject() -> dict[str, Any]:
        def can(permission: str) -> bool:
            return bool(current_user.is_authenticated and current_user.can(Permission(permission)))

        return {
            "can": can,
            "url_with": url_with,
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "lab_name": app.config["LAB_NAME"],
        }
