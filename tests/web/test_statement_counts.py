"""Pages issue a fixed, small number of SQL statements (docs/quality.md P2: at most 8)."""

from __future__ import annotations

import pytest

from app.extensions import db as flask_db
from tests import factories
from tests.support import StatementCounter

LIMIT = 8


@pytest.fixture
def counter(app, db):
    engine = flask_db._app_engines[app][None].engine  # the connection's engine
    return StatementCounter(engine)


def grow(db, world, n: int) -> None:
    """Give the proxy n represented people and the unit n recipients."""
    for i in range(n):
        grantor = factories.person(db, f"G{i}", "Grantor")
        factories.fullmakt(db, grantor, world.proxy)
        factories.receives(db, factories.person(db, f"R{i}", "Recipient"), world.unit)


@pytest.mark.parametrize("path", ["/messages", "/appointments", "/contacts"])
def test_resident_pages_need_the_same_statements_for_1_and_50_people(
    client, db, login, world, counter, path
):
    login.resident(world.proxy, acting_for=world.resident)
    client.get(path)
    with counter:
        assert client.get(path).status_code == 200
    few = counter.count
    grow(db, world, 49)
    with counter:
        assert client.get(path).status_code == 200
    assert 0 < counter.count == few <= LIMIT, counter.statements


@pytest.mark.parametrize("path", ["/staff/", "/staff/recipients"])
def test_staff_pages_need_the_same_statements_for_1_and_50_recipients(
    client, db, login, world, counter, path
):
    login.staff(world.coordinator)
    client.get(path)
    with counter:
        assert client.get(path).status_code == 200
    few = counter.count
    grow(db, world, 49)
    with counter:
        assert client.get(path).status_code == 200
    assert 0 < counter.count == few <= LIMIT, counter.statements


def _threads(db, world, n: int, messages_each: int = 1) -> list:
    from app.clock import utcnow
    from app.services import messaging
    from tests.support import actor_for

    resident = actor_for(db, world.resident)
    made = []
    for i in range(n):
        thread = messaging.thread_start(
            db,
            resident,
            service_id=world.nursing.id,
            subject=f"Emne {i}",
            body="Tekst",
            submission_key=None,
            now=utcnow(),
        )
        for _ in range(messages_each - 1):
            messaging.thread_reply_resident(
                db, resident, thread=thread, body="Mer", submission_key=None, now=utcnow()
            )
        made.append(thread)
    return made


def _same_for_1_and_50(client, counter, path_for_1, grow_to_50, path_for_50=None):
    client.get(path_for_1)
    with counter:
        assert client.get(path_for_1).status_code == 200
    few = counter.count
    grow_to_50()
    with counter:
        assert client.get(path_for_50 or path_for_1).status_code == 200
    assert 0 < counter.count == few <= LIMIT, counter.statements


def test_inbox_needs_the_same_statements_for_1_and_50_threads(client, db, login, world, counter):
    _threads(db, world, 1)
    login.resident(world.proxy, acting_for=world.resident)
    _same_for_1_and_50(client, counter, "/messages", lambda: _threads(db, world, 49))


def test_queue_needs_the_same_statements_for_1_and_50_threads(client, db, login, world, counter):
    from app.services import messaging
    from tests.support import actor_for

    first, continuing = _threads(db, world, 2)
    messaging.thread_close(db, actor_for(db, world.coordinator), thread=first, now=first.created_at)
    continuing.continues_thread_id = first.id
    db.flush()
    login.staff(world.coordinator)

    def grow():
        made = _threads(db, world, 48)
        # Some continue earlier threads, some are assigned: still a fixed number.
        for thread in made[:10]:
            thread.continues_thread_id = first.id
        for thread in made[10:20]:
            messaging.thread_assign(
                db,
                actor_for(db, world.coordinator),
                thread=thread,
                assignee_id=world.employee.id,
                note=None,
                now=thread.created_at,
            )
        db.flush()

    _same_for_1_and_50(client, counter, "/staff/", grow)


