"""The one place the application reads the time: UTC now, and local Oslo dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


def utcnow() -> datetime:
    return datetime.now(UTC)


def oslo_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(OSLO).date()


def local_to_utc(day: date, wall_clock: time) -> datetime:
    """A Europe/Oslo wall-clock time on a day, in UTC (daylight saving handled by zoneinfo)."""
    return datetime.combine(day, wall_clock, tzinfo=OSLO).astimezone(UTC)


def oslo_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start of an Oslo day and of the next, in UTC (23 or 25 hours apart on DST days)."""
    return local_to_utc(day, time(0)), local_to_utc(day + timedelta(days=1), time(0))
