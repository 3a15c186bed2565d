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


def test_planning_shows_a_status_at_a_time_with_the_day_counted(client, db, login, world):
    day = oslo_today() + timedelta(days=2)
    planned = visit(db, world, day, status=AppointmentStatus.PLANNED)
    assigned = visit(db, world, day, start=time(12))
    login.staff(world.coordinator)
    every = client.get(f"/staff/planning?date={day.isoformat()}").get_data(as_text=True)
    assert "Alle (2)" in every and "Planlagt (1)" in every and "Tildelt (1)" in every
    assert "Utført (0)" in every and "Avlyst (0)" in every
    assert f'data-visit="{planned.id}"' in every and f'data-visit="{assigned.id}"' in every

    only = client.get(f"/staff/planning?date={day.isoformat()}&status=planned")
    html = only.get_data(as_text=True)
    assert f'data-visit="{planned.id}"' in html and f'data-visit="{assigned.id}"' not in html
    assert re.search(r'aria-current="page">Planlagt \(1\)', html)
    # After assigning, the planner is back on the same day and filter.
    answer = post(
        client,
        f"/staff/planning/visits/{planned.id}/assign",
        employee_id=world.employee.id,
        at="09:15",
        next=f"/staff/planning?date={day.isoformat()}&status=planned",
    )
    assert answer.headers["Location"].endswith(f"?date={day.isoformat()}&status=planned")
    empty = client.get(f"/staff/planning?date={day.isoformat()}&status=planned")
    assert "Ingen besøk med denne statusen denne dagen." in empty.get_data(as_text=True)
    # A status that is not one shows every visit.
    wrong = client.get(f"/staff/planning?date={day.isoformat()}&status=%3Cscript%3E")
    assert wrong.status_code == 200 and "Alle (2)" in wrong.get_data(as_text=True)


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


# --- Angre: a visit registered by mistake ------------------------------------


def _notified(db, world):
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


def test_a_registered_visit_offers_angre_also_after_a_reload(client, db, login, world):
    target = visit(db, world)
    login.staff(world.employee)
    answer = complete_json(client, target, "device-key-u1").get_json()
    assert answer["undo_until"] and answer["undo_label"].startswith("Du kan angre til kl. ")
    html = client.get("/staff/visits").get_data(as_text=True)  # a reload
    card = html.split(f'id="visit-{target.id}"')[1]
    form = re.search(r'<form[^>]*class="visit-undo"[^>]*>', card).group(0)
    assert f'action="/staff/visits/{target.id}/undo"' in form and "hidden" not in form
    assert "Angre" in card and "Du kan angre til kl." in card
    # A colleague's page offers nothing to undo: it was not theirs to register.
    login.staff(world.coordinator)
    target.employee_staff_id = world.coordinator.id
    db.flush()
    other = client.get("/staff/visits").get_data(as_text=True)
    assert "Utført kl." in other and f'/staff/visits/{target.id}/undo"' not in other


def test_angre_makes_the_visit_assigned_again_and_nothing_is_sent(client, db, login, world):
    _notified(db, world)
    target = visit(db, world)
    login.staff(world.employee)
    when = utcnow()
    complete_json(client, target, "device-key-u2", registered_at=when)
    (notice,) = db.scalars(sa.select(Notice)).all()
    # The notice waits for the window to pass (VISIT_UNDO_SECONDS, 2 minutes by default).
    assert notice.next_attempt_at >= utcnow() + timedelta(seconds=100)
    response = post(client, f"/staff/visits/{target.id}/undo")
    assert response.status_code == 303 and response.location == "/staff/visits"
    db.refresh(target)
    assert target.status is AppointmentStatus.ASSIGNED
    assert (target.completed_at, target.completed_by_staff_id, target.undo_until) == (None,) * 3
    assert db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    html = client.get("/staff/visits").get_data(as_text=True)
    assert "Angret: besøket er tildelt igjen, og ingenting ble sendt." in html
    assert "Registrer utført" in html
    # The resident's calendar shows it assigned again at once.
    login.resident(world.resident)
    detail = client.get(f"/appointments/{target.id}").get_data(as_text=True)
    assert "Tildelt" in detail and "Utført" not in detail
    # The device's queue replays the same registration: it stays undone, and says so.
    login.staff(world.employee)
    replay = complete_json(client, target, "device-key-u2", registered_at=when)
    assert replay.status_code == 200
    assert replay.get_json()["outcome"] == "undone"
    assert replay.get_json()["label"] == "Registreringen ble angret."
    db.refresh(target)
    assert target.status is AppointmentStatus.ASSIGNED


