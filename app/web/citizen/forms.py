from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from app.models import CancellationKind, NoticeChannel, NoticeLevel
from app.services.appointments import NOTE_MAX
from app.services.fullmakt import FullmaktTerms
from app.services.messaging import BODY_MAX, SUBJECT_MAX
from app.web.forms import DateField, Form, IdField, TimeField, submission_key_field


class ActForForm(Form):
    person_id = IdField(validators=[InputRequired()])
    next = HiddenField()


class ComposeForm(Form):
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
    submission_key = submission_key_field()
    continues = IdField(widget=HiddenInput(), validators=[Optional()])


class ReplyForm(Form):
    body = TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(_l("Write a message.")),
            Length(max=BODY_MAX, message=_l("The message can be at most %(max)d characters.")),
        ],
        render_kw={"maxlength": BODY_MAX, "rows": 5},
    )
    submission_key = submission_key_field()


class CancelForm(Form):
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
    submission_key = submission_key_field()
    # The form is confirmed before anything is cancelled: "confirm" from the confirmation
    # page, "back" to change the choices; anything else shows what would be cancelled.
    step = HiddenField()

    @property
    def is_period(self) -> bool:
        return self.kind.data == CancellationKind.PERIOD.value

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.is_period:
            for name in ("start_date", "start_time", "end_date", "end_time"):
                field = getattr(self, name)
                if field.data is None and not field.errors:
                    field.errors.append(_l("Fill in when the period starts and ends."))
                    valid = False
            if not self.service_ids.data:
                self.service_ids.errors.append(_l("Choose at least one service."))
                valid = False
        return valid


class ContactForm(Form):
    """Kontaktinformasjon og varseloppsett."""

    mobile = StringField(
        _l("Mobile number"),
        validators=[Optional(), Length(max=20)],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    email = StringField(
        _l("E-mail"),
        validators=[Optional(), Length(max=254)],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    channel = RadioField(
        _l("Send notices by"),
        choices=[
            SelectChoice(NoticeChannel.SMS.value, _l("Text message (SMS)")),
            SelectChoice(NoticeChannel.EMAIL.value, _l("E-mail")),
        ],
        validators=[InputRequired(_l("Choose how to get notices."))],
    )
    level = RadioField(
        _l("Which notices"),
        choices=[
            SelectChoice(NoticeLevel.LIMITED.value, _l("Limited notices")),
            SelectChoice(NoticeLevel.NORMAL.value, _l("Normal notices")),
            SelectChoice(NoticeLevel.ALL.value, _l("All notices")),
        ],
        validators=[InputRequired(_l("Choose which notices you want."))],
    )
    same_for_represented = BooleanField(_l("Same notices for others you represent"))


class GranteeForm(Form):
    """Gi ny fullmakt, step one: a family member, or anyone by fødselsnummer and family name."""

    person_id = IdField(validators=[Optional()])
    fodselsnummer = StringField(
        _l("Fødselsnummer"),
        validators=[Optional(), Length(max=13, message=_l("A fødselsnummer has 11 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 13},
    )
    family_name = StringField(
        _l("Family name"),
        validators=[Optional(), Length(max=100, message=_l("The family name is too long."))],
        render_kw={"autocomplete": "off", "maxlength": 100},
    )

    @property
    def is_search(self) -> bool:
        return self.person_id.data is None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.is_search:
            if not (self.fodselsnummer.data or "").strip() and not self.fodselsnummer.errors:
                self.fodselsnummer.errors.append(_l("Give the fødselsnummer."))
                valid = False
            if not (self.family_name.data or "").strip() and not self.family_name.errors:
                self.family_name.errors.append(_l("Give the family name."))
                valid = False
        return valid


class GrantForm(Form):
    """Gi ny fullmakt, step two: for how long and for what."""

    duration = RadioField(
        _l("For how long"),
        choices=[
            SelectChoice("indefinite", _l("Until further notice")),
            SelectChoice("until", _l("Until a date")),
        ],
        default="indefinite",
        validators=[InputRequired(_l("Choose for how long."))],
    )
    valid_to = DateField(_l("Last day"), validators=[Optional()])
    scope = RadioField(
        _l("Which areas"),
        choices=[
            SelectChoice("all", _l("All areas")),
            SelectChoice("selected", _l("Selected areas")),
        ],
        default="all",
        validators=[InputRequired(_l("Choose the areas."))],
    )
    areas = SelectMultipleField(_l("Areas"), validate_choice=False)

    def terms(self) -> FullmaktTerms:
        """What the form chooses (a validated form)."""
        return FullmaktTerms.chosen(
            last_day=self.valid_to.data if self.duration.data == "until" else None,
            all_areas=self.scope.data == "all",
            area_codes=self.areas.data or [],
        )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.duration.data == "until" and self.valid_to.data is None:
            self.valid_to.errors.append(_l("Give the last day of the fullmakt."))
            valid = False
        if self.scope.data == "selected" and not self.areas.data:
            self.areas.errors.append(_l("Choose at least one area."))
            valid = False
        return valid


class ChangeGrantForm(GrantForm):
    """Endre fullmakt: starts from the fullmakt as it is; a change is confirmed before it is
    saved (`step` is "confirm" from the confirmation page, "back" to change more)."""

    step = HiddenField()

    def fill(self, terms: FullmaktTerms) -> None:
        self.duration.data = "until" if terms.last_day else "indefinite"
        self.valid_to.data = terms.last_day
        self.scope.data = "all" if terms.all_areas else "selected"
        self.areas.data = sorted(terms.area_codes)


class EndFullmaktForm(Form):
    """Avslutt fullmakt: asked first; `step` is "confirm" from the confirmation page."""

    step = HiddenField()


class PeriodFilterForm(Form):
    """The usage log's period filter (a GET form)."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.start.data and self.end.data and self.end.data < self.start.data:
            self.end.errors.append(_l("The To date is before the From date. Swap them."))
            valid = False
        return valid
