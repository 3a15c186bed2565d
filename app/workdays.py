"""Working days in Norway: weekends and public holidays (the `holidays` library) are off."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from app.clock import OSLO


@lru_cache(maxsize=64)
def _norwegian_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NO", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _norwegian_holidays(day.year)


def add_working_days(day: date, count: int) -> date:
    """The `count`-th working day after `day` (the day itself does not count)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    current = day
    remaining = count
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def reply_deadline(sent_at: datetime, working_days: int) -> datetime:
    """Svarfrist: the end of the `working_days`-th working day after the send date, Oslo time.

    Returned in UTC; show it through Babel in Europe/Oslo.
    """
    sent_local = sent_at.astimezone(OSLO).date()
    due = add_working_days(sent_local, working_days)
    end_of_day = datetime.combine(due + timedelta(days=1), time(0, 0), tzinfo=OSLO)
    return (end_of_day - timedelta(microseconds=1)).astimezone(UTC)
