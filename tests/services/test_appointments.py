"""Occurrences of recurring series, across the change to and from daylight saving time."""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa

from app.clock import OSLO, utcnow
from app.models import Appointment, AppointmentSeries
from app.services.appointments import series_generate, series_occurrence_days


def make_series(db, world, rule: str, starts: date, ends: date | None = None):
    series = AppointmentSeries(
        person=world.resident,
        service=world.nursing,
        unit=world.unit,
        rrule=rule,
        starts_on=starts,
        ends_on=ends,
        window_start=time(8),
        window_end=time(10),
        description="Morgenstell",
        created_at=utcnow(),
    )
    db.add(series)
    db.flush()
    return series


def test_daily_visits_keep_their_local_time_across_daylight_saving(db, world):
    # Summer time starts 29 March 2026 and ends 25 October 2026.
    series = make_series(db, world, "FREQ=DAILY", date(2026, 3, 27))
    created = series_generate(db, series, until=date(2026, 3, 31), now=utcnow())
    assert [a.window_start.astimezone(OSLO).time() for a in created] == [time(8)] * 5
    utc_hours = [a.window_start.hour for a in created]
    assert utc_hours == [7, 7, 6, 6, 6]


def test_weekly_rule_on_given_days(db, world):
    series = make_series(db, world, "FREQ=WEEKLY;BYDAY=TU,FR", date(2026, 11, 16))
    days = series_occurrence_days(series, date(2026, 11, 16), date(2026, 11, 30))
    assert days == [date(2026, 11, 17), date(2026, 11, 20), date(2026, 11, 24), date(2026, 11, 27)]


def test_generation_continues_where_it_stopped_and_respects_the_end(db, world):
    series = make_series(db, world, "FREQ=DAILY", date(2026, 11, 1), ends=date(2026, 11, 10))
    first = series_generate(db, series, until=date(2026, 11, 5), now=utcnow())
    again = series_generate(db, series, until=date(2026, 11, 30), now=utcnow())
    assert len(first) == 5 and len(again) == 5
    assert series.generated_until == date(2026, 11, 30)
    total = db.scalar(
        sa.select(sa.func.count())
        .select_from(Appointment)
        .where(Appointment.series_id == series.id)
    )
    assert total == 10
