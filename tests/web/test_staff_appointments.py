"""Planning, Avbestillinger and Mine besøk i dag on the staff side."""

from __future__ import annotations

import json
import re
from datetime import time, timedelta

import sqlalchemy as sa

from app.clock import local_to_utc, oslo_today, utcnow
from app.models import (
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    CancellationKind,
    Notice,
    UsageAction,
    UsageLogEntry,
)
from app.services import appointments as service
from app.web.filters import weekday_date
from tests.support import actor_for, csrf_token


def visit(db, world, day=None, status=AppointmentStatus.ASSIGNED, start=time(8)):
    day = day or oslo_today()
    a = Appointment(
        person_id=world.resident.id,
        service_id=world.nursing.id,
        unit_id=world.unit.id,
        status=status,
        window_start=local_to_utc(day, start),
        window_end=local_to_utc(day, time(start.hour + 2)),
        description="Morgenstell",
        created_at=utcnow(),
    )
    if status is AppointmentStatus.ASSIGNED:
        a.employee_staff_id, a.start_at = world.employee.id, local_to_utc(day, time(8, 30))
    db.add(a)
    db.flush()
    return a


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/auth/logged-out"), **data})


def complete_json(client, appointment, key, registered_at=None, token=None):
    token = token or csrf_token(client, "/auth/logged-out")
    return client.post(
        f"/staff/visits/{appointment.id}/complete",
        data=json.dumps({"registered_at": (registered_at or utcnow()).isoformat()}),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": key,
            "X-CSRFToken": token,
        },
    )


def test_my_visits_today_lists_assigned_visits_in_order_with_address(client, db, login, world):
    world.resident.street_address, world.resident.postal_code = "Storgata 1", "9990"
    visit(db, world, start=time(10))
    visit(db, world, oslo_today() + timedelta(days=1))  # tomorrow: not today
    login.staff(world.employee)
    html = client.get("/staff/visits").get_data(as_text=True)
    assert "Rita Resident" in html and "Storgata 1" in html
    assert html.count('class="visit-card"') == 1
    assert "Registrer utført" in html
    logged = db.scalars(
        sa.select(UsageLogEntry.action).where(UsageLogEntry.subject_person_id == world.resident.id)
    ).all()
    assert UsageAction.STAFF_VIEWED_APPOINTMENTS in logged


def test_register_as_done_from_the_page(client, db, login, world):
    target = visit(db, world)
    login.staff(world.employee)
    html = client.get("/staff/visits").get_data(as_text=True)
    key = html.split('name="idempotency_key" type="hidden" value="')[1].split('"')[0]
    response = post(client, f"/staff/visits/{target.id}/complete", idempotency_key=key)
    assert response.status_code == 303
    again = post(client, f"/staff/visits/{target.id}/complete", idempotency_key=key)
    assert again.status_code == 303
    db.refresh(target)
    assert target.status is AppointmentStatus.COMPLETED
    assert "Utført kl." in client.get("/staff/visits").get_data(as_text=True)


def test_the_api_is_idempotent_and_refuses_a_changed_body(client, db, login, world):
    target = visit(db, world)
    login.staff(world.employee)
    when = utcnow() - timedelta(minutes=3)
    answers = [complete_json(client, target, "device-key-1", when) for _ in range(3)]
    assert {r.status_code for r in answers} == {200}
    assert {r.get_json()["outcome"] for r in answers} == {"completed"}
    changed = complete_json(client, target, "device-key-1", when - timedelta(minutes=1))
    assert changed.status_code == 422
    assert changed.get_json()["error"] == "idempotency_conflict"
    assert (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(Appointment)
            .where(Appointment.status == AppointmentStatus.COMPLETED)
        )
        == 1
    )


def test_the_api_needs_a_key_a_time_and_a_csrf_token(client, db, login, world):
    target = visit(db, world)
    login.staff(world.employee)
    token = csrf_token(client, "/auth/logged-out")
    no_key = client.post(
        f"/staff/visits/{target.id}/complete",
        json={"registered_at": "x"},
        headers={"X-CSRFToken": token},
    )
    assert no_key.status_code == 400
    no_token = client.post(
        f"/staff/visits/{target.id}/complete",
        json={"registered_at": utcnow().isoformat()},
        headers={"Idempotency-Key": "device-key-2"},
    )
    assert no_token.status_code == 400


def test_other_units_cannot_register_or_see_the_visit(client, db, login, world):
    target = visit(db, world)
    for outsider in (world.other_unit_staff, world.foreign_staff):
        login.staff(outsider)
        assert complete_json(client, target, f"outsider-{outsider.id}").status_code == 404
        assert "Rita Resident" not in client.get("/staff/visits").get_data(as_text=True)
        assert "Rita Resident" not in client.get("/staff/planning").get_data(as_text=True)
    db.refresh(target)
    assert target.status is AppointmentStatus.ASSIGNED


