"""Reply deadlines in working days: weekends and Norwegian public holidays are off.

Dates are Europe/Oslo; the deadline is the end of the N-th working day after the day the
message was sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.clock import OSLO
from app.workdays import add_working_days, is_working_day, office_hours, reply_deadline


def due(sent_local: datetime, days: int = 1) -> date:
    deadline = reply_deadline(sent_local.astimezone(UTC), days)
    assert deadline.tzinfo == UTC
    return deadline.astimezone(OSLO).date()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 20), True),  # Friday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 11, 22), False),  # Sunday
        (date(2026, 5, 17), False),  # Constitution Day (a Sunday in 2026)
        (date(2027, 5, 17), False),  # Constitution Day on a Monday
        (date(2026, 4, 2), False),  # Maundy Thursday
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 5, 14), False),  # Ascension Day
        (date(2026, 5, 25), False),  # Whit Monday
        (date(2026, 12, 25), False),
        (date(2026, 12, 26), False),
        (date(2026, 12, 24), True),  # Christmas Eve is not a public holiday
        (date(2026, 12, 28), True),
    ],
)
def test_is_working_day(day, working):
    assert is_working_day(day) is working


def test_across_a_weekend():
    assert due(datetime(2026, 11, 20, 15, 0, tzinfo=OSLO)) == date(2026, 11, 23)  # Fri -> Mon
    assert due(datetime(2026, 11, 21, 10, 0, tzinfo=OSLO)) == date(2026, 11, 23)  # Sat -> Mon
    assert due(datetime(2026, 11, 22, 23, 0, tzinfo=OSLO)) == date(2026, 11, 23)  # Sun -> Mon


def test_a_weekday_gives_the_next_day():
    assert due(datetime(2026, 11, 24, 8, 0, tzinfo=OSLO)) == date(2026, 11, 25)


def test_over_easter():
    # Wednesday before Easter 2026: Thursday to Monday are holidays or weekend.
    assert due(datetime(2026, 4, 1, 12, 0, tzinfo=OSLO)) == date(2026, 4, 7)


def test_over_17_may():
    # 17 May 2027 is a Monday: a Friday message is due on Tuesday.
    assert due(datetime(2027, 5, 14, 12, 0, tzinfo=OSLO)) == date(2027, 5, 18)


def test_over_christmas():
    # 24 December 2026 (Thursday): 25 and 26 are holidays, 27 a Sunday.
    assert due(datetime(2026, 12, 24, 11, 0, tzinfo=OSLO)) == date(2026, 12, 28)
    # 23 December: the 24th is an ordinary working day.
    assert due(datetime(2026, 12, 23, 11, 0, tzinfo=OSLO)) == date(2026, 12, 24)


def test_sent_after_midnight_on_a_friday():
    # 00:30 Friday in Oslo is still Thursday in UTC; the Oslo date counts: due Monday.
    sent = datetime(2026, 11, 20, 0, 30, tzinfo=OSLO)
    assert sent.astimezone(UTC).day == 19
    assert due(sent) == date(2026, 11, 23)
    # Just after midnight between Friday and Saturday: also Monday.
    assert due(datetime(2026, 11, 21, 0, 5, tzinfo=OSLO)) == date(2026, 11, 23)


def test_in_summer_time_the_oslo_date_counts_too():
    # 23:30 UTC on a Thursday in June is 01:30 Friday in Oslo (UTC+2).
    sent = datetime(2026, 6, 18, 23, 30, tzinfo=UTC)
    assert reply_deadline(sent, 1).astimezone(OSLO).date() == date(2026, 6, 22)


def test_a_municipality_with_two_working_days():
    assert due(datetime(2026, 11, 19, 9, 0, tzinfo=OSLO), 2) == date(2026, 11, 23)  # Thu -> Mon
    assert due(datetime(2026, 11, 20, 9, 0, tzinfo=OSLO), 2) == date(2026, 11, 24)  # Fri -> Tue
    assert due(datetime(2026, 4, 1, 9, 0, tzinfo=OSLO), 2) == date(2026, 4, 8)  # over Easter


def test_the_deadline_is_the_end_of_the_day():
    deadline = reply_deadline(datetime(2026, 11, 20, 15, 0, tzinfo=OSLO).astimezone(UTC), 1)
    local = deadline.astimezone(OSLO)
    assert (local.hour, local.minute) == (23, 59)


def test_at_least_one_working_day():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 11, 19), 0)


def test_office_hours_are_0800_to_1530_oslo_on_working_days_only():
    opens, closes = office_hours(date(2026, 7, 1))  # summer time: UTC+2
    assert (opens.hour, closes.hour, closes.minute) == (6, 13, 30)
    opens, closes = office_hours(date(2026, 11, 20))  # winter time: UTC+1
    assert (opens.hour, closes.hour) == (7, 14)
    assert office_hours(date(2026, 11, 21)) is None  # Saturday
    assert office_hours(date(2026, 12, 25)) is None  # Christmas Day
