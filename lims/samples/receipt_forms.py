"""Forms for the receipt desk and the reject/cancel/correct actions of the sample page. They
check shape only; whether a sample may be accepted, rejected, cancelled or corrected is the
service's call."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lims.core.forms import LimsForm
from lims.core.labels import options
from lims.monitoring.models import Sex
from lims.samples.models import ReceiptDecision, RejectionReason

YES, NO = "yes", "no"


def rejection_choices() -> list[SelectChoice]:
    return options(RejectionReason, blank="—")


class ReceiptForm(LimsForm):
    """One form for the desk. The scan field comes first and is always sent back empty;
    ``pending`` names the sample on screen, so Enter in the empty scan field confirms it with
    the conditions below, and scanning another accession moves on to that sample."""

    accession = StringField(_l("Scan or type an accession"), validators=[Length(max=40)])
    pending = HiddenField()
    fast = BooleanField(_l("Fast accept: accept each scan at once with these conditions"))
    temperature_c = DecimalField(_l("Temperature on arrival (°C)"), places=1,
                                 validators=[Optional(), NumberRange(min=-90, max=60)])
    volume_ml = DecimalField(_l("Volume received (mL, urine)"), places=2,
                             validators=[Optional(), NumberRange(min=0, max=1000)])
    container_intact = RadioField(_l("Container intact"), default=YES,
                                  choices=[SelectChoice(YES, _l("Yes")),
                                           SelectChoice(NO, _l("No"))])
    decision = RadioField(_l("Decision"), default=ReceiptDecision.ACCEPTED.value,
                          choices=[SelectChoice(ReceiptDecision.ACCEPTED.value, _l("Accept")),
                                   SelectChoice(ReceiptDecision.REJECTED.value, _l("Reject"))])
    rejection_reason = SelectField(_l("Rejection reason"), validators=[Optional()])
    note = StringField(_l("Note (required for 'other')"), validators=[Length(max=500)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rejection_reason.choices = rejection_choices()


class RejectForm(LimsForm):
    rejection_reason = SelectField(_l("Rejection reason"), validators=[Optional()])
    note = StringField(_l("Note (required for 'other')"), validators=[Length(max=500)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rejection_reason.choices = rejection_choices()


class CancelForm(LimsForm):
    reason = StringField(_l("Reason for cancelling"), validators=[Length(max=500)])


class CorrectionForm(LimsForm):
    """Corrections of a registration: every field starts as stored; the reason is required.
    ``seen`` carries the registration's fingerprint as shown (lims.samples.corrections)."""

    participant_code = StringField(_l("Participant code"), validators=[Optional(), Length(max=32)])
    household_code = StringField(_l("Household code"), validators=[Optional(), Length(max=32)])
    cluster_code = StringField(_l("Cluster code"), validators=[DataRequired(), Length(max=32)])
    age_months = IntegerField(_l("Age (months)"),
                              validators=[Optional(), NumberRange(min=0, max=1500)])
    sex = SelectField(_l("Sex"), validators=[Optional()])
    collected_at = DateTimeLocalField(_l("Collected at (lab time)"), format="%Y-%m-%dT%H:%M",
                                      validators=[DataRequired()])
    volume_ml = DecimalField(_l("Volume (mL)"), places=2,
                             validators=[Optional(), NumberRange(min=0, max=99999)])
    reason = StringField(_l("Reason for the correction"),
                         validators=[DataRequired(), Length(max=500)])
    seen = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sex.choices = options(Sex, blank="—")
