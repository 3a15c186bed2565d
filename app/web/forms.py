"""Form pieces shared by the resident and staff sides.

Every form is a `Form`, so WTForms' own messages come from the app's catalog in the user's
language. Every form takes dates, times, ids and submission keys through the fields here, so
what the database and the calendar cannot hold is refused by the form, with a message in the
user's language, before a service sees it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from uuid import uuid4

import wtforms
from flask import flash, request
from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import HiddenField, SelectChoice
from wtforms.validators import Optional

from app.models.base import ID_MAX

# The days the app works with: enough for birth dates and for planning far ahead, and far
# from where date arithmetic and time zones run out (year 1 and 9999).
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)

INVALID_DATE = _l("Give a valid date, for example 2026-05-17.")
DATE_OUT_OF_RANGE = _l("Give a date between 1900 and 2100.")
INVALID_TIME = _l("Give a valid time, for example 09:30.")
INVALID_CHOICE = _l("That choice is not valid. Reload the page and try again.")
DAMAGED_FORM = _l("The form was damaged on the way. Reload the page and try again.")


def wtforms_text(message: str) -> str:
    """Marks one of WTForms' own messages for `make messages` (a keyword in the Makefile)."""
    return message


def wtforms_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks one of WTForms' own messages with a plural for `make messages`."""
    return singular, plural


# What the fields and validators the app uses can say by themselves, in WTForms' words (its
# wtforms.pot), so that the catalogs translate them: a refusal never shows in English to
# someone who reads bokmål or nynorsk. Messages the app words itself are passed to the
# validators instead.
WTFORMS_MESSAGES = (
    wtforms_text("This field is required."),
    wtforms_text("Not a valid choice."),
    wtforms_text("Invalid Choice: could not coerce."),
    wtforms_text("Invalid choice(s): one or more data inputs could not be coerced."),
    wtforms_text("Field must be between %(min)d and %(max)d characters long."),
)
WTFORMS_PLURALS = (
    wtforms_plural(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
    ),
    wtforms_plural(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
    ),
    wtforms_plural(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
    ),
    wtforms_plural(
        "Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.",
    ),
)


class CatalogTranslations:
    """WTForms' translations interface, answered from the app's catalog for the request's
    language. WTForms formats the text itself, so this only looks it up."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


CATALOG_TRANSLATIONS = CatalogTranslations()


class Form(FlaskForm):
    """The base of every form of the app (CSRF from Flask-WTF, messages from our catalog)."""

    class Meta:
        def get_translations(self, form: wtforms.Form) -> CatalogTranslations:
            return CATALOG_TRANSLATIONS


# A submission key: what `new_key` makes, or a device's own key (printable ASCII).
SUBMISSION_KEY = re.compile(r"[\x21-\x7e]{1,64}")


def new_key() -> str:
    return uuid4().hex


def is_submission_key(value: str | None, *, min_length: int = 1) -> bool:
    return bool(value) and len(value) >= min_length and bool(SUBMISSION_KEY.fullmatch(value))


class DateField(wtforms.DateField):
    """A day (yyyy-mm-dd) between 1900 and 2100."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = None
        text = " ".join(valuelist)
        for pattern in self.strptime_format:
            try:
                day = datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date only
            except ValueError:
                continue
            if not DATE_MIN <= day <= DATE_MAX:
                raise ValueError(DATE_OUT_OF_RANGE)
            self.data = day
            return
        raise ValueError(INVALID_DATE)


class TimeField(wtforms.TimeField):
    """A wall-clock time (hh:mm)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = None
        text = " ".join(valuelist)
        for pattern in self.strptime_format:
            try:
                self.data = datetime.strptime(text, pattern).time()  # noqa: DTZ007
            except ValueError:
                continue
            return
        raise ValueError(INVALID_TIME)


def parse_id(text: str | None) -> int | None:
    """An id written in plain digits, from 1 to what the database holds; else None."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= ID_MAX:
        return None
    return int(text)


class IdField(wtforms.IntegerField):
    """The id of something chosen on the page (see `parse_id`)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = parse_id(valuelist[0])
        if self.data is None:
            raise ValueError(INVALID_CHOICE)


def choice_id(value: object) -> int | None:
    """What a picker sends: the id of the option chosen, or None for its prompt ("").

    The `coerce` of every select of ids: a picker starts on its "Choose ..." prompt, so
    nobody assigns or sends to whoever happens to be listed first.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    parsed = parse_id(str(value))
    if parsed is None:
        raise ValueError(INVALID_CHOICE)
    return parsed


def with_prompt(prompt: str, choices: list[SelectChoice]) -> list[SelectChoice]:
    """The choices of a picker, after an empty "Choose ..." option that is chosen at first."""
    return [SelectChoice("", prompt), *choices]


class LongSelect(wtforms.widgets.Select):
    """WTForms' Select, for lists of hundreds (a unit's residents): an option with only a
    value and a label is written directly, as WTForms writes it, without building its
    attributes through html_params for each."""

    @classmethod
    def render_option(cls, choice: wtforms.fields.choices.Choice, **kwargs: object) -> Markup:
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            return super().render_option(choice, **kwargs)
        label = escape(choice.label or choice.value)
        selected = " selected" if choice.selected else ""  # html_params sorts: selected, value
        return Markup(f'<option{selected} value="{escape(choice.value)}">{label}</option>')  # noqa: S704


class SubmissionKeyField(HiddenField):
    """A key per rendered form: sending it twice (double tap, retry) acts once.

    An empty key is no key; anything but a key's characters, or longer, is refused.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("default", new_key)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        key = valuelist[0].strip()
        self.data = key or None
        if key and not is_submission_key(key):
            self.data = None
            raise ValueError(DAMAGED_FORM)


def submission_key_field() -> SubmissionKeyField:
    return SubmissionKeyField()


class SimpleForm(Form):
    """A button that changes state: only the CSRF token."""


class DayQueryForm(Form):
    """The day a page shows (`?date=`), with the same rules as a date typed in a form."""

    class Meta:
        csrf = False

    date = DateField(validators=[Optional()])


def day_from_query(default: date) -> date:
    """The page's `?date=`, or `default` when there is none or it is not a day we show.

    A bad date is no reason to fail the page: it shows `default` and says why.
    """
    form = DayQueryForm(request.args)
    if form.validate():
        return form.date.data or default
    for error in form.date.errors:
        flash(str(error), "error")
    return default
