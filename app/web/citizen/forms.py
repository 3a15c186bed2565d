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
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.models import CancellationKind
from app.services.appointments import NOTE_MAX
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


class CancelForm(FlaskForm):
    """Avbestill: one appointment or a period, for one or more services."""

    kind = RadioField(
        _l("What do you want to cancel?"),
        choices=[
            SelectChoice(CancellationKind.SINGLE.value, _l("Single appointment")),
            SelectChoice(CancellationKind.PERIOD.value, _l("Period")),
        ],
        default=CancellationKind.SINGLE.value,
        validators=[InputRequired(_l("Choose a single appointment or a period."))],
    )
    start_date = DateField(_l("From date"), validators=[Optional()])
    start_time = TimeField(_l("From time"), validators=[Optional()])
    end_date = DateField(_l("To date"), validators=[Optional()])
    end_time = TimeField(_l("To time"), validators=[Optional()])
    service_ids = SelectMultipleField(_l("Services"), coerce=int, validate_choice=False)
    note = TextAreaField(
        _l("Message to the service (optional)"),
        validators=[Optional(), Length(max=NOTE_MAX, message=_l("The note is too long."))],
        render_kw={"maxlength": NOTE_MAX, "rows": 3},
    )
    submission_key = HiddenField(default=_new_key)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.kind.data == CancellationKind.PERIOD.value:
            for name in ("start_date", "start_time", "end_date", "end_time"):
                field = getattr(self, name)
                if field.data is None and not field.errors:
                    field.errors.append(_l("Fill in when the period starts and ends."))
                    valid = False
            if not self.service_ids.data:
                self.service_ids.errors.append(_l("Choose at least one service."))
                valid = False
        return valid
