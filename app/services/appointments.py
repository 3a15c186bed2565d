"""Appointments: recurring series (python-dateutil rules), assignment, cancellation by the
resident or the service, acknowledgement, and registering a visit as done, exactly once.

Every function checks access through `app.security.access`, flushes and never commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from dateutil.rrule import rrulestr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from app.clock import OSLO, local_to_utc, oslo_today
from app.models import (
    ApiEventKind,
    Appointment,
    AppointmentSeries,
    AppointmentSource,
    AppointmentStatus,
    Cancellation,
    CancellationAcknowledgement,
    CancellationKind,
    Notice,
    NoticeEvent,
    Service,
    StaffAccount,
    Unit,
    UsageAction,
    VisitRegistration,
)
from app.models.appointments import touched
from app.security import access
from app.security.access import Scope
from app.security.actor import Actor
from app.selectors import appointments as reads
from app.selectors.people import dialog_services
from app.services.api_events import events_queue, events_withdraw
from app.services.audit import usage_log_if_acting_for_other
from app.services.notices import notices_for_event
from app.services.people import recipient_for_staff

# Occurrences exist at least this far ahead (docs/product.md 5.6).
HORIZON = timedelta(weeks=8)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DESCRIPTION_MAX = 500
NOTE_MAX = 1000
# A registration made offline is accepted for this long, and a device clock may be ahead.
REGISTRATION_MAX_AGE = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)
KEY_MAX = 64


class AppointmentError(Exception):
    """Refused for a reason the user can act on; `code` picks the text shown."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class IdempotencyConflict(Exception):
    """The same idempotency key came with a different request."""


# --- series ------------------------------------------------------------------------


def weekly_rule(weekdays: list[str], interval: int) -> str:
    """An RFC 5545 rule for the given weekdays every `interval` weeks (checked by dateutil)."""
    days = [d for d in WEEKDAYS if d in set(weekdays)]
    if not days:
        raise AppointmentError("no_weekdays")
    if not 1 <= interval <= 4:
        raise AppointmentError("bad_interval")
    rule = f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={','.join(days)}"
    rrulestr(rule, dtstart=datetime(2026, 1, 1))  # noqa: DTZ001 - rules run on wall-clock dates
    return rule


