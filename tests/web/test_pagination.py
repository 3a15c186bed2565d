"""Every paginated list, followed to its last page (docs/quality.md R6).

Each list gets more items than fit on a page, with ties in its sort keys, and is read the
way a person reads it: the first page, then "Vis flere" (an htmx request for the next
fragment) until there is none. Every item must appear exactly once, in the list's order,
and the last page must offer no "Vis flere".
"""

from __future__ import annotations

import base64
import json
import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from app.clock import local_to_utc, oslo_today, utcnow
from app.models import (
    Appointment,
    AppointmentStatus,
    Cancellation,
    CancellationAcknowledgement,
    CancellationKind,
    PassOnMethod,
    Thread,
    UsageAction,
    UsageLogEntry,
)
from app.selectors import paging
from app.selectors.appointments import CANCELLATION_PAGE, LIST_PAGE, PLANNING_PAGE
from app.selectors.audit import LOG_PAGE
from app.selectors.recipients import RECIPIENT_PAGE
from app.selectors.threads import INBOX_PAGE, QUEUE_PAGE, THREADS_PAGE
from app.services import messaging
from app.services.audit import usage_log_add
from tests import factories
from tests.support import actor_for

MORE = re.compile(r'<li class="more">\s*<a href="[^"]*"\s+hx-get="([^"]+)"')


def follow(client, first: str, item: re.Pattern[str]) -> list[str]:
    """The items of every page, from `first` until a page offers no more."""
    html = client.get(first).get_data(as_text=True)
    pages = [item.findall(html)]
    while (more := MORE.search(html)) is not None:
        assert len(pages) < 50, "the pages never end"
        response = client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
        assert response.status_code == 200, more.group(1)
        html = response.get_data(as_text=True)
        pages.append(item.findall(html))
    assert "Vis flere" not in html and "Vis eldre" not in html
    assert len(pages) > 1, "the list fits on one page: the test needs more items"
    return [found for page in pages for found in page]


