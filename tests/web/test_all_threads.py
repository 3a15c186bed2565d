"""Alle tråder: the page, its GET filters, bad values, the usage log, and the
recipient page's threads."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.clock import utcnow
from app.models import PassOnMethod, UsageAction, UsageLogEntry
from app.services import messaging
from tests import factories
from tests.support import actor_for


def write(db, person, service, subject, body="Hei"):
    return messaging.thread_start(
        db,
        actor_for(db, person),
        service_id=service.id,
        subject=subject,
        body=body,
        submission_key=None,
        now=utcnow(),
    )


def passed_on(db, world, thread, *, relayed=True):
    messaging.thread_pass_on(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        method=PassOnMethod.PHONE,
        recipient="Fastlegen",
        relayed=relayed,
        body="Vi har ringt fastlegen og gir deg svaret.",
        submission_key=None,
        now=utcnow(),
    )


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/staff/threads/(\d+)"', html)]


def test_the_page_lists_the_units_threads_and_filters_with_a_plain_get_form(
    client, db, login, world
):
    waiting = write(db, world.resident, world.nursing, "Vanlig spørsmål")
    relay = write(db, world.resident, world.nursing, "Spørsmål til fastlegen")
    passed_on(db, world, relay)
    login.staff(world.coordinator)
    html = client.get("/staff/threads").get_data(as_text=True)
    assert "<h1>Alle tråder</h1>" in html
    assert set(listed(html)) == {waiting.id, relay.id}
    assert re.search(r'<form method="get" action="/staff/threads"', html)
    assert 'name="status"' in html and 'name="person"' in html and 'name="q"' in html
    assert "Venter på svar utenfra" in html  # the option, and the mark on the row
    response = client.get("/staff/threads?status=relay")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert listed(page) == [relay.id]
    assert re.search(r'<option selected value="relay">Venter på svar utenfra</option>', page)
    assert listed(client.get("/staff/threads?q=VANLIG").get_data(as_text=True)) == [waiting.id]
    other = factories.person(db, "Olav", "Nabo")
    factories.receives(db, other, world.unit)
    his = write(db, other, world.nursing, "Fra Olav")
    assert listed(client.get(f"/staff/threads?person={other.id}").get_data(as_text=True)) == [
        his.id
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=bogus", "Det valget er ikke gyldig"),
        ("person=abc", "Det valget er ikke gyldig"),
        ("person=99999999", "Det valget er ikke gyldig"),
        ("q=" + "x" * 101, "Søk etter høyst 100 tegn."),
    ],
)
def test_a_bad_filter_is_explained_and_ignored(client, db, login, world, query, message):
    thread = write(db, world.resident, world.nursing, "Spørsmål")
    login.staff(world.coordinator)
    response = client.get(f"/staff/threads?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and 'class="error-summary"' in html
    assert listed(html) == [thread.id]  # the bad filter is left out


def test_the_list_is_only_the_active_units(client, db, login, world):
    write(db, world.resident, world.nursing, "Rita til Sone Nord")
    login.staff(world.other_unit_staff)
    html = client.get("/staff/threads").get_data(as_text=True)
    assert listed(html) == [] and "Rita" not in html
    assert "Ingen tråder passer med filteret." in html


def test_everyone_named_on_the_page_gets_a_usage_log_entry(client, db, login, world):
    write(db, world.resident, world.nursing, "Spørsmål")
    other = factories.person(db, "Olav", "Nabo")
    factories.receives(db, other, world.unit)
    write(db, other, world.nursing, "Fra Olav")
    login.staff(world.coordinator)
    # Filtered to Olav, the resident filter still names Rita.
    assert client.get(f"/staff/threads?person={other.id}").status_code == 200
    logged = db.execute(
        sa.select(UsageLogEntry.subject_person_id, UsageLogEntry.object_type).where(
            UsageLogEntry.action == UsageAction.STAFF_VIEWED_PERSON,
            UsageLogEntry.actor_staff_id == world.coordinator.id,
        )
    ).all()
    assert sorted(logged) == sorted([(world.resident.id, "threads"), (other.id, "threads")])
    login.resident(world.resident)
    log = client.get("/profile/log").get_data(as_text=True)
    assert "så navnet ditt i listen over alle samtaletråder" in log


def test_the_navigation_has_alle_trader(client, db, login, world):
    login.staff(world.employee)
    html = client.get("/staff/").get_data(as_text=True)
    assert re.search(r'<a href="/staff/threads"\s*>Alle tråder</a>', html)
    html = client.get("/staff/threads").get_data(as_text=True)
    assert re.search(r'<a href="/staff/threads"\s*aria-current="page">Alle tråder</a>', html)


def test_the_recipient_page_lists_the_residents_threads_in_the_unit(client, db, login, world):
    mine = write(db, world.resident, world.nursing, "Til Sone Nord")
    closed = write(db, world.resident, world.nursing, "Gammel tråd")
    messaging.thread_close(db, actor_for(db, world.coordinator), thread=closed, now=utcnow())
    other = factories.person(db, "Olav", "Nabo")
    factories.receives(db, other, world.unit)
    write(db, other, world.nursing, "Fra Olav")
    factories.receives(db, world.resident, world.other_unit)
    elsewhere = write(db, world.resident, world.other_unit.service, "Til praktisk bistand")
    login.staff(world.coordinator)
    html = client.get(f"/staff/recipients/{world.resident.id}").get_data(as_text=True)
    assert "<h2>Samtaletråder</h2>" in html
    assert set(listed(html)) == {mine.id, closed.id}
    assert elsewhere.id not in listed(html) and "Fra Olav" not in html


def test_the_thread_page_says_it_waits_for_an_answer_from_outside(client, db, login, world):
    thread = write(db, world.resident, world.nursing, "Til fastlegen")
    passed_on(db, world, thread)
    login.staff(world.coordinator)
    mark = '<span class="badge badge-interim">Venter på svar utenfra</span>'
    assert mark in client.get(f"/staff/threads/{thread.id}").get_data(as_text=True)
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Fastlegen svarer ja.",
        submission_key=None,
        now=utcnow(),
    )
    assert mark not in client.get(f"/staff/threads/{thread.id}").get_data(as_text=True)
