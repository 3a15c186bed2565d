from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.web.forms import Form


class StaffLoginForm(Form):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Enter your username.")), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class PasskeyLoginForm(Form):
    """The passkey button: the script does the work; without it, the page explains."""

    next = HiddenField()


class ConsentForm(Form):
    accept = BooleanField(
        _l("I accept the terms of use and consent to dialog services and personal health archive"),
        validators=[DataRequired(_l("You must accept the terms to use Hjemmedialog."))],
    )


class LanguageForm(Form):
    lang = HiddenField()
    next = HiddenField()
