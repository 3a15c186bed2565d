"""What residents see of appointments (docs/product.md 4.4), rule by rule, in Python and in SQL."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from app.clock import OSLO, local_to_utc
from app.models import Appointment, AppointmentSource, AppointmentStatus
from app.selectors import appointments as reads

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=OSLO)
PAST, FUTURE = date(2026, 11, 17), date(2026, 11, 19)


def make(db, world, day, status, *, series=False, service=None, external=False, **extra):
    appointment = Appointment(
        person_id=world.resident.id,
        service_id=None if external else (service or world.nursing).id,
        unit_id=None if external else world.unit.id,
        source=AppointmentSource.EXTERNAL if external else AppointmentSource.MUNICIPALITY,
        source_name="Legekontoret" if external else None,
        status=status,
        window_start=local_to_utc(day, time(8)),
        window_end=local_to_utc(day, time(10)),
        description="Besøk",
        created_at=NOW,
        **extra,
    )
    if status in (AppointmentStatus.ASSIGNED, AppointmentStatus.COMPLETED):
        appointment.employee_staff_id = world.employee.id
        appointment.start_at = local_to_utc(day, time(8, 30))
    if status is AppointmentStatus.COMPLETED:
        appointment.completed_at = local_to_utc(day, time(9, 5))
        appointment.completed_by_staff_id = world.employee.id
    if status is AppointmentStatus.CANCELLED:
        appointment.cancelled_at = NOW - timedelta(days=3)
    if series:
        from app.models import AppointmentSeries

        row = AppointmentSeries(
            person_id=world.resident.id,
            service_id=world.nursing.id,
            unit_id=world.unit.id,
            rrule="FREQ=DAILY",
            starts_on=PAST,
            window_start=time(8),
            window_end=time(10),
            description="x",
            created_at=NOW,
        )
        db.add(row)
        db.flush()
        appointment.series_id = row.id
    db.add(appointment)
    db.flush()
    return appointment


def view(db, appointment):
    loaded = db.scalars(reads.appointment_detail(appointment.id)).one()
    return reads.resident_view(loaded, NOW)


def test_planned_future_shows_the_window_and_a_repeat_icon_and_no_employee(db, world):
    shown = view(db, make(db, world, FUTURE, AppointmentStatus.PLANNED, series=True))
    assert shown.status is AppointmentStatus.PLANNED
    assert shown.recurring and shown.dot is None
    assert shown.time_kind == "window" and shown.employee_name is None
    assert shown.may_cancel


def test_planned_visits_disappear_once_past(db, world):
    assert view(db, make(db, world, PAST, AppointmentStatus.PLANNED)) is None


def test_assigned_shows_a_green_dot_the_employee_and_the_exact_time(db, world):
    shown = view(db, make(db, world, FUTURE, AppointmentStatus.ASSIGNED))
    assert (shown.dot, shown.time_kind, shown.employee_name) == (
        "green",
        "exact",
        world.employee.full_name,
    )
    assert not shown.recurring


def test_completed_shows_a_white_dot_who_and_when_registered(db, world):
    shown = view(db, make(db, world, PAST, AppointmentStatus.COMPLETED))
    assert (shown.dot, shown.time_kind, shown.employee_name) == (
        "white",
        "registered",
        world.employee.full_name,
    )
    assert not shown.may_cancel


def test_cancelled_shows_a_red_dot_only_while_in_the_future(db, world):
    shown = view(db, make(db, world, FUTURE, AppointmentStatus.CANCELLED))
    assert (shown.dot, shown.employee_name, shown.time_kind) == ("red", None, None)
    assert view(db, make(db, world, PAST, AppointmentStatus.CANCELLED)) is None


def test_services_that_do_not_show_appointments_show_none(db, world):
    world.nursing.shows_appointments = False
    db.flush()
    assert view(db, make(db, world, FUTURE, AppointmentStatus.ASSIGNED)) is None


def test_other_providers_appear_with_their_source_read_only(db, world):
    shown = view(
        db,
        make(
            db,
            world,
            FUTURE,
            AppointmentStatus.PLANNED,
            external=True,
            start_at=local_to_utc(FUTURE, time(11)),
        ),
    )
    assert shown.external and not shown.may_cancel
    assert shown.appointment.source_name == "Legekontoret"


def test_a_service_not_open_for_dialog_is_shown_but_not_cancellable_here(db, world):
    world.nursing.open_for_dialog = False
    db.flush()
    shown = view(db, make(db, world, FUTURE, AppointmentStatus.PLANNED))
    assert shown is not None and not shown.may_cancel


@pytest.mark.parametrize("hidden_service", [False, True])
def test_sql_and_python_agree(db, world, hidden_service):
    world.nursing.shows_appointments = not hidden_service
    db.flush()
    made = [
        make(db, world, day, status, external=external)
        for day in (PAST, FUTURE)
        for status in AppointmentStatus
        for external in (False, True)
        if not (external and status is AppointmentStatus.COMPLETED)
    ]
    by_sql = {a.id for a in db.scalars(reads.for_residents(world.resident.id, NOW)).unique()}
    by_python = {a.id for a in made if view(db, a) is not None}
    assert by_sql == by_python and by_sql
