"""Forms of the shipment pages: shape only (types, lengths, ranges); the rules (a region of the
round, a dispatch time not in the future, reasons for the discrepancies) are the service's."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lims.core.forms import LimsForm
from lims.logistics.shipments import MAX_BOXES
from lims.samples.intake_forms import DATETIME_LOCAL


class ShipmentForm(LimsForm):
    round_id = SelectField(_l("Survey round"), coerce=int, validators=[InputRequired()])
    region_id = SelectField(_l("From region"), coerce=int, validators=[InputRequired()])
    cluster_code = StringField(_l("Cluster team (cluster code, if one team sent it)"),
                               validators=[Optional(), Length(max=32)])
    courier = StringField(_l("Courier"), validators=[DataRequired(), Length(max=120)])
    dispatched_at = DateTimeLocalField(_l("Dispatched at (lab time)"), format=DATETIME_LOCAL,
                                       validators=[DataRequired()])
    box_count = IntegerField(_l("Number of boxes"),
                             validators=[InputRequired(), NumberRange(min=1, max=MAX_BOXES)])
    logger_id = StringField(_l("Temperature logger ID"), validators=[Optional(), Length(max=64)])


class ManifestForm(LimsForm):
    file = FileField(_l("Manifest (.csv or .xlsx)"), validators=[
        FileRequired(), FileAllowed(["csv", "xlsx"], _l("Upload a .csv or .xlsx file"))])


class ArrivalForm(LimsForm):
    arrival_temperature_c = DecimalField(_l("Temperature in the boxes on arrival (°C)"),
                                         places=1,
                                         validators=[Optional(), NumberRange(min=-90, max=60)])
    logger_excursion = BooleanField(_l("The logger recorded a temperature excursion"))
    excursion_details = TextAreaField(_l("Excursion details (how warm, for how long)"),
                                      validators=[Optional(), Length(max=1000)])


class CloseForm(LimsForm):
    missing_reason = StringField(_l("Why the missing samples did not arrive"),
                                 validators=[Optional(), Length(max=500)])
    extra_reason = StringField(_l("Why samples arrived that were not on the manifest"),
                               validators=[Optional(), Length(max=500)])
    damaged = TextAreaField(_l("Damaged samples: one per line, accession then reason"),
                            validators=[Optional(), Length(max=20000)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
