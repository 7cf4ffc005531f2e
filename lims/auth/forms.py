from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lims.core.forms import LimsForm
from lims.core.labels import choices
from lims.core.permissions import Role


class LoginForm(LimsForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me logged in on this computer"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserCreateForm(LimsForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired()])
    roles = MultiCheckboxField(_l("Roles"), choices=choices(Role), validators=[DataRequired()])


class UserEditForm(LimsForm):
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    roles = MultiCheckboxField(_l("Roles"), choices=choices(Role), validators=[DataRequired()])
    is_active = BooleanField(_l("Active"))
    new_password = PasswordField(_l("New password (leave empty to keep)"), validators=[Optional()])


class TokenCreateForm(LimsForm):
    name = StringField(_l("Token name (e.g. the instrument it is for)"),
                       validators=[DataRequired(), Length(max=120)])
