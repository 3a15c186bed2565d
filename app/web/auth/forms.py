from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.services.staff import PASSWORD_MAX, PASSWORD_MIN
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


class NewPasswordForm(Form):
    """Velg nytt passord: after a one-time password from the administrator."""

    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Give a password.")),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=_l("The password must have from 12 to 200 characters."),
            ),
        ],
        render_kw={"autocomplete": "new-password", "minlength": PASSWORD_MIN},
    )
    password_again = PasswordField(
        _l("The same password again"),
        validators=[
            DataRequired(_l("Write the password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
