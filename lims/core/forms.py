"""The base form: every string input is stripped, because barcode scanners append CR/LF."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field

from lims.core.errors import LimsError


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class LimsForm(FlaskForm):
    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = list(unbound_field.kwargs.get("filters", []))
            filters.insert(0, _strip)
            unbound_field.kwargs["filters"] = filters
            return unbound_field.bind(form=form, **options)

    def first_error(self) -> str | None:
        for field in self:
            if field.errors:
                return f"{field.label.text}: {field.errors[0]}"
        return None

    def attach_error(self, error: LimsError, aliases: Mapping[str, str] | None = None) -> bool:
        """Put a service's refusal on the field it names (``aliases``: service name -> form
        field name, where they differ). False when no field matches: the caller shows it."""
        name = error.field or ""
        target = getattr(self, (aliases or {}).get(name, name), None) if name else None
        if not isinstance(target, Field):
            return False
        target.errors = [*target.errors, error.message]
        return True
