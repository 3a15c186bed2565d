"""Submission and idempotency keys belong to their author, and are checked after access.

A key makes a form sent twice act once. Another person's key (guessed, copied, or simply
the same) must neither reveal their message, cancellation or visit nor drop the new
one; an empty key is no key.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import oslo_today, utcnow
from app.models import (
    AppointmentStatus,
    Cancellation,
    CancellationKind,
    Message,
    Thread,
    VisitRegistration,
)
from app.security.access import AccessDenied
from app.services import appointments as appointment_service
from app.services import messaging
from app.services.appointments import AppointmentError
from app.services.messaging import MessagingError
from tests import factories
from tests.services.test_appointments import visit
from tests.services.test_messaging import NOW, start
from tests.support import actor_for, csrf_token


def other_resident(db, world):
    other = factories.person(db, "Olga", "Other")
    factories.receives(db, other, world.unit)
    return other


# --- messages from residents ---------------------------------------------------------------


def test_another_residents_key_neither_reveals_nor_drops_the_new_thread(db, world):
    rita = start(db, actor_for(db, world.resident), world, submission_key="shared-key")
    olga = other_resident(db, world)
    theirs = start(
        db, actor_for(db, olga), world, subject="Olgas spørsmål", submission_key="shared-key"
    )
    assert theirs.id != rita.id
    assert theirs.person_id == olga.id and theirs.subject == "Olgas spørsmål"
    assert db.scalar(sa.select(sa.func.count()).where(Message.submission_key == "shared-key")) == 2


def test_the_same_author_and_key_is_one_thread(db, world):
    actor = actor_for(db, world.resident)
    first = start(db, actor, world, submission_key="twice")
    assert start(db, actor, world, submission_key="twice").id == first.id


def test_a_reply_with_another_residents_key_is_stored(db, world):
    rita_thread = start(db, actor_for(db, world.resident), world)
    olga = other_resident(db, world)
    olga_thread = start(db, actor_for(db, olga), world)
    mine = messaging.thread_reply_resident(
        db,
        actor_for(db, world.resident),
        thread=rita_thread,
        body="Tillegg",
        submission_key="reply-key",
        now=NOW,
    )
    hers = messaging.thread_reply_resident(
        db,
        actor_for(db, olga),
        thread=olga_thread,
        body="Mitt",
        submission_key="reply-key",
        now=NOW,
    )
    assert hers.id != mine.id and hers.thread_id == olga_thread.id and hers.body == "Mitt"


def test_a_key_is_looked_at_only_after_access_is_checked(db, world):
    """Someone with no access to a thread learns nothing from a key used in it."""
    thread = start(db, actor_for(db, world.resident), world)
    messaging.thread_reply_resident(
        db,
        actor_for(db, world.resident),
        thread=thread,
        body="Tillegg",
        submission_key="rita-key",
        now=NOW,
    )
    olga = other_resident(db, world)
    with pytest.raises(AccessDenied):
        messaging.thread_reply_resident(
            db, actor_for(db, olga), thread=thread, body="x", submission_key="rita-key", now=NOW
        )


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_key_is_no_key(db, world, empty):
    actor = actor_for(db, world.resident)
    first = start(db, actor, world, submission_key=empty)
    second = start(db, actor, world, submission_key=empty)
    assert first.id != second.id
    stored = db.scalars(sa.select(Message.submission_key).where(Message.thread_id == first.id))
    assert list(stored) == [None]


def test_a_key_longer_than_a_key_is_refused(db, world):
    with pytest.raises(MessagingError, match="submission_key_invalid"):
        start(db, actor_for(db, world.resident), world, submission_key="k" * 65)


# --- messages from staff -------------------------------------------------------------------


def test_another_employees_key_does_not_drop_the_reply(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    first = messaging.thread_reply_staff(
        db,
        actor_for(db, world.employee),
        thread=thread,
        body="Fra Jonas",
        submission_key="staff-key",
        now=NOW,
    )
    second = messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Fra koordinator",
        submission_key="staff-key",
        now=NOW,
    )
    assert second.id != first.id and second.body == "Fra koordinator"


def test_staff_and_resident_may_use_the_same_key(db, world):
    thread = start(db, actor_for(db, world.resident), world, submission_key="same")
    reply = messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Svar",
        submission_key="same",
        now=NOW,
    )
    assert reply.author_staff_id == world.coordinator.id


def test_a_staff_message_with_another_employees_key_starts_its_own_thread(db, world, app):
    def write(who, subject):
        return messaging.staff_thread_start(
            db,
            actor_for(db, who),
            person_id=world.resident.id,
            subject=subject,
            body="Tekst",
            submission_key="new-thread-key",
            now=NOW,
            terms_version=app.config["TERMS_VERSION"],
        )

    first = write(world.coordinator, "Fra koordinator")
    second = write(world.employee, "Fra Jonas")
    assert second.id != first.id and second.subject == "Fra Jonas"


# --- cancellations -------------------------------------------------------------------------


def _cancel(db, who, appointment, key, *, acting_for=None):
    return appointment_service.appointments_cancel(
        db,
        actor_for(db, who, acting_for=acting_for),
        appointment_id=appointment.id,
        kind=CancellationKind.SINGLE,
        period_start=None,
        period_end=None,
        service_ids=[],
        note=None,
        submission_key=key,
        now=utcnow(),
    )


def test_another_persons_cancellation_key_does_not_stop_a_cancellation(db, world):
    day = oslo_today() + timedelta(days=3)
    ritas = visit(db, world, day)
    olga = other_resident(db, world)
    olgas = visit(db, world, day, person=olga)
    first = _cancel(db, world.resident, ritas, "cancel-key")
    second = _cancel(db, olga, olgas, "cancel-key")
    assert second.id != first.id and second.person_id == olga.id
    db.refresh(olgas)
    assert olgas.status is AppointmentStatus.CANCELLED


def test_the_cancellation_key_is_checked_after_access(db, world):
    """Even one's own key does not reach past the check of whose appointment it is."""
    day = oslo_today() + timedelta(days=3)
    ritas = visit(db, world, day)
    _cancel(db, world.resident, ritas, "rita-cancel")
    olga = other_resident(db, world)
    olgas = visit(db, world, day + timedelta(days=1), person=olga)
    with pytest.raises(AppointmentError, match="unknown_appointment"):
        _cancel(db, world.resident, olgas, "rita-cancel")