@pytest.mark.parametrize(
    "query", ["", "?status=relay", "?status=waiting&q=Emne", "?status=open&person={person}"]
)
def test_alle_trader_needs_the_same_statements_for_1_and_50_threads(
    client, db, login, world, counter, query
):
    from app.clock import utcnow
    from app.models import PassOnMethod
    from app.services import messaging
    from tests.support import actor_for

    def grow(n: int) -> None:
        made = _threads(db, world, n)
        for i, thread in enumerate(made):  # most of other residents, some passed on
            if i % 3:
                person = factories.person(db, f"T{i}", "Trådeier")
                factories.receives(db, person, world.unit)
                thread.person_id = person.id
            if i % 2 == 0:
                messaging.thread_pass_on(
                    db,
                    actor_for(db, world.coordinator),
                    thread=thread,
                    method=PassOnMethod.PLO,
                    recipient="Fastlegen",
                    relayed=i % 4 == 0,
                    body="Sendt videre",
                    submission_key=None,
                    now=utcnow(),
                )
        db.flush()

    grow(1)
    login.staff(world.coordinator)
    path = "/staff/threads" + query.format(person=world.resident.id)
    _same_for_1_and_50(client, counter, path, lambda: grow(49))


def test_thread_pages_need_the_same_statements_for_1_and_50_messages(
    client, db, login, world, counter
):
    (short,) = _threads(db, world, 1)
    long_threads = []
    login.resident(world.resident)
    _same_for_1_and_50(
        client,
        counter,
        f"/messages/{short.id}",
        lambda: long_threads.extend(_threads(db, world, 1, messages_each=50)),
        path_for_50=None,
    )
    with counter:
        assert client.get(f"/messages/{long_threads[0].id}").status_code == 200
    resident_count = counter.count
    login.staff(world.coordinator)
    client.get(f"/staff/threads/{short.id}")
    with counter:
        client.get(f"/staff/threads/{short.id}")
    staff_short = counter.count
    client.get(f"/staff/threads/{long_threads[0].id}")  # the first visit also marks it seen
    with counter:
        client.get(f"/staff/threads/{long_threads[0].id}")
    assert resident_count <= LIMIT
    assert counter.count == staff_short, counter.statements


def _visits(db, world, n: int, first):
    from datetime import time, timedelta

    from app.clock import local_to_utc, utcnow
    from app.models import Appointment, AppointmentStatus

    for i in range(n):
        day = first + timedelta(days=i % 28)
        status = AppointmentStatus.ASSIGNED if i % 2 else AppointmentStatus.PLANNED
        a = Appointment(
            person_id=world.resident.id,
            service_id=world.nursing.id,
            unit_id=world.unit.id,
            status=status,
            window_start=local_to_utc(day, time(8 + i % 10)),
            window_end=local_to_utc(day, time(9 + i % 10)),
            description="Besøk",
            created_at=utcnow(),
        )
        if status is AppointmentStatus.ASSIGNED:
            a.employee_staff_id, a.start_at = world.employee.id, a.window_start
        db.add(a)
    db.flush()


@pytest.mark.parametrize("view", ["list", "week", "month"])
def test_appointment_views_need_the_same_statements_for_1_and_50(
    client, db, login, world, counter, view
):
    from datetime import date

    first = date(2027, 3, 1)
    path = f"/appointments?view={view}&date={first.isoformat()}"
    _visits(db, world, 1, first)
    login.resident(world.proxy, acting_for=world.resident)
    _same_for_1_and_50(client, counter, path, lambda: _visits(db, world, 49, first))


@pytest.mark.parametrize("path", ["/staff/planning?date=2027-03-01", "/staff/visits"])
def test_staff_visit_pages_need_the_same_statements_for_1_and_50(
    client, db, login, world, counter, path
):
    from datetime import date

    from app.clock import oslo_today

    first = date(2027, 3, 1) if "planning" in path else oslo_today()

    def grow():
        for i in range(49):
            person = factories.person(db, f"P{i}", "Visit")
            factories.receives(db, person, world.unit)
        _visits(db, world, 49, first)

    _visits(db, world, 1, first)
    login.staff(world.employee)
    _same_for_1_and_50(client, counter, path, grow)


def test_usage_log_needs_the_same_statements_for_1_and_50_entries(
    client, db, login, world, counter
):
    from app.models import UsageAction
    from app.services.audit import usage_log_add

    def add(n: int) -> None:
        for _ in range(n):
            usage_log_add(
                db,
                subject_person_id=world.resident.id,
                action=UsageAction.STAFF_VIEWED_THREAD,
                actor_staff_id=world.employee.id,
                actor_unit_id=world.unit.id,
            )
            usage_log_add(
                db,
                subject_person_id=world.resident.id,
                action=UsageAction.MESSAGE_SENT,
                actor_person_id=world.proxy.id,
            )

    add(1)
    login.resident(world.resident)
    _same_for_1_and_50(client, counter, "/profile/log", lambda: add(49))


def test_fullmakt_page_needs_the_same_statements_for_1_and_50(client, db, login, world, counter):
    def add(n: int) -> None:
        for i in range(n):
            factories.fullmakt(db, world.resident, factories.person(db, f"G{i}", "Grantee"))

    login.resident(world.resident)
    _same_for_1_and_50(client, counter, "/profile/fullmakter", lambda: add(49))


