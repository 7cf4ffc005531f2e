"""The base form: every string input is stripped, because barcode scanners append CR/LF; every
number, date, code and text input is held to ``lims.core.inputs`` (finite, bounded, in range,
no invisible characters), so no form has to remember to ask; and every form carries a one-time
nonce, so that a double-submitted form acts once (`lims.core.idempotency`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectFieldBase,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from lims.core.errors import LimsError
from lims.core.i18n import LANGUAGE_ENDONYMS
from lims.core.idempotency import new_nonce
from lims.core.inputs import (
    bounded_int_problem,
    code_problem,
    date_problem,
    finite_problem,
    text_problem,
)


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


def _input_problem(field: Field) -> str | None:
    """What ``lims.core.inputs`` says of a typed number, date or text (None when it is fine)."""
    if isinstance(field, StringField):
        return text_problem(field.data if isinstance(field.data, str) else None)
    if isinstance(field, SelectFieldBase):  # a choice coerced to an id, or a code
        values = field.data if isinstance(field.data, list) else [field.data]
        return next((problem for value in values if (problem := _choice_problem(value))), None)
    if isinstance(field, IntegerField):
        return bounded_int_problem(field.data)
    if isinstance(field, (DecimalField, FloatField)):
        return finite_problem(field.data)
    if isinstance(field, (DateField, DateTimeField)):
        return date_problem(field.data)
    return None


def _choice_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return bounded_int_problem(value)
    return None


class _BoundedInput:
    """Mixed into every number, date, choice and text field: NaN, infinities, 1e999, 20-digit
    integers, the year 9999 and text with NUL, bidi overrides or zero-width characters become a
    field error and ``data = None`` (an empty list for a multiple choice) while the input is
    read, before any validator compares them (``Decimal('NaN') < 0`` raises) or a view computes
    with them; a view that hands a reason to its service without validating the form passes
    nothing, and the service refuses it."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)  # type: ignore[misc]
        problem = _input_problem(self)  # type: ignore[arg-type]
        if problem is not None:
            self.data = [] if isinstance(self.data, list) else None
            raise ValueError(problem)


_BOUNDED_FIELDS: dict[type, type] = {}
_CHECKED_KINDS = (IntegerField, DecimalField, FloatField, DateField, DateTimeField, StringField,
                  SelectFieldBase)


def _bounded_class(field_class: type) -> type:
    """``field_class`` with ``_BoundedInput`` mixed in, under the same name (templates look at
    ``field.type``). A password is hashed, never shown or queried: it may hold any character."""
    if (not issubclass(field_class, _CHECKED_KINDS) or issubclass(field_class, _BoundedInput)
            or issubclass(field_class, PasswordField)):
        return field_class
    if field_class not in _BOUNDED_FIELDS:
        _BOUNDED_FIELDS[field_class] = type(field_class.__name__, (_BoundedInput, field_class), {})
    return _BOUNDED_FIELDS[field_class]


def language_choices() -> list[SelectChoice]:
    """A document's languages, each by its own name (how choosers name languages), marked as
    such for the browser: ``lang``, and ``translate="no"`` so that no translator renames it."""
    return [SelectChoice(code, name, render_kw={"lang": code, "translate": "no"})
            for code, name in LANGUAGE_ENDONYMS.items()]


def is_code_field(name: str) -> bool:
    """Fields holding codes, by name: participant, household, cluster, programme, round, district,
    lot and instrument codes are restricted to ``inputs.CODE_PATTERN`` (run labels are made by
    the app, never typed)."""
    return name == "code" or name.endswith("_code") or name == "lot_number"


def _code(form: Any, field: Field) -> None:
    """Validator of code fields (hidden characters are already refused while reading)."""
    if field.process_errors:
        raise StopValidation()
    problem = code_problem(field.data if isinstance(field.data, str) else None)
    if problem is not None:
        raise StopValidation(problem)


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
            unbound_field.field_class = _bounded_class(unbound_field.field_class)
            field = unbound_field.bind(form=form, **options)
            if isinstance(field, StringField) and is_code_field(field.short_name):
                field.validators = [_code, *field.validators]
            return field

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
