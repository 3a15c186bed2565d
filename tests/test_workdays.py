"""Working days: weekends and Norwegian public holidays are off (Europe/Oslo dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.clock import OSLO
from app.workdays import add_working_days, is_working_day, reply_deadline


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 20), True),  # Friday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 5, 17), False),  # Constitution Day
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 12, 25), False),
        (date(2026, 12, 28), True),
    ],
)
def test_is_working_day(day, working):
    assert is_working_day(day) is working


def test_friday_afternoon_gets_monday():
    sent = datetime(2026, 11, 20, 15, 0, tzinfo=OSLO)
    due = reply_deadline(sent.astimezone(UTC), 1)
    assert due.tzinfo == UTC
    assert due.astimezone(OSLO).date() == date(2026, 11, 23)
    assert due.astimezone(OSLO).hour == 23


def test_oslo_date_decides_not_utc():
    # 23:30 UTC on Thursday is 00:30 on Friday in Oslo (winter time): next working day Monday.
    sent = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    assert reply_deadline(sent, 1).astimezone(OSLO).date() == date(2026, 11, 23)


def test_easter_is_skipped():
    # Wednesday before Easter 2026: Thursday to Monday are holidays or weekend.
    assert add_working_days(date(2026, 4, 1), 1) == date(2026, 4, 7)


def test_two_working_days():
    assert add_working_days(date(2026, 11, 19), 2) == date(2026, 11, 23)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 11, 19), 0)
