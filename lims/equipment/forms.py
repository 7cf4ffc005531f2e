"""Forms of the equipment pages: shape only (types, lengths, choices); the rules (dates in
order, a reason given, a certificate that is a PDF or an image) are the service's."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lims.core.forms import LimsForm
from lims.core.labels import options
from lims.equipment.models import CalibrationOutcome, MaintenanceKind


class EquipmentForm(LimsForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    #: An instrument with a data connection, or none (pipettes, a WYD checker); choices set
    #: by the view: the instruments that have no equipment record yet.
    instrument = SelectField(_l("Instrument (data connection)"), choices=[],
                             validate_choice=True)


class StatusForm(LimsForm):
    #: Not required here: the service refuses an empty reason and names the field itself.
    reason = StringField(_l("Reason"), validators=[Length(max=500)])


class CalibrationForm(LimsForm):
    calibrated_on = DateField(_l("Calibrated on"), validators=[DataRequired()])
    valid_until = DateField(_l("Valid until"), validators=[DataRequired()])
    performed_by = StringField(_l("Calibrated by (laboratory)"),
                               validators=[DataRequired(), Length(max=200)])
    outcome = SelectField(_l("Outcome"), choices=[])
    certificate_no = StringField(_l("Certificate number"), validators=[Optional(), Length(max=100)])
    #: Checked by content in the service (PDF, PNG or JPEG, at most 10 MB).
    file = FileField(_l("Certificate file (PDF, PNG or JPEG)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = options(CalibrationOutcome)  # in the reader's language


class MaintenanceForm(LimsForm):
    kind = SelectField(_l("Kind"), choices=[])
    planned_on = DateField(_l("Planned on"), validators=[Optional()])
    done_on = DateField(_l("Done on"), validators=[Optional()])
    done_by = StringField(_l("Performed by"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = options(MaintenanceKind)