def test_angre_by_htmx_answers_with_the_card_and_a_message_to_focus(client, db, login, world):
    target = visit(db, world)
    login.staff(world.employee)
    complete_json(client, target, "device-key-u3")
    token = csrf_token(client, "/auth/logged-out")
    response = client.post(
        f"/staff/visits/{target.id}/undo",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<li class="visit-card" id="visit-{target.id}"')
    assert re.search(r'<p class="visit-message[^"]*" tabindex="-1">Angret: ', html)
    assert "Registrer utført" in html
    assert response.headers["Vary"] and "HX-Request" in response.headers["Vary"]
    again = client.post(
        f"/staff/visits/{target.id}/undo",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 422
    assert "ingenting å angre" in again.get_data(as_text=True)


def test_angre_after_the_window_is_refused_and_the_visit_stays_done(client, db, login, world):
    target = visit(db, world)
    login.staff(world.employee)
    complete_json(client, target, "device-key-u4")
    db.refresh(target)
    target.undo_until = utcnow() - timedelta(seconds=1)
    db.flush()
    assert "/undo" not in client.get("/staff/visits").get_data(as_text=True).split("visit-card")[1]
    response = post(client, f"/staff/visits/{target.id}/undo")
    assert response.status_code == 303
    assert "Tiden for å angre har gått ut" in client.get("/staff/visits").get_data(as_text=True)
    db.refresh(target)
    assert target.status is AppointmentStatus.COMPLETED


def test_the_undo_window_is_configurable_and_zero_means_no_undo(app, client, db, login, world):
    _notified(db, world)
    target = visit(db, world)
    login.staff(world.employee)
    app.config["VISIT_UNDO_SECONDS"] = 0
    try:
        answer = complete_json(client, target, "device-key-u5").get_json()
    finally:
        app.config["VISIT_UNDO_SECONDS"] = 120
    assert answer["undo_until"] is None
    (notice,) = db.scalars(sa.select(Notice)).all()
    assert notice.next_attempt_at <= utcnow()
    assert f"/staff/visits/{target.id}/undo" not in client.get("/staff/visits").get_data(
        as_text=True
    )


# --- Planlegging: pickers start empty; the reason can be shown to the resident ----------


def test_the_employee_picker_starts_on_its_prompt_and_refuses_it(client, db, login, world):
    day = oslo_today() + timedelta(days=2)
    target = visit(db, world, day, status=AppointmentStatus.PLANNED)
    login.staff(world.coordinator)
    html = client.get(f"/staff/planning?date={day.isoformat()}").get_data(as_text=True)
    select = re.search(rf'<select id="employee-{target.id}"[^>]*>(.*?)</select>', html, re.S)
    options = re.findall(r"<option ([^>]*)>([^<]*)</option>", select.group(1))
    assert options[0] == ('value="" ', "Velg ansatt")
    assert not any("selected" in attrs for attrs, _ in options)
    response = post(
        client, f"/staff/planning/visits/{target.id}/assign", employee_id="", at="09:00"
    )
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "Velg en ansatt." in page
    db.refresh(target)
    assert target.status is AppointmentStatus.PLANNED and target.employee_staff_id is None


def test_the_cancel_reason_is_shown_to_the_resident_only_when_chosen(client, db, login, world):
    day = oslo_today() + timedelta(days=2)
    kept = visit(db, world, day, status=AppointmentStatus.PLANNED)
    shared = visit(db, world, day, status=AppointmentStatus.PLANNED, start=time(12))
    login.staff(world.coordinator)
    html = client.get(f"/staff/planning?date={day.isoformat()}").get_data(as_text=True)
    checkbox = re.search(rf'<input id="share-{kept.id}"[^>]*>', html).group(0)
    assert 'type="checkbox"' in checkbox and "checked" not in checkbox
    assert "Vis årsaken til innbyggeren" in html
    post(client, f"/staff/planning/visits/{kept.id}/cancel", reason="Personalmangel, Ola syk")
    post(
        client,
        f"/staff/planning/visits/{shared.id}/cancel",
        reason="Veien er stengt",
        share_reason="y",
    )
    db.refresh(kept)
    db.refresh(shared)
    assert (kept.cancel_reason_shared, shared.cancel_reason_shared) == (False, True)
    login.resident(world.resident)
    when = weekday_date(utcnow())
    for path in (f"/appointments?view=list&date={day.isoformat()}", f"/appointments/{kept.id}"):
        page = client.get(path).get_data(as_text=True)
        assert f"Avlyst av tjenesten {when}" in page
        assert "Personalmangel" not in page
    shown = client.get(f"/appointments/{shared.id}").get_data(as_text=True)
    assert f"Avlyst av tjenesten {when}" in shown and "Årsak: Veien er stengt" in shown
    listed = client.get(f"/appointments?view=list&date={day.isoformat()}").get_data(as_text=True)
    assert "Årsak: Veien er stengt" in listed


def test_avbestillinger_cards_list_the_visits_they_cancelled(client, db, login, world):
    first = oslo_today() + timedelta(days=3)
    for n in range(3):
        visit(db, world, first + timedelta(days=n), status=AppointmentStatus.PLANNED)
    cancellation = service.appointments_cancel(
        db,
        actor_for(db, world.resident),
        appointment_id=db.scalars(sa.select(Appointment.id)).first(),
        kind=CancellationKind.PERIOD,
        period_start=local_to_utc(first, time(0)),
        period_end=local_to_utc(first + timedelta(days=2), time(23)),
        service_ids=[world.nursing.id],
        note=None,
        submission_key=None,
        now=utcnow(),
    )
    login.staff(world.coordinator)
    html = client.get("/staff/cancellations").get_data(as_text=True)
    card = html.split('class="cancellation-card')[1]
    assert "3 besøk avbestilt" in card
    for n in range(3):
        day = weekday_date(first + timedelta(days=n))
        assert f"<li>{day} 08:00–10:00 · Hjemmesykepleie</li>" in card
    assert cancellation.id
