"""The leader's Oversikt: figures for a set of units over a period.

Three statements whatever the amount of data, each of a fixed shape (so SQLAlchemy compiles
it once) and each an index range over the units' rows in the period: thread counts per unit;
each thread's first reply, from which the office hours to it and their median and 90th
percentile per service and per staff member are counted here; and counts per hour of
messages, cancellations and the visits they covered, and completed visits, which are put
into Oslo days and weeks here. Counting stays in the database; only the period's few first
replies and hourly counts come back.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from app.clock import OSLO, oslo_day_bounds
from app.models import (
    Appointment,
    CancellationAcknowledgement,
    Message,
    MessageKind,
    Service,
    StaffAccount,
    Thread,
    ThreadStatus,
    Unit,
)
from app.selectors.threads import OPEN_STATUSES, relay_pending
from app.workdays import office_hours

# The longest period shown, and how far back it may start.
MAX_DAYS = 366
MAX_AGE_DAYS = 2 * 366


def _tag(text: str) -> sa.ColumnElement[str]:
    """A constant naming the group or series of a row (typed, for PostgreSQL's UNION)."""
    return sa.cast(sa.literal(text), sa.String)


@dataclass(frozen=True)
class Period:
    """Days from `first` to `last`, both included (Oslo dates)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return oslo_day_bounds(self.first)[0]

    @property
    def end(self) -> datetime:
        return oslo_day_bounds(self.last)[1]

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def weeks(self) -> list[tuple[date, date]]:
        """Monday-to-Sunday weeks that meet the period, cut to it."""
        weeks = []
        day = self.first
        while day <= self.last:
            sunday = day + timedelta(days=6 - day.weekday())
            weeks.append((day, min(sunday, self.last)))
            day = sunday + timedelta(days=1)
        return weeks


# --- thread counts now -------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadCounts:
    unit_id: int
    open: int
    overdue: int
    interim: int
    relay: int


def thread_counts(session: Session, unit_ids: Sequence[int], now: datetime) -> list[ThreadCounts]:
    """Per unit: open (not closed), overdue (past the reply deadline, still owed), interim
    reply only, and passed on and waiting to be relayed. One statement."""

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    statement = (
        sa.select(
            Thread.unit_id,
            count(Thread.status != ThreadStatus.CLOSED),
            count(sa.and_(Thread.status.in_(OPEN_STATUSES), Thread.reply_deadline < now)),
            count(Thread.status == ThreadStatus.INTERIM_REPLIED),
            count(relay_pending()),
        )
        .where(Thread.unit_id.in_(unit_ids), Thread.status != ThreadStatus.CLOSED)
        .group_by(Thread.unit_id)
    )
    found = {row[0]: ThreadCounts(*row) for row in session.execute(statement)}
    return [found.get(u, ThreadCounts(u, 0, 0, 0, 0)) for u in unit_ids]


# --- first-reply times in office hours -------------------------------------------------


class OfficeClock:
    """Office seconds from the start of a calendar of Oslo days to any moment in it.

    A weekend or holiday has no office hours. Built once per request from `office_hours`,
    so a working-hours difference is two lookups.
    """

    def __init__(self, first: date, last: date) -> None:
        self.starts: list[float] = []
        self.hours: list[tuple[float, float, float]] = []  # opens, closes, office before
        before = 0.0
        day = first
        while day <= last:
            start, _end = oslo_day_bounds(day)
            opens, closes = (t.timestamp() for t in (office_hours(day) or (start, start)))
            self.starts.append(start.timestamp())
            self.hours.append((opens, closes, before))
            before += closes - opens
            day += timedelta(days=1)

    def at(self, moment: datetime) -> float:
        t = moment.timestamp()
        opens, closes, before = self.hours[max(0, bisect_right(self.starts, t) - 1)]
        return before + min(max(t - opens, 0.0), closes - opens)

    def between(self, start: datetime, end: datetime) -> float:
        return self.at(end) - self.at(start)


def _percentile(ordered: list[float], percent: int) -> float:
    """Linear-interpolated percentile of sorted values (as PostgreSQL's percentile_cont)."""
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[percent - 1]


@dataclass(frozen=True)
class ReplyTimes:
    """First-reply times in office hours for a service or a staff member."""

    kind: str  # "service" or "staff"
    name: str
    threads: int
    median_hours: float
    p90_hours: float


def first_reply_times(
    session: Session, unit_ids: Sequence[int], period: Period, today: date
) -> list[ReplyTimes]:
    """Threads residents started in the period and staff have answered: the office hours
    from the resident's message to the first staff reply (an interim reply counts), per
    service and per staff member who replied. One statement finds each thread's first
    reply (a fixed shape, so its compiled form is cached); the office hours and the
    percentiles of those few rows are counted here."""
    first_reply = (
        sa.select(
            Message.thread_id,
            Message.sent_at,
            Message.author_staff_id,
            sa.func.row_number()
            .over(partition_by=Message.thread_id, order_by=(Message.sent_at, Message.id))
            .label("rn"),
        )
        .join(Thread, Thread.id == Message.thread_id)
        .where(
            Thread.unit_id.in_(unit_ids),
            Thread.started_by_staff.is_(False),
            Thread.created_at >= period.start,
            Thread.created_at < period.end,
            Message.author_staff_id.is_not(None),
            Message.kind != MessageKind.WELCOME,
        )
        .subquery("reply")
    )
    statement = (
        sa.select(Service.name, StaffAccount.full_name, Thread.created_at, first_reply.c.sent_at)
        .join(first_reply, first_reply.c.thread_id == Thread.id)
        .join(Service, Service.id == Thread.service_id)
        .join(StaffAccount, StaffAccount.id == first_reply.c.author_staff_id)
        .where(first_reply.c.rn == 1)
    )
    clock = OfficeClock(period.first, max(today, period.last))
    groups: dict[tuple[str, str], list[float]] = {}
    for service, staff, asked, replied in session.execute(statement):
        seconds = clock.between(asked, replied)
        groups.setdefault(("service", service), []).append(seconds)
        groups.setdefault(("staff", staff), []).append(seconds)
    result = []
    for (kind, name), seconds in sorted(groups.items()):
        seconds.sort()
        median, p90 = _percentile(seconds, 50), _percentile(seconds, 90)
        result.append(ReplyTimes(kind, name, len(seconds), median / 3600.0, p90 / 3600.0))
    return result


# --- counts per week and per day --------------------------------------------------------


@dataclass(frozen=True)
class WeekCounts:
    first: date
    last: date
    from_residents: int
    from_staff: int
    cancellations: int
    visits_cancelled: int


@dataclass(frozen=True)
class DayCount:
    day: date
    completed_visits: int


@dataclass(frozen=True)
class Volumes:
    weeks: list[WeekCounts]
    days: list[DayCount]


class hour(FunctionElement[int]):  # noqa: N801 - a SQL function, named like one
    """The UTC hour of a timestamp column, counted from 1970, on SQLite and PostgreSQL.

    Oslo's offset from UTC is whole hours, so an hour lies within one Oslo day.
    """

    type = sa.Integer()
    inherit_cache = True


@compiles(hour, "sqlite")
def _hour_sqlite(element: hour, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    # Rounded to whole seconds first, so a value on the hour does not fall into the one before.
    moment = compiler.process(element.clauses, **kw)
    return f"CAST(round((julianday({moment}) - 2440587.5) * 86400.0) / 3600 AS INTEGER)"


@compiles(hour)
def _hour_default(element: hour, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    moment = compiler.process(element.clauses, **kw)
    return f"CAST(floor(EXTRACT(EPOCH FROM {moment}) / 3600) AS INTEGER)"


def volumes(session: Session, unit_ids: Sequence[int], period: Period) -> Volumes:
    """Messages (from residents and from staff), cancellations by residents and the visits
    they covered, per week; completed visits per day. One statement counts per hour (a
    fixed shape, each series an index range); the hours are put into days and weeks here."""

    def in_period(moment: sa.ColumnElement) -> sa.ColumnElement[bool]:
        return sa.and_(moment >= period.start, moment < period.end)

    # Messages from residents and from staff: one pass over the units' threads' messages.
    sent_at = hour(Message.sent_at)
    from_staff = Message.author_staff_id.is_not(None)
    series = sa.case((from_staff, "from_staff"), else_="from_residents")
    messages = (
        sa.select(series, sent_at, sa.func.count(Message.id))
        .join(Thread, Thread.id == Message.thread_id)
        .where(
            Thread.unit_id.in_(unit_ids),
            in_period(Message.sent_at),
            sa.or_(from_staff, Message.author_person_id.is_not(None)),
        )
        .group_by(series, sent_at)
    )

    # The cancellations that concern these units, made in the period, each once (one may
    # concern several of them): an index range per unit on its acknowledgements.
    ack = CancellationAcknowledgement
    concerned = (
        sa.select(ack.cancellation_id.label("id"), ack.created_at.label("at"))
        .where(ack.unit_id.in_(unit_ids), in_period(ack.created_at))
        .distinct()
        .subquery("concerned")
    )
    cancelled_at = hour(concerned.c.at)
    cancellations = (
        sa.select(_tag("cancellations"), cancelled_at, sa.func.count())
        .select_from(concerned)
        .group_by(cancelled_at)
    )
    # Per cancellation, the visits it covered in these units: one index range each.
    visits_of = (
        sa.select(sa.func.count(Appointment.id))
        .where(Appointment.cancellation_id == concerned.c.id, Appointment.unit_id.in_(unit_ids))
        .scalar_subquery()
    )
    covered = (
        sa.select(_tag("covered"), cancelled_at, sa.func.sum(visits_of))
        .select_from(concerned)
        .group_by(cancelled_at)
    )
    done_at = hour(Appointment.completed_at)
    completed = (
        sa.select(_tag("completed"), done_at, sa.func.count(Appointment.id))
        .where(in_period(Appointment.completed_at), Appointment.unit_id.in_(unit_ids))
        .group_by(done_at)
    )
    statement = sa.union_all(
        messages,
        cancellations,
        covered,
        completed,
    )
    weeks, days = period.weeks, period.days
    week_of = {d: i for i, (first, last) in enumerate(weeks) for d in _days(first, last)}
    day_of = {d: i for i, d in enumerate(days)}
    week_found: dict[tuple[str, int], int] = {}
    day_found: dict[int, int] = {}
    for series, at, n in session.execute(statement):
        day = datetime.fromtimestamp(at * 3600, UTC).astimezone(OSLO).date()
        if series == "completed":
            day_found[day_of[day]] = day_found.get(day_of[day], 0) + n
        else:
            key = (series, week_of[day])
            week_found[key] = week_found.get(key, 0) + (n or 0)
    return Volumes(
        weeks=[
            WeekCounts(
                first,
                last,
                week_found.get(("from_residents", i), 0),
                week_found.get(("from_staff", i), 0),
                week_found.get(("cancellations", i), 0),
                week_found.get(("covered", i), 0),
            )
            for i, (first, last) in enumerate(weeks)
        ],
        days=[DayCount(d, day_found.get(i, 0)) for i, d in enumerate(days)],
    )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def oversikt_units(municipality_id: int, unit_ids: frozenset[int] | None) -> sa.Select:
    """The units shown: the municipality's (administrator) or the leader's, by name."""
    statement = sa.select(Unit).where(Unit.municipality_id == municipality_id)
    if unit_ids is not None:
        statement = statement.where(Unit.id.in_(unit_ids))
    return statement.order_by(Unit.name, Unit.id)


# --- the period and all figures -------------------------------------------------------------


class PeriodRefused(Exception):
    """A chosen period that cannot be shown; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def choose_period(kind: str, start: date | None, end: date | None, today: date) -> Period:
    """This week (Monday to today), the last 4 weeks (28 days to today), or chosen dates:
    both given, in order, not after today, at most MAX_DAYS long and MAX_AGE_DAYS back."""
    if kind == "week":
        return Period(today - timedelta(days=today.weekday()), today)
    if kind != "range":
        return Period(today - timedelta(days=27), today)
    if start is None or end is None:
        raise PeriodRefused("dates_missing")
    if end < start:
        raise PeriodRefused("reversed")
    if end > today:
        raise PeriodRefused("future")
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodRefused("too_long")
    if (today - start).days > MAX_AGE_DAYS:
        raise PeriodRefused("too_old")
    return Period(start, end)


@dataclass(frozen=True)
class Figures:
    period: Period
    counts: list[ThreadCounts]
    reply_times: list[ReplyTimes]
    volumes: Volumes

    @property
    def totals(self) -> ThreadCounts:
        return ThreadCounts(
            0,
            sum(c.open for c in self.counts),
            sum(c.overdue for c in self.counts),
            sum(c.interim for c in self.counts),
            sum(c.relay for c in self.counts),
        )


def oversikt_figures(
    session: Session, unit_ids: Sequence[int], period: Period, now: datetime, today: date
) -> Figures:
    """Everything Oversikt shows for the units: three statements (none without units)."""
    if not unit_ids:
        empty = Volumes(
            [WeekCounts(first, last, 0, 0, 0, 0) for first, last in period.weeks],
            [DayCount(d, 0) for d in period.days],
        )
        return Figures(period, [], [], empty)
    return Figures(
        period,
        thread_counts(session, unit_ids, now),
        first_reply_times(session, unit_ids, period, today),
        volumes(session, unit_ids, period),
    )
