"""The review queue's filters, read from the query string so a filtered queue can be bookmarked
and shared. Shape only: an unknown method, analyte, user or region is a 400 naming the field."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.validators import ValidationError as FieldError

from lims.analysis import catalogue
from lims.analysis.labels import analysis_label
from lims.analysis.models import Analyte
from lims.analysis.review_queue import ReviewFilter
from lims.auth.models import User
from lims.core.dt import local_midnight
from lims.core.forms import LimsForm
from lims.core.inputs import parse_id
from lims.extensions import db
from lims.monitoring.models import Region

_RUN = re.compile(r"(?:RUN-?)?0*([0-9]{1,18})", re.IGNORECASE)


def parse_run_label(text: str) -> int | None:
    """``RUN-000123``, ``run-123`` or ``123`` → 123; anything else None."""
    match = _RUN.fullmatch(text.strip())
    return parse_id(match.group(1)) if match else None


def _midnight(day: date | None, days_after: int = 0) -> datetime | None:
    return None if day is None else local_midnight(day, get_timezone(), days_after)


class ReviewFilterForm(LimsForm):
    """A GET form: no CSRF token and no nonce; every choice is checked against its list."""

    class Meta:
        csrf = False

    method = SelectField(_l("Method"), validators=[Optional()])
    run = StringField(_l("Run"), validators=[Optional(), Length(max=24)])
    analyte = SelectField(_l("Analyte"), validators=[Optional()])
    flag = SelectField(_l("Flags"), validators=[Optional()])
    entered_by = SelectField(_l("Entered by"), validators=[Optional()])
    entered_from = DateField(_l("Entered from"), validators=[Optional()])
    entered_to = DateField(_l("Entered to"), validators=[Optional()])
    region = SelectField(_l("Region"), validators=[Optional()])
    mine = BooleanField(_l("Only results I may verify"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = SelectChoice("", _("All"))
        codes = sorted({m.code for m in catalogue.current_versions(db.session)})
        self.method.choices = [everything, *(SelectChoice(c, c) for c in codes)]
        self.analyte.choices = [everything, *(SelectChoice(a.value, analysis_label(a.value))
                                              for a in Analyte)]
        self.flag.choices = [everything, SelectChoice("flagged", _("Flagged only")),
                             SelectChoice("unflagged", _("Without flags"))]
        users = db.session.execute(sa.select(User.id, User.username).order_by(User.username))
        self.entered_by.choices = [everything, *(SelectChoice(str(i), name) for i, name in users)]
        locale = str(get_locale())
        regions = sorted(db.session.scalars(sa.select(Region)), key=lambda r: r.name(locale))
        self.region.choices = [everything,
                               *(SelectChoice(str(r.id), r.name(locale)) for r in regions)]

    def validate_run(self, field: StringField) -> None:
        if field.data and parse_run_label(field.data) is None:
            raise FieldError(_("Give a run as RUN-000123 or its number."))

    def to_filter(self, actor_id: int) -> ReviewFilter:
        return ReviewFilter(
            method_code=self.method.data or None,
            run_id=parse_run_label(self.run.data) if self.run.data else None,
            analyte=Analyte(self.analyte.data) if self.analyte.data else None,
            flagged={"flagged": True, "unflagged": False}.get(self.flag.data or ""),
            entered_by_id=int(self.entered_by.data) if self.entered_by.data else None,
            entered_from=_midnight(self.entered_from.data),
            entered_to=_midnight(self.entered_to.data, days_after=1),
            region_id=int(self.region.data) if self.region.data else None,
            verifiable_by_id=actor_id if self.mine.data else None,
        )

    def problems(self) -> list[str]:
        """Every field's errors as "Field: message", for the 400 page."""
        return [f"{field.label.text}: {error}" for field in self for error in field.errors]
