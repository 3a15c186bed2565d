"""Appointments: series (across daylight saving time), planning, cancellation of a period at its
edges, acknowledgement, and registering a visit exactly once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.clock import OSLO, oslo_today, utcnow
from app.models import (
    Appointment,
    AppointmentSeries,
    AppointmentSource,
    AppointmentStatus,
    Cancellation,
    CancellationAcknowledgement,
    CancellationKind,
    ContactSettings,
    Notice,
    NoticeEvent,
    NoticeLevel,
    UsageAction,
    UsageLogEntry,
)
from app.security.access import AccessDenied
from app.services import appointments as service
from app.services.appointments import (
    AppointmentError,
    IdempotencyConflict,
    local_to_utc,
    series_generate,
    series_occurrence_days,
)
from tests import factories
from tests.support import actor_for


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


# --- shared helpers for the tests below ---------------------------------------------------

NOW = datetime(2026, 11, 16, 7, 0, tzinfo=OSLO)  # Monday morning


def visit(
    db,
    world,
    day: date,
    *,
    start=time(8),
    end=time(10),
    status=AppointmentStatus.PLANNED,
    service=None,
    unit=None,
    person=None,
    employee=None,
):
    appointment = Appointment(
        person_id=(person or world.resident).id,
        service_id=(service or world.nursing).id,
        unit_id=(unit or world.unit).id,
        status=status,
        window_start=local_to_utc(day, start),
        window_end=local_to_utc(day, end),
        start_at=local_to_utc(day, start) if status is AppointmentStatus.ASSIGNED else None,
        employee_staff_id=(employee or world.employee).id
        if status is AppointmentStatus.ASSIGNED
        else None,
        description="Morgenstell",
        created_at=NOW,
    )
    db.add(appointment)
    db.flush()
    return appointment


def cancel_period(db, actor, appointment, start, end, services, **kw):
    return service.appointments_cancel(
        db,
        actor,
        appointment_id=appointment.id,
        kind=CancellationKind.PERIOD,
        period_start=start,
        period_end=end,
        service_ids=[s.id for s in services],
        note=kw.get("note"),
        submission_key=kw.get("key"),
        now=kw.get("now", NOW),
    )


def statuses(db, *appointments):
    for a in appointments:
        db.refresh(a)
    return [a.status for a in appointments]


# --- cancellation of a period ---------------------------------------------------------------


def test_a_period_covers_visits_starting_at_both_edges(db, world):
    tuesday = date(2026, 11, 17)
    before = visit(db, world, tuesday, start=time(7, 59), end=time(9))
    at_start = visit(db, world, tuesday, start=time(8), end=time(9))
    at_end = visit(db, world, tuesday, start=time(12), end=time(13))
    after = visit(db, world, tuesday, start=time(12, 1), end=time(13))
    start, end = (
        datetime.combine(tuesday, time(8), tzinfo=OSLO),
        datetime.combine(tuesday, time(12), tzinfo=OSLO),
    )
    cancellation = cancel_period(
        db, actor_for(db, world.resident), at_start, start, end, [world.nursing]
    )
    assert statuses(db, before, at_start, at_end, after) == [
        AppointmentStatus.PLANNED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.PLANNED,
    ]
    assert at_start.cancellation_id == cancellation.id
    assert at_start.cancelled_by_person_id == world.resident.id


def test_a_period_only_covers_the_chosen_services(db, world):
    helping_unit = world.other_unit
    factories.receives(db, world.resident, helping_unit)
    day = date(2026, 11, 18)
    nursing = visit(db, world, day)
    helping = visit(
        db,
        world,
        day,
        start=time(12),
        end=time(14),
        service=helping_unit.service,
        unit=helping_unit,
    )
    start = datetime.combine(day, time(0), tzinfo=OSLO)
    end = datetime.combine(day, time(23, 59), tzinfo=OSLO)
    cancellation = cancel_period(
        db, actor_for(db, world.resident), nursing, start, end, [world.nursing]
    )
    assert statuses(db, nursing, helping) == [
        AppointmentStatus.CANCELLED,
        AppointmentStatus.PLANNED,
    ]
    units = db.scalars(
        sa.select(CancellationAcknowledgement.unit_id).where(
            CancellationAcknowledgement.cancellation_id == cancellation.id
        )
    ).all()
    assert units == [world.unit.id]


def test_two_services_in_one_period_reach_both_units_queues(db, world):
    factories.receives(db, world.resident, world.other_unit)
    day = date(2026, 11, 18)
    nursing = visit(db, world, day)
    visit(
        db,
        world,
        day,
        start=time(12),
        end=time(14),
        service=world.other_unit.service,
        unit=world.other_unit,
    )
    cancellation = cancel_period(
        db,
        actor_for(db, world.resident),
        nursing,
        datetime.combine(day, time(0), tzinfo=OSLO),
        datetime.combine(day, time(23), tzinfo=OSLO),
        [world.nursing, world.other_unit.service],
    )
    units = set(
        db.scalars(
            sa.select(CancellationAcknowledgement.unit_id).where(
                CancellationAcknowledgement.cancellation_id == cancellation.id
            )
        )
    )
    assert units == {world.unit.id, world.other_unit.id}


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (None, None, "period_missing"),
        (
            datetime(2026, 11, 20, 12, tzinfo=OSLO),
            datetime(2026, 11, 20, 11, tzinfo=OSLO),
            "period_order",
        ),
        (
            datetime(2026, 11, 25, 0, tzinfo=OSLO),
            datetime(2026, 11, 26, 0, tzinfo=OSLO),
            "nothing_to_cancel",
        ),
    ],
)
def test_a_bad_or_empty_period_changes_nothing(db, world, start, end, code):
    target = visit(db, world, date(2026, 11, 20))
    with pytest.raises(AppointmentError) as refused:
        cancel_period(db, actor_for(db, world.resident), target, start, end, [world.nursing])
    assert refused.value.code == code
    assert statuses(db, target) == [AppointmentStatus.PLANNED]
    assert db.scalar(sa.select(sa.func.count()).select_from(Cancellation)) == 0


def test_past_visits_and_other_providers_are_not_cancelled(db, world):
    past = visit(db, world, date(2026, 11, 15))
    gp = Appointment(
        person_id=world.resident.id,
        source=AppointmentSource.EXTERNAL,
        source_name="Legekontoret",
        window_start=local_to_utc(date(2026, 11, 20), time(11)),
        window_end=local_to_utc(date(2026, 11, 20), time(12)),
        description="Kontroll",
        created_at=NOW,
    )
    db.add(gp)
    future = visit(db, world, date(2026, 11, 20))
    cancel_period(
        db,
        actor_for(db, world.resident),
        future,
        datetime(2026, 11, 1, tzinfo=OSLO),
        datetime(2026, 11, 30, tzinfo=OSLO),
        [world.nursing],
    )
    assert statuses(db, past, gp, future) == [
        AppointmentStatus.PLANNED,
        AppointmentStatus.PLANNED,
        AppointmentStatus.CANCELLED,
    ]


def test_a_closed_service_cannot_be_covered(db, world):
    factories.receives(db, world.resident, world.closed_unit)
    target = visit(db, world, date(2026, 11, 20))
    with pytest.raises(AppointmentError, match="service_not_open"):
        cancel_period(
            db,
            actor_for(db, world.resident),
            target,
            datetime(2026, 11, 20, tzinfo=OSLO),
            datetime(2026, 11, 21, tzinfo=OSLO),
            [world.nursing, world.closed_service],
        )


def test_one_appointment_and_no_deadline(db, world):
    soon = visit(db, world, date(2026, 11, 16), start=time(7, 30))  # starts in 30 minutes
    other = visit(db, world, date(2026, 11, 17))
    service.appointments_cancel(
        db,
        actor_for(db, world.resident),
        appointment_id=soon.id,
        kind=CancellationKind.SINGLE,
        period_start=None,
        period_end=None,
        service_ids=[],
        note="Jeg er hos datteren",
        submission_key=None,
        now=NOW,
    )
    assert statuses(db, soon, other) == [AppointmentStatus.CANCELLED, AppointmentStatus.PLANNED]


def test_a_proxy_cancels_and_it_is_in_the_residents_log(db, world):
    target = visit(db, world, date(2026, 11, 20))
    proxy = actor_for(db, world.proxy, acting_for=world.resident)
    cancellation = cancel_period(
        db,
        proxy,
        target,
        datetime(2026, 11, 20, tzinfo=OSLO),
        datetime(2026, 11, 21, tzinfo=OSLO),
        [world.nursing],
    )
    assert cancellation.made_by_person_id == world.proxy.id
    entry = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.action == UsageAction.APPOINTMENT_CANCELLED)
    ).one()
    assert (entry.subject_person_id, entry.actor_person_id) == (world.resident.id, world.proxy.id)


def test_someone_elses_appointment_cannot_be_cancelled(db, world):
    target = visit(db, world, date(2026, 11, 20))
    stranger = factories.person(db, "Stranger")
    with pytest.raises(AppointmentError, match="unknown_appointment"):
        cancel_period(
            db,
            actor_for(db, stranger),
            target,
            datetime(2026, 11, 20, tzinfo=OSLO),
            datetime(2026, 11, 21, tzinfo=OSLO),
            [world.nursing],
        )


def test_the_same_cancellation_sent_twice_is_one(db, world):
    target = visit(db, world, date(2026, 11, 20))
    actor = actor_for(db, world.resident)
    args = (
        db,
        actor,
        target,
        datetime(2026, 11, 20, tzinfo=OSLO),
        datetime(2026, 11, 21, tzinfo=OSLO),
        [world.nursing],
    )
    first = cancel_period(*args, key="same")
    second = cancel_period(*args, key="same")
    assert first.id == second.id


def test_acknowledging_is_per_unit(db, world):
    target = visit(db, world, date(2026, 11, 20))
    cancellation = cancel_period(
        db,
        actor_for(db, world.resident),
        target,
        datetime(2026, 11, 20, tzinfo=OSLO),
        datetime(2026, 11, 21, tzinfo=OSLO),
        [world.nursing],
    )
    with pytest.raises(AppointmentError):
        service.cancellation_acknowledge(
            db, actor_for(db, world.other_unit_staff), cancellation_id=cancellation.id, now=NOW
        )
    row = service.cancellation_acknowledge(
        db, actor_for(db, world.coordinator), cancellation_id=cancellation.id, now=NOW
    )
    assert row.acknowledged_at == NOW and row.acknowledged_by_staff_id == world.coordinator.id


# --- planning ---------------------------------------------------------------------------------


def test_a_new_series_exists_eight_weeks_ahead(db, world):
    series = service.series_create(
        db,
        actor_for(db, world.coordinator),
        person_id=world.resident.id,
        weekdays=["MO", "TH"],
        interval=1,
        starts_on=date(2026, 11, 16),
        ends_on=None,
        window_start=time(9),
        window_end=time(11),
        description="Tilsyn",
        now=NOW,
    )
    assert series.rrule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TH"
    days = [
        a.window_start.astimezone(OSLO).date()
        for a in db.scalars(
            sa.select(Appointment)
            .where(Appointment.series_id == series.id)
            .order_by(Appointment.window_start)
        )
    ]
    assert days[0] == date(2026, 11, 16)
    assert days[-1] >= date(2026, 11, 16) + timedelta(weeks=8) - timedelta(days=4)
    assert all(d.weekday() in (0, 3) for d in days)
    assert len(days) == 17  # 8 weeks of Mondays and Thursdays, and the Monday after


def test_every_other_week(db, world):
    series = service.series_create(
        db,
        actor_for(db, world.coordinator),
        person_id=world.resident.id,
        weekdays=["WE"],
        interval=2,
        starts_on=date(2026, 11, 18),
        ends_on=None,
        window_start=time(12),
        window_end=time(13),
        description="Dusj",
        now=NOW,
    )
    days = sorted(
        a.window_start.astimezone(OSLO).date()
        for a in db.scalars(sa.select(Appointment).where(Appointment.series_id == series.id))
    )
    assert days[:3] == [date(2026, 11, 18), date(2026, 12, 2), date(2026, 12, 16)]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"weekdays": []}, "no_weekdays"),
        ({"interval": 9}, "bad_interval"),
        ({"window_end": time(8)}, "window_order"),
        ({"description": " "}, "description_empty"),
        ({"starts_on": date(2026, 11, 1)}, "starts_in_past"),
    ],
)
def test_series_are_checked(db, world, changes, code):
    values = dict(
        person_id=world.resident.id,
        weekdays=["MO"],
        interval=1,
        starts_on=date(2026, 11, 16),
        ends_on=None,
        window_start=time(9),
        window_end=time(10),
        description="Tilsyn",
        now=NOW,
    )
    values.update(changes)
    with pytest.raises(AppointmentError) as refused:
        service.series_create(db, actor_for(db, world.coordinator), **values)
    assert refused.value.code == code


def test_staff_plan_only_for_their_units_recipients(db, world):
    stranger = factories.person(db, "Stranger")
    with pytest.raises(AccessDenied):
        service.series_create(
            db,
            actor_for(db, world.coordinator),
            person_id=stranger.id,
            weekdays=["MO"],
            interval=1,
            starts_on=date(2026, 11, 16),
            ends_on=None,
            window_start=time(9),
            window_end=time(10),
            description="Tilsyn",
            now=NOW,
        )


def _series(db, world, **kw):
    return service.series_create(
        db,
        actor_for(db, world.coordinator),
        person_id=world.resident.id,
        weekdays=kw.get("weekdays", ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]),
        interval=1,
        starts_on=date(2026, 11, 16),
        ends_on=None,
        window_start=time(8),
        window_end=time(10),
        description="Morgenstell",
        now=NOW,
    )


def test_changing_a_series_keeps_assigned_and_past_visits(db, world):
    series = _series(db, world)
    assigned = db.scalars(
        sa.select(Appointment)
        .where(Appointment.series_id == series.id)
        .order_by(Appointment.window_start)
        .offset(2)
    ).first()
    service.appointment_assign(
        db,
        actor_for(db, world.coordinator),
        appointment_id=assigned.id,
        employee_id=world.employee.id,
        at=time(8, 30),
        now=NOW,
    )
    later = NOW + timedelta(days=1)
    service.series_change(
        db,
        actor_for(db, world.coordinator),
        series_id=series.id,
        weekdays=["MO"],
        interval=1,
        window_start=time(9),
        window_end=time(11),
        description="Nytt innhold",
        now=later,
    )
    remaining = db.scalars(
        sa.select(Appointment)
        .where(Appointment.series_id == series.id)
        .order_by(Appointment.window_start)
    ).all()
    planned = [a for a in remaining if a.status is AppointmentStatus.PLANNED]
    assert all(
        a.window_start.astimezone(OSLO).weekday() == 0 for a in planned if a.window_start > later
    )
    assert all(a.window_start.astimezone(OSLO).hour == 9 for a in planned if a.window_start > later)
    db.refresh(assigned)
    assert assigned.status is AppointmentStatus.ASSIGNED


def test_ending_a_series_removes_later_planned_visits(db, world):
    series = _series(db, world)
    service.series_end(
        db,
        actor_for(db, world.coordinator),
        series_id=series.id,
        ends_on=date(2026, 11, 20),
        now=NOW,
    )
    days = {
        a.window_start.astimezone(OSLO).date()
        for a in db.scalars(sa.select(Appointment).where(Appointment.series_id == series.id))
    }
    assert max(days) == date(2026, 11, 20)


def test_extend_keeps_every_running_series_eight_weeks_ahead(db, world):
    series = _series(db, world, weekdays=["MO"])
    later = NOW + timedelta(weeks=3)
    created = service.appointments_extend(db, now=later)
    assert created == 3
    assert series.generated_until == later.astimezone(OSLO).date() + timedelta(weeks=8)


def test_assign_and_cancel_by_the_service(db, world):
    target = visit(db, world, date(2026, 11, 20))
    service.appointment_assign(
        db,
        actor_for(db, world.coordinator),
        appointment_id=target.id,
        employee_id=world.employee.id,
        at=time(8, 40),
        now=NOW,
    )
    assert target.status is AppointmentStatus.ASSIGNED
    assert target.start_at.astimezone(OSLO).time() == time(8, 40)
    with pytest.raises(AppointmentError, match="unknown_employee"):
        service.appointment_assign(
            db,
            actor_for(db, world.coordinator),
            appointment_id=target.id,
            employee_id=world.other_unit_staff.id,
            at=time(9),
            now=NOW,
        )
    service.appointment_cancel_by_service(
        db, actor_for(db, world.coordinator), appointment_id=target.id, reason="Sykdom", now=NOW
    )
    assert target.status is AppointmentStatus.CANCELLED and target.cancel_reason == "Sykdom"
    with pytest.raises(AccessDenied):
        service.appointment_cancel_by_service(
            db, actor_for(db, world.foreign_staff), appointment_id=target.id, reason="x", now=NOW
        )


# --- Registrer utført ---------------------------------------------------------------------------


def _notified(db, world, level_resident=NoticeLevel.NORMAL, level_proxy=NoticeLevel.ALL):
    for person, level in ((world.resident, level_resident), (world.proxy, level_proxy)):
        db.add(
            ContactSettings(
                person_id=person.id,
                email=f"{person.id}@t.example",
                level=level,
                same_for_represented=True,
                updated_at=NOW,
            )
        )
    db.flush()


def _register(db, world, target, key, *, staff=None, registered_at=None, now=None):
    return service.visit_register(
        db,
        actor_for(db, staff or world.employee),
        appointment_id=target.id,
        idempotency_key=key,
        registered_at=registered_at,
        now=now or utcnow(),
    )


def test_registering_a_visit_completes_it_and_notifies_at_level_all(db, world):
    _notified(db, world)
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    result = _register(db, world, target, "key-0001")
    assert result.outcome == "completed"
    db.refresh(target)
    assert target.status is AppointmentStatus.COMPLETED
    assert target.completed_by_staff_id == world.employee.id
    notices = db.scalars(sa.select(Notice)).all()
    assert [(n.recipient_person_id, n.event) for n in notices] == [
        (world.proxy.id, NoticeEvent.VISIT_COMPLETED)
    ]


def test_the_same_key_again_gives_the_first_result_and_no_more_notices(db, world):
    _notified(db, world, level_resident=NoticeLevel.ALL)
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    when = utcnow() - timedelta(minutes=10)
    first = _register(db, world, target, "key-0002", registered_at=when)
    for _ in range(3):
        again = _register(db, world, target, "key-0002", registered_at=when)
        assert again == first
    assert first.completed_at == when.replace(microsecond=when.microsecond)
    assert db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 2


def test_the_same_key_with_another_body_is_refused(db, world):
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    _register(db, world, target, "key-0003", registered_at=utcnow() - timedelta(minutes=5))
    with pytest.raises(IdempotencyConflict):
        _register(db, world, target, "key-0003", registered_at=utcnow() - timedelta(minutes=1))


def test_a_second_registration_of_a_done_visit_changes_nothing(db, world):
    _notified(db, world)
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    first = _register(db, world, target, "key-0004")
    second = _register(db, world, target, "key-0005", staff=world.coordinator)
    assert (first.outcome, second.outcome) == ("completed", "already_completed")
    db.refresh(target)
    assert target.completed_by_staff_id == world.employee.id
    assert db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1


def test_registration_times_out_of_range_are_refused(db, world):
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    for when in (utcnow() + timedelta(hours=1), utcnow() - timedelta(days=2)):
        with pytest.raises(AppointmentError, match="registered_at_out_of_range"):
            _register(db, world, target, f"key-{when.timestamp()}", registered_at=when)


def test_only_staff_of_the_visits_unit_register_it(db, world):
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    for outsider in (world.other_unit_staff, world.foreign_staff):
        with pytest.raises(AccessDenied):
            _register(db, world, target, f"key-out-{outsider.id}", staff=outsider)


def test_a_planned_visit_is_assigned_before_it_is_registered(db, world):
    target = visit(db, world, oslo_today())
    with pytest.raises(AppointmentError, match="not_assigned"):
        _register(db, world, target, "key-0006")


# --- Angre: undo a registration while its notice still waits ----------------

UNDO = timedelta(minutes=2)


def test_with_an_undo_window_the_notice_waits_until_it_has_passed(db, world):
    _notified(db, world)
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    now = utcnow()
    result = service.visit_register(
        db,
        actor_for(db, world.employee),
        appointment_id=target.id,
        idempotency_key="undo-0001",
        registered_at=None,
        now=now,
        undo_window=UNDO,
    )
    assert (result.outcome, result.undo_until) == ("completed", now + UNDO)
    (notice,) = db.scalars(sa.select(Notice)).all()
    assert notice.next_attempt_at == now + UNDO
    db.refresh(target)
    assert target.undo_until == now + UNDO


def test_undo_restores_the_visit_removes_its_notices_and_a_new_registration_works(db, world):
    _notified(db, world, level_resident=NoticeLevel.ALL)
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    employee = actor_for(db, world.employee)
    now = utcnow()
    first = dict(appointment_id=target.id, idempotency_key="undo-0002", registered_at=None)
    service.visit_register(db, employee, **first, now=now, undo_window=UNDO)
    assert db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 2
    undone = service.visit_undo(
        db, employee, appointment_id=target.id, now=now + timedelta(seconds=30)
    )
    assert undone.status is AppointmentStatus.ASSIGNED
    assert (undone.completed_at, undone.completed_by_staff_id, undone.undo_until) == (None,) * 3
    assert undone.employee_staff_id == world.employee.id  # still Jonas's visit
    assert db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    # The same key again (the offline queue replaying): it stays undone.
    replay = service.visit_register(db, employee, **first, now=now + timedelta(seconds=40))
    assert (replay.outcome, replay.completed_at) == ("undone", None)
    db.refresh(target)
    assert target.status is AppointmentStatus.ASSIGNED
    # Done for real later: completed and notified again, exactly once.
    later = service.visit_register(
        db,
        employee,
        appointment_id=target.id,
        idempotency_key="undo-0003",
        registered_at=None,
        now=now + timedelta(minutes=20),
        undo_window=UNDO,
    )
    assert later.outcome == "completed"
    assert db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 2


def test_undo_is_refused_after_the_window_for_others_and_when_not_done(db, world):
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    employee = actor_for(db, world.employee)
    with pytest.raises(AppointmentError, match="not_completed"):
        service.visit_undo(db, employee, appointment_id=target.id, now=utcnow())
    now = utcnow()
    service.visit_register(
        db,
        employee,
        appointment_id=target.id,
        idempotency_key="undo-0004",
        registered_at=None,
        now=now,
        undo_window=UNDO,
    )
    with pytest.raises(AppointmentError, match="undo_not_yours"):
        service.visit_undo(db, actor_for(db, world.coordinator), appointment_id=target.id, now=now)
    for outsider in (world.other_unit_staff, world.foreign_staff):
        with pytest.raises(AccessDenied):
            service.visit_undo(db, actor_for(db, outsider), appointment_id=target.id, now=now)
    with pytest.raises(AppointmentError, match="undo_too_late"):
        service.visit_undo(db, employee, appointment_id=target.id, now=now + UNDO)
    db.refresh(target)
    assert target.status is AppointmentStatus.COMPLETED


def test_without_an_undo_window_nothing_can_be_undone(db, world):
    target = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    employee = actor_for(db, world.employee)
    now = utcnow()
    result = service.visit_register(
        db,
        employee,
        appointment_id=target.id,
        idempotency_key="undo-0005",
        registered_at=None,
        now=now,
    )
    assert result.undo_until is None
    with pytest.raises(AppointmentError, match="undo_too_late"):
        service.visit_undo(db, employee, appointment_id=target.id, now=now)


def test_a_service_cancellation_keeps_its_reason_to_itself_unless_shared(db, world):
    from app.selectors.appointments import resident_view

    kept = visit(db, world, oslo_today() + timedelta(days=2))
    shared = visit(db, world, oslo_today() + timedelta(days=3))
    coordinator = actor_for(db, world.coordinator)
    now = utcnow()
    service.appointment_cancel_by_service(
        db, coordinator, appointment_id=kept.id, reason="Internt: Ola syk", now=now
    )
    service.appointment_cancel_by_service(
        db, coordinator, appointment_id=shared.id, reason="Stengt vei", now=now, share_reason=True
    )
    for appointment in (kept, shared):
        db.refresh(appointment)
    db.scalars(
        sa.select(Appointment).options(sa.orm.joinedload(Appointment.service))
    ).unique().all()
    hidden, told = resident_view(kept, now), resident_view(shared, now)
    assert (hidden.cancelled_by_service, hidden.cancelled_at, hidden.shared_reason) == (
        True,
        now,
        None,
    )
    assert (told.cancelled_by_service, told.shared_reason) == (True, "Stengt vei")
