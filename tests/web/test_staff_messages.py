"""The staff side of messaging: the queue, a thread, every action, by page and forged request."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import OSLO, utcnow
from app.models import (
    Message,
    Thread,
    ThreadEvent,
    ThreadEventKind,
    ThreadStatus,
    UsageAction,
    UsageLogEntry,
)
from app.services import messaging
from tests import factories
from tests.support import actor_for, csrf_token


def write(db, world, subject="Medisiner", person=None, when=None):
    return messaging.thread_start(
        db,
        actor_for(db, person or world.resident),
        service_id=world.nursing.id,
        subject=subject,
        body="Kan dere ta med ny pakke?",
        submission_key=None,
        now=when or utcnow(),
    )


def post(client, path, **data):
    token = csrf_token(client, "/auth/logged-out")
    return client.post(path, data={"csrf_token": token, **data})


def test_queue_shows_new_threads_with_marks(client, db, login, world):
    thread = write(db, world)
    login.staff(world.coordinator)
    html = client.get("/staff/").get_data(as_text=True)
    assert "Medisiner" in html and "Rita Resident" in html and "Hjemmesykepleie" in html
    assert ">Ny<" in html
    assert f"/staff/threads/{thread.id}" in html


def test_queue_marks_overdue_due_today_and_urgent(client, db, login, world):
    overdue = write(db, world, subject="Gammel", when=utcnow() - timedelta(days=10))
    today = write(db, world, subject="Idag")
    today.reply_deadline = utcnow() + timedelta(minutes=1)
    if today.reply_deadline.astimezone(OSLO).date() != utcnow().astimezone(OSLO).date():
        today.reply_deadline = utcnow()  # just before midnight: still today
    urgent = write(db, world, subject="Haster")
    urgent.urgent = True
    db.flush()
    login.staff(world.coordinator)
    html = client.get("/staff/").get_data(as_text=True)
    assert html.index("Haster") < html.index("Gammel")  # urgent first
    assert "Over fristen" in html and "Frist i dag" in html
    assert overdue.reply_deadline < utcnow()


def test_queue_says_when_a_thread_continues_an_earlier_one(client, db, login, world):
    old = write(db, world, subject="Første")
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.employee),
        thread=old,
        body="Svar",
        submission_key=None,
        now=utcnow(),
    )
    messaging.thread_close(db, actor_for(db, world.employee), thread=old, now=utcnow())
    messaging.thread_start(
        db,
        actor_for(db, world.resident),
        service_id=world.nursing.id,
        subject="Andre",
        body="Mer",
        submission_key=None,
        now=utcnow(),
        continues_thread_id=old.id,
    )
    login.staff(world.coordinator)
    html = client.get("/staff/").get_data(as_text=True)
    assert re.search(r"Fortsetter en tidligere tråd med [^<]*Rita Resident", html)
    assert world.employee.full_name in html


def test_answered_and_closed_threads_leave_the_queue(client, db, login, world):
    thread = write(db, world)
    login.staff(world.coordinator)
    post(client, f"/staff/threads/{thread.id}/reply", body="Svar", submission_key="k")
    assert "Medisiner" not in client.get("/staff/").get_data(as_text=True)


def test_opening_a_thread_is_logged_for_the_resident(client, db, login, world):
    thread = write(db, world)
    login.staff(world.employee)
    assert client.get(f"/staff/threads/{thread.id}").status_code == 200
    entry = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.action == UsageAction.STAFF_VIEWED_THREAD)
    ).one()
    assert (entry.subject_person_id, entry.actor_staff_id) == (world.resident.id, world.employee.id)


def test_staff_see_who_wrote_on_whose_behalf(client, db, login, world):
    thread = messaging.thread_start(
        db,
        actor_for(db, world.proxy, acting_for=world.resident),
        service_id=world.nursing.id,
        subject="Hei",
        body="Tekst",
        submission_key=None,
        now=utcnow(),
    )
    login.staff(world.coordinator)
    html = client.get(f"/staff/threads/{thread.id}").get_data(as_text=True)
    assert "sendt av Per Proxy på vegne av Rita Resident" in html


def test_the_whole_triage_by_web(client, db, login, world):
    thread = write(db, world)
    login.staff(world.coordinator)
    assert post(client, f"/staff/threads/{thread.id}/urgent", urgent="1").status_code == 303
    response = post(
        client,
        f"/staff/threads/{thread.id}/assign",
        assignee_id=world.employee.id,
        note="Du kjenner henne",
    )
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "Tildelt Ansatt" in page or world.employee.full_name in page
    assert "Du kjenner henne" in page  # staff see the internal note

    login.staff(world.employee)
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(OSLO)
    response = post(
        client,
        f"/staff/threads/{thread.id}/interim",
        body="Vi sjekker med legen.",
        next_date=tomorrow.strftime("%Y-%m-%d"),
        next_time="14:00",
        submission_key="i1",
    )
    assert response.status_code == 303
    db.refresh(thread)
    assert thread.status is ThreadStatus.INTERIM_REPLIED
    assert thread.reply_deadline.astimezone(OSLO).hour == 14
    assert (
        post(
            client, f"/staff/threads/{thread.id}/reply", body="Legen sier ja.", submission_key="f1"
        ).status_code
        == 303
    )
    first = db.scalars(sa.select(Message).where(Message.thread_id == thread.id)).first()
    assert post(client, f"/staff/messages/{first.id}/journal").status_code == 303
    note = client.get(f"/staff/messages/{first.id}/journal").get_data(as_text=True)
    assert "Journalnotat" in note and "Kan dere ta med ny pakke?" in note
    assert post(client, f"/staff/threads/{thread.id}/close", confirmed="yes").status_code == 303
    db.refresh(thread)
    assert thread.status is ThreadStatus.CLOSED
    kinds = db.scalars(sa.select(ThreadEvent.kind).where(ThreadEvent.thread_id == thread.id)).all()
    assert kinds == [
        ThreadEventKind.CREATED,
        ThreadEventKind.MARKED_URGENT,
        ThreadEventKind.ASSIGNED,
        ThreadEventKind.INTERIM_REPLY,
        ThreadEventKind.REPLIED,
        ThreadEventKind.JOURNALED,
        ThreadEventKind.CLOSED,
    ]


def test_an_interim_reply_in_the_past_is_explained(client, db, login, world):
    thread = write(db, world)
    login.staff(world.employee)
    yesterday = (utcnow() - timedelta(days=1)).astimezone(OSLO)
    response = post(
        client,
        f"/staff/threads/{thread.id}/interim",
        body="Vi sjekker.",
        next_date=yesterday.strftime("%Y-%m-%d"),
        next_time="10:00",
        submission_key="p1",
    )
    assert response.status_code == 422
    assert "må være fram i tid" in response.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


def test_interim_reply_needs_date_and_time(client, db, login, world):
    thread = write(db, world)
    login.staff(world.employee)
    response = post(client, f"/staff/threads/{thread.id}/interim", body="x", submission_key="p2")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Oppgi dato for neste svar" in html and "Oppgi klokkeslett for neste svar" in html


def test_forward_moves_the_thread_to_the_other_units_queue(client, db, login, world):
    thread = write(db, world)
    login.staff(world.coordinator)
    page = client.get(f"/staff/threads/{thread.id}/forward").get_data(as_text=True)
    assert "Praktisk bistand Testby" in page and "Fysioterapi Testby" not in page
    assert re.search(r'<details[^>]*id="action-forward" open>', page)  # the thread, Videresend open
    response = post(client, f"/staff/threads/{thread.id}/forward", unit_id=world.other_unit.id)
    assert response.status_code == 303 and response.location == "/staff/"
    assert client.get(f"/staff/threads/{thread.id}").status_code == 404
    login.staff(world.other_unit_staff)
    assert "Medisiner" in client.get("/staff/").get_data(as_text=True)


def test_pass_on_records_the_route_and_replies(client, db, login, world):
    thread = write(db, world)
    login.staff(world.coordinator)
    response = post(
        client,
        f"/staff/threads/{thread.id}/pass-on",
        method="plo",
        recipient="Fastlegen",
        relayed="no",
        body="Vi har sendt spørsmålet til fastlegen, som tar kontakt.",
        submission_key="po1",
    )
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "PLO-melding" in page and "Fastlegen" in page and "får svaret direkte" in page


@pytest.mark.parametrize("staff", ["other_unit_staff", "foreign_staff"])
def test_staff_outside_the_unit_get_nothing_by_page_or_forged_request(
    client, db, login, world, staff
):
    thread = write(db, world)
    message = db.scalars(sa.select(Message)).one()
    login.staff(getattr(world, staff))
    assert client.get(f"/staff/threads/{thread.id}").status_code == 404
    assert client.get(f"/staff/messages/{message.id}/journal").status_code == 404
    for action, data in [
        ("reply", {"body": "x", "submission_key": "a"}),
        ("urgent", {"urgent": "1"}),
        ("assign", {"assignee_id": world.employee.id}),
        ("forward", {"unit_id": world.other_unit.id}),
        ("pass-on", {"method": "plo", "recipient": "x", "relayed": "no", "body": "x"}),
        ("close", {"confirmed": "yes"}),
    ]:
        response = post(client, f"/staff/threads/{thread.id}/{action}", **data)
        assert response.status_code == 404, action
    assert post(client, f"/staff/messages/{message.id}/journal").status_code == 404
    db.refresh(thread)
    assert thread.status is ThreadStatus.AWAITING_SERVICE and not thread.urgent
    assert thread.unit_id == world.unit.id
    assert "Medisiner" not in client.get("/staff/").get_data(as_text=True)


def test_a_resident_cannot_use_staff_thread_urls(client, db, login, world):
    thread = write(db, world)
    login.resident(world.resident)
    assert client.get(f"/staff/threads/{thread.id}").status_code == 403
    assert post(client, f"/staff/threads/{thread.id}/close", confirmed="yes").status_code == 403


def test_new_message_to_a_recipient(client, db, login, world):
    login.staff(world.coordinator)
    page = client.get("/staff/messages/new").get_data(as_text=True)
    assert "Rita Resident" in page
    response = post(
        client,
        "/staff/messages/new",
        person_id=world.resident.id,
        subject="Ny tid",
        body="Vi kommer kl. 09 fra mandag.",
        submission_key="n1",
    )
    assert response.status_code == 303
    thread = db.scalars(sa.select(Thread)).one()
    assert thread.started_by_staff and thread.person_id == world.resident.id


def test_new_message_to_someone_outside_the_unit_is_refused(client, db, login, world):
    stranger = factories.person(db, "Stranger")
    login.staff(world.coordinator)
    response = post(
        client,
        "/staff/messages/new",
        person_id=stranger.id,
        subject="x",
        body="y",
        submission_key="n2",
    )
    assert response.status_code == 422
    assert db.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0


def test_welcome_message_in_one_action(client, db, login, world):
    second = factories.person(db, "Second", "Recipient")
    factories.receives(db, second, world.unit)
    login.staff(world.coordinator)
    page = client.get("/staff/welcome").get_data(as_text=True)
    assert "2 tjenestemottakere" in page and "Velkommen til digital dialog" in page
    response = post(client, "/staff/welcome", subject="Velkommen", body="Hei og velkommen")
    assert response.status_code == 303
    assert db.scalar(sa.select(sa.func.count()).select_from(Thread)) == 2
    again = client.get("/staff/welcome").get_data(as_text=True)
    assert "har fått velkomstmelding" in again


# --- the thread page on a phone: actions collapsed, closing confirms ----------


def test_the_thread_actions_are_collapsed_and_one_open_at_a_time(client, db, login, world):
    thread = write(db, world)
    login.staff(world.coordinator)
    html = client.get(f"/staff/threads/{thread.id}").get_data(as_text=True)
    actions = re.findall(
        r'<details class="action" name="thread-action" id="action-(\w+)"\s*>', html
    )
    assert actions == ["reply", "interim", "assign", "forward", "pass_on", "close"]
    # Journalfør and Journalnotat are full-size controls, not small text.
    journal = html.split('class="journal"')[1].split("</div>")[0]
    assert 'class="button button-secondary">Journalfør' in journal
    assert re.search(
        r'<a class="button button-secondary" href="[^"]+/journal">Journalnotat', journal
    )
    assert "button-small" not in journal


def test_the_colleague_picker_starts_empty_and_refuses_an_empty_choice(client, db, login, world):
    thread = write(db, world)
    login.staff(world.coordinator)
    html = client.get(f"/staff/threads/{thread.id}").get_data(as_text=True)
    select = re.search(r'<select id="assignee_id"[^>]*>(.*?)</select>', html, re.S).group(1)
    first = re.search(r"<option([^>]*)>([^<]*)</option>", select)
    assert first.group(2) == "Velg kollega" and 'value=""' in first.group(1)
    assert "selected" in first.group(1)  # the prompt, not the first colleague
    response = post(client, f"/staff/threads/{thread.id}/assign", assignee_id="", note="Hei")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Velg en kollega." in page
    assert re.search(r'<details[^>]*id="action-assign" open>', page)  # the refused one open
    assert not re.search(r'<details[^>]*id="action-reply" open>', page)
    assert re.search(r"id=\"assign-note\"[^>]*>\s*Hei</textarea>", page)  # nothing is lost
    db.refresh(thread)
    assert thread.assignee_staff_id is None


def test_closing_a_thread_asks_for_confirmation_first(client, db, login, world):
    thread = write(db, world)
    login.staff(world.coordinator)
    html = client.get(f"/staff/threads/{thread.id}").get_data(as_text=True)
    close = html.split('id="action-close"')[1].split("</details>")[0]
    assert "har fått vite utfallet" in close
    assert 'name="confirmed" value="yes"' in close and "Ja, avslutt tråden" in close
    # A close that was not confirmed (an old page, a forged request) asks instead.
    response = post(client, f"/staff/threads/{thread.id}/close")
    assert response.status_code == 200
    assert re.search(r'<details[^>]*id="action-close" open>', response.get_data(as_text=True))
    db.refresh(thread)
    assert thread.status is ThreadStatus.AWAITING_SERVICE
    confirmed = post(client, f"/staff/threads/{thread.id}/close", confirmed="yes")
    assert confirmed.status_code == 303
    db.refresh(thread)
    assert thread.status is ThreadStatus.CLOSED