def test_the_same_cancellation_sent_twice_is_one(db, world):
    ritas = visit(db, world, oslo_today() + timedelta(days=3))
    first = _cancel(db, world.resident, ritas, "twice")
    assert _cancel(db, world.resident, ritas, "twice").id == first.id
    assert db.scalar(sa.select(sa.func.count()).select_from(Cancellation)) == 1


def test_an_empty_cancellation_key_is_no_key(db, world):
    day = oslo_today() + timedelta(days=3)
    first = _cancel(db, world.resident, visit(db, world, day), "")
    second = _cancel(db, world.resident, visit(db, world, day + timedelta(days=1)), "")
    assert first.id != second.id and first.submission_key is None


# --- visit registrations -------------------------------------------------------------------


def _register(db, who, target, key):
    return appointment_service.visit_register(
        db,
        actor_for(db, who),
        appointment_id=target.id,
        idempotency_key=key,
        registered_at=None,
        now=utcnow(),
    )


def test_another_employees_key_does_not_replay_their_registration(db, world):
    """Today's key of Jonas, used by the coordinator for another visit, registers that visit."""
    jonas_visit = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    other_visit = visit(
        db,
        world,
        oslo_today(),
        status=AppointmentStatus.ASSIGNED,
        employee=world.coordinator,
        person=other_resident(db, world),
    )
    _register(db, world.employee, jonas_visit, "device-key-1")
    result = _register(db, world.coordinator, other_visit, "device-key-1")
    assert (result.appointment_id, result.outcome) == (other_visit.id, "completed")
    db.refresh(other_visit)
    assert other_visit.status is AppointmentStatus.COMPLETED
    assert db.scalar(sa.select(sa.func.count()).select_from(VisitRegistration)) == 2


def test_a_registration_key_reveals_nothing_to_staff_without_access(db, world):
    """Staff of another municipality with Jonas's key are refused, not told his outcome."""
    jonas_visit = visit(db, world, oslo_today(), status=AppointmentStatus.ASSIGNED)
    _register(db, world.employee, jonas_visit, "device-key-2")
    with pytest.raises(AccessDenied):
        _register(db, world.foreign_staff, jonas_visit, "device-key-2")


# --- through the web ------------------------------------------------------------------------


def test_two_messages_with_an_empty_key_are_two_messages(client, db, login, world):
    login.resident(world.resident)
    for subject in ("Første", "Andre"):
        response = client.post(
            "/messages/new",
            data={
                "csrf_token": csrf_token(client, "/messages/new"),
                "service_id": world.nursing.id,
                "subject": subject,
                "body": "Tekst",
                "submission_key": "",
            },
        )
        assert response.status_code == 303
    subjects = db.scalars(sa.select(Thread.subject).where(Thread.person_id == world.resident.id))
    assert sorted(subjects) == ["Andre", "Første"]


def test_a_damaged_key_is_refused_by_the_form(client, db, login, world):
    login.resident(world.resident)
    response = client.post(
        "/messages/new",
        data={
            "csrf_token": csrf_token(client, "/messages/new"),
            "service_id": world.nursing.id,
            "subject": "Hei",
            "body": "Tekst",
            "submission_key": "ø" * 70,
        },
    )
    assert response.status_code == 422
    assert "Skjemaet ble skadet underveis" in response.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0
