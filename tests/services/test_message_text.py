"""Text people write: messages of nothing but invisible characters are refused, and the
characters that reorder text (bidi overrides and isolates) never reach subjects or names."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.models import PassOnMethod, Person, StaffAccount, Thread, ThreadEvent
from app.services import messaging
from app.services.messaging import MessagingError
from app.text import BIDI_CONTROLS, is_blank, without_bidi_controls
from tests import factories
from tests.services.test_messaging import NOW, start
from tests.support import actor_for, csrf_token

INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d\u2060",  # zero-width (non-)joiners, word joiner
    "\ufeff",  # byte order mark
    "\u00a0\u2003\u3000",  # no-break, em and ideographic spaces
    "\u3164\u115f",  # Hangul fillers
    "\u2800",  # braille blank
    "\u034f\ufe0f",  # combining grapheme joiner, variation selector
    "\u202e\u2066",  # bidi controls alone
    "\u00ad",  # soft hyphen
]


@pytest.mark.parametrize("text", INVISIBLE)
def test_blank_text_is_what_shows_nothing(text):
    assert is_blank(text)
    assert is_blank(f" {text}\n\t")


@pytest.mark.parametrize(
    "text", ["a", ".", "\u00f8", "\u0645\u0631\u062d\u0628\u0627", "\U0001f642"]
)
def test_text_that_shows_something_is_not_blank(text):
    assert not is_blank(f"\u200b{text}\u200b")


def test_bidi_controls_are_removed_and_nothing_else():
    assert without_bidi_controls("Ka\u202eri\u202c Nord\u2066mann\u2069") == "Kari Nordmann"
    assert without_bidi_controls("\u200fمرحبا\u200e") == "\u200fمرحبا\u200e"  # marks stay
    assert all(without_bidi_controls(c) == "" for c in BIDI_CONTROLS)


@pytest.mark.parametrize("text", INVISIBLE)
def test_a_message_of_invisible_characters_is_refused(db, world, text):
    with pytest.raises(MessagingError, match="body_invisible|body_empty"):
        start(db, actor_for(db, world.resident), world, body=text)
    with pytest.raises(MessagingError, match="subject_invisible|subject_empty"):
        start(db, actor_for(db, world.resident), world, subject=text)
    assert db.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0


def test_a_staff_reply_of_invisible_characters_is_refused(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    with pytest.raises(MessagingError, match="body_invisible"):
        messaging.thread_reply_staff(
            db,
            actor_for(db, world.coordinator),
            thread=thread,
            body="\u200b\u3000",
            submission_key=None,
            now=NOW,
        )


def test_subjects_are_stored_without_bidi_controls(db, world, app):
    thread = start(db, actor_for(db, world.resident), world, subject="Faktura \u202etxt.exe")
    assert thread.subject == "Faktura txt.exe"
    staff_thread = messaging.staff_thread_start(
        db,
        actor_for(db, world.coordinator),
        person_id=world.resident.id,
        subject="\u2067Ny\u2069 tid",
        body="Fra mandag",
        submission_key=None,
        now=NOW,
        terms_version=app.config["TERMS_VERSION"],
    )
    assert staff_thread.subject == "Ny tid"


def test_pass_on_recipients_are_stored_without_bidi_controls(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    messaging.thread_pass_on(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        method=PassOnMethod.PHONE,
        recipient="Fast\u202elegen",
        relayed=False,
        body="Sendt videre",
        submission_key=None,
        now=NOW,
    )
    recipients = db.scalars(
        sa.select(ThreadEvent.pass_on_recipient).where(ThreadEvent.pass_on_recipient.is_not(None))
    )
    assert list(recipients) == ["Fastlegen"]


def test_names_are_stored_and_shown_without_bidi_controls(db, world):
    person = factories.person(db, "Ka\u202eri", "Nord\u2066mann\u2069")
    account = factories.staff(db, world.municipality, "bidi", [], name="Si\u202dri Berg")
    db.expire_all()
    stored = db.execute(
        sa.select(Person.given_name, Person.family_name).where(Person.id == person.id)
    ).one()
    assert tuple(stored) == ("Kari", "Nordmann")
    assert db.get(StaffAccount, account.id).full_name == "Siri Berg"
    legacy = db.get(Person, person.id)
    legacy.__dict__["given_name"] = "Ka\u202eri"  # as loaded from a row stored before the rule
    assert legacy.full_name == "Kari Nordmann"


def test_the_compose_page_says_why_an_invisible_message_is_refused(client, db, login, world):
    login.resident(world.resident)
    response = client.post(
        "/messages/new",
        data={
            "csrf_token": csrf_token(client, "/messages/new"),
            "service_id": world.nursing.id,
            "subject": "Hei",
            "body": "\u200b\u200b\u3164",
            "submission_key": "invisible",
        },
    )
    assert response.status_code == 422
    assert "Meldingen har bare usynlige tegn" in response.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0
