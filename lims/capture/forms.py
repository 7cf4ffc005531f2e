"""Forms of the capture pages: shape only (types, lengths, choices); the rules are the service's."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from lims.capture.models import Protocol
from lims.core.forms import LimsForm
from lims.core.inputs import JsonProblem, json_problem_text, loads_strict


def _settings(form: Any, field: Any) -> None:
    if not field.data:
        return
    try:
        value = loads_strict(field.data)
    except JsonProblem as problem:
        raise ValidationError(json_problem_text(problem)) from None
    if not isinstance(value, dict):
        raise ValidationError(_l('Write the settings as a JSON object, e.g. {"baudrate": 9600}.'))


class InstrumentForm(LimsForm):
    code = StringField(_l("Code (the instrument_id its driver sends)"),
                       validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    protocol = SelectField(_l("Data connection"), choices=[
        SelectChoice(Protocol.ASTM.value, _l("ASTM E1381/E1394 (serial or TCP)")),
        SelectChoice(Protocol.BIORAD.value, _l("Bio-Rad plate reader text output")),
        SelectChoice(Protocol.METROHM.value, _l("Metrohm PC/LIMS report")),
        SelectChoice(Protocol.MTSICS.value, _l("Mettler Toledo MT-SICS balance")),
        SelectChoice(Protocol.MANUAL.value, _l("No data port: keyed in (e.g. WYD checker)")),
        SelectChoice(Protocol.FILE.value, _l("Export files uploaded through the web")),
    ])
    model = StringField(_l("Model"), validators=[Optional(), Length(max=200)])
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    serial_settings = TextAreaField(_l("Port settings (JSON)"), validators=[Optional(), _settings])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    is_active = BooleanField(_l("In service"), default=True)

    def settings(self) -> dict[str, Any]:
        return loads_strict(self.serial_settings.data) if self.serial_settings.data else {}


class AttachForm(LimsForm):
    accession = StringField(_l("Sample accession"), validators=[DataRequired(), Length(max=40)])
    reason = StringField(_l("Why this sample"), validators=[DataRequired(), Length(max=500)])
    #: The plausibility questions answered "yes, attach" (codes, comma-separated).
    confirm = HiddenField(validators=[Optional(), Length(max=200)])

    def confirmed(self) -> frozenset[str]:
        return frozenset(c for c in (self.confirm.data or "").split(",") if c)


class DiscardForm(LimsForm):
    reason = StringField(_l("Reason for discarding"), validators=[DataRequired(), Length(max=500)])


class PlateFileForm(LimsForm):
    instrument = SelectField(_l("Plate reader"), choices=[], validate_choice=False)
    file = FileField(_l("Export file (CSV or XLSX, 8 × 12 grid)"), validators=[FileRequired()])
    sheet = StringField(_l("Sheet (XLSX; empty: the first)"), validators=[Optional(), Length(max=100)])
