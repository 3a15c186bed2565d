"""Reads for appointments, and the rules for what residents see of them (docs/product.md 4.4).

| status    | shown                              | employee | time                 |
| Planlagt  | repeat icon; only while in future  | no       | the window           |
| Tildelt   | green dot                          | yes      | the exact time       |
| Utført    | white dot                          | yes      | when it was registered |
| Avlyst    | red dot; only while in the future  | no       | none                 |

The same rules exist twice on purpose: as SQL (`visible_to_residents`) so pages and
pagination only fetch what is shown, and in Python (`resident_view`) for one appointment;
the tests check that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload

from app.clock import OSLO, oslo_day_bounds
from app.models import (
    Appointment,
    AppointmentSeries,
    AppointmentSource,
    AppointmentStatus,
    Cancellation,
    CancellationAcknowledgement,
    Person,
    Service,
)
from app.selectors import paging

LIST_PAGE = 30
PLANNING_PAGE = 30  # visits on one page of Planlegging
PLANNING_KEY = (datetime, str, int)

DOTS = {
    AppointmentStatus.PLANNED: None,  # a repeat icon instead
    AppointmentStatus.ASSIGNED: "green",
    AppointmentStatus.COMPLETED: "white",
    AppointmentStatus.CANCELLED: "red",
}


@dataclass(frozen=True)
class AppointmentView:
    appointment: Appointment
    status: AppointmentStatus
    dot: str | None
    recurring: bool
    employee_name: str | None
    time_kind: str | None  # "window", "exact", "registered" or None
    external: bool
    # Why the resident cannot cancel it ("external", "completed", "cancelled", "started",
    # "service_not_open"), or None when they can.
    not_cancellable: str | None
    # Cancelled by the service: when, and its reason where the service chose to share it.
    cancelled_by_service: bool = False
    cancelled_at: datetime | None = None
    shared_reason: str | None = None

    @property
    def day(self) -> date:
        return self.appointment.window_start.astimezone(OSLO).date()

    @property
    def may_cancel(self) -> bool:
        return self.not_cancellable is None


def resident_view(appointment: Appointment, now: datetime) -> AppointmentView | None:
    """What a resident sees of an appointment, or None when it is not shown."""
    external = appointment.source is AppointmentSource.EXTERNAL
    if not external and not appointment.service.shows_appointments:
        return None
    status = appointment.status
    if status is AppointmentStatus.PLANNED and appointment.window_end < now:
        return None
    if status is AppointmentStatus.CANCELLED and appointment.window_start < now:
        return None
    employee = None
    if status is AppointmentStatus.ASSIGNED and appointment.employee is not None:
        employee = appointment.employee.full_name
    elif status is AppointmentStatus.COMPLETED:
        who = appointment.completed_by or appointment.employee
        employee = who.full_name if who else None
    time_kind = {
        AppointmentStatus.PLANNED: "exact" if external and appointment.start_at else "window",
        AppointmentStatus.ASSIGNED: "exact",
        AppointmentStatus.COMPLETED: "registered",
        AppointmentStatus.CANCELLED: None,
    }[status]
    if external:
        not_cancellable = "external"
    elif status is AppointmentStatus.COMPLETED:
        not_cancellable = "completed"
    elif status is AppointmentStatus.CANCELLED:
        not_cancellable = "cancelled"
    elif appointment.window_start <= now:
        not_cancellable = "started"
    elif not appointment.service.open_for_dialog:
        not_cancellable = "service_not_open"
    else:
        not_cancellable = None
    by_service = (
        status is AppointmentStatus.CANCELLED and appointment.cancelled_by_staff_id is not None
    )
    return AppointmentView(
        appointment=appointment,
        status=status,
        dot=DOTS[status],
        recurring=status is AppointmentStatus.PLANNED and appointment.series_id is not None,
        employee_name=employee,
        time_kind=time_kind,
        external=external,
        not_cancellable=not_cancellable,
        cancelled_by_service=by_service,
        cancelled_at=appointment.cancelled_at if status is AppointmentStatus.CANCELLED else None,
        shared_reason=appointment.cancel_reason
        if by_service and appointment.cancel_reason_shared
        else None,
    )


def visible_to_residents(now: datetime) -> sa.ColumnElement[bool]:
    """The rules above as SQL (needs Service outer-joined on the appointment)."""
    return sa.and_(
        sa.or_(
            Appointment.source == AppointmentSource.EXTERNAL,
            Service.shows_appointments.is_(True),
        ),
        sa.not_(
            sa.and_(Appointment.status == AppointmentStatus.PLANNED, Appointment.window_end < now)
        ),
        sa.not_(
            sa.and_(
                Appointment.status == AppointmentStatus.CANCELLED,
                Appointment.window_start < now,
            )
        ),
    )


def for_residents(person_id: int, now: datetime) -> sa.Select[tuple[Appointment]]:
    return (
        sa.select(Appointment)
        .outerjoin(Service, Service.id == Appointment.service_id)
        .where(Appointment.person_id == person_id, visible_to_residents(now))
        .options(
            joinedload(Appointment.service),
            joinedload(Appointment.employee),
            joinedload(Appointment.completed_by),
        )
    )


def views(appointments, now: datetime) -> list[AppointmentView]:
    return [v for a in appointments if (v := resident_view(a, now)) is not None]


def resident_between(
    session: Session, person_id: int, first: date, last: date, now: datetime
) -> list[AppointmentView]:
    """Everything shown from the start of `first` to the end of `last` (Oslo dates)."""
    start, end = oslo_day_bounds(first)[0], oslo_day_bounds(last)[1]
    statement = (
        for_residents(person_id, now)
        .where(Appointment.window_start >= start, Appointment.window_start < end)
        .order_by(Appointment.window_start, Appointment.id)
    )
    return views(session.scalars(statement), now)


LIST_KEY = (datetime, int)


def resident_list(
    session: Session, person_id: int, first: date, now: datetime, *, cursor: str | None = None
) -> paging.Page[AppointmentView]:
    """From the start of `first` onwards, soonest first, by keyset."""
    start = oslo_day_bounds(first)[0]
    statement = (
        for_residents(person_id, now)
        .where(Appointment.window_start >= start)
        .order_by(Appointment.window_start, Appointment.id)
        .limit(LIST_PAGE + 1)
    )
    position = paging.decode(cursor, LIST_KEY)
    if position is not None:
        keys = ((Appointment.window_start, False), (Appointment.id, False))
        statement = statement.where(paging.after(keys, position))
    rows = views(session.scalars(statement), now)
    return paging.paginate(
        rows, LIST_PAGE, lambda v: (v.appointment.window_start, v.appointment.id)
    )


def appointment_detail(appointment_id: int) -> sa.Select[tuple[Appointment]]:
    return (
        sa.select(Appointment)
        .where(Appointment.id == appointment_id)
        .options(
            joinedload(Appointment.service),
            joinedload(Appointment.unit),
            joinedload(Appointment.employee),
            joinedload(Appointment.completed_by),
            joinedload(Appointment.person),
        )
    )


def cancellation_with_appointments(cancellation_id: int) -> sa.Select[tuple[Cancellation]]:
    return (
        sa.select(Cancellation)
        .where(Cancellation.id == cancellation_id)
        .options(
            joinedload(Cancellation.services),
            joinedload(Cancellation.appointments).joinedload(Appointment.service),
            joinedload(Cancellation.made_by),
            joinedload(Cancellation.person),
        )
    )


# --- staff -------------------------------------------------------------------------


def _planned_at() -> sa.ColumnElement[datetime]:
    return sa.func.coalesce(Appointment.start_at, Appointment.window_start)


def unit_day_page(
    session: Session,
    unit_id: int,
    day: date,
    *,
    status: AppointmentStatus | None = None,
    cursor: str | None = None,
    limit: int = PLANNING_PAGE,
) -> paging.Page[Appointment]:
    """Planlegging: one page of the unit's visits on a day (of one status, if given), by
    planned time and name; one statement, the person read through the join that sorts."""
    start, end = oslo_day_bounds(day)
    keys = ((_planned_at(), False), (Person.family_name, False), (Appointment.id, False))
    statement = (
        sa.select(Appointment)
        .join(Person, Person.id == Appointment.person_id)
        .where(
            Appointment.unit_id == unit_id,
            Appointment.window_start >= start,
            Appointment.window_start < end,
        )
        .options(
            contains_eager(Appointment.person),
            joinedload(Appointment.employee),
            joinedload(Appointment.completed_by),
        )
        .order_by(*(column for column, _ in keys))
        .limit(limit + 1)
    )
    if status is not None:
        statement = statement.where(Appointment.status == status)
    position = paging.decode(cursor, PLANNING_KEY)
    if position is not None:
        statement = statement.where(paging.after(keys, position))
    rows = list(session.scalars(statement).unique())
    return paging.paginate(
        rows, limit, lambda a: (a.start_at or a.window_start, a.person.family_name, a.id)
    )


def unit_day_counts(unit_id: int, day: date) -> sa.Select[tuple[AppointmentStatus, int]]:
    """How many of the unit's visits on a day have each status (Planlegging's filters)."""
    start, end = oslo_day_bounds(day)
    return (
        sa.select(Appointment.status, sa.func.count())
        .where(
            Appointment.unit_id == unit_id,
            Appointment.window_start >= start,
            Appointment.window_start < end,
        )
        .group_by(Appointment.status)
    )


def my_visits(staff_id: int, day: date) -> sa.Select[tuple[Appointment]]:
    """Mine besøk i dag: the visits assigned to (or done by) this employee on a day."""
    start, end = oslo_day_bounds(day)
    return (
        sa.select(Appointment)
        .where(
            Appointment.employee_staff_id == staff_id,
            Appointment.status.in_((AppointmentStatus.ASSIGNED, AppointmentStatus.COMPLETED)),
            Appointment.window_start >= start,
            Appointment.window_start < end,
        )
        .options(
            joinedload(Appointment.person),
            joinedload(Appointment.service),
            joinedload(Appointment.completed_by),
        )
        .order_by(sa.func.coalesce(Appointment.start_at, Appointment.window_start), Appointment.id)
    )


def my_visit(appointment_id: int) -> sa.Select[tuple[Appointment]]:
    """One visit as Mine besøk i dag shows it."""
    return (
        sa.select(Appointment)
        .where(Appointment.id == appointment_id)
        .options(
            joinedload(Appointment.person),
            joinedload(Appointment.service),
            joinedload(Appointment.completed_by),
        )
    )


def series_with_unit(series_id: int) -> sa.Select[tuple[AppointmentSeries]]:
    return (
        sa.select(AppointmentSeries)
        .where(AppointmentSeries.id == series_id)
        .options(joinedload(AppointmentSeries.unit))
    )


def unit_series(unit_id: int, person_id: int) -> sa.Select[tuple[AppointmentSeries]]:
    return (
        sa.select(AppointmentSeries)
        .where(AppointmentSeries.unit_id == unit_id, AppointmentSeries.person_id == person_id)
        .options(joinedload(AppointmentSeries.service))
        .order_by(AppointmentSeries.created_at, AppointmentSeries.id)
    )


@dataclass(frozen=True)
class CancellationRow:
    cancellation: Cancellation
    acknowledgement: CancellationAcknowledgement
    visits: list[Appointment]  # the unit's visits it cancelled, soonest first

    @property
    def cancelled_count(self) -> int:
        return len(self.visits)


CANCELLATION_KEY = (datetime, int)
CANCELLATION_PAGE = 25


def unit_cancellations(
    session: Session, unit_id: int, *, cursor: str | None = None
) -> paging.Page[CancellationRow]:
    """Avbestillinger for the unit, newest first, each with the unit's visits it cancelled.

    Two statements for a page, however many cancellations and visits it holds.
    """
    statement = (
        sa.select(Cancellation, CancellationAcknowledgement)
        .join(
            CancellationAcknowledgement,
            CancellationAcknowledgement.cancellation_id == Cancellation.id,
        )
        .where(CancellationAcknowledgement.unit_id == unit_id)
        .options(
            joinedload(Cancellation.person),
            joinedload(Cancellation.made_by),
            joinedload(CancellationAcknowledgement.unit),
        )
        .order_by(Cancellation.created_at.desc(), Cancellation.id.desc())
        .limit(CANCELLATION_PAGE + 1)
    )
    position = paging.decode(cursor, CANCELLATION_KEY)
    if position is not None:
        keys = ((Cancellation.created_at, True), (Cancellation.id, True))
        statement = statement.where(paging.after(keys, position))
    found = session.execute(statement).unique().all()
    visits: dict[int, list[Appointment]] = {c.id: [] for c, _ in found}
    if visits:
        for visit in session.scalars(
            sa.select(Appointment)
            .where(Appointment.cancellation_id.in_(list(visits)), Appointment.unit_id == unit_id)
            .options(joinedload(Appointment.service))
            .order_by(Appointment.window_start, Appointment.id)
        ):
            visits[visit.cancellation_id].append(visit)
    rows = [CancellationRow(c, ack, visits[c.id]) for c, ack in found]
    return paging.paginate(
        rows, CANCELLATION_PAGE, lambda r: (r.cancellation.created_at, r.cancellation.id)
    )
