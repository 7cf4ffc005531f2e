"""Forms of the external-scheme pages: shape only (types, lengths, choices); the rules (a limit
given, dates in order, a round still open, a reason for a correction) are the service's."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lims.core.forms import LimsForm
from lims.eqa.external_models import ExternalMeasurand

MEASURAND_LABELS = {ExternalMeasurand.UIC: _l("Urinary iodine (µg/L)"),
                    ExternalMeasurand.SALT_IODINE: _l("Salt iodine (mg/kg)")}


class SchemeForm(LimsForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    provider = StringField(_l("Provider"), validators=[DataRequired(), Length(max=200)])
    measurand = SelectField(_l("Measurand"), choices=[])
    limit_percent = FloatField(_l("Acceptance limit (percent of the target)"),
                               validators=[Optional(), NumberRange(min=0)])
    limit_absolute = FloatField(_l("Acceptance limit, absolute (in the unit)"),
                                validators=[Optional(), NumberRange(min=0)])
    absolute_below = FloatField(_l("Absolute limit applies below this target"),
                                validators=[Optional(), NumberRange(min=0)])
    limit_note = TextAreaField(_l("Where the limit comes from"),
                               validators=[Optional(), Length(max=2000)])
    days = IntegerField(_l("Analysis days per material"), default=3,
                        validators=[InputRequired(), NumberRange(min=1, max=10)])
    #: Where the blind materials are registered as samples: a survey round and a cluster code.
    survey_round = SelectField(_l("Survey round for the materials"), choices=[])
    cluster_code = StringField(_l("Cluster code for the materials"),
                               validators=[DataRequired(), Length(max=32)])
    population_group = SelectField(_l("Population group (urine materials)"), choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.measurand.choices = [SelectChoice(m.value, str(text))
                                  for m, text in MEASURAND_LABELS.items()]


class RoundForm(LimsForm):
    scheme = SelectField(_l("Scheme"), choices=[])
    code = StringField(_l("Round"), validators=[DataRequired(), Length(max=32)])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    deadline = DateField(_l("Results due by"), validators=[DataRequired()])


class MaterialForm(LimsForm):
    code = StringField(_l("Material code (as the scheme labels it)"),
                       validators=[DataRequired(), Length(max=32)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class SubmitForm(LimsForm):
    """Only the CSRF token: what is sent is what the page shows."""


class EvaluationForm(LimsForm):
    target = FloatField(_l("Target (scheme's assigned value)"), validators=[InputRequired()])
    scheme_verdict = StringField(_l("Scheme's verdict (as in its report)"),
                                 validators=[Optional(), Length(max=200)])
    reason = StringField(_l("Reason (for a correction)"), validators=[Optional(), Length(max=500)])
