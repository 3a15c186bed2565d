"""Alle tråder: each status filter, the resident filter and the text search."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import utcnow
from app.models import PassOnMethod
from app.selectors import threads as reads
from app.selectors.threads import ThreadFilter
from app.services import messaging
from tests import factories
from tests.support import actor_for

T0 = utcnow() - timedelta(days=1)


def at(minutes: int):
    return T0 + timedelta(minutes=minutes)


def start(db, world, subject: str, *, person=None, body: str = "Hei", when=None):
    return messaging.thread_start(
        db,
        actor_for(db, person or world.resident),
        service_id=world.nursing.id,
        subject=subject,
        body=body,
        submission_key=None,
        now=when or at(0),
    )


def reply(db, world, thread, *, when, interim: bool = False):
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Svar",
        submission_key=None,
        now=when,
        next_answer_at=when + timedelta(days=2) if interim else None,
    )


def pass_on(db, world, thread, *, relayed: bool, when):
    messaging.thread_pass_on(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        method=PassOnMethod.PLO,
        recipient="Fastlegen",
        relayed=relayed,
        body="Vi har spurt fastlegen.",
        submission_key=None,
        now=when,
    )


def close(db, world, thread, *, when):
    messaging.thread_close(db, actor_for(db, world.coordinator), thread=thread, now=when)


def subjects(db, world, **filters) -> list[str]:
    page = reads.unit_threads(db, world.unit.id, **filters)
    return sorted(row.thread.subject for row in page.items)


@pytest.fixture
def cast(db, world):
    """One thread in each state, plus the pass-on cases that end the wait."""
    new = start(db, world, "Ny")
    interim = start(db, world, "Foreløpig")
    reply(db, world, interim, when=at(1), interim=True)
    answered = start(db, world, "Besvart")
    reply(db, world, answered, when=at(1))
    relay = start(db, world, "Til fastlegen")
    pass_on(db, world, relay, relayed=True, when=at(1))
    direct = start(db, world, "Direkte")
    pass_on(db, world, direct, relayed=False, when=at(1))
    relayed_back = start(db, world, "Svar formidlet")
    pass_on(db, world, relayed_back, relayed=True, when=at(1))
    reply(db, world, relayed_back, when=at(2))
    closed = start(db, world, "Avsluttet")
    pass_on(db, world, closed, relayed=True, when=at(1))
    close(db, world, closed, when=at(2))
    # The resident writes again while the answer from outside is awaited; an interim
    # reply ("still waiting for the GP") does not end the wait.
    asked_again = start(db, world, "Spør igjen")
    pass_on(db, world, asked_again, relayed=True, when=at(1))
    messaging.thread_reply_resident(
        db,
        actor_for(db, world.resident),
        thread=asked_again,
        body="Noe nytt?",
        submission_key=None,
        now=at(2),
    )
    reply(db, world, asked_again, when=at(3), interim=True)
    # Passed on again, now without relaying: nothing left to relay.
    changed = start(db, world, "Ombestemt")
    pass_on(db, world, changed, relayed=True, when=at(1))
    pass_on(db, world, changed, relayed=False, when=at(2))
    return new


def test_without_a_filter_every_thread_of_the_unit_is_listed(db, world, cast):
    other = factories.person(db, "Olga", "Annen")
    factories.receives(db, other, world.other_unit)
    messaging.thread_start(
        db,
        actor_for(db, other),
        service_id=world.other_unit.service_id,
        subject="Annen enhet",
        body="Hei",
        submission_key=None,
        now=at(0),
    )
    assert subjects(db, world) == sorted(
        [
            "Ny",
            "Foreløpig",
            "Besvart",
            "Til fastlegen",
            "Direkte",
            "Svar formidlet",
            "Avsluttet",
            "Spør igjen",
            "Ombestemt",
        ]
    )


def test_open_is_every_thread_not_closed(db, world, cast):
    assert "Avsluttet" not in subjects(db, world, shown=ThreadFilter.OPEN)
    assert len(subjects(db, world, shown=ThreadFilter.OPEN)) == 8


def test_waiting_for_the_resident_is_answered_with_nothing_to_relay(db, world, cast):
    assert subjects(db, world, shown=ThreadFilter.WAITING) == sorted(
        ["Besvart", "Direkte", "Svar formidlet", "Ombestemt"]
    )


def test_passed_on_to_relay_stays_until_a_reply_or_closing(db, world, cast):
    assert subjects(db, world, shown=ThreadFilter.RELAY) == sorted(["Til fastlegen", "Spør igjen"])
    rows = reads.unit_threads(db, world.unit.id).items
    assert {r.thread.subject for r in rows if r.relay_pending} == {"Til fastlegen", "Spør igjen"}


def test_interim_reply_only(db, world, cast):
    assert subjects(db, world, shown=ThreadFilter.INTERIM) == ["Foreløpig", "Spør igjen"]


def test_closed(db, world, cast):
    assert subjects(db, world, shown=ThreadFilter.CLOSED) == ["Avsluttet"]


def test_by_resident(db, world, cast):
    other = factories.person(db, "Olav", "Nabo")
    factories.receives(db, other, world.unit)
    start(db, world, "Fra Olav", person=other)
    assert subjects(db, world, person_id=other.id) == ["Fra Olav"]
    assert "Fra Olav" not in subjects(db, world, person_id=world.resident.id)
    people = db.execute(reads.unit_thread_people(world.unit.id)).all()
    assert [tuple(p) for p in people] == [  # by family name: Nabo, Resident
        (other.id, other.given_name, other.family_name),
        (world.resident.id, world.resident.given_name, world.resident.family_name),
    ]


def test_text_is_found_in_the_subject_and_in_every_message(db, world, cast):
    thread = start(db, world, "Medisiner", body="Dosett til helgen")
    messaging.thread_reply_resident(
        db,
        actor_for(db, world.resident),
        thread=thread,
        body="Og plaster, takk",
        submission_key=None,
        now=at(5),
    )
    assert subjects(db, world, text="medisin") == ["Medisiner"]
    assert subjects(db, world, text="DOSETT") == ["Medisiner"]
    assert subjects(db, world, text="plaster") == ["Medisiner"]
    assert subjects(db, world, text="fastlegen") == sorted(  # in the pass-on replies
        ["Til fastlegen", "Direkte", "Svar formidlet", "Avsluttet", "Spør igjen", "Ombestemt"]
    )
    assert subjects(db, world, text="ingenting slikt") == []


def test_text_wildcards_are_taken_literally(db, world):
    start(db, world, "100% sikker", body="a_b")
    start(db, world, "Noe annet", body="axb")
    assert subjects(db, world, text="100%") == ["100% sikker"]
    assert subjects(db, world, text="%") == ["100% sikker"]
    assert subjects(db, world, text="a_b") == ["100% sikker"]
    assert subjects(db, world, text="\\") == []


def test_filters_combine(db, world, cast):
    assert subjects(db, world, shown=ThreadFilter.RELAY, text="spør") == ["Spør igjen"]
    assert subjects(db, world, shown=ThreadFilter.CLOSED, text="spør") == []


def test_the_thread_page_reads_relay_pending_as_the_list_does(db, world, cast):
    """The thread page decides from the loaded events, the list in SQL: they agree."""
    rows = reads.unit_threads(db, world.unit.id).items
    assert any(r.relay_pending for r in rows) and not all(r.relay_pending for r in rows)
    for row in rows:
        events = db.scalars(reads.thread_events(row.thread.id)).all()
        assert reads.relay_pending_in(row.thread, events) is row.relay_pending, row.thread.subject
