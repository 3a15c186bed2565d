"""Meldinger on the resident side: inbox, Skriv melding, thread, reply in place."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.clock import utcnow
from app.models import Message, Thread
from app.services import messaging
from tests import factories
from tests.support import actor_for, csrf_token


def compose(client, **data):
    token = csrf_token(client, "/messages/new")
    return client.post("/messages/new", data={"csrf_token": token, **data})


def write(db, world, actor=None, subject="Medisiner", body="Trenger ny pakke"):
    return messaging.thread_start(
        db,
        actor or actor_for(db, world.resident),
        service_id=world.nursing.id,
        subject=subject,
        body=body,
        submission_key=None,
        now=utcnow(),
    )


def thread_count(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(Thread))


def test_compose_offers_only_services_received_and_open(client, db, login, world):
    factories.receives(db, world.resident, world.closed_unit)
    login.resident(world.resident)
    html = client.get("/messages/new").get_data(as_text=True)
    assert "Hjemmesykepleie" in html
    assert f'value="{world.closed_service.id}"' not in html  # not offered
    closed = html.split('id="closed-services"')[1]  # named, and why, with its phone number
    assert "Fysioterapi" in closed and "ikke åpne for digitale meldinger" in closed
    assert "Maks" in html or "Høyst" in html  # limits are stated on the form


def test_a_forged_post_naming_a_closed_service_is_refused(client, db, login, world):
    factories.receives(db, world.resident, world.closed_unit)
    login.resident(world.resident)
    response = compose(
        client, service_id=world.closed_service.id, subject="Hei", body="Tekst", submission_key="f1"
    )
    assert response.status_code == 422
    assert thread_count(db) == 0


def test_sending_tells_when_to_expect_a_reply(client, db, login, world):
    login.resident(world.resident)
    response = compose(
        client, service_id=world.nursing.id, subject="Hei", body="Tekst", submission_key="s1"
    )
    assert response.status_code == 303
    thread = db.scalars(sa.select(Thread)).one()
    assert response.location == f"/messages/{thread.id}"
    page = client.get(response.location).get_data(as_text=True)
    assert re.search(r"Svar forventet innen (mandag|tirsdag|onsdag|torsdag|fredag) \d+\. \w+", page)
    assert "Meldingen er sendt" in page


def test_the_same_form_twice_gives_one_message(client, db, login, world):
    login.resident(world.resident)
    for _ in range(2):
        response = compose(
            client, service_id=world.nursing.id, subject="Hei", body="Tekst", submission_key="d1"
        )
        assert response.status_code == 303
    assert thread_count(db) == 1


def test_missing_fields_are_explained(client, db, login, world):
    login.resident(world.resident)
    response = compose(client, service_id=world.nursing.id, subject="", body="", submission_key="e")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Skriv et emne" in html and "Skriv en melding" in html


def test_nobody_to_write_to_is_explained(client, db, login, world):
    login.resident(world.proxy)  # receives nothing
    html = client.get("/messages/new").get_data(as_text=True)
    assert "kan ikke skrive her" in html
    assert "116 117" in html


def test_a_person_who_has_not_consented_cannot_write(client, db, login, world):
    nils = factories.person(db, "Nils", active=False)
    factories.receives(db, nils, world.unit)
    login.resident(nils)
    assert client.get("/messages/new").location == "/auth/consent"
    token = csrf_token(client, "/auth/consent")
    response = client.post(
        "/messages/new",
        data={"csrf_token": token, "service_id": world.nursing.id, "subject": "x", "body": "y"},
    )
    assert response.location == "/auth/consent"
    assert thread_count(db) == 0


def test_inbox_lists_threads_with_service_excerpt_and_unread_mark(client, db, login, world):
    thread = write(db, world)
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Vi tar med ny pakke i morgen.",
        submission_key=None,
        now=utcnow(),
    )
    login.resident(world.resident)
    html = client.get("/messages").get_data(as_text=True)
    assert "Hjemmesykepleie" in html and "Medisiner" in html
    assert "Vi tar med ny pakke i morgen." in html
    assert "Ulest" in html
    client.get(f"/messages/{thread.id}")
    assert "Ulest" not in client.get("/messages").get_data(as_text=True)


def test_thread_names_who_wrote_on_whose_behalf(client, db, login, world):
    proxy = actor_for(db, world.proxy, acting_for=world.resident)
    thread = write(db, world, actor=proxy)
    login.resident(world.resident)
    html = client.get(f"/messages/{thread.id}").get_data(as_text=True)
    assert "Skrevet av Per Proxy på vegne av Rita Resident" in html


def test_interim_reply_is_marked_and_internal_notes_never_shown(client, db, login, world):
    thread = write(db, world)
    staff = actor_for(db, world.coordinator)
    messaging.thread_assign(
        db, staff, thread=thread, assignee_id=world.employee.id, note="HEMMELIG NOTAT", now=utcnow()
    )
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.employee),
        thread=thread,
        body="Vi undersøker saken.",
        submission_key=None,
        now=utcnow(),
        next_answer_at=utcnow() + timedelta(days=2),
    )
    login.resident(world.resident)
    html = client.get(f"/messages/{thread.id}").get_data(as_text=True)
    assert "Midlertidig svar" in html and "Neste svar kommer innen" in html
    assert f"{world.employee.full_name}, {world.unit.name}" in html
    assert "HEMMELIG NOTAT" not in html


def test_reply_in_place_with_htmx_returns_the_thread_body(client, db, login, world):
    thread = write(db, world)
    login.resident(world.resident)
    token = csrf_token(client, f"/messages/{thread.id}")
    response = client.post(
        f"/messages/{thread.id}/reply",
        data={"csrf_token": token, "body": "Et tillegg", "submission_key": "r1"},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="thread-body">') and "<html" not in html
    assert "Et tillegg" in html
    assert response.headers["Vary"] and "HX-Request" in response.headers["Vary"]


def test_reply_without_javascript_redirects_back_to_the_thread(client, db, login, world):
    thread = write(db, world)
    login.resident(world.resident)
    token = csrf_token(client, f"/messages/{thread.id}")
    response = client.post(
        f"/messages/{thread.id}/reply",
        data={"csrf_token": token, "body": "Et tillegg", "submission_key": "r2"},
    )
    assert response.status_code == 303 and response.location == f"/messages/{thread.id}"
    assert db.scalar(sa.select(sa.func.count()).select_from(Message)) == 2


def test_an_empty_reply_keeps_the_thread_and_explains(client, db, login, world):
    thread = write(db, world)
    login.resident(world.resident)
    token = csrf_token(client, f"/messages/{thread.id}")
    response = client.post(
        f"/messages/{thread.id}/reply",
        data={"csrf_token": token, "body": "  ", "submission_key": "r3"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Skriv en melding" in response.get_data(as_text=True)


def test_another_persons_thread_is_not_found(client, db, login, world):
    thread = write(db, world)
    stranger = factories.person(db, "Stranger")
    login.resident(stranger)
    assert client.get(f"/messages/{thread.id}").status_code == 404
    token = csrf_token(client, "/contacts")
    forged = client.post(
        f"/messages/{thread.id}/reply",
        data={"csrf_token": token, "body": "x", "submission_key": "z"},
    )
    assert forged.status_code == 404
    assert db.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


def test_a_proxy_reading_the_thread_is_logged_for_the_resident(client, db, login, world):
    from app.models import UsageAction, UsageLogEntry

    thread = write(db, world)
    login.resident(world.proxy, acting_for=world.resident)
    assert client.get(f"/messages/{thread.id}").status_code == 200
    actions = db.scalars(
        sa.select(UsageLogEntry.action).where(UsageLogEntry.actor_person_id == world.proxy.id)
    ).all()
    assert UsageAction.THREAD_READ in actions


def test_inbox_pages_by_keyset(client, db, login, world):
    for i in range(25):
        write(db, world, subject=f"Emne {i:02d}")
    login.resident(world.resident)
    first = client.get("/messages").get_data(as_text=True)
    subjects = re.findall(r"Emne \d\d", first)
    assert len(subjects) == 20
    more = re.search(r'href="(/messages\?after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(more, headers={"HX-Request": "true"}).get_data(as_text=True)
    rest = re.findall(r"Emne \d\d", second)
    assert len(rest) == 5 and not set(rest) & set(subjects)
    assert "<html" not in second


def test_a_broken_cursor_shows_the_first_page(client, db, login, world):
    write(db, world)
    login.resident(world.resident)
    assert client.get("/messages?after=not-a-cursor").status_code == 200


def test_contacts_offer_skriv_melding_for_open_services(client, db, login, world):
    factories.receives(db, world.resident, world.closed_unit)
    login.resident(world.resident)
    html = client.get("/contacts").get_data(as_text=True)
    assert f"/messages/new?service={world.nursing.id}" in html
    assert f"/messages/new?service={world.closed_service.id}" not in html
