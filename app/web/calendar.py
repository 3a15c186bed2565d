"""Week and month grids for the calendar views (Monday first, Oslo dates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from app.models import AppointmentStatus
from app.selectors.appointments import AppointmentView


@dataclass
class Day:
    date: date
    items: list[AppointmentView] = field(default_factory=list)
    in_month: bool = True

    @property
    def status_counts(self) -> list[tuple[AppointmentStatus, int]]:
        """How many appointments of each status, in the order their marks are drawn."""
        counts: dict[AppointmentStatus, int] = {}
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return list(counts.items())


@dataclass
class MonthGrid:
    month: date  # the first of the month
    weeks: list[list[Day]]

    @property
    def first(self) -> date:
        return self.weeks[0][0].date

    @property
    def last(self) -> date:
        return self.weeks[-1][-1].date


def week_days(monday: date, items: list[AppointmentView]) -> list[Day]:
    days = [Day(monday + timedelta(days=i)) for i in range(7)]
    by_date = {d.date: d for d in days}
    for item in items:
        if item.day in by_date:
            by_date[item.day].items.append(item)
    return days


def month_grid(day: date) -> MonthGrid:
    first = day.replace(day=1)
    start = first - timedelta(days=first.weekday())
    following = add_months(first, 1)
    weeks = []
    current = start
    while current < following or current.weekday() != 0:
        week = [Day(current + timedelta(days=i)) for i in range(7)]
        for d in week:
            d.in_month = d.date.month == first.month
        weeks.append(week)
        current += timedelta(days=7)
        if current >= following:
            break
    return MonthGrid(first, weeks)


def fill(grid: MonthGrid, items: list[AppointmentView]) -> MonthGrid:
    by_date = {d.date: d for week in grid.weeks for d in week}
    for item in items:
        if item.day in by_date:
            by_date[item.day].items.append(item)
    return grid


def add_months(day: date, months: int) -> date:
    return day + relativedelta(months=months)
