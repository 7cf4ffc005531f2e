"""Forms for reference data and the survey structure. They check shape (types, lengths,
ranges); the services check the rules (uniqueness, date order, districts in the round)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DecimalField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lims.core.forms import LimsForm
from lims.core.labels import choices
from lims.monitoring.models import SiteType
from lims.monitoring.services import MAX_AGE_MONTHS, MAX_MIN_VOLUME_ML


class NamesMixin:
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    name_kk = StringField(_l("Name (Kazakh)"), validators=[DataRequired(), Length(max=200)])
    name_ru = StringField(_l("Name (Russian)"), validators=[DataRequired(), Length(max=200)])


class ValidityMixin:
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_to = DateField(_l("Valid to"), validators=[Optional()])


class RegionEditForm(NamesMixin, ValidityMixin, LimsForm):
    admin_centre = StringField(_l("Administrative centre"), validators=[Optional(), Length(max=120)])


class DistrictForm(NamesMixin, ValidityMixin, LimsForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


class PopulationGroupEditForm(NamesMixin, LimsForm):
    min_age_months = IntegerField(_l("Minimum age (months)"),
                                  validators=[Optional(), NumberRange(0, MAX_AGE_MONTHS)])
    max_age_months = IntegerField(_l("Maximum age (months)"),
                                  validators=[Optional(), NumberRange(0, MAX_AGE_MONTHS)])


class SampleKindEditForm(NamesMixin, LimsForm):
    min_volume_ml = DecimalField(_l("Minimum volume (mL)"), places=2,
                                 validators=[Optional(), NumberRange(0, MAX_MIN_VOLUME_ML)])
    max_age_days = IntegerField(_l("Maximum age at receipt (days)"),
                                validators=[Optional(), NumberRange(min=0)])


class ProgrammeForm(LimsForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])


class RoundForm(LimsForm):
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[InputRequired()])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    period_start = DateField(_l("Period start"), validators=[InputRequired()])
    period_end = DateField(_l("Period end"), validators=[InputRequired()])
    regions = SelectMultipleField(_l("Regions"), coerce=int, validators=[DataRequired()],
                                  render_kw={"size": 12})
    groups = SelectMultipleField(_l("Target groups"), coerce=int, validators=[DataRequired()],
                                 render_kw={"size": 7})


class ClusterForm(LimsForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    site_type = SelectField(_l("Site type"), validators=[InputRequired()])
    district_id = SelectField(_l("District"), coerce=int, validators=[InputRequired()])
    target_count = IntegerField(_l("Target count"), validators=[InputRequired(), NumberRange(min=0)])
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site_type.choices = choices(SiteType)  # labels in the request's language
