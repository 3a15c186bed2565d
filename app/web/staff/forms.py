from __future__ import annotations

from uuid import uuid4

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.models import PassOnMethod
from app.services.messaging import BODY_MAX, NOTE_MAX, RECIPIENT_MAX, SUBJECT_MAX


def _new_key() -> str:
    return uuid4().hex


MESSAGE_LABEL = _l("Message")


def _body(label=MESSAGE_LABEL, rows: int = 6, field_id: str | None = None) -> TextAreaField:
    """The message text; forms on one page get their own element ids."""
    return TextAreaField(
        label,
        id=field_id,
        validators=[
            DataRequired(_l("Write a message.")),
            Length(max=BODY_MAX, message=_l("The message can be at most %(max)d characters.")),
        ],
        render_kw={"maxlength": BODY_MAX, "rows": rows},
    )


def _note() -> TextAreaField:
    return TextAreaField(
        _l("Internal note"),
        validators=[Optional(), Length(max=NOTE_MAX, message=_l("The internal note is too long."))],
        render_kw={"maxlength": NOTE_MAX, "rows": 3},
    )


class ChooseUnitForm(FlaskForm):
    unit_id = IntegerField(validators=[InputRequired()])


class StaffReplyForm(FlaskForm):
    body = _body(field_id="reply-body")
    submission_key = HiddenField(default=_new_key)


class InterimReplyForm(FlaskForm):
    body = _body(field_id="interim-body")
    next_date = DateField(
        _l("Date of the next answer"),
        validators=[InputRequired(_l("Give the date of the next answer."))],
    )
    next_time = TimeField(
        _l("Time of the next answer"),
        validators=[InputRequired(_l("Give the time of the next answer."))],
    )
    submission_key = HiddenField(default=_new_key)


class UrgentForm(FlaskForm):
    urgent = HiddenField()


class AssignForm(FlaskForm):
    assignee_id = SelectField(
        _l("Colleague"), coerce=int, validators=[InputRequired(_l("Choose a colleague."))]
    )
    note = _note()


class ForwardForm(FlaskForm):
    unit_id = SelectField(_l("Unit"), coerce=int, validators=[InputRequired(_l("Choose a unit."))])
    note = _note()


class PassOnForm(FlaskForm):
    method = RadioField(
        _l("How it was passed on"),
        choices=[
            SelectChoice(PassOnMethod.PLO.value, _l("PLO message")),
            SelectChoice(PassOnMethod.PHONE.value, _l("Phone")),
            SelectChoice(PassOnMethod.OTHER.value, _l("Other")),
        ],
        validators=[InputRequired(_l("Choose how it was passed on."))],
    )
    recipient = StringField(
        _l("Passed on to"),
        validators=[
            DataRequired(_l("Write whom the enquiry was passed on to.")),
            Length(max=RECIPIENT_MAX),
        ],
        render_kw={"maxlength": RECIPIENT_MAX},
    )
    relayed = RadioField(
        _l("Will the answer be relayed to the resident?"),
        choices=[
            SelectChoice("yes", _l("Yes, we relay the answer")),
            SelectChoice("no", _l("No, the resident gets the answer directly")),
        ],
        validators=[InputRequired(_l("Say whether the answer will be relayed."))],
    )
    body = _body(_l("Reply to the resident"), rows=4, field_id="pass-on-body")
    submission_key = HiddenField(default=_new_key)


class SimpleForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class StaffComposeForm(FlaskForm):
    person_id = SelectField(
        _l("Recipient"), coerce=int, validators=[InputRequired(_l("Choose a recipient."))]
    )
    subject = StringField(
        _l("Subject"),
        validators=[
            DataRequired(_l("Write a subject.")),
            Length(max=SUBJECT_MAX, message=_l("The subject can be at most %(max)d characters.")),
        ],
        render_kw={"maxlength": SUBJECT_MAX},
    )
    body = _body()
    submission_key = HiddenField(default=_new_key)


class WelcomeForm(FlaskForm):
    subject = StringField(
        _l("Subject"),
        validators=[DataRequired(_l("Write a subject.")), Length(max=SUBJECT_MAX)],
        render_kw={"maxlength": SUBJECT_MAX},
    )
    body = _body(rows=8)
