"""Working days in Norway: weekends and public holidays (the `holidays` library) are off."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import holidays

from app.clock import OSLO, local_to_utc, oslo_day_bounds

# Office hours on a working day, Europe/Oslo: the hours first-reply times are counted in.
OFFICE_OPENS = time(8, 0)
OFFICE_CLOSES = time(15, 30)

# Norwegian public holidays; the library loads each year when a date in it is first asked about.
_HOLIDAYS = holidays.country_holidays("NO")


def is_working_day(day: date) -> bool:
    return _HOLIDAYS.is_working_day(day)


def add_working_days(day: date, count: int) -> date:
    """The `count`-th working day after `day` (the day itself does not count)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    return _HOLIDAYS.get_nth_working_day(day, count)


def reply_deadline(sent_at: datetime, working_days: int) -> datetime:
    """Svarfrist: the end of the `working_days`-th working day after the send date, Oslo time.

    Returned in UTC; show it through Babel in Europe/Oslo.
    """
    sent_local = sent_at.astimezone(OSLO).date()
    due = add_working_days(sent_local, working_days)
    return oslo_day_bounds(due)[1] - timedelta(microseconds=1)


def office_hours(day: date) -> tuple[datetime, datetime] | None:
    """When the office is open on `day` (UTC), or None on a weekend or public holiday."""
    if not is_working_day(day):
        return None
    return local_to_utc(day, OFFICE_OPENS), local_to_utc(day, OFFICE_CLOSES)
