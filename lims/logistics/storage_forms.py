"""Forms of the storage and disposal pages: shape only (types, lengths, bounds); the rules
(a box in a rack, a free position inside the grid, a witness who is someone else) are the
services'."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lims.core.forms import LimsForm
from lims.core.labels import options
from lims.logistics.storage_models import MAX_ALIQUOTS, MAX_GRID, MAX_RETENTION_DAYS, UnitLevel
from lims.samples.models import SampleKind

_SCAN = [DataRequired(), Length(max=32)]


class UnitForm(LimsForm):
    level = SelectField(_l("Level"), choices=[])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    #: Choices set by the view: the freezers and racks.
    parent = SelectField(_l("Inside"), choices=[], validate_choice=True)
    n_rows = IntegerField(_l("Rows (boxes)"), validators=[Optional(), NumberRange(1, MAX_GRID)])
    n_cols = IntegerField(_l("Columns (boxes)"), validators=[Optional(),
                                                             NumberRange(1, MAX_GRID)])
    sample_kind = SelectField(_l("Sample kind (boxes)"), choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.level.choices = options(UnitLevel)
        self.sample_kind.choices = options(SampleKind, blank="—")


class PlaceForm(LimsForm):
    item = StringField(_l("Sample or aliquot label"), validators=_SCAN)
    #: Empty: the next free position.
    position = StringField(_l("Position (empty: next free)"), validators=[Optional(),
                                                                           Length(max=3)])


class SplitForm(LimsForm):
    item = StringField(_l("Sample"), validators=_SCAN)
    count = IntegerField(_l("Number of aliquots"), default=2,
                         validators=[DataRequired(), NumberRange(1, MAX_ALIQUOTS)])


class CheckoutForm(LimsForm):
    item = StringField(_l("Sample or aliquot label"), validators=_SCAN)
    purpose = StringField(_l("For (run or reason)"), validators=[Optional(), Length(max=200)])


class ReturnForm(LimsForm):
    item = StringField(_l("Sample or aliquot label"), validators=_SCAN)


class MoveForm(LimsForm):
    item = StringField(_l("Sample or aliquot label"), validators=_SCAN)
    box = StringField(_l("To box"), validators=[DataRequired(), Length(max=64)])
    position = StringField(_l("Position (empty: next free)"), validators=[Optional(),
                                                                           Length(max=3)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class DisposeForm(LimsForm):
    item = StringField(_l("Sample or aliquot label"), validators=_SCAN)
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    witness_username = StringField(_l("Witness username"),
                                   validators=[DataRequired(), Length(max=80)])
    witness_password = PasswordField(_l("Witness password"),
                                     validators=[DataRequired(), Length(max=200)])


class RetentionForm(LimsForm):
    kind = SelectField(_l("Sample kind"), choices=[])
    #: Choices set by the view: every round, or one.
    survey_round = SelectField(_l("Survey round"), choices=[], validate_choice=True)
    days = IntegerField(_l("Keep for (days after collection)"),
                        validators=[DataRequired(), NumberRange(1, MAX_RETENTION_DAYS)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = options(SampleKind)
