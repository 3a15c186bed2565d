from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.models import PassOnMethod
from app.services.messaging import BODY_MAX, NOTE_MAX, RECIPIENT_MAX, SUBJECT_MAX
from app.web.forms import (
    INVALID_CHOICE,
    DateField,
    Form,
    IdField,
    LongSelect,
    TimeField,
    choice_id,
    submission_key_field,
)

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


def _note(field_id: str) -> TextAreaField:
    """An internal note; Tildel and Videresend share the thread page, so each has its id."""
    return TextAreaField(
        _l("Internal note"),
        id=field_id,
        validators=[Optional(), Length(max=NOTE_MAX, message=_l("The internal note is too long."))],
        render_kw={"maxlength": NOTE_MAX, "rows": 3},
    )


def _picker(label: str, required: str) -> SelectField:
    """A choice of a person or unit by id; its choices start with a "Choose ..." prompt
    (`app.web.forms.with_prompt`), and leaving it there is refused with `required`."""
    return SelectField(
        label,
        coerce=choice_id,
        validators=[InputRequired(required)],
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
    )


class ChooseUnitForm(Form):
    unit_id = IdField(validators=[InputRequired()])


class StaffReplyForm(Form):
    body = _body(field_id="reply-body")
    submission_key = submission_key_field()


class InterimReplyForm(Form):
    body = _body(field_id="interim-body")
    next_date = DateField(
        _l("Date of the next answer"),
        validators=[InputRequired(_l("Give the date of the next answer."))],
    )
    next_time = TimeField(
        _l("Time of the next answer"),
        validators=[InputRequired(_l("Give the time of the next answer."))],
    )
    submission_key = submission_key_field()


class UrgentForm(Form):
    urgent = HiddenField()


class CloseForm(Form):
    """Avslutt tråd, sent from its confirmation step (`confirmed=yes`)."""

    confirmed = HiddenField()


class AssignForm(Form):
    assignee_id = _picker(_l("Colleague"), _l("Choose a colleague."))
    note = _note("assign-note")


class ForwardForm(Form):
    unit_id = _picker(_l("Unit"), _l("Choose a unit."))
    note = _note("forward-note")


class PassOnForm(Form):
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
    submission_key = submission_key_field()


class StaffComposeForm(Form):
    person_id = _picker(_l("Recipient"), _l("Choose a recipient."))
    subject = StringField(
        _l("Subject"),
        validators=[
            DataRequired(_l("Write a subject.")),
            Length(max=SUBJECT_MAX, message=_l("The subject can be at most %(max)d characters.")),
        ],
        render_kw={"maxlength": SUBJECT_MAX},
    )
    body = _body()
    submission_key = submission_key_field()


class WelcomeForm(Form):
    subject = StringField(
        _l("Subject"),
        validators=[DataRequired(_l("Write a subject.")), Length(max=SUBJECT_MAX)],
        render_kw={"maxlength": SUBJECT_MAX},
    )
    body = _body(rows=8)


WEEKDAY_CHOICES = [
    SelectChoice("MO", _l("Monday")),
    SelectChoice("TU", _l("Tuesday")),
    SelectChoice("WE", _l("Wednesday")),
    SelectChoice("TH", _l("Thursday")),
    SelectChoice("FR", _l("Friday")),
    SelectChoice("SA", _l("Saturday")),
    SelectChoice("SU", _l("Sunday")),
]


class AssignVisitForm(Form):
    employee_id = _picker(_l("Employee"), _l("Choose an employee."))
    at = TimeField(_l("Time"), validators=[InputRequired(_l("Give the time of the visit."))])


class CancelVisitForm(Form):
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(_l("Give a reason for cancelling the visit.")), Length(max=500)],
        render_kw={"maxlength": 500},
    )
    # Off unless ticked: a reason can hold internal notes the resident should not read.
    share_reason = BooleanField(_l("Show the reason to the resident"))


class SeriesChangeForm(Form):
    """A series' pattern; its period is set when it is made and ended on its own."""

    weekdays = SelectMultipleField(
        _l("Weekdays"),
        choices=WEEKDAY_CHOICES,
        validators=[InputRequired(_l("Choose at least one weekday."))],
    )
    interval = SelectField(
        _l("How often"),
        coerce=int,
        choices=[
            SelectChoice(1, _l("Every week")),
            SelectChoice(2, _l("Every 2 weeks")),
            SelectChoice(3, _l("Every 3 weeks")),
            SelectChoice(4, _l("Every 4 weeks")),
        ],
        default=1,
    )
    window_start = TimeField(
        _l("Window from"), validators=[InputRequired(_l("Give when the window starts."))]
    )
    window_end = TimeField(
        _l("Window to"), validators=[InputRequired(_l("Give when the window ends."))]
    )
    description = StringField(
        _l("What will happen"),
        validators=[DataRequired(_l("Describe what will happen.")), Length(max=500)],
        render_kw={"maxlength": 500},
    )


class SeriesForm(SeriesChangeForm):
    """A new series: the pattern and its period."""

    starts_on = DateField(_l("First day"), validators=[InputRequired(_l("Give the first day."))])
    ends_on = DateField(_l("Last day (optional)"), validators=[Optional()])


class EndSeriesForm(Form):
    ends_on = DateField(_l("Last day"), validators=[InputRequired(_l("Give the last day."))])


class RegisterVisitForm(Form):
    idempotency_key = submission_key_field()


SEARCH_MAX = 100


class ThreadFilterForm(Form):
    """Alle tråder's filters (a GET form); a value that is not valid is shown and ignored."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("All threads")),
            SelectChoice("open", _l("Open threads")),
            SelectChoice("waiting", _l("Waiting for the resident")),
            SelectChoice("relay", _l("Waiting for an answer from outside")),
            SelectChoice("interim", _l("Interim reply only")),
            SelectChoice("closed", _l("Closed threads")),
        ],
        validators=[Optional()],
        invalid_choice_message=INVALID_CHOICE,
    )
    person = SelectField(
        _l("Resident"),
        coerce=choice_id,
        validators=[Optional()],
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
        widget=LongSelect(),
    )
    q = StringField(
        _l("Text in subject or messages"),
        validators=[
            Optional(),
            Length(max=SEARCH_MAX, message=_l("Search for at most %(max)d characters.")),
        ],
        render_kw={"maxlength": SEARCH_MAX, "type": "search"},
    )


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class PasskeyNameForm(Form):
    name = StringField(
        _l("Name of the passkey"),
        validators=[
            DataRequired(_l("Give the passkey a name, for example the phone it is on.")),
            Length(max=100, message=_l("The name can be at most 100 characters.")),
        ],
        filters=[_strip],
        render_kw={"autocomplete": "off", "maxlength": 100},
    )


class OversiktForm(Form):
    """Oversikt's period and unit (a GET form); a period that is not valid is shown with
    its message, and the default period is shown instead."""

    class Meta:
        csrf = False

    period = SelectField(
        _l("Period"),
        choices=[
            SelectChoice("4weeks", _l("Last 4 weeks")),
            SelectChoice("week", _l("This week")),
            SelectChoice("range", _l("Chosen dates (from and to)")),
        ],
        default="4weeks",
        validators=[Optional()],
        invalid_choice_message=INVALID_CHOICE,
    )
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    unit = SelectField(
        _l("Unit"),
        coerce=choice_id,
        validators=[Optional()],
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
    )
