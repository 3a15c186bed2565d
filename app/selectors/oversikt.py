"""The leader's Oversikt: figures for a set of units over a period, aggregated in SQL.

Three statements whatever the amount of data: thread counts per unit, first-reply times
(median and 90th percentile in office hours, per service and per staff member), and the
counts per week or day (messages, cancellations and the visits they covered, completed
visits). Weeks, days and the office-hours calendar are small VALUES lists built here, so
the database groups by them without any dialect's date functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from app.clock import oslo_day_bounds
from app.models import (
    Appointment,
    Cancellation,
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


class epoch(FunctionElement[float]):  # noqa: N801 - a SQL function, named like one
    """Seconds since 1970 of a UTC timestamp column, on SQLite and PostgreSQL."""

    type = sa.Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    # julianday() is a double: rounded to whole seconds, as the figures need no finer.
    return f"round((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    return f"round(CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS FLOAT))"


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


def office_calendar(first: date, last: date) -> sa.Values:
    """One row a day: its bounds, its office hours and the office seconds before it (epochs).

    A weekend or holiday has no office hours (opens = closes = the day's start).
    """
    rows = []
    before = 0.0
    day = first
    while day <= last:
        start, end = oslo_day_bounds(day)
        hours = office_hours(day) or (start, start)
        opens, closes = (t.timestamp() for t in hours)
        rows.append((start.timestamp(), end.timestamp(), opens, closes, before))
        before += closes - opens
        day += timedelta(days=1)
    return sa.values(
        sa.column("day_start", sa.Float),
        sa.column("day_end", sa.Float),
        sa.column("opens", sa.Float),
        sa.column("closes", sa.Float),
        sa.column("office_before", sa.Float),
        name="office_day",
    ).data(rows)


def _office_clock(day: sa.FromClause, moment: sa.ColumnElement[float]) -> sa.ColumnElement[float]:
    """Office seconds from the calendar's start to `moment` (which falls on `day`)."""
    return day.c.office_before + sa.case(
        (moment <= day.c.opens, 0.0),
        (moment >= day.c.closes, day.c.closes - day.c.opens),
        else_=moment - day.c.opens,
    )


def _percentile(
    percent: int, rank: sa.ColumnElement[int], size: sa.ColumnElement[int], value
) -> sa.ColumnElement[float]:
    """Linear-interpolated percentile (as PostgreSQL's percentile_cont) of a ranked group,
    in integer arithmetic that SQLite and PostgreSQL compute alike."""
    scaled = percent * (size - 1)
    below = scaled // 100 + 1  # the 1-based rank at or below the percentile
    fraction = (scaled - (below - 1) * 100) / 100.0
    return sa.func.sum(
        sa.case(
            (rank == below, value * (1.0 - fraction)),
            (rank == below + 1, value * fraction),
            else_=0.0,
        )
    )


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
    service and per staff member who replied. One statement."""
    calendar = office_calendar(period.first, max(today, period.last)).cte("office_day")
    ranked_replies = (
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
    asked_day, replied_day = calendar.alias("asked_day"), calendar.alias("replied_day")
    asked, replied = epoch(Thread.created_at), epoch(ranked_replies.c.sent_at)
    seconds = (_office_clock(replied_day, replied) - _office_clock(asked_day, asked)).label("secs")
    answered = (
        sa.select(Thread.service_id, ranked_replies.c.author_staff_id.label("staff_id"), seconds)
        .join(ranked_replies, ranked_replies.c.thread_id == Thread.id)
        .join(asked_day, sa.and_(asked >= asked_day.c.day_start, asked < asked_day.c.day_end))
        .join(
            replied_day,
            sa.and_(replied >= replied_day.c.day_start, replied < replied_day.c.day_end),
        )
        .where(ranked_replies.c.rn == 1)
        .cte("answered")
    )

    def ranked(kind: str, key: sa.ColumnElement[int]) -> sa.Select:
        return sa.select(
            _tag(kind).label("kind"),
            key.label("key"),
            answered.c.secs,
            sa.func.row_number().over(partition_by=key, order_by=answered.c.secs).label("rn"),
            sa.func.count().over(partition_by=key).label("cnt"),
        )

    groups = sa.union_all(
        ranked("service", answered.c.service_id), ranked("staff", answered.c.staff_id)
    ).subquery("grouped")
    per_group = (
        sa.select(
            groups.c.kind,
            groups.c.key,
            sa.func.max(groups.c.cnt).label("cnt"),
            _percentile(50, groups.c.rn, groups.c.cnt, groups.c.secs).label("median"),
            _percentile(90, groups.c.rn, groups.c.cnt, groups.c.secs).label("p90"),
        )
        .group_by(groups.c.kind, groups.c.key)
        .subquery("per_group")
    )
    name = sa.case(
        (per_group.c.kind == "service", Service.name), else_=StaffAccount.full_name
    ).label("name")
    statement = (
        sa.select(per_group.c.kind, name, per_group.c.cnt, per_group.c.median, per_group.c.p90)
        .outerjoin(Service, sa.and_(per_group.c.kind == "service", Service.id == per_group.c.key))
        .outerjoin(
            StaffAccount, sa.and_(per_group.c.kind == "staff", StaffAccount.id == per_group.c.key)
        )
        .order_by(per_group.c.kind, name)
    )
    return [
        ReplyTimes(kind, name, size, median / 3600.0, p90 / 3600.0)
        for kind, name, size, median, p90 in session.execute(statement)
    ]


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


def _buckets(name: str, spans: Sequence[tuple[date, date]]) -> sa.Values:
    rows = [
        (i, oslo_day_bounds(first)[0].timestamp(), oslo_day_bounds(last)[1].timestamp())
        for i, (first, last) in enumerate(spans)
    ]
    return sa.values(
        sa.column("idx", sa.Integer),
        sa.column("starts", sa.Float),
        sa.column("ends", sa.Float),
        name=name,
    ).data(rows)


def volumes(session: Session, unit_ids: Sequence[int], period: Period) -> Volumes:
    """Messages (from residents and from staff), cancellations by residents and the visits
    they covered, per week; completed visits per day. One statement."""
    weeks = period.weeks
    days = period.days
    week = _buckets("week", weeks).cte("week")
    day = _buckets("day", [(d, d) for d in days]).cte("day")

    def bucketed(bucket: sa.FromClause, moment: sa.ColumnElement) -> sa.ColumnElement[bool]:
        at = epoch(moment)
        return sa.and_(at >= bucket.c.starts, at < bucket.c.ends)

    def in_period(moment: sa.ColumnElement) -> sa.ColumnElement[bool]:
        return sa.and_(moment >= period.start, moment < period.end)

    def messages(series: str, by_staff: bool) -> sa.Select:
        author = Message.author_staff_id if by_staff else Message.author_person_id
        return (
            sa.select(_tag(series).label("series"), week.c.idx, sa.func.count(Message.id))
            .join(Thread, Thread.id == Message.thread_id)
            .join(week, bucketed(week, Message.sent_at))
            .where(Thread.unit_id.in_(unit_ids), in_period(Message.sent_at), author.is_not(None))
            .group_by(week.c.idx)
        )

    concerns_units = (
        sa.select(CancellationAcknowledgement.cancellation_id)
        .where(CancellationAcknowledgement.unit_id.in_(unit_ids))
        .scalar_subquery()
    )
    cancellations = (
        sa.select(_tag("cancellations"), week.c.idx, sa.func.count(Cancellation.id))
        .join(week, bucketed(week, Cancellation.created_at))
        .where(in_period(Cancellation.created_at), Cancellation.id.in_(concerns_units))
        .group_by(week.c.idx)
    )
    covered = (
        sa.select(_tag("covered"), week.c.idx, sa.func.count(Appointment.id))
        .join(Cancellation, Cancellation.id == Appointment.cancellation_id)
        .join(week, bucketed(week, Cancellation.created_at))
        .where(in_period(Cancellation.created_at), Appointment.unit_id.in_(unit_ids))
        .group_by(week.c.idx)
    )
    completed = (
        sa.select(_tag("completed"), day.c.idx, sa.func.count(Appointment.id))
        .join(day, bucketed(day, Appointment.completed_at))
        .where(in_period(Appointment.completed_at), Appointment.unit_id.in_(unit_ids))
        .group_by(day.c.idx)
    )
    statement = sa.union_all(
        messages("from_residents", by_staff=False),
        messages("from_staff", by_staff=True),
        cancellations,
        covered,
        completed,
    )
    found: dict[tuple[str, int], int] = {
        (series, idx): n for series, idx, n in session.execute(statement)
    }
    return Volumes(
        weeks=[
            WeekCounts(
                first,
                last,
                found.get(("from_residents", i), 0),
                found.get(("from_staff", i), 0),
                found.get(("cancellations", i), 0),
                found.get(("covered", i), 0),
            )
            for i, (first, last) in enumerate(weeks)
        ],
        days=[DayCount(d, found.get(("completed", i), 0)) for i, d in enumerate(days)],
    )


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
