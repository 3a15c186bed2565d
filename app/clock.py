"""The one place the application reads the time: UTC now, and local Oslo dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


def utcnow() -> datetime:
    return datetime.now(UTC)


def oslo_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(OSLO).date()
