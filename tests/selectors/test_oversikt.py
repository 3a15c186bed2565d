"""The leader's Oversikt (docs/product.md 5.8): figures against hand-counted data.

Office hours are 08:00-15:30 Oslo time on working days (7.5 hours a day); weekends and
Norwegian public holidays have none.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.clock import OSLO
from app.models import (
    Appointment,
    AppointmentStatus,
    Cancellation,
    CancellationAcknowledgement,
    CancellationKind,
    Message,
    MessageKind,
    Thread,
    ThreadEvent,
    ThreadEventKind,
    ThreadStatus,
)
from app.selectors import oversikt

PERIOD = oversikt.Period(date(2026, 11, 16), date(2026, 12, 31))
TODAY = date(2027, 1, 4)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO)


def thread(db, world, asked: datetime, *, by_staff=False, status=ThreadStatus.ANSWERED, **kw):
    made = Thread(
        municipality_id=world.municipality.id,
        person_id=world.resident.id,
        service_id=world.nursing.id,
        unit_id=world.unit.id,
        subject="Spørsmål",
        status=status,
        started_by_staff=by_staff,
        created_at=asked,
        last_activity_at=asked,
        **kw,
    )
    db.add(made)
    db.flush()
    if by_staff:
        message(db, world, made, asked, staff=world.coordinator)
    else:
        db.add(
            Message(
                thread_id=made.id, body="Hei", author_person_id=world.resident.id, sent_at=asked
            )
        )
    db.flush()
    return made


def message(db, world, made, sent: datetime, *, staff, kind=MessageKind.ORDINARY):
    db.add(
        Message(
            thread_id=made.id,
            body="Svar",
            author_staff_id=staff.id,
            author_unit_id=world.unit.id,
            sent_at=sent,
            kind=kind,
            next_answer_at=sent + timedelta(days=1) if kind is MessageKind.INTERIM else None,
        )
    )
    db.flush()


@pytest.fixture
def replies(db, world):
    """Five answered threads with hand-counted office hours to the first reply."""
    coordinator, employee = world.coordinator, world.employee
    mon, fri, sat = date(2026, 11, 16), date(2026, 11, 20), date(2026, 11, 21)
    # Monday 09:00 to 11:30: 2.5 h (the interim reply is the first reply; later ones don't count).
    t = thread(db, world, at(mon, 9))
    message(db, world, t, at(mon, 11, 30), staff=coordinator, kind=MessageKind.INTERIM)
    message(db, world, t, at(mon, 14), staff=employee)
    # Over a weekend: Friday 15:00 to Monday 09:00: 0.5 h + 1 h = 1.5 h.
    t = thread(db, world, at(fri, 15))
    message(db, world, t, at(date(2026, 11, 23), 9), staff=coordinator)
    # Asked on a Saturday, answered when the office opens on Monday: 0 h.
    t = thread(db, world, at(sat, 12))
    message(db, world, t, at(date(2026, 11, 23), 8), staff=coordinator)
    # Over Christmas: Wednesday 23 December 14:00 (1.5 h), the 24th is a working day (7.5 h),
    # 25th a holiday, 26th-27th a weekend, Monday 28th 08:00-10:00 (2 h): 11 h.
    t = thread(db, world, at(date(2026, 12, 23), 14))
    message(db, world, t, at(date(2026, 12, 28), 10), staff=employee)
    # After office hours on Tuesday 16:00, answered Wednesday 08:30: 0.5 h.
    t = thread(db, world, at(date(2026, 11, 17), 16))
    message(db, world, t, at(date(2026, 11, 18), 8, 30), staff=employee)
    # Not counted: unanswered, started by staff, and asked before the period.
    thread(db, world, at(mon, 10), status=ThreadStatus.AWAITING_SERVICE)
    thread(db, world, at(mon, 10), by_staff=True)
    t = thread(db, world, at(date(2026, 11, 13), 10))
    message(db, world, t, at(mon, 10), staff=coordinator)


def test_first_reply_times_per_service_and_staff_member(db, world, replies):
    rows = oversikt.first_reply_times(db, [world.unit.id], PERIOD, TODAY)
    by_name = {(r.kind, r.name): r for r in rows}
    assert set(by_name) == {
        ("service", "Hjemmesykepleie"),
        ("staff", world.coordinator.full_name),
        ("staff", world.employee.full_name),
    }
    # All five: 0, 0.5, 1.5, 2.5, 11 -> median 1.5; 90th: 2.5 + 0.6 * (11 - 2.5) = 7.6.
    service = by_name[("service", "Hjemmesykepleie")]
    assert service.threads == 5
    assert service.median_hours == pytest.approx(1.5)
    assert service.p90_hours == pytest.approx(7.6)
    # The coordinator: 0, 1.5, 2.5 -> median 1.5; 90th: 1.5 + 0.8 * 1 = 2.3.
    coordinator = by_name[("staff", world.coordinator.full_name)]
    assert (coordinator.threads, coordinator.median_hours) == (3, pytest.approx(1.5))
    assert coordinator.p90_hours == pytest.approx(2.3)
    # The employee: 0.5 and 11 -> median 5.75; 90th: 0.5 + 0.9 * 10.5 = 9.95.
    employee = by_name[("staff", world.employee.full_name)]
    assert (employee.threads, employee.median_hours) == (2, pytest.approx(5.75))
    assert employee.p90_hours == pytest.approx(9.95)


def test_first_reply_times_of_other_units_are_not_counted(db, world, replies):
    assert oversikt.first_reply_times(db, [world.other_unit.id], PERIOD, TODAY) == []


def test_a_single_reply_is_its_own_median_and_90th_percentile(db, world):
    t = thread(db, world, at(date(2026, 11, 16), 9))
    message(db, world, t, at(date(2026, 11, 16), 10, 15), staff=world.coordinator)
    rows = oversikt.first_reply_times(db, [world.unit.id], PERIOD, TODAY)
    assert {(r.median_hours, r.p90_hours) for r in rows} == {(1.25, 1.25)}


def test_thread_counts_now(db, world):
    now = at(date(2026, 11, 25), 12)
    past, future = now - timedelta(hours=1), now + timedelta(days=1)
    thread(db, world, past, status=ThreadStatus.AWAITING_SERVICE, reply_deadline=past)
    thread(db, world, past, status=ThreadStatus.AWAITING_SERVICE, reply_deadline=future)
    thread(db, world, past, status=ThreadStatus.INTERIM_REPLIED, reply_deadline=past)
    thread(db, world, past, status=ThreadStatus.ANSWERED)
    thread(db, world, past, status=ThreadStatus.CLOSED, reply_deadline=past)
    relayed = thread(db, world, past, status=ThreadStatus.ANSWERED)
    db.add(
        ThreadEvent(
            thread_id=relayed.id, kind=ThreadEventKind.PASSED_ON, at=past, answer_relayed=True
        )
    )
    db.flush()
    counts = oversikt.thread_counts(db, [world.unit.id, world.other_unit.id], now)
    assert counts == [
        oversikt.ThreadCounts(world.unit.id, open=5, overdue=2, interim=1, relay=1),
        oversikt.ThreadCounts(world.other_unit.id, open=0, overdue=0, interim=0, relay=0),
    ]


def test_weeks_are_monday_to_sunday_cut_to_the_period():
    period = oversikt.Period(date(2026, 11, 18), date(2026, 12, 1))
    assert period.weeks == [
        (date(2026, 11, 18), date(2026, 11, 22)),
        (date(2026, 11, 23), date(2026, 11, 29)),
        (date(2026, 11, 30), date(2026, 12, 1)),
    ]
    assert len(period.days) == 14


def test_messages_per_week(db, world, replies):
    got = oversikt.volumes(db, [world.unit.id], PERIOD)
    weeks = {w.first: (w.from_residents, w.from_staff) for w in got.weeks}
    # Week of 16 November: residents asked on Monday (two threads), Tuesday, Friday and
    # Saturday; staff: the interim and the later reply, the staff-started thread, the
    # reply to the thread from before the period, and Wednesday's reply.
    assert weeks[date(2026, 11, 16)] == (5, 5)
    assert weeks[date(2026, 11, 23)] == (0, 2)
    assert weeks[date(2026, 12, 21)] == (1, 0)
    assert weeks[date(2026, 12, 28)] == (0, 1)
    assert sum(r + s for r, s in weeks.values()) == 14


def test_cancellations_per_week_and_completed_visits_per_day(db, world):
    day = date(2026, 11, 24)

    def visit(status, **kw):
        made = Appointment(
            person_id=world.resident.id,
            service_id=world.nursing.id,
            unit_id=world.unit.id,
            status=status,
            window_start=at(day, 8),
            window_end=at(day, 10),
            description="Besøk",
            created_at=at(day, 7),
            **kw,
        )
        db.add(made)
        return made

    cancellation = Cancellation(
        person_id=world.resident.id,
        made_by_person_id=world.resident.id,
        kind=CancellationKind.PERIOD,
        period_start=at(day, 0),
        period_end=at(day + timedelta(days=2), 0),
        created_at=at(date(2026, 11, 23), 20),
    )
    db.add(cancellation)
    db.flush()
    db.add(
        CancellationAcknowledgement(
            cancellation_id=cancellation.id,
            unit_id=world.unit.id,
            created_at=cancellation.created_at,
        )
    )
    for _ in range(3):
        visit(
            AppointmentStatus.CANCELLED,
            cancellation_id=cancellation.id,
            cancelled_at=cancellation.created_at,
            cancelled_by_person_id=world.resident.id,
        )
    done = {"employee_staff_id": world.employee.id, "completed_by_staff_id": world.employee.id}
    for hour in (9, 23):  # 23:30 on the 24th is still the 24th in Oslo
        visit(AppointmentStatus.COMPLETED, completed_at=at(day, hour, 30), **done)
    visit(AppointmentStatus.COMPLETED, completed_at=at(day + timedelta(days=1), 0, 30), **done)
    db.flush()
    got = oversikt.volumes(db, [world.unit.id], PERIOD)
    week = next(w for w in got.weeks if w.first == date(2026, 11, 23))
    assert (week.cancellations, week.visits_cancelled) == (1, 3)
    assert sum(w.cancellations for w in got.weeks) == 1
    completed = {d.day: d.completed_visits for d in got.days if d.completed_visits}
    assert completed == {day: 2, day + timedelta(days=1): 1}
    assert oversikt.volumes(db, [world.other_unit.id], PERIOD).weeks[1].cancellations == 0


@pytest.mark.parametrize(
    ("kind", "start", "end", "expected"),
    [
        ("week", None, None, (date(2026, 11, 23), date(2026, 11, 26))),  # Thursday
        ("4weeks", None, None, (date(2026, 10, 30), date(2026, 11, 26))),
        ("", None, None, (date(2026, 10, 30), date(2026, 11, 26))),
        ("range", date(2026, 1, 1), date(2026, 1, 31), (date(2026, 1, 1), date(2026, 1, 31))),
        ("range", date(2026, 11, 26), date(2026, 11, 26), (date(2026, 11, 26),) * 2),
    ],
)
def test_choose_period(kind, start, end, expected):
    period = oversikt.choose_period(kind, start, end, date(2026, 11, 26))
    assert (period.first, period.last) == expected


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (None, date(2026, 11, 1), "dates_missing"),
        (date(2026, 11, 2), date(2026, 11, 1), "reversed"),
        (date(2026, 11, 1), date(2026, 11, 27), "future"),
        (date(2025, 11, 1), date(2026, 11, 2), "too_long"),
        (date(2024, 11, 1), date(2024, 11, 30), "too_old"),
    ],
)
def test_choose_period_refuses_an_absurd_range(start, end, code):
    with pytest.raises(oversikt.PeriodRefused) as refused:
        oversikt.choose_period("range", start, end, date(2026, 11, 26))
    assert refused.value.code == code
