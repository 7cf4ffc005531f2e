"""Forms of the participant pages and the provider's upload: shape only (lengths, choices); whether
a value is a number in the programme's unit below its ceiling is the submission service's rule
(`lims.eqa.submissions`), so the form, the API and a file refuse the same things alike."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from lims.core.forms import LimsForm
from lims.core.labels import options
from lims.eqa.models import EqaMethod


class ResultForm(LimsForm):
    #: Choices set by the view: the laboratory's own sample codes in the round.
    sample_code = SelectField(_l("Sample code"), choices=[], validators=[DataRequired()])
    #: Text, not a number field: the service reads ``4,5`` and names what is wrong.
    value = StringField(_l("Result"), validators=[Length(max=40)])
    unit = StringField(_l("Unit"), validators=[Length(max=20)])
    uncertainty = StringField(_l("Standard uncertainty u (optional)"),
                              validators=[Optional(), Length(max=40)])
    coverage_k = StringField(_l("Coverage factor k (optional)"),
                             validators=[Optional(), Length(max=10)])
    method = SelectField(_l("Method"), choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.method.choices = options(EqaMethod)


class CorrectionForm(ResultForm):
    reason = TextAreaField(_l("Reason for the correction"), validators=[Length(max=2000)])


class DecisionForm(LimsForm):
    decision = RadioField(_l("Decision"), choices=[
        SelectChoice("accept", _l("Accept the correction")),
        SelectChoice("refuse", _l("Refuse the correction"))], validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])


class UploadForm(LimsForm):
    file = FileField(_l("Results file (CSV or XLSX)"), validators=[
        FileRequired(), FileAllowed(["csv", "xlsx"], _l("Upload a .csv or .xlsx file"))])


class AccountLinkForm(LimsForm):
    #: Choices set by the view: participant accounts not linked to any laboratory yet.
    user = SelectField(_l("Participant account"), choices=[], validators=[DataRequired()])
