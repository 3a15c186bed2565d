"""Template filters and globals for display: phone numbers, fødselsnummer, role names."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import phonenumbers
from babel import Locale
from babel.dates import format_date
from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from stdnum.no import fodselsnummer

from app.clock import OSLO, oslo_today
from app.models import (
    NoticeEvent,
    PassOnMethod,
    StaffRoleKind,
    ThreadEvent,
    ThreadEventKind,
    ThreadStatus,
)
from app.services.appointments import WEEKDAYS, rule_parts
from app.web.appointment_text import status_label as appointment_status_label
from app.web.profile_text import usage_text

ROLE_LABELS = {
    StaffRoleKind.MESSAGE_COORDINATOR: _l("message coordinator"),
    StaffRoleKind.EMPLOYEE: _l("staff member"),
    StaffRoleKind.LEADER: _l("manager"),
    StaffRoleKind.MUNICIPAL_ADMIN: _l("municipal administrator"),
}


STATUS_LABELS = {
    ThreadStatus.AWAITING_SERVICE: _l("Waiting for a reply from the service"),
    ThreadStatus.INTERIM_REPLIED: _l("Interim reply sent"),
    ThreadStatus.ANSWERED: _l("Answered"),
    ThreadStatus.CLOSED: _l("Closed"),
}
# Whole sentences per way of passing on and whether the service relays the answer, so that
# each language words them as it needs to.
PASSED_ON = {
    (PassOnMethod.PLO, True): _l(
        "%(name)s passed the enquiry on to %(recipient)s by PLO message. "
        "The service relays the answer."
    ),
    (PassOnMethod.PLO, False): _l(
        "%(name)s passed the enquiry on to %(recipient)s by PLO message. "
        "The resident gets the answer directly."
    ),
    (PassOnMethod.PHONE, True): _l(
        "%(name)s passed the enquiry on to %(recipient)s by phone. The service relays the answer."
    ),
    (PassOnMethod.PHONE, False): _l(
        "%(name)s passed the enquiry on to %(recipient)s by phone. "
        "The resident gets the answer directly."
    ),
    (PassOnMethod.OTHER, True): _l(
        "%(name)s passed the enquiry on to %(recipient)s in another way. "
        "The service relays the answer."
    ),
    (PassOnMethod.OTHER, False): _l(
        "%(name)s passed the enquiry on to %(recipient)s in another way. "
        "The resident gets the answer directly."
    ),
}


NOTICE_EVENTS = {
    NoticeEvent.NEW_MESSAGE: _l("New message"),
    NoticeEvent.VISIT_COMPLETED: _l("A home visit is done"),
    NoticeEvent.NEW_FULLMAKT: _l("New fullmakt"),
}


def notice_event_label(event: NoticeEvent) -> str:
    return str(NOTICE_EVENTS[event])


def status_label(status: ThreadStatus) -> str:
    return str(STATUS_LABELS[status])


def event_label(event: ThreadEvent) -> str:
    """One line of a thread's history, as staff read it."""
    who = (
        event.staff.full_name
        if event.staff
        else event.person.full_name
        if event.person
        else _("the service")
    )
    kind = event.kind
    if kind is ThreadEventKind.CREATED:
        return _("Thread started by %(name)s", name=who)
    if kind is ThreadEventKind.MESSAGE:
        return _("New message from %(name)s", name=who)
    if kind is ThreadEventKind.INTERIM_REPLY:
        return _("Interim reply sent by %(name)s", name=who)
    if kind is ThreadEventKind.REPLIED:
        return _("Reply sent by %(name)s", name=who)
    if kind is ThreadEventKind.MARKED_URGENT:
        return _("Marked as urgent by %(name)s", name=who)
    if kind is ThreadEventKind.ASSIGNED:
        assignee = event.assignee.full_name if event.assignee else "?"
        return _("%(name)s assigned the thread to %(assignee)s", name=who, assignee=assignee)
    if kind is ThreadEventKind.FORWARDED:
        return _(
            "%(name)s forwarded the thread from %(source)s to %(target)s",
            name=who,
            source=event.from_unit.name if event.from_unit else "?",
            target=event.to_unit.name if event.to_unit else "?",
        )
    if kind is ThreadEventKind.PASSED_ON:
        sentence = PASSED_ON[
            (event.pass_on_method or PassOnMethod.OTHER, bool(event.answer_relayed))
        ]
        return str(sentence) % {"name": who, "recipient": event.pass_on_recipient or "?"}
    if kind is ThreadEventKind.CLOSED:
        return _("Closed by %(name)s", name=who)
    if kind is ThreadEventKind.JOURNALED:
        return _("A message was journaled by %(name)s", name=who)
    return _("Reopened by %(name)s", name=who)


