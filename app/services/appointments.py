"""Appointments: occurrences of recurring series (python-dateutil rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrulestr
from sqlalchemy.orm import Session

from app.clock import OSLO
from app.models import Appointment, AppointmentSeries, AppointmentStatus


def local_to_utc(day: date, wall_clock: time) -> datetime:
    """A Europe/Oslo wall-clock time on a day, in UTC (daylight saving handled by zoneinfo)."""
    return datetime.combine(day, wall_clock, tzinfo=OSLO).astimezone(UTC)


def series_occurrence_days(series: AppointmentSeries, first: date, last: date) -> list[date]:
    """The series' days from `first` to `last` inclusive, per its rule and period."""
    if series.ends_on is not None:
        last = min(last, series.ends_on)
    first = max(first, series.starts_on)
    if last < first:
        return []
    rule = rrulestr(series.rrule, dtstart=datetime.combine(series.starts_on, time(0)))
    return [
        moment.date()
        for moment in rule.between(
            datetime.combine(first, time(0)), datetime.combine(last, time(0)), inc=True
        )
    ]


def series_generate(
    session: Session, series: AppointmentSeries, *, until: date, now: datetime
) -> list[Appointment]:
    """Create the planned occurrences not yet generated, up to and including `until`."""
    start = (
        series.generated_until + timedelta(days=1)
        if series.generated_until is not None
        else series.starts_on
    )
    created = []
    for day in series_occurrence_days(series, start, until):
        appointment = Appointment(
            person_id=series.person_id,
            service_id=series.service_id,
            unit_id=series.unit_id,
            series_id=series.id,
            status=AppointmentStatus.PLANNED,
            window_start=local_to_utc(day, series.window_start),
            window_end=local_to_utc(day, series.window_end),
            description=series.description,
            created_at=now,
        )
        session.add(appointment)
        created.append(appointment)
    if series.generated_until is None or until > series.generated_until:
        series.generated_until = until
    session.flush()
    return created
