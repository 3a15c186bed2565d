from __future__ import annotations

from uuid import uuid4

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from app.services.messaging import BODY_MAX, SUBJECT_MAX


def _new_key() -> str:
    return uuid4().hex


class ActForForm(FlaskForm):
    person_id = IntegerField(validators=[InputRequired()])
    next = HiddenField()


class ComposeForm(FlaskForm):
    """Skriv melding: to a service, never to a named employee."""

    service_id = RadioField(
        _l("Service"),
        coerce=int,
        validate_choice=True,
        validators=[InputRequired(_l("Choose which service to write to."))],
    )
    subject = StringField(
        _l("Subject"),
        validators=[
            DataRequired(_l("Write a subject.")),
            Length(max=SUBJECT_MAX, message=_l("The subject can be at most %(max)d characters.")),
        ],
        render_kw={"maxlength": SUBJECT_MAX, "autocomplete": "off"},
    )
    body = TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(_l("Write a message.")),
            Length(max=BODY_MAX, message=_l("The message can be at most %(max)d characters.")),
        ],
        render_kw={"maxlength": BODY_MAX, "rows": 8},
    )
    submission_key = HiddenField(default=_new_key)
    continues = HiddenField()


class ReplyForm(FlaskForm):
    body = TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(_l("Write a message.")),
            Length(max=BODY_MAX, message=_l("The message can be at most %(max)d characters.")),
        ],
        render_kw={"maxlength": BODY_MAX, "rows": 5},
    )
    submission_key = HiddenField(default=_new_key)
