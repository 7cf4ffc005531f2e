"""Forms for login, user administration, API tokens and the own-password page. They check
shape only; the services in ``lims.auth.services`` enforce the rules (strength, uniqueness)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lims.core.forms import LimsForm
from lims.core.labels import options
from lims.core.permissions import Role


class LoginForm(LimsForm):
    # autocomplete: password managers and browsers fill them in (WCAG 1.3.5, 3.3.8)
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "spellcheck": "false"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me logged in on this computer"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def roles_field() -> Any:
    return MultiCheckboxField(
        _l("Roles"), validators=[DataRequired(_l("Choose at least one role."))]
    )


class RolesMixin:
    """A user may hold several roles: one checkbox each, labelled in the user's language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = options(Role)  # type: ignore[attr-defined]

    def selected_roles(self) -> list[Role]:
        return [Role(value) for value in self.roles.data or []]  # type: ignore[attr-defined]


class UserCreateForm(RolesMixin, LimsForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})
    roles = roles_field()


class UserEditForm(RolesMixin, LimsForm):
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    roles = roles_field()
    is_active = BooleanField(_l("Active (may log in)"))
    new_password = PasswordField(_l("New password (leave empty to keep)"), validators=[Optional()],
                                 render_kw={"autocomplete": "new-password"})


class PasswordChangeForm(LimsForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired()],
                                 render_kw={"autocomplete": "new-password"})
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", _l("The two new passwords differ."))],
    )


class TokenCreateForm(LimsForm):
    name = StringField(_l("Token name (e.g. the instrument it is for)"),
                       validators=[DataRequired(), Length(max=120)])
