"""Forms of the analysis pages: shape only; the rules (four eyes, states, QC) are the services'."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from lims.analysis.labels import LABELS
from lims.analysis.methods import CalibrationModel
from lims.core.forms import LimsForm
from lims.core.inputs import JsonProblem, json_problem_text, loads_strict

MODEL_CHOICES = [SelectChoice("", _l("Method default")),
                 *(SelectChoice(m.value, LABELS[m.value]) for m in CalibrationModel)]


class NewRunForm(LimsForm):
    method = SelectField(_l("Method"), choices=[], validate_choice=False)
    instrument = SelectField(_l("Instrument"), choices=[], validate_choice=False)
    calibration_model = SelectField(_l("Curve model"), choices=MODEL_CHOICES)
    reagent_lot = SelectField(_l("Thiosulfate lot (titration)"), choices=[],
                              validate_choice=False)
    max_samples = IntegerField(_l("At most this many samples"),
                               validators=[Optional(), NumberRange(min=1, max=96)])


class ReasonForm(LimsForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class CalculateForm(LimsForm):
    calibration_model = SelectField(_l("Curve model"), choices=MODEL_CHOICES)


class AttachPlateForm(LimsForm):
    reading = IntegerField(_l("Plate reading #"), validators=[InputRequired()])


class UploadPlateForm(LimsForm):
    file = FileField(_l("Plate export file (CSV or XLSX, 8 × 12)"), validators=[FileRequired()])


class AmendForm(LimsForm):
    value = DecimalField(_l("Corrected value"), places=None, validators=[Optional()])
    comparator = SelectField(_l("Censored"), choices=[SelectChoice("", "—"), SelectChoice("<", "<"),
                                                   SelectChoice(">", ">")])
    limit = DecimalField(_l("Limit (for < or >)"), places=None, validators=[Optional()])
    category = StringField(_l("Category (rapid test)"), validators=[Optional(), Length(max=16)])
    reason = StringField(_l("Reason for the amendment"),
                         validators=[DataRequired(), Length(max=500)])


class DirectEntryForm(LimsForm):
    method = SelectField(_l("Method"), choices=[], validate_choice=False)
    accession = StringField(_l("Sample (scan)"), validators=[DataRequired(), Length(max=40)])
    value = DecimalField(_l("Reading (mg/kg, WYD)"), places=None,
                         validators=[Optional(), NumberRange(min=0, max=1000)])
    value2 = DecimalField(_l("Second reading (optional)"), places=None,
                          validators=[Optional(), NumberRange(min=0, max=1000)])
    category = SelectField(_l("Rapid test result"), choices=[], validate_choice=False)
    instrument = SelectField(_l("Device (optional)"), choices=[], validate_choice=False)
    #: Set by the prompt's buttons when the sample already has a value: replicate or replace.
    existing = StringField(validators=[Optional(), AnyOf(("replicate", "replace"))])
    reason = StringField(_l("Reason for replacing"), validators=[Optional(), Length(max=500)])


def _json_object(form: Any, field: Any) -> None:
    try:
        value = loads_strict(field.data or "")
    except JsonProblem as problem:
        raise FieldError(json_problem_text(problem)) from None
    if not isinstance(value, dict):
        raise FieldError(_l("The definition must be a JSON object."))


class MethodVersionForm(LimsForm):
    definition = TextAreaField(_l("Definition (JSON)"), validators=[DataRequired(), _json_object])
    note = StringField(_l("What changed"), validators=[DataRequired(), Length(max=500)])


class TargetForm(LimsForm):
    mean = DecimalField(_l("Target mean"), places=None, validators=[InputRequired()])
    sd = DecimalField(_l("Target SD"), places=None,
                      validators=[InputRequired(), NumberRange(min=0)])
    reason = StringField(_l("Source of the target"), validators=[DataRequired(), Length(max=500)])


class LotForm(LimsForm):
    lot_number = StringField(_l("Lot number"), validators=[DataRequired(), Length(max=64)])


class ReagentLotForm(LimsForm):
    lot_number = StringField(_l("Lot number"), validators=[DataRequired(), Length(max=64)])
    molarity = DecimalField(_l("Standardised molarity (mol/L)"), places=None,
                            validators=[Optional(), NumberRange(min=0, max=1)])
