"""Forms of the provider's EQA pages: shape only (types, lengths, choices); the rules (a
complete σ_pt rule, dates in order, ≥ 10 units in duplicate, values within the ceiling) are
the service's, so the API, the CLI and the pages refuse the same things with the same words."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FormError

from lims.core.forms import LimsForm, language_choices
from lims.core.labels import options
from lims.eqa.models import (
    DocumentKind,
    EqaMeasurand,
    EqaMethod,
    RoundStatus,
    SigmaKind,
    ValueSource,
)
from lims.eqa.service import MAX_UNITS

#: A pasted list of values: numbers separated by spaces, semicolons or new lines (a decimal
#: comma is accepted when numbers are separated by spaces or new lines).
MAX_LIST_TEXT = 20 * MAX_UNITS


def parse_numbers(text: str) -> list[float]:
    """The numbers of a pasted column or row; raises the form's ValidationError naming the
    first piece that is not a number."""
    pieces = text.replace(";", " ").replace("\t", " ").split()
    numbers = []
    for index, piece in enumerate(pieces, start=1):
        try:
            numbers.append(float(piece.replace(",", ".")))
        except ValueError as error:
            raise FormError(_("Value %(num)d (%(text)s) is not a number.", num=index,
                              text=piece[:20])) from error
    return numbers


class ProgrammeForm(LimsForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    measurand = SelectField(_l("Measurand"), choices=[])
    sigma_kind = SelectField(_l("σ_pt rule"), choices=[])
    sigma_percent = FloatField(_l("σ_pt as a percentage of the assigned value"), validators=[Optional()])
    sigma_a = FloatField(_l("σ_pt = a + b·x_pt: a"), validators=[Optional()])
    sigma_b = FloatField(_l("σ_pt = a + b·x_pt: b"), validators=[Optional()])
    min_p = IntegerField(_l("Fewest results for a consensus (p)"), default=12,
                         validators=[DataRequired()])
    value_ceiling = FloatField(_l("Largest plausible result"), validators=[DataRequired()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.measurand.choices = options(EqaMeasurand)
        self.sigma_kind.choices = options(SigmaKind)


class RoundForm(LimsForm):
    programme = SelectField(_l("Programme"), choices=[], validate_choice=True)
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    dispatch_date = DateField(_l("Dispatch date"), validators=[DataRequired()])
    deadline = DateField(_l("Deadline"), validators=[DataRequired()])
    value_source = SelectField(_l("Assigned value"), choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.value_source.choices = options(ValueSource)


class StatusForm(LimsForm):
    to = SelectField(_l("New status"), choices=[])
    #: Needed only to dispatch a material that failed homogeneity or stability.
    override_reason = TextAreaField(_l("Reason for dispatching a failing material"),
                                    validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.to.choices = [c for c in options(RoundStatus) if c.value != RoundStatus.PLANNED]


class MaterialForm(LimsForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    pool_id = StringField(_l("Pool"), validators=[DataRequired(), Length(max=64)])
    level = StringField(_l("Level"), validators=[Optional(), Length(max=64)])
    volume_ml = FloatField(_l("Volume, mL"), validators=[Optional()])
    notes = TextAreaField(_l("Preparation notes"), validators=[Optional(), Length(max=4000)])


class HomogeneityForm(LimsForm):
    first = TextAreaField(_l("First replicate of each unit"),
                          validators=[DataRequired(), Length(max=MAX_LIST_TEXT)])
    second = TextAreaField(_l("Second replicate of each unit (same order)"),
                           validators=[DataRequired(), Length(max=MAX_LIST_TEXT)])
    sigma_pt = FloatField(_l("σ_pt to judge against (only for a robust σ_pt rule)"),
                          validators=[Optional()])

    def validate_first(self, field: Any) -> None:
        parse_numbers(field.data or "")

    def validate_second(self, field: Any) -> None:
        if len(parse_numbers(field.data or "")) != len(parse_numbers(self.first.data or "")):
            raise FormError(_("Give as many second replicates as first ones."))

    def pairs(self) -> list[tuple[float, float]]:
        return list(zip(parse_numbers(self.first.data or ""),
                        parse_numbers(self.second.data or ""), strict=True))


class StabilityForm(LimsForm):
    values = TextAreaField(_l("Stability results"),
                           validators=[DataRequired(), Length(max=MAX_LIST_TEXT)])

    def validate_values(self, field: Any) -> None:
        parse_numbers(field.data or "")

    def numbers(self) -> list[float]:
        return parse_numbers(self.values.data or "")


class LaboratoryForm(LimsForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    country = StringField(_l("Country"), validators=[DataRequired(), Length(max=100)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=500)])
    methods = SelectMultipleField(_l("Methods"), choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.methods.choices = options(EqaMethod)


class EnrolForm(LimsForm):
    laboratory = SelectField(_l("Laboratory"), choices=[], validate_choice=True)


class ShipmentForm(LimsForm):
    shipped_on = DateField(_l("Dispatched on"), validators=[Optional()])
    arrived_on = DateField(_l("Arrived on"), validators=[Optional()])


class ValueForm(LimsForm):
    source = SelectField(_l("Assigned value"), choices=[])
    x_pt = FloatField(_l("Assigned value x_pt (reference or formulation)"),
                      validators=[Optional()])
    u_x_pt = FloatField(_l("Standard uncertainty u(x_pt)"),
                        validators=[Optional(), NumberRange(min=0)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source.choices = options(ValueSource)


class DocumentForm(LimsForm):
    kind = SelectField(_l("Document"), choices=[])
    #: Choices set by the view: the round's enrolments by lab code ("" for the summary).
    enrolment = SelectField(_l("Laboratory"), choices=[], validate_choice=True)
    language = SelectField(_l("Language"), choices=[])
    comments = TextAreaField(_l("Comments (printed as typed)"),
                             validators=[Optional(), Length(max=2000)])
    signatory = StringField(_l("Signed by (certificate)"), validators=[Optional(), Length(max=200)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = options(DocumentKind)
        self.language.choices = language_choices()