@pytest.mark.parametrize(
    ("who", "path"), [("leader", "/staff/fullmakter"), ("admin", "/admin/fullmakter")]
)
def test_fullmakter_to_approve_need_the_same_statements_for_1_and_50(
    client, db, login, world, counter, who, path
):
    from app.models import FullmaktKind, StaffRoleKind

    registrant = factories.staff(
        db, world.municipality, "admin-to", [(StaffRoleKind.MUNICIPAL_ADMIN, None)]
    )

    def add(n: int) -> None:
        for i in range(n):
            grantor = factories.person(db, f"G{i}", "Grantor", m=world.municipality)
            factories.receives(db, grantor, world.unit)
            factories.fullmakt(
                db,
                grantor,
                factories.person(db, f"V{i}", "Verge"),
                kind=FullmaktKind.ASSIGNED,
                registered_by=registrant,
                pending=True,
            )

    add(1)
    if who == "leader":
        login.staff(world.leader, unit_id=world.unit.id)
    else:
        login.staff(world.admin)
    _same_for_1_and_50(client, counter, path, lambda: add(49))


def test_avbestillinger_need_the_same_statements_for_1_and_50_with_their_visits(
    client, db, login, world, counter
):
    """Each card lists the visits it cancelled: still a fixed number."""
    from datetime import date, time, timedelta

    import sqlalchemy as sa

    from app.clock import local_to_utc, utcnow
    from app.models import Appointment, CancellationKind
    from app.services import appointments as service
    from tests.support import actor_for

    first = date(2027, 3, 1)
    _visits(db, world, 1, first)

    def cancel(n: int, days: int) -> None:
        resident = actor_for(db, world.resident)
        for i in range(n):
            start = first + timedelta(days=days * i)
            _visits(db, world, days, start)
            service.appointments_cancel(
                db,
                resident,
                appointment_id=db.scalars(sa.select(Appointment.id)).first(),
                kind=CancellationKind.PERIOD,
                period_start=local_to_utc(start, time(0)),
                period_end=local_to_utc(start + timedelta(days=days - 1), time(23)),
                service_ids=[world.nursing.id],
                note=None,
                submission_key=None,
                now=utcnow(),
            )

    cancel(1, 1)
    login.staff(world.coordinator)
    _same_for_1_and_50(client, counter, "/staff/cancellations", lambda: cancel(49, 3))


def test_staff_accounts_need_the_same_statements_for_1_and_50(client, db, login, world, counter):
    """Ansattkontoer lists each account's roles and units: still a fixed number."""
    from itertools import count

    from app.models import StaffRoleKind

    numbers = count()

    def add(n: int) -> None:
        for _ in range(n):
            factories.staff(
                db,
                world.municipality,
                f"tilkalling{next(numbers)}",
                [(StaffRoleKind.EMPLOYEE, world.unit), (StaffRoleKind.LEADER, world.other_unit)],
            )

    add(1)
    login.staff(world.admin)
    _same_for_1_and_50(client, counter, "/admin/staff", lambda: add(49))


def test_oversikt_needs_the_same_statements_for_1_and_50_threads_and_visits(
    client, db, login, world, counter
):
    """Oversikt's figures are aggregates: a fixed number of statements, whatever the data."""
    from datetime import time, timedelta

    from app.clock import local_to_utc, oslo_today, utcnow
    from app.models import Appointment, AppointmentStatus
    from app.services import messaging
    from tests.support import actor_for

    def grow(n: int) -> None:
        staff = actor_for(db, world.coordinator, unit_id=world.unit.id)
        for thread in _threads(db, world, n):
            messaging.thread_reply_staff(
                db, staff, thread=thread, body="Svar", submission_key=None, now=utcnow()
            )
        for i in range(n):
            done = local_to_utc(oslo_today() - timedelta(days=i % 20), time(1, i % 60))
            db.add(
                Appointment(
                    person_id=world.resident.id,
                    service_id=world.nursing.id,
                    unit_id=world.unit.id,
                    status=AppointmentStatus.COMPLETED,
                    window_start=done,
                    window_end=done,
                    description="Besøk",
                    created_at=done,
                    employee_staff_id=world.employee.id,
                    completed_at=done,
                    completed_by_staff_id=world.employee.id,
                )
            )
        db.flush()

    grow(1)
    login.staff(world.leader, unit_id=world.unit.id)
    _same_for_1_and_50(client, counter, "/staff/oversikt", lambda: grow(49))
