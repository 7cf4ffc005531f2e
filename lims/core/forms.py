"""The base form: every string input is stripped, because barcode scanners append CR/LF; every
form carries a one-time nonce, so that a double-submitted form acts once (`lims.core.idempotency`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, FloatField, HiddenField

from lims.core.errors import LimsError
from lims.core.idempotency import new_nonce


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class CommaDecimalField(DecimalField):
    """Russian and Kazakh write ``4,5``; a technician may type either separator."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata([_decimal_point(v) for v in valuelist])


class CommaFloatField(FloatField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata([_decimal_point(v) for v in valuelist])


def _decimal_point(value: Any) -> Any:
    """``4,5`` → ``4.5``; a value with both separators or several commas is left to fail."""
    if isinstance(value, str):
        value = value.strip().replace("\u00a0", "").replace(" ", "")
        if value.count(",") == 1 and "." not in value:
            return value.replace(",", ".")
    return value


# Every decimal input of every form accepts the comma, without each form having to ask for it.
_COMMA_FIELDS: dict[type, type] = {DecimalField: CommaDecimalField, FloatField: CommaFloatField}


class NonceField(HiddenField):
    """Rendered with a fresh nonce every time: one rendered form is one intended submission, so
    a form shown again (after an error, or after its action) is never taken for a duplicate.
    Its data is the nonce that was posted."""

    def _value(self) -> str:
        return new_nonce()


class LimsForm(FlaskForm):
    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = list(unbound_field.kwargs.get("filters", []))
            if _strip not in filters:  # the unbound field is shared by every instance of the form
                filters.insert(0, _strip)
                unbound_field.kwargs["filters"] = filters
            comma_class = _COMMA_FIELDS.get(unbound_field.field_class)
            if comma_class is not None:
                unbound_field.field_class = comma_class
            return unbound_field.bind(form=form, **options)

    #: Rendered by ``form.hidden_tag()`` beside the CSRF token, wherever the form is rendered;
    #: posted as `NONCE_FIELD`.
    form_nonce = NonceField(label="")  # a label would be translated on every form built

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
