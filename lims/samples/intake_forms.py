"""Intake forms. They check shape (required, types, ranges, choices); the registration service
checks the rules that need the database (cluster, round, group, participant)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from typing import Any

from wtforms import DateTimeLocalField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lims.core.forms import LimsForm
from lims.core.labels import options
from lims.monitoring.models import PhysiologicalStatus, Sex
from lims.samples.models import SaltPackaging, SaltSource, SampleKind, UrineContainer

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
CODE = [DataRequired(), Length(max=32)]


def _blank_to_none(value: str | None) -> str | None:
    return value or None


class ClusterMixin(LimsForm):
    """Round and cluster: the round is a short list, the cluster a typed or scanned code."""

    round_id = SelectField(_l("Survey round"), coerce=int, validators=[InputRequired()])
    cluster_code = StringField(_l("Cluster code"), validators=CODE,
                               render_kw={"list": "cluster-codes", "autocomplete": "off"})
    collected_at = DateTimeLocalField(_l("Collected at (lab time)"), format=DATETIME_LOCAL,
                                      validators=[DataRequired()])


class UrineIntakeForm(ClusterMixin):
    participant_code = StringField(_l("Participant code"), validators=CODE,
                                   render_kw={"autofocus": True, "autocomplete": "off"})
    household_code = StringField(_l("Household code"), validators=[Optional(), Length(max=32)],
                                 filters=[_blank_to_none], render_kw={"autocomplete": "off"})
    population_group = SelectField(_l("Population group"), validators=[DataRequired()])
    age_months = IntegerField(_l("Age (months)"), validators=[InputRequired(), NumberRange(min=0, max=1500)])
    sex = SelectField(_l("Sex"), validators=[DataRequired()])
    physiological_status = SelectField(_l("Pregnancy / lactation"), default=PhysiologicalStatus.NONE.value)
    volume_ml = DecimalField(_l("Volume (mL)"), places=2, validators=[
        InputRequired(), NumberRange(min=0, max=99999, message=_l("Volume must be between 0 and 99999 mL"))])
    container = SelectField(_l("Container"), validators=[DataRequired()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)], filters=[_blank_to_none])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sex.choices = options(Sex)
        self.physiological_status.choices = options(PhysiologicalStatus)
        self.container.choices = options(UrineContainer)


class SaltIntakeForm(ClusterMixin):
    household_code = StringField(_l("Household code"), validators=[Optional(), Length(max=32)],
                                 filters=[_blank_to_none],
                                 render_kw={"autofocus": True, "autocomplete": "off"})
    salt_source = SelectField(_l("Source"), validators=[DataRequired()])
    brand = StringField(_l("Brand"), validators=[Optional(), Length(max=120)], filters=[_blank_to_none])
    packaging = SelectField(_l("Packaging"), validators=[Optional()], filters=[_blank_to_none])
    iodized_per_label = SelectField(_l("Iodized according to the label"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)], filters=[_blank_to_none])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.salt_source.choices = options(SaltSource)
        self.packaging.choices = options(SaltPackaging, blank=_l("Not stated"))
        self.iodized_per_label.choices = [SelectChoice("", _l("Not stated")), SelectChoice("yes", _l("Yes")),
                                          SelectChoice("no", _l("No"))]

    def iodized(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.iodized_per_label.data or "")


class BatchIntakeForm(LimsForm):
    round_id = SelectField(_l("Survey round"), coerce=int, validators=[InputRequired()])
    kind = SelectField(_l("Kind of sample"), validators=[Optional()])
    file = FileField(_l("Spreadsheet (.csv or .xlsx)"),
                     validators=[FileRequired(), FileAllowed(["csv", "xlsx"], _l("Upload a .csv or .xlsx file"))])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = options(SampleKind, blank=_l("From the file's kind column"))
