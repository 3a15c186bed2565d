from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from app.services.administration import REPLY_DEADLINE_MAX, REPLY_DEADLINE_MIN, SENDER_NAME_MAX
from app.services.api_clients import NAME_MAX as API_NAME_MAX
from app.services.fullmakt import ASSESSMENT_MAX, DOCUMENT_MAX
from app.services.recipients import NAME_MAX as PERSON_NAME_MAX
from app.services.staff import NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX
from app.web.admin_text import API_ACCESS
from app.web.forms import INVALID_CHOICE, DateField, Form, choice_id


class AssignedFullmaktForm(Form):
    """A fullmakt the municipality registers for a person who lacks consent competence."""

    grantor = StringField(
        _l("Fødselsnummer of the person it is for"),
        validators=[DataRequired(_l("Give the fødselsnummer.")), Length(max=13)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    grantee = StringField(
        _l("Fødselsnummer of the person who gets the fullmakt"),
        validators=[DataRequired(_l("Give the fødselsnummer.")), Length(max=13)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    document_reference = StringField(
        _l("Document reference"),
        validators=[
            DataRequired(_l("Give the reference to the decision document.")),
            Length(max=DOCUMENT_MAX, message=_l("The document reference is too long.")),
        ],
        render_kw={"maxlength": DOCUMENT_MAX},
    )
    lacks_consent_competence = BooleanField(
        _l("The person has been assessed to lack consent competence"),
        validators=[
            DataRequired(
                _l(
                    "Confirm that the person has been assessed to lack consent competence. "
                    "Without that assessment the municipality cannot register a fullmakt "
                    "for them."
                )
            )
        ],
    )
    assessment = TextAreaField(
        _l("Who assessed it, and on what basis"),
        validators=[
            DataRequired(_l("Say who assessed the consent competence, and on what basis.")),
            Length(max=ASSESSMENT_MAX, message=_l("The assessment is too long.")),
        ],
        render_kw={"maxlength": ASSESSMENT_MAX, "rows": 3},
    )
    valid_from = DateField(_l("Valid from"), validators=[InputRequired(_l("Give the first day."))])
    valid_to = DateField(_l("Valid to (optional)"), validators=[Optional()])


class ServiceForm(Form):
    """Open or close a service for digital dialog and for appointments."""

    open_for_dialog = BooleanField(_l("Open for digital dialog"))
    shows_appointments = BooleanField(_l("Shows appointments"))


class SettingsForm(Form):
    """The municipality's settings."""

    reply_deadline_working_days = IntegerField(
        _l("Reply deadline in working days"),
        validators=[
            InputRequired(_l("Give the reply deadline in working days.")),
            NumberRange(
                min=REPLY_DEADLINE_MIN,
                max=REPLY_DEADLINE_MAX,
                message=_l("The reply deadline is from 1 to 10 working days."),
            ),
        ],
        render_kw={
            "inputmode": "numeric",
            "min": REPLY_DEADLINE_MIN,
            "max": REPLY_DEADLINE_MAX,
            "autocomplete": "off",
        },
    )
    notice_sender_name = StringField(
        _l("Sender name in notices"),
        validators=[
            DataRequired(_l("Give the sender name.")),
            Length(max=SENDER_NAME_MAX, message=_l("The sender name is too long.")),
        ],
        render_kw={"maxlength": SENDER_NAME_MAX},
    )


class UnitForm(Form):
    """A unit's contact details and automatic journaling."""

    phone = StringField(
        _l("Phone"),
        validators=[Optional(), Length(max=20, message=_l("The phone number is too long."))],
        render_kw={"inputmode": "tel", "autocomplete": "off", "maxlength": 20},
    )
    email = StringField(
        _l("E-mail"),
        validators=[Optional(), Length(max=254, message=_l("The e-mail address is too long."))],
        render_kw={"inputmode": "email", "autocomplete": "off", "maxlength": 254},
    )
    address = StringField(
        _l("Address"),
        validators=[Optional(), Length(max=200, message=_l("The address is too long."))],
        render_kw={"maxlength": 200},
    )
    opening_hours = StringField(
        _l("Opening hours"),
        validators=[Optional(), Length(max=200, message=_l("The opening hours are too long."))],
        render_kw={"maxlength": 200},
    )
    auto_journal = BooleanField(_l("Journal every message automatically"))


class StaffSearchForm(Form):
    """Search the staff list (`?q=`) by name or username."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Name or username"),
        validators=[Optional(), Length(max=100, message=_l("The search is too long."))],
        render_kw={"maxlength": 100, "autocomplete": "off", "type": "search"},
    )


def _password(label) -> PasswordField:
    return PasswordField(
        label,
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


def _password_again() -> PasswordField:
    return PasswordField(
        _l("The same password again"),
        validators=[
            DataRequired(_l("Write the password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class StaffForm(Form):
    """A staff account's name and roles; `roles` holds "admin" and "<unit id>:<role>"."""

    full_name = StringField(
        _l("Full name"),
        validators=[
            DataRequired(_l("Give the full name.")),
            Length(max=NAME_MAX, message=_l("The name is too long.")),
        ],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )
    roles = SelectMultipleField(_l("Roles"), choices=[], validate_choice=True)


class StaffCreateForm(StaffForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(_l("Give the username.")),
            Length(max=USERNAME_MAX, message=_l("The username is too long.")),
        ],
        render_kw={
            "maxlength": USERNAME_MAX,
            "autocomplete": "off",
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )
    password = _password(_l("One-time password"))
    password_again = _password_again()


class OneTimePasswordForm(Form):
    password = _password(_l("One-time password"))
    password_again = _password_again()


class RecipientSearchForm(Form):
    """Choose the service (`?service=`) and search its recipients (`?q=`)."""

    class Meta:
        csrf = False

    # Not given, or not one of the municipality's: the first service is shown.
    service = SelectField(
        _l("Service"),
        coerce=choice_id,
        validate_choice=False,
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
    )
    q = StringField(
        _l("Name or fødselsnummer"),
        validators=[Optional(), Length(max=100, message=_l("The search is too long."))],
        render_kw={"maxlength": 100, "autocomplete": "off", "type": "search"},
    )


class RecipientForm(Form):
    """Register that a person receives a service; names only for a person not yet known."""

    fodselsnummer = StringField(
        _l("Fødselsnummer"),
        validators=[DataRequired(_l("Give the fødselsnummer.")), Length(max=13)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    given_name = StringField(
        _l("Given name"),
        validators=[Optional(), Length(max=PERSON_NAME_MAX, message=_l("The name is too long."))],
        render_kw={"maxlength": PERSON_NAME_MAX, "autocomplete": "off"},
    )
    family_name = StringField(
        _l("Family name"),
        validators=[Optional(), Length(max=PERSON_NAME_MAX, message=_l("The name is too long."))],
        render_kw={"maxlength": PERSON_NAME_MAX, "autocomplete": "off"},
    )
    unit = SelectField(
        _l("Service and unit"),
        coerce=choice_id,
        validators=[InputRequired(_l("Choose the service."))],
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
    )
    valid_from = DateField(_l("From"), validators=[InputRequired(_l("Give the first day."))])
    valid_to = DateField(_l("To (optional)"), validators=[Optional()])


class RecipientEndForm(Form):
    last_day = DateField(_l("Last day"), validators=[InputRequired(_l("Give the last day."))])


class RecipientImportForm(Form):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])


JWKS_MAX = 20_000


class ApiClientForm(Form):
    """A record system (or another provider's system) and the public half of its key."""

    name = StringField(
        _l("Name of the system"),
        validators=[
            DataRequired(_l("Give the name of the system.")),
            Length(max=API_NAME_MAX, message=_l("The name is too long.")),
        ],
        render_kw={"maxlength": API_NAME_MAX, "autocomplete": "off"},
    )
    provider = StringField(
        _l("Provider (optional)"),
        validators=[
            Optional(),
            Length(max=API_NAME_MAX, message=_l("The provider's name is too long.")),
        ],
        render_kw={"maxlength": API_NAME_MAX, "autocomplete": "off"},
    )
    jwks = TextAreaField(
        _l("Public key"),
        validators=[
            DataRequired(_l("Paste the system's public key.")),
            Length(max=JWKS_MAX, message=_l("The key is too long.")),
        ],
        render_kw={"rows": 8, "spellcheck": "false", "autocapitalize": "none"},
    )
    scopes = SelectMultipleField(
        _l("Access"),
        choices=[SelectChoice(scope, label) for scope, label in API_ACCESS],
        validate_choice=True,
        validators=[DataRequired(_l("Choose at least one kind of access."))],
    )