def rule_parts(rule: str) -> tuple[list[str], int]:
    """The weekdays and week interval of a series' rule; a daily rule is every weekday."""
    parts = dict(part.split("=", 1) for part in rule.split(";") if "=" in part)
    if parts.get("FREQ") == "DAILY":
        return list(WEEKDAYS), 1
    days = parts.get("BYDAY", "").split(",")
    return [d for d in WEEKDAYS if d in days], int(parts.get("INTERVAL", "1"))


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
    session: Session,
    series: AppointmentSeries,
    *,
    until: date,
    now: datetime,
    not_before: datetime | None = None,
) -> list[Appointment]:
    """Create the planned occurrences not yet there, up to and including `until`.

    With `not_before`, occurrences starting at or before it are skipped (a changed
    series gets no planned visits in the past).
    """
    start = (
        series.generated_until + timedelta(days=1)
        if series.generated_until is not None
        else series.starts_on
    )
    existing = set(
        session.scalars(
            sa.select(Appointment.window_start).where(
                Appointment.series_id == series.id,
                Appointment.window_start >= local_to_utc(start, time(0)),
            )
        )
    )
    created = []
    for day in series_occurrence_days(series, start, until):
        window_start = local_to_utc(day, series.window_start)
        if window_start in existing or (not_before is not None and window_start <= not_before):
            continue
        appointment = Appointment(
            person_id=series.person_id,
            service_id=series.service_id,
            unit_id=series.unit_id,
            series_id=series.id,
            status=AppointmentStatus.PLANNED,
            window_start=window_start,
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


def _series_fields(
    weekdays: list[str], interval: int, window_start: time, window_end: time, description: str
) -> tuple[str, str]:
    rule = weekly_rule(weekdays, interval)
    if window_end <= window_start:
        raise AppointmentError("window_order")
    text = (description or "").strip()
    if not text:
        raise AppointmentError("description_empty")
    if len(text) > DESCRIPTION_MAX:
        raise AppointmentError("description_too_long")
    return rule, text


def series_create(
    session: Session,
    actor: Actor,
    *,
    person_id: int,
    weekdays: list[str],
    interval: int,
    starts_on: date,
    ends_on: date | None,
    window_start: time,
    window_end: time,
    description: str,
    now: datetime,
) -> AppointmentSeries:
    """Planlegging: a recurring visit for a recipient of the active unit."""
    access.require_unit_role(actor)
    today = oslo_today(now)
    found = recipient_for_staff(session, actor, person_id, today)
    if found is None:
        raise AppointmentError("unknown_person")
    person, current = found
    rule, text = _series_fields(weekdays, interval, window_start, window_end, description)
    if starts_on < today:
        raise AppointmentError("starts_in_past")
    if ends_on is not None and ends_on < starts_on:
        raise AppointmentError("period_order")
    series = AppointmentSeries(
        person_id=person.id,
        service_id=current[0].service_id,
        unit_id=current[0].unit_id,
        rrule=rule,
        starts_on=starts_on,
        ends_on=ends_on,
        window_start=window_start,
        window_end=window_end,
        description=text,
        created_by_staff_id=actor.staff.id,
        created_at=now,
    )
    session.add(series)
    session.flush()
    series_generate(session, series, until=max(starts_on, today) + HORIZON, now=now)
    return series


def _drop_planned_from(session: Session, series: AppointmentSeries, moment: datetime) -> None:
    """Planned (not yet assigned) visits of the series starting at `moment` or later."""
    session.execute(
        sa.delete(Appointment)
        .where(
            Appointment.series_id == series.id,
            Appointment.status == AppointmentStatus.PLANNED,
            Appointment.window_start >= moment,
        )
        .execution_options(synchronize_session=False)
    )


def series_change(
    session: Session,
    actor: Actor,
    *,
    series_id: int,
    weekdays: list[str],
    interval: int,
    window_start: time,
    window_end: time,
    description: str,
    now: datetime,
) -> AppointmentSeries:
    """New rule, window or text from now on; assigned and past visits stay as they are."""
    series = _series_for_staff(session, actor, series_id)
    rule, text = _series_fields(weekdays, interval, window_start, window_end, description)
    series.rrule = rule
    series.window_start = window_start
    series.window_end = window_end
    series.description = text
    _drop_planned_from(session, series, now)
    today = oslo_today(now)
    series.generated_until = today - timedelta(days=1)
    series_generate(session, series, until=today + HORIZON, now=now, not_before=now)
    return series


def series_end(
    session: Session, actor: Actor, *, series_id: int, ends_on: date, now: datetime
) -> AppointmentSeries:
    """No visits of the series after `ends_on`; planned ones after it disappear."""
    series = _series_for_staff(session, actor, series_id)
    if ends_on < series.starts_on:
        raise AppointmentError("period_order")
    series.ends_on = ends_on
    _drop_planned_from(
        session, series, max(now, local_to_utc(ends_on + timedelta(days=1), time(0)))
    )
    if ends_on <= oslo_today(now):
        series.ended_at = now
    session.flush()
    return series


def _series_for_staff(session: Session, actor: Actor, series_id: int) -> AppointmentSeries:
    series = session.scalars(reads.series_with_unit(series_id)).one_or_none()
    if series is None:
        raise AppointmentError("unknown_series")
    access.require_staff_series(actor, series)
    return series


def appointments_extend(session: Session, *, now: datetime, horizon: timedelta = HORIZON) -> int:
    """Keep every running series generated `horizon` ahead (the CLI runs this daily)."""
    today = oslo_today(now)
    running = session.scalars(
        sa.select(AppointmentSeries).where(
            sa.or_(AppointmentSeries.ends_on.is_(None), AppointmentSeries.ends_on >= today)
        )
    ).all()
    return sum(
        len(series_generate(session, series, until=today + horizon, now=now)) for series in running
    )


# --- one visit -----------------------------------------------------------------------


def _unit_appointment(session: Session, actor: Actor, appointment_id: int) -> Appointment:
    appointment = session.scalars(
        sa.select(Appointment)
        .where(Appointment.id == appointment_id)
        .options(joinedload(Appointment.unit), joinedload(Appointment.person))
    ).one_or_none()
    if appointment is None or appointment.unit is None:
        raise AppointmentError("unknown_appointment")
    access.require_unit_object(
        actor, unit_id=appointment.unit_id, municipality_id=appointment.unit.municipality_id
    )
    return appointment


def appointment_assign(
    session: Session,
    actor: Actor,
    *,
    appointment_id: int,
    employee_id: int,
    at: time,
    now: datetime,
) -> Appointment:
    """Tildel: an employee of the unit, at an exact time on the visit's day."""
    appointment = _unit_appointment(session, actor, appointment_id)
    if appointment.status not in (AppointmentStatus.PLANNED, AppointmentStatus.ASSIGNED):
        raise AppointmentError("not_open")
    employee = (
        session.scalars(
            sa.select(StaffAccount)
            .where(StaffAccount.id == employee_id)
            .options(joinedload(StaffAccount.roles))
        )
        .unique()
        .one_or_none()
    )
    if (
        employee is None
        or not employee.active
        or appointment.unit_id not in {r.unit_id for r in employee.roles}
    ):
        raise AppointmentError("unknown_employee")
    day = appointment.window_start.astimezone(OSLO).date()
    appointment.status = AppointmentStatus.ASSIGNED
    appointment.employee_staff_id = employee.id
    appointment.start_at = local_to_utc(day, at)
    session.flush()
    return appointment


def appointment_cancel_by_service(
    session: Session,
    actor: Actor,
    *,
    appointment_id: int,
    reason: str,
    now: datetime,
    share_reason: bool = False,
) -> Appointment:
    """Avlys by the service, with a reason; the resident sees Avlyst, and when.

    The reason is the service's own (it may hold internal notes): the resident sees it
    only with `share_reason`.
    """
    appointment = _unit_appointment(session, actor, appointment_id)
    if appointment.status not in (AppointmentStatus.PLANNED, AppointmentStatus.ASSIGNED):
        raise AppointmentError("not_open")
    text = (reason or "").strip()
    if not text:
        raise AppointmentError("reason_empty")
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by_staff_id = actor.staff.id
    appointment.cancel_reason = text[:500]
    appointment.cancel_reason_shared = share_reason
    session.flush()
    events_queue(
        session,
        ApiEventKind.APPOINTMENT_CANCELLED,
        [(appointment.id, appointment.unit.municipality_id)],
        now=now,
    )
    return appointment


# --- cancellation by the resident --------------------------------------------------------


@dataclass(frozen=True)
class _CancelScope:
    start: datetime
    end: datetime
    service_ids: list[int]
    cancellable: sa.ColumnElement[bool]


def _cancel_scope(
    session: Session,
    rep: access.Representation,
    appointment: Appointment,
    *,
    kind: CancellationKind,
    period_start: datetime | None,
    period_end: datetime | None,
    service_ids: list[int],
    now: datetime,
) -> _CancelScope:
    """What a cancellation covers: checked, with the condition that picks its appointments."""
    allowed = {
        reg.service_id for reg in session.scalars(dialog_services(rep.subject.id, oslo_today(now)))
    }
    if kind is CancellationKind.SINGLE:
        if appointment.service_id not in allowed:
            raise AppointmentError("service_not_open")
        start = end = appointment.window_start
        services = [appointment.service_id]
        in_scope = Appointment.id == appointment.id
    else:
        if period_start is None or period_end is None:
            raise AppointmentError("period_missing")
        if period_end < period_start:
            raise AppointmentError("period_order")
        services = sorted(set(service_ids))
        if not services:
            raise AppointmentError("no_services")
        if not set(services) <= allowed:
            raise AppointmentError("service_not_open")
        start, end = period_start, period_end
        in_scope = sa.and_(
            Appointment.service_id.in_(services),
            Appointment.window_start >= start,
            Appointment.window_start <= end,
        )
    # Only what is still planned or assigned, and still ahead, can be cancelled.
    cancellable = sa.and_(
        in_scope,
        Appointment.person_id == rep.subject.id,
        Appointment.source == AppointmentSource.MUNICIPALITY,
        Appointment.status.in_((AppointmentStatus.PLANNED, AppointmentStatus.ASSIGNED)),
        Appointment.window_start > now,
    )
    return _CancelScope(start, end, services, cancellable)


def _resident_appointment(session: Session, actor: Actor, appointment_id: int):
    rep = access.require_scope(actor, Scope.APPOINTMENTS)
    appointment = session.scalars(
        sa.select(Appointment)
        .where(Appointment.id == appointment_id)
        .options(joinedload(Appointment.service))
    ).one_or_none()
    if appointment is None or appointment.person_id != rep.subject.id:
        raise AppointmentError("unknown_appointment")
    return rep, appointment


def appointments_cancel_preview(
    session: Session,
    actor: Actor,
    *,
    appointment_id: int,
    kind: CancellationKind,
    period_start: datetime | None,
    period_end: datetime | None,
    service_ids: list[int],
    now: datetime,
) -> list[Appointment]:
    """The appointments `appointments_cancel` would cancel with these choices, in time order
    (services loaded), for the resident to confirm; refused as it would be. Changes nothing."""
    rep, appointment = _resident_appointment(session, actor, appointment_id)
    scope = _cancel_scope(
        session,
        rep,
        appointment,
        kind=kind,
        period_start=period_start,
        period_end=period_end,
        service_ids=service_ids,
        now=now,
    )
    found = list(
        session.scalars(
            sa.select(Appointment)
            .where(scope.cancellable)
            .options(joinedload(Appointment.service))
            .order_by(Appointment.window_start, Appointment.id)
        )
    )
    if not found:
        raise AppointmentError("nothing_to_cancel")
    return found


def appointments_cancel(
    session: Session,
    actor: Actor,
    *,
    appointment_id: int,
    kind: CancellationKind,
    period_start: datetime | None,
    period_end: datetime | None,
    service_ids: list[int],
    note: str | None,
    submission_key: str | None,
    now: datetime,
) -> Cancellation:
    """Avbestill one appointment or a period, for the chosen services. No deadline.

    A period covers the appointments that start within it, both ends included. An
    empty period, an end before the start, or a period with nothing in it changes
    nothing and says why.
    """
    rep, appointment = _resident_appointment(session, actor, appointment_id)
    # Only now, with access settled: the same form sent twice by the same person.
    key = _key(submission_key)
    if key is not None:
        earlier = session.scalars(
            sa.select(Cancellation).where(
                Cancellation.submission_key == key,
                Cancellation.made_by_person_id == actor.person.id,
            )
        ).first()
        if earlier is not None:
            return earlier
    scope = _cancel_scope(
        session,
        rep,
        appointment,
        kind=kind,
        period_start=period_start,
        period_end=period_end,
        service_ids=service_ids,
        now=now,
    )
    start, end, services, cancellable = scope.start, scope.end, scope.service_ids, scope.cancellable
    if session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(cancellable)) == 0:
        raise AppointmentError("nothing_to_cancel")
    cancellation = Cancellation(
        person_id=rep.subject.id,
        made_by_person_id=actor.person.id,
        kind=kind,
        period_start=start,
        period_end=end,
        note=_note(note),
        created_at=now,
        submission_key=key,
    )
    cancellation.services = list(
        session.scalars(sa.select(Service).where(Service.id.in_(services)))
    )
    session.add(cancellation)
    session.flush()
    # The same condition again in the update: a concurrent cancellation of the same visits
    # leaves nothing for the slower one, which is then refused (and rolled back).
    cancelled = session.execute(
        sa.update(Appointment)
        .where(cancellable)
        .values(
            status=AppointmentStatus.CANCELLED,
            cancelled_at=now,
            cancelled_by_person_id=actor.person.id,
            cancellation_id=cancellation.id,
            **touched(now),
        )
        .returning(Appointment.id, Appointment.unit_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not cancelled:
        raise AppointmentError("nothing_to_cancel")
    unit_ids = sorted({unit_id for _, unit_id in cancelled})
    for unit_id in unit_ids:
        session.add(
            CancellationAcknowledgement(
                cancellation_id=cancellation.id, unit_id=unit_id, created_at=cancellation.created_at
            )
        )
    municipality_of = {
        unit_id: municipality_id
        for unit_id, municipality_id in session.execute(
            sa.select(Unit.id, Unit.municipality_id).where(Unit.id.in_(unit_ids))
        )
    }
    events_queue(
        session,
        ApiEventKind.APPOINTMENT_CANCELLED,
        [(appointment_id, municipality_of[unit_id]) for appointment_id, unit_id in cancelled],
        now=now,
    )
    usage_log_if_acting_for_other(
        session,
        actor,
        subject_person_id=rep.subject.id,
        action=UsageAction.APPOINTMENT_CANCELLED,
        object_type="cancellation",
        object_id=cancellation.id,
        at=now,
    )
    session.flush()
    session.expire(cancellation, ["appointments"])
    return cancellation


def _key(value: str | None) -> str | None:
    """A form's submission key; an empty key is no key."""
    key = (value or "").strip() or None
    if key is not None and len(key) > KEY_MAX:
        raise AppointmentError("submission_key_invalid")
    return key


def _note(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > NOTE_MAX:
        raise AppointmentError("note_too_long")
    return text or None


def cancellation_acknowledge(
    session: Session, actor: Actor, *, cancellation_id: int, now: datetime
) -> CancellationAcknowledgement:
    """Kvitter ut: the active unit has seen the cancellation (once)."""
    access.require_unit_role(actor)
    row = session.get(CancellationAcknowledgement, (cancellation_id, actor.active_unit_id))
    if row is None:
        raise AppointmentError("unknown_cancellation")
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        row.acknowledged_by_staff_id = actor.staff.id
        session.flush()
    return row


# --- Registrer utført ---------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRegistered:
    appointment_id: int
    # "completed"; "already_completed" when someone was first; "undone" when the visit was
    # completed by this registration and then undone (Angre).
    outcome: str
    completed_at: datetime | None
    undo_until: datetime | None = None  # the employee may undo it until then


def _request_hash(appointment_id: int, registered_at: datetime | None) -> str:
    when = (
        registered_at.astimezone(UTC).isoformat(timespec="seconds") if registered_at else "server"
    )
    return hashlib.sha256(f"{appointment_id}|{when}".encode()).hexdigest()


def visit_register(
    session: Session,
    actor: Actor,
    *,
    appointment_id: int,
    idempotency_key: str,
    registered_at: datetime | None,
    now: datetime,
    undo_window: timedelta = timedelta(0),
) -> VisitRegistered:
    """Registrer utført, exactly once per key and once per visit.

    A key is the employee's own. The same key with the same request gives the first
    result again; with another request it raises IdempotencyConflict. Of two
    registrations of one visit, one completes it and writes the notices; the other
    learns it was already done.

    With an `undo_window`, the employee may undo the registration (`visit_undo`) for that
    long from now, and the notices are due only when it has passed: nothing is sent about
    a visit registered by mistake.
    """
    request_hash = _request_hash(appointment_id, registered_at)
    appointment = _unit_appointment(session, actor, appointment_id)
    # After access control, and only the employee's own keys: another person's key neither
    # tells anything about their visit nor stops this registration.
    registration_id = (actor.staff.id, idempotency_key)
    earlier = session.get(VisitRegistration, registration_id)
    if earlier is not None:
        return _replay(session, earlier, request_hash)
    if registered_at is None:
        completed_at = now
    elif now - REGISTRATION_MAX_AGE <= registered_at <= now + CLOCK_SKEW:
        completed_at = min(registered_at, now)
    else:
        raise AppointmentError("registered_at_out_of_range")
    if appointment.status not in (AppointmentStatus.ASSIGNED, AppointmentStatus.COMPLETED):
        raise AppointmentError("not_assigned")
    try:
        with session.begin_nested():
            session.add(
                VisitRegistration(
                    idempotency_key=idempotency_key,
                    staff_id=actor.staff.id,
                    appointment_id=appointment.id,
                    request_hash=request_hash,
                    outcome="pending",
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        return _replay(session, session.get(VisitRegistration, registration_id), request_hash)
    registration = session.get(VisitRegistration, registration_id)
    undo_until = now + undo_window if undo_window > timedelta(0) else None
    done = session.execute(
        sa.update(Appointment)
        .where(Appointment.id == appointment.id, Appointment.status == AppointmentStatus.ASSIGNED)
        .values(
            status=AppointmentStatus.COMPLETED,
            completed_at=completed_at,
            completed_by_staff_id=actor.staff.id,
            undo_until=undo_until,
            **touched(now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if done == 1:
        registration.outcome = "completed"
        notices_for_event(
            session,
            subject=appointment.person,
            event=NoticeEvent.VISIT_COMPLETED,
            event_key=visit_event_key(appointment.id),
            municipality_id=appointment.unit.municipality_id,
            now=now,
            due_at=undo_until,
        )
        events_queue(
            session,
            ApiEventKind.APPOINTMENT_FULFILLED,
            [(appointment.id, appointment.unit.municipality_id)],
            now=now,
            due_at=undo_until,
        )
    else:
        registration.outcome = "already_completed"
    session.flush()
    session.refresh(appointment)
    return _registered(appointment, registration.outcome)


def visit_event_key(appointment_id: int) -> str:
    return f"visit:{appointment_id}"


def _registered(appointment: Appointment, outcome: str) -> VisitRegistered:
    return VisitRegistered(
        appointment.id,
        outcome,
        appointment.completed_at,
        appointment.undo_until if outcome == "completed" else None,
    )


def _replay(session: Session, earlier: VisitRegistration, request_hash: str) -> VisitRegistered:
    if earlier.request_hash != request_hash:
        raise IdempotencyConflict(earlier.idempotency_key)
    appointment = session.get(Appointment, earlier.appointment_id)
    return _registered(appointment, earlier.outcome)


def visit_undo(
    session: Session, actor: Actor, *, appointment_id: int, now: datetime
) -> Appointment:
    """Angre: the employee who registered a visit takes it back while the window is open.

    The visit is Tildelt again at once (the resident's calendar shows it), its
    completed-visit notices, which were waiting for the window to pass, leave the outbox
    unsent, and a replay of the registration's key answers "undone" instead of completing
    it again. A new registration completes it as usual.
    """
    appointment = _unit_appointment(session, actor, appointment_id)
    if appointment.status is not AppointmentStatus.COMPLETED:
        raise AppointmentError("not_completed")
    if appointment.completed_by_staff_id != actor.staff.id:
        raise AppointmentError("undo_not_yours")
    # One statement decides, so a registration is undone once, and never after its window.
    undone = session.execute(
        sa.update(Appointment)
        .where(
            Appointment.id == appointment.id,
            Appointment.status == AppointmentStatus.COMPLETED,
            Appointment.completed_by_staff_id == actor.staff.id,
            Appointment.undo_until > now,
        )
        .values(
            status=AppointmentStatus.ASSIGNED,
            completed_at=None,
            completed_by_staff_id=None,
            undo_until=None,
            **touched(now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if undone != 1:
        session.refresh(appointment)
        if appointment.status is not AppointmentStatus.COMPLETED:
            raise AppointmentError("not_completed")
        raise AppointmentError("undo_too_late")
    # Not yet due, so not yet sent: the notices go, and the event can happen again later.
    session.execute(
        sa.delete(Notice).where(
            Notice.event_key == visit_event_key(appointment.id),
            Notice.event == NoticeEvent.VISIT_COMPLETED,
            Notice.sent_at.is_(None),
        )
    )
    events_withdraw(session, ApiEventKind.APPOINTMENT_FULFILLED, appointment.id)
    session.execute(
        sa.update(VisitRegistration)
        .where(
            VisitRegistration.appointment_id == appointment.id,
            VisitRegistration.outcome == "completed",
        )
        .values(outcome="undone")
    )
    session.flush()
    session.refresh(appointment)
    return appointment