def test_planning_assigns_and_cancels(client, db, login, world):
    day = oslo_today() + timedelta(days=2)
    target = visit(db, world, day, status=AppointmentStatus.PLANNED)
    other = visit(db, world, day, status=AppointmentStatus.PLANNED, start=time(12))
    login.staff(world.coordinator)
    html = client.get(f"/staff/planning?date={day.isoformat()}").get_data(as_text=True)
    assert "Rita Resident" in html and "Planlagt" in html
    response = post(
        client,
        f"/staff/planning/visits/{target.id}/assign",
        employee_id=world.employee.id,
        at="09:15",
    )
    assert response.status_code == 303
    db.refresh(target)
    assert target.status is AppointmentStatus.ASSIGNED
    post(client, f"/staff/planning/visits/{other.id}/cancel", reason="Stengt pga. vær")
    db.refresh(other)
    assert other.status is AppointmentStatus.CANCELLED and other.cancel_reason


def test_a_series_from_the_recipient_page(client, db, login, world):
    login.staff(world.coordinator)
    page = client.get(f"/staff/recipients/{world.resident.id}").get_data(as_text=True)
    assert "Nye faste besøk" in page
    response = post(
        client,
        f"/staff/recipients/{world.resident.id}/series/new",
        weekdays=["MO", "FR"],
        interval="1",
        starts_on=oslo_today().isoformat(),
        window_start="09:00",
        window_end="10:00",
        description="Tilsyn",
    )
    assert response.status_code == 303
    series = db.scalars(sa.select(AppointmentSeries)).one()
    assert series.rrule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,FR"
    page = client.get(f"/staff/recipients/{world.resident.id}").get_data(as_text=True)
    assert "Tilsyn" in page and "mandag, fredag" in page
    edit = client.get(f"/staff/series/{series.id}").get_data(as_text=True)
    assert 'value="MO" checked' in edit
    assert 'name="starts_on"' not in edit  # the period is not changed here
    # Saved with the fields the change page has: the pattern, the window, the text.
    changed = post(
        client,
        f"/staff/series/{series.id}",
        weekdays=["TU"],
        interval="2",
        window_start="08:00",
        window_end="09:00",
        description="Tilsyn og medisiner",
    )
    assert changed.status_code == 303
    db.refresh(series)
    assert series.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
    assert series.description == "Tilsyn og medisiner"
    ended = post(client, f"/staff/series/{series.id}/end", ends_on=oslo_today().isoformat())
    assert ended.status_code == 303
    after = client.get(ended.headers["Location"]).get_data(as_text=True)
    assert f"Serien slutter {weekday_date(oslo_today())}." in after  # a date as people write it


def test_the_recipient_page_is_titled_by_the_name_under_tjenestemottakere(client, login, world):
    login.staff(world.coordinator)
    page = client.get(f"/staff/recipients/{world.resident.id}").get_data(as_text=True)
    assert re.search(r"<title>\s*Rita Resident\b[^<]*</title>", page)
    assert re.search(r'href="/staff/recipients"\s+aria-current="page"', page)
    assert page.count("Nye faste besøk") == 1


def test_series_form_errors_are_explained(client, db, login, world):
    login.staff(world.coordinator)
    response = post(
        client,
        f"/staff/recipients/{world.resident.id}/series/new",
        interval="1",
        starts_on=oslo_today().isoformat(),
        window_start="10:00",
        window_end="09:00",
        description="",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Velg minst én ukedag" in html


def test_the_avbestillinger_queue_and_acknowledging(client, db, login, world):
    target = visit(db, world, oslo_today() + timedelta(days=3), status=AppointmentStatus.PLANNED)
    cancellation = service.appointments_cancel(
        db,
        actor_for(db, world.proxy, acting_for=world.resident),
        appointment_id=target.id,
        kind=CancellationKind.SINGLE,
        period_start=None,
        period_end=None,
        service_ids=[],
        note="Hun er på ferie",
        submission_key=None,
        now=utcnow(),
    )
    login.staff(world.coordinator)
    html = client.get("/staff/cancellations").get_data(as_text=True)
    assert "Rita Resident" in html and "Hun er på ferie" in html
    assert "Avbestilt av Per Proxy på vegne av Rita Resident" in html
    assert "Kvitter ut" in html
    response = post(client, f"/staff/cancellations/{cancellation.id}/acknowledge")
    assert response.status_code == 303
    assert "Kvittert ut" in client.get("/staff/cancellations").get_data(as_text=True)
    login.staff(world.other_unit_staff)
    assert "Rita Resident" not in client.get("/staff/cancellations").get_data(as_text=True)
    assert post(client, f"/staff/cancellations/{cancellation.id}/acknowledge").status_code == 404


def test_completed_visit_notices_go_to_the_outbox_with_the_registration(client, db, login, world):
    from app.models import ContactSettings, NoticeLevel

    db.add(
        ContactSettings(
            person_id=world.proxy.id,
            email="p@t.example",
            level=NoticeLevel.ALL,
            same_for_represented=True,
            updated_at=utcnow(),
        )
    )
    db.flush()
    target = visit(db, world)
    login.staff(world.employee)
    complete_json(client, target, "device-key-3")
    complete_json(client, target, "device-key-4")  # a second device: no second notice
    assert [n.recipient_person_id for n in db.scalars(sa.select(Notice))] == [world.proxy.id]