def threads_for(db, world, count: int, *, when=None) -> list[Thread]:
    now = when or utcnow()
    return [
        messaging.thread_start(
            db,
            actor_for(db, world.resident),
            service_id=world.nursing.id,
            subject=f"Tråd {i}",
            body="Hei",
            submission_key=None,
            # Pairs share a time: the id must break the tie.
            now=now - timedelta(minutes=i // 2),
        )
        for i in range(count)
    ]


def test_the_staff_queue_pages_to_its_end(client, db, login, world):
    """Urgent first, then new, then by deadline: "Vis flere" used to fail on the booleans."""
    made = threads_for(db, world, 2 * QUEUE_PAGE + 7)
    for i, thread in enumerate(made):
        thread.urgent = i % 5 == 0
        thread.unread_by_staff = i % 3 != 0
        thread.reply_deadline = thread.reply_deadline + timedelta(hours=i % 4)
    db.flush()
    login.staff(world.coordinator)
    seen = follow(client, "/staff/", re.compile(r'href="/staff/threads/(\d+)"'))
    expected = sorted(
        made, key=lambda t: (not t.urgent, not t.unread_by_staff, t.reply_deadline, t.id)
    )
    assert [int(i) for i in seen] == [t.id for t in expected]


def test_alle_trader_pages_to_its_end_keeping_its_filters(client, db, login, world):
    made = threads_for(db, world, 2 * THREADS_PAGE + 7)
    passed_at = utcnow()
    relayed = made[: 2 * THREADS_PAGE + 3]
    for thread in relayed:  # passed on at the same moment: only the id orders them
        messaging.thread_pass_on(
            db,
            actor_for(db, world.coordinator),
            thread=thread,
            method=PassOnMethod.PLO,
            recipient="Fastlegen",
            relayed=True,
            body="Vi har spurt fastlegen.",
            submission_key=None,
            now=passed_at,
        )
    login.staff(world.coordinator)
    item = re.compile(r'href="/staff/threads/(\d+)"')
    seen = follow(client, "/staff/threads", item)
    expected = sorted(made, key=lambda t: (t.last_activity_at, t.id), reverse=True)
    assert [int(i) for i in seen] == [t.id for t in expected]
    seen = follow(client, f"/staff/threads?status=relay&person={world.resident.id}&q=Tr", item)
    assert [int(i) for i in seen] == sorted((t.id for t in relayed), reverse=True)


def test_the_inbox_pages_to_its_end(client, db, login, world):
    made = threads_for(db, world, 2 * INBOX_PAGE + 3)
    login.resident(world.resident)
    seen = follow(client, "/messages", re.compile(r'href="/messages/(\d+)"'))
    expected = sorted(made, key=lambda t: (t.last_activity_at, t.id), reverse=True)
    assert [int(i) for i in seen] == [t.id for t in expected]


def test_the_appointment_list_pages_to_its_end(client, db, login, world):
    start = oslo_today() + timedelta(days=1)
    made = []
    for i in range(2 * LIST_PAGE + 5):
        day = start + timedelta(days=i // 3)  # three visits a day, two at the same time
        at = time(8) if i % 3 < 2 else time(12)
        appointment = Appointment(
            person_id=world.resident.id,
            service_id=world.nursing.id,
            unit_id=world.unit.id,
            status=AppointmentStatus.PLANNED,
            window_start=local_to_utc(day, at),
            window_end=local_to_utc(day, time(at.hour + 1)),
            description=f"Besøk {i}",
            created_at=utcnow(),
        )
        db.add(appointment)
        made.append(appointment)
    db.flush()
    login.resident(world.resident)
    seen = follow(
        client,
        f"/appointments?view=list&date={start.isoformat()}",
        re.compile(r'href="/appointments/(\d+)"'),
    )
    expected = sorted(made, key=lambda a: (a.window_start, a.id))
    assert [int(i) for i in seen] == [a.id for a in expected]


def test_planning_pages_through_a_large_day_keeping_its_status(client, db, login, world):
    """A unit's day at scale: by planned time, then name, then id, across the pages."""
    day = oslo_today() + timedelta(days=1)
    people = [factories.person(db, "Beboer", family) for family in ("Aas", "Berg", "Aas")]
    for resident in people:
        factories.receives(db, resident, world.unit)
    made = []
    for i in range(2 * PLANNING_PAGE + 5):
        assigned = i % 4 == 0  # an assigned visit is placed at its own time in the window
        appointment = Appointment(
            person_id=people[i % 3].id,
            service_id=world.nursing.id,
            unit_id=world.unit.id,
            status=AppointmentStatus.ASSIGNED if assigned else AppointmentStatus.PLANNED,
            employee_staff_id=world.employee.id if assigned else None,
            window_start=local_to_utc(day, time(8 + i % 3)),
            window_end=local_to_utc(day, time(12)),
            start_at=local_to_utc(day, time(9)) if assigned else None,
            description=f"Besøk {i}",
            created_at=utcnow(),
        )
        db.add(appointment)
        made.append(appointment)
    db.flush()
    login.staff(world.coordinator)
    item = re.compile(r'<li class="visit-card" data-visit="(\d+)"')

    def order(a: Appointment):
        return (a.start_at or a.window_start, a.person.family_name, a.id)

    seen = follow(client, f"/staff/planning?date={day.isoformat()}", item)
    assert [int(i) for i in seen] == [a.id for a in sorted(made, key=order)]
    planned = [a for a in made if a.status is AppointmentStatus.PLANNED]
    seen = follow(client, f"/staff/planning?date={day.isoformat()}&status=planned", item)
    assert [int(i) for i in seen] == [a.id for a in sorted(planned, key=order)]


def test_the_usage_log_pages_to_its_end(client, db, login, world):
    base = utcnow() - timedelta(days=3)
    made = [
        usage_log_add(
            db,
            subject_person_id=world.resident.id,
            action=UsageAction.LOGGED_IN,
            actor_person_id=world.resident.id,
            object_id=i,
            at=base + timedelta(minutes=i // 2),
        )
        for i in range(2 * LOG_PAGE + 9)
    ]
    login.resident(world.resident)
    before = set(db.scalars(sa.select(UsageLogEntry.id)))
    times = follow(client, "/profile/log", re.compile(r'<time datetime="([^"]+)"'))
    assert len(times) == len(made)
    assert times == sorted(times, reverse=True)
    assert set(db.scalars(sa.select(UsageLogEntry.id))) == before  # reading logs nothing


def test_the_cancellations_page_to_their_end(client, db, login, world):
    now = utcnow()
    made = []
    for i in range(2 * CANCELLATION_PAGE + 4):
        day = oslo_today() + timedelta(days=10 + i)
        appointment = Appointment(
            person_id=world.resident.id,
            service_id=world.nursing.id,
            unit_id=world.unit.id,
            status=AppointmentStatus.CANCELLED,
            window_start=local_to_utc(day, time(8)),
            window_end=local_to_utc(day, time(9)),
            description="Besøk",
            cancelled_at=now,
            cancelled_by_person_id=world.resident.id,
            created_at=now,
        )
        cancellation = Cancellation(
            person_id=world.resident.id,
            made_by_person_id=world.resident.id,
            kind=CancellationKind.SINGLE,
            period_start=appointment.window_start,
            period_end=appointment.window_start,
            created_at=now - timedelta(minutes=i // 2),
        )
        db.add_all([appointment, cancellation])
        db.flush()
        appointment.cancellation_id = cancellation.id
        db.add(
            CancellationAcknowledgement(
                cancellation_id=cancellation.id,
                unit_id=world.unit.id,
                created_at=cancellation.created_at,
            )
        )
        made.append(cancellation)
    db.flush()
    login.staff(world.coordinator)
    seen = follow(
        client,
        "/staff/cancellations",
        re.compile(r'action="/staff/cancellations/(\d+)/acknowledge"'),
    )
    expected = sorted(made, key=lambda c: (c.created_at, c.id), reverse=True)
    assert [int(i) for i in seen] == [c.id for c in expected]


def _cursor(values: str) -> str:
    return base64.urlsafe_b64encode(values.encode()).decode().rstrip("=")


HOSTILE_CURSORS = [
    "Infinity",
    "not-a-cursor",
    _cursor("Infinity"),
    _cursor('["2026-01-01T00:00:00+00:00", Infinity]'),
    _cursor('["2026-01-01T00:00:00+00:00", -Infinity]'),
    _cursor('["2026-01-01T00:00:00+00:00", NaN]'),
    _cursor('["2026-01-01T00:00:00+00:00", 1e400]'),
    _cursor('["2026-01-01T00:00:00+00:00", 2147483648]'),
    _cursor('["2026-01-01T00:00:00+00:00", 9223372036854775808]'),
    _cursor('["2026-01-01T00:00:00+00:00", true]'),
    _cursor('["9999-12-31T23:59:59-14:00", 1]'),
    _cursor('["0001-01-01T00:00:00+14:00", 1]'),
    _cursor('[true, false, "0001-01-01T00:00:00+14:00", 1]'),
    _cursor('[true, 1, "2026-01-01T00:00:00+00:00", 1]'),
    _cursor('[true, false, "2026-01-01T00:00:00+00:00", 99999999999999999999]'),
]


@pytest.mark.parametrize("cursor", HOSTILE_CURSORS)
def test_a_forged_cursor_gives_the_first_page(client, db, login, world, cursor):
    threads_for(db, world, 2)
    login.resident(world.resident)
    for path in ("/messages", "/appointments?view=list", "/profile/log"):
        joiner = "&" if "?" in path else "?"
        assert client.get(f"{path}{joiner}after={cursor}").status_code == 200, path
    login.staff(world.coordinator)
    for path in ("/staff/", "/staff/cancellations", "/staff/threads", "/staff/planning"):
        assert client.get(f"{path}?after={cursor}").status_code == 200, path


def test_cursors_hold_only_what_the_database_can_compare():
    decode = paging.decode
    assert decode(_cursor('["2026-01-01T00:00:00+00:00", 7]'), (paging.datetime, int)) is not None
    assert decode(_cursor('["2026-01-01T00:00:00+00:00", 1e400]'), (paging.datetime, int)) is None
    assert decode(_cursor(json.dumps([True, 1])), (bool, int)) is not None
    assert decode(_cursor(json.dumps([1, 1])), (bool, int)) is None


def test_a_name_in_a_cursor_is_a_short_string():
    decode = paging.decode
    assert decode(_cursor(json.dumps(["Siri Berg", 7])), (str, int)) == ("Siri Berg", 7)
    assert decode(_cursor(json.dumps([7, 7])), (str, int)) is None
    assert decode(_cursor(json.dumps(["x" * 201, 7])), (str, int)) is None
    assert decode(_cursor('["Siri\\u0000", 7]'), (str, int)) is None
    assert decode(_cursor('["\\ud800", 7]'), (str, int)) is None


@pytest.mark.parametrize(
    "cursor", [*HOSTILE_CURSORS, _cursor('["\\u0000", 1]'), _cursor('["\\ud800", 1]')]
)
def test_a_forged_cursor_gives_the_first_staff_accounts_page(client, db, login, world, cursor):
    login.staff(world.admin)
    page = client.get(f"/admin/staff?after={cursor}")
    assert page.status_code == 200 and world.coordinator.full_name in page.get_data(as_text=True)


def test_the_recipients_list_pages_to_its_end_keeping_its_search(client, db, login, world):
    """By family name, given name and id: many share both names, so the id breaks ties."""
    for i in range(2 * RECIPIENT_PAGE + 3):
        person = factories.person(db, f"Siri{i % 2}", f"Samme{i % 3}")
        factories.receives(db, person, world.other_unit, since=oslo_today())
    factories.receives(db, factories.person(db, "Annen", "Person"), world.other_unit)
    login.staff(world.admin)
    row = re.compile(r'<li class="row">\s*<span>([^<]+) <span')
    names = follow(client, f"/admin/recipients?service={world.other_unit.service_id}&q=samme", row)
    assert len(names) == 2 * RECIPIENT_PAGE + 3
    assert names == sorted(names, key=lambda n: (n.split()[1], n.split()[0]))
    assert "Annen Person" not in names
