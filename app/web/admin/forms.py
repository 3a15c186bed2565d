from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.services.administration import REPLY_DEADLINE_MAX, REPLY_DEADLINE_MIN, SENDER_NAME_MAX
from app.services.fullmakt import ASSESSMENT_MAX, DOCUMENT_MAX
from app.web.forms import DateField, Form


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