def phone(value: str | None) -> str:
    """A stored E.164 number as Norwegians write it (national format)."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "NO")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def fnr(value: str) -> str:
    return fodselsnummer.format(value)


def role_label(role: StaffRoleKind) -> str:
    return str(ROLE_LABELS[role])


# Every date the app shows is written one way per language: the day, then the month in words
# ("23. november", "23 November"), the year when it is not this year, and the weekday in
# front for the days people plan by. Never "November 23, 2026" or "23/11/2026".
DAY_PATTERNS = {"en": "d MMMM"}
DAY_PATTERN = "d. MMMM"  # bokmål and nynorsk: "23. november"


def _locale() -> str:
    return str(get_locale() or "nb")


def _day(value: datetime | date) -> date:
    return value.astimezone(OSLO).date() if isinstance(value, datetime) else value


def weekday_date(value: datetime | date) -> str:
    """ "mandag 23. november", "Monday 23 November" (the year too when it is not this year),
    in Oslo time."""
    value = _day(value)
    return _weekday_date(value, _locale(), value.year != oslo_today().year)


@lru_cache(maxsize=4096)
def _weekday_date(day: date, locale: str, with_year: bool) -> str:
    # A list shows the same few days again and again; Babel's formatting is the slow part.
    pattern = "EEEE " + DAY_PATTERNS.get(locale, DAY_PATTERN) + (" y" if with_year else "")
    return format_date(day, pattern, locale=locale)


def long_date(value: datetime | date) -> str:
    """ "12. mars 1938", "12 March 1938": a day whose weekday means nothing, as a birth date."""
    locale = _locale()
    return format_date(_day(value), DAY_PATTERNS.get(locale, DAY_PATTERN) + " y", locale=locale)


def when(value: datetime) -> str:
    """ "mandag 23. november kl. 14:05", in Oslo time."""
    return _("%(date)s at %(time)s", date=weekday_date(value), time=clock(value))


def month_name(value: date) -> str:
    """ "november 2026"."""
    return format_date(value, "LLLL y", locale=_locale())


def weekday_names() -> list[dict[str, str]]:
    """Monday first: short and full names in the current language."""
    locale = Locale.parse(_locale())
    short = locale.days["stand-alone"]["abbreviated"]
    full = locale.days["stand-alone"]["wide"]
    return [{"short": short[i], "full": full[i]} for i in range(7)]


def rrule_text(rule: str) -> str:
    """A weekly rule in words: "mandag, onsdag" or "every 2 weeks: mandag"."""
    codes, interval = rule_parts(rule)
    if len(codes) == 7 and interval == 1:
        return _("every day")
    names = weekday_names()
    text = ", ".join(names[WEEKDAYS.index(code)]["full"] for code in codes)
    return text if interval == 1 else _("every %(n)d weeks: %(days)s", n=interval, days=text)


def area_names(fullmakt) -> str:
    """ "Alle områder", or the chosen areas in the current language."""
    if fullmakt.all_areas:
        return _("All areas")
    return ", ".join(area.name(_locale()) for area in fullmakt.areas)


def clock(value: datetime) -> str:
    """ "08:30", in Oslo time."""
    return value.astimezone(OSLO).strftime("%H:%M")


def excerpt(text: str, length: int = 120) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def init_app(app: Flask) -> None:
    app.add_template_filter(phone)
    app.add_template_filter(fnr)
    app.add_template_filter(weekday_date)
    app.add_template_filter(long_date)
    app.add_template_filter(when)
    app.add_template_filter(excerpt)
    app.add_template_global(role_label)
    app.add_template_global(status_label)
    app.add_template_global(appointment_status_label, "appointment_status_label")
    app.add_template_filter(clock)
    app.add_template_filter(month_name)
    app.add_template_global(weekday_names)
    app.add_template_global(rrule_text)
    app.add_template_global(area_names)
    app.add_template_global(notice_event_label)
    app.add_template_global(usage_text)
    app.add_template_global(timedelta(seconds=1), "timedelta_second")
    app.add_template_global(event_label)
