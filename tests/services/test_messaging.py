"""The messaging service: who may write where, deadlines, triage actions, notices, journal."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.clock import OSLO, utcnow
from app.models import (
    ContactSettings,
    Message,
    MessageKind,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeLevel,
    PassOnMethod,
    Thread,
    ThreadEvent,
    ThreadEventKind,
    ThreadRead,
    ThreadStatus,
    UsageAction,
    UsageLogEntry,
)
from app.security.access import AccessDenied
from app.services import messaging
from app.services.messaging import MessagingError
from tests import factories
from tests.support import actor_for

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=OSLO)  # a Friday afternoon


def start(db, actor, world, **kw):
    values = {
        "service_id": world.nursing.id,
        "subject": "Medisiner",
        "body": "Kan dere ta med ny pakke?",
        "submission_key": None,
        "now": NOW,
    }
    values.update(kw)
    return messaging.thread_start(db, actor, **values)


def settings(
    db,
    person,
    *,
    level=NoticeLevel.NORMAL,
    same=False,
    email=None,
    mobile=None,
    channel=NoticeChannel.EMAIL,
):
    db.add(
        ContactSettings(
            person_id=person.id,
            level=level,
            same_for_represented=same,
            email=email or f"{person.given_name.lower()}@test.example",
            mobile=mobile,
            channel=channel,
            updated_at=utcnow(),
        )
    )
    db.flush()


def notices(db) -> list[Notice]:
    return db.scalars(sa.select(Notice).order_by(Notice.recipient_person_id)).all()


def events(db, thread) -> list[ThreadEventKind]:
    return [
        e.kind
        for e in db.scalars(
            sa.select(ThreadEvent)
            .where(ThreadEvent.thread_id == thread.id)
            .order_by(ThreadEvent.id)
        )
    ]


# --- residents write -------------------------------------------------------------------


def test_a_resident_writes_to_a_service_and_gets_the_next_working_day(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    assert thread.status is ThreadStatus.AWAITING_SERVICE
    assert thread.unit_id == world.unit.id and thread.unread_by_staff
    assert thread.reply_deadline.astimezone(OSLO).date() == date(2026, 11, 23)  # Monday
    message = db.scalars(sa.select(Message).where(Message.thread_id == thread.id)).one()
    assert message.author_person_id == world.resident.id and message.on_behalf_of_person_id is None
    assert events(db, thread) == [ThreadEventKind.CREATED]
    assert db.get(ThreadRead, (thread.id, world.resident.id)) is not None
    assert notices(db) == []  # the resident wrote; nobody is notified


def test_the_municipality_decides_how_many_working_days(db, world):
    world.municipality.reply_deadline_working_days = 2
    db.flush()
    thread = start(db, actor_for(db, world.resident), world)
    assert thread.reply_deadline.astimezone(OSLO).date() == date(2026, 11, 24)


def test_a_proxy_writes_on_behalf_and_it_is_logged_for_the_resident(db, world):
    actor = actor_for(db, world.proxy, acting_for=world.resident)
    thread = start(db, actor, world)
    message = db.scalars(sa.select(Message).where(Message.thread_id == thread.id)).one()
    assert thread.person_id == world.resident.id
    assert (message.author_person_id, message.on_behalf_of_person_id) == (
        world.proxy.id,
        world.resident.id,
    )
    entry = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.subject_person_id == world.resident.id)
    ).one()
    assert (entry.action, entry.actor_person_id) == (UsageAction.MESSAGE_SENT, world.proxy.id)


def test_a_service_not_open_for_dialog_is_refused(db, world):
    factories.receives(db, world.resident, world.closed_unit)
    with pytest.raises(MessagingError, match="service_not_open"):
        start(db, actor_for(db, world.resident), world, service_id=world.closed_service.id)
    assert db.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0


def test_a_service_the_person_does_not_receive_is_refused(db, world):
    with pytest.raises(MessagingError, match="service_not_open"):
        start(db, actor_for(db, world.proxy), world)  # the proxy receives nothing


def test_an_ended_registration_is_not_enough(db, world):
    person = factories.person(db, "Ended")
    factories.receives(db, person, world.unit, since=date(2020, 1, 1), until=date(2025, 1, 1))
    with pytest.raises(MessagingError):
        start(db, actor_for(db, person), world)


def test_a_proxy_out_of_scope_cannot_write(db, world):
    outsider = factories.person(db, "Outsider")
    factories.fullmakt(db, world.resident, outsider, areas=("legemidler",))
    with pytest.raises(AccessDenied):
        start(db, actor_for(db, outsider, acting_for=world.resident), world)


@pytest.mark.parametrize(
    ("subject", "body", "code"),
    [
        ("", "tekst", "subject_empty"),
        ("  ", "tekst", "subject_empty"),
        ("x" * 81, "tekst", "subject_too_long"),
        ("Emne", "", "body_empty"),
        ("Emne", "x" * 4001, "body_too_long"),
    ],
)
def test_subject_and_text_limits(db, world, subject, body, code):
    with pytest.raises(MessagingError) as refused:
        start(db, actor_for(db, world.resident), world, subject=subject, body=body)
    assert refused.value.code == code


def test_the_same_form_sent_twice_makes_one_thread(db, world):
    actor = actor_for(db, world.resident)
    first = start(db, actor, world, submission_key="k1")
    second = start(db, actor, world, submission_key="k1")
    assert first.id == second.id
    assert db.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


def test_a_resident_reply_makes_the_service_owe_a_reply_again(db, world):
    resident = actor_for(db, world.resident)
    thread = start(db, resident, world)
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Svar",
        submission_key=None,
        now=NOW,
    )
    assert thread.status is ThreadStatus.ANSWERED and thread.reply_deadline is None
    later = NOW + timedelta(days=4)  # Tuesday
    messaging.thread_reply_resident(
        db, resident, thread=thread, body="Takk, men ...", submission_key=None, now=later
    )
    assert thread.status is ThreadStatus.AWAITING_SERVICE and thread.unread_by_staff
    assert thread.reply_deadline.astimezone(OSLO).date() == date(2026, 11, 25)


def test_a_closed_thread_takes_no_replies(db, world):
    resident = actor_for(db, world.resident)
    thread = start(db, resident, world)
    messaging.thread_close(db, actor_for(db, world.coordinator), thread=thread, now=NOW)
    with pytest.raises(MessagingError, match="thread_closed"):
        messaging.thread_reply_resident(
            db, resident, thread=thread, body="Hei", submission_key=None, now=NOW
        )


def test_a_new_thread_can_continue_a_closed_one(db, world):
    resident = actor_for(db, world.resident)
    old = start(db, resident, world)
    messaging.thread_close(db, actor_for(db, world.coordinator), thread=old, now=NOW)
    new = start(db, resident, world, continues_thread_id=old.id)
    assert new.continues_thread_id == old.id


def test_a_resident_cannot_reply_in_someone_elses_thread(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    stranger = factories.person(db, "Stranger")
    with pytest.raises(AccessDenied):
        messaging.thread_reply_resident(
            db, actor_for(db, stranger), thread=thread, body="x", submission_key=None, now=NOW
        )


# --- the service answers --------------------------------------------------------------


def test_a_reply_notifies_the_resident_and_proxies_who_asked_for_it(db, world):
    settings(db, world.resident, level=NoticeLevel.NORMAL)
    settings(db, world.proxy, level=NoticeLevel.ALL, same=True)
    other = factories.person(db, "Other")
    factories.fullmakt(db, world.resident, other)
    settings(db, other, level=NoticeLevel.ALL, same=False)  # not for those they represent
    thread = start(db, actor_for(db, world.resident), world)
    message = messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Svar",
        submission_key=None,
        now=NOW,
    )
    sent = notices(db)
    assert {n.recipient_person_id for n in sent} == {world.resident.id, world.proxy.id}
    assert all(n.event is NoticeEvent.NEW_MESSAGE for n in sent)
    assert all(n.event_key == f"message:{message.id}" for n in sent)
    assert all(n.subject_person_id == world.resident.id for n in sent)


def test_limited_level_gets_no_new_message_notice(db, world):
    settings(db, world.resident, level=NoticeLevel.LIMITED)
    thread = start(db, actor_for(db, world.resident), world)
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Svar",
        submission_key=None,
        now=NOW,
    )
    assert notices(db) == []


def test_notice_goes_to_the_other_channel_when_the_preferred_one_has_no_address(db, world):
    db.add(
        ContactSettings(
            person_id=world.resident.id,
            channel=NoticeChannel.SMS,
            email="rita@test.example",
            updated_at=utcnow(),
        )
    )
    db.flush()
    thread = start(db, actor_for(db, world.resident), world)
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Svar",
        submission_key=None,
        now=NOW,
    )
    (notice,) = notices(db)
    assert (notice.channel, notice.address) == (NoticeChannel.EMAIL, "rita@test.example")


def test_an_expired_proxy_gets_no_notice(db, world):
    former = factories.person(db, "Former")
    factories.fullmakt(
        db,
        world.resident,
        former,
        valid_from=NOW - timedelta(days=10),
        valid_to=NOW - timedelta(days=1),
    )
    settings(db, former, level=NoticeLevel.ALL, same=True)
    thread = start(db, actor_for(db, world.resident), world)
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        body="Svar",
        submission_key=None,
        now=NOW,
    )
    assert notices(db) == []


def test_an_interim_reply_says_when_the_answer_comes(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    when = NOW + timedelta(days=3)
    message = messaging.thread_reply_staff(
        db,
        actor_for(db, world.employee),
        thread=thread,
        body="Vi sjekker",
        submission_key=None,
        now=NOW,
        next_answer_at=when,
    )
    assert message.kind is MessageKind.INTERIM and message.next_answer_at == when
    assert thread.status is ThreadStatus.INTERIM_REPLIED and thread.reply_deadline == when
    assert events(db, thread)[-1] is ThreadEventKind.INTERIM_REPLY


def test_an_interim_reply_needs_a_future_time(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    with pytest.raises(MessagingError, match="next_answer_in_past"):
        messaging.thread_reply_staff(
            db,
            actor_for(db, world.employee),
            thread=thread,
            body="Vi sjekker",
            submission_key=None,
            now=NOW,
            next_answer_at=NOW - timedelta(minutes=1),
        )


def test_staff_of_another_unit_or_municipality_cannot_act_on_the_thread(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    for outsider in (world.other_unit_staff, world.foreign_staff, world.admin):
        with pytest.raises(AccessDenied):
            messaging.thread_reply_staff(
                db, actor_for(db, outsider), thread=thread, body="x", submission_key=None, now=NOW
            )
        with pytest.raises(AccessDenied):
            messaging.thread_opened_by_staff(db, actor_for(db, outsider), thread=thread, now=NOW)


def test_urgent_assign_with_internal_note(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    coordinator = actor_for(db, world.coordinator)
    messaging.thread_set_urgent(db, coordinator, thread=thread, urgent=True, now=NOW)
    messaging.thread_assign(
        db,
        coordinator,
        thread=thread,
        assignee_id=world.employee.id,
        note="Du kjenner henne best",
        now=NOW,
    )
    assert thread.urgent and thread.assignee_staff_id == world.employee.id
    assigned = db.scalars(
        sa.select(ThreadEvent).where(ThreadEvent.kind == ThreadEventKind.ASSIGNED)
    ).one()
    assert assigned.internal_note == "Du kjenner henne best"


def test_a_thread_is_only_assigned_within_the_unit(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    with pytest.raises(AccessDenied):
        messaging.thread_assign(
            db,
            actor_for(db, world.coordinator),
            thread=thread,
            assignee_id=world.other_unit_staff.id,
            note=None,
            now=NOW,
        )


def test_forwarding_moves_the_thread_and_keeps_its_history(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    messaging.thread_forward(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        unit_id=world.other_unit.id,
        note="Gjelder rengjøring",
        now=NOW,
    )
    assert thread.unit_id == world.other_unit.id
    assert thread.service_id == world.other_unit.service_id
    assert thread.unread_by_staff
    assert events(db, thread) == [ThreadEventKind.CREATED, ThreadEventKind.FORWARDED]
    # The old unit has let go; the new one has it.
    with pytest.raises(AccessDenied):
        messaging.thread_opened_by_staff(
            db, actor_for(db, world.coordinator), thread=thread, now=NOW
        )
    messaging.thread_opened_by_staff(
        db, actor_for(db, world.other_unit_staff), thread=thread, now=NOW
    )


@pytest.mark.parametrize("target", ["closed_unit", "foreign_unit", "unit"])
def test_forwarding_only_to_another_open_unit_of_the_municipality(db, world, target):
    thread = start(db, actor_for(db, world.resident), world)
    with pytest.raises(AccessDenied):
        messaging.thread_forward(
            db,
            actor_for(db, world.coordinator),
            thread=thread,
            unit_id=getattr(world, target).id,
            note=None,
            now=NOW,
        )


def test_passing_on_records_how_and_tells_the_resident(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    message = messaging.thread_pass_on(
        db,
        actor_for(db, world.coordinator),
        thread=thread,
        method=PassOnMethod.PLO,
        recipient="Fastlegen",
        relayed=True,
        body="Vi har sendt spørsmålet til fastlegen.",
        submission_key=None,
        now=NOW,
    )
    event = db.scalars(
        sa.select(ThreadEvent).where(ThreadEvent.kind == ThreadEventKind.PASSED_ON)
    ).one()
    assert (event.pass_on_method, event.pass_on_recipient, event.answer_relayed) == (
        PassOnMethod.PLO,
        "Fastlegen",
        True,
    )
    assert message.author_staff_id == world.coordinator.id
    assert thread.status is ThreadStatus.ANSWERED


def test_closing_and_journaling(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    staff = actor_for(db, world.employee)
    message = db.scalars(sa.select(Message).where(Message.thread_id == thread.id)).one()
    messaging.message_journal(db, staff, message=message, now=NOW)
    messaging.message_journal(db, staff, message=message, now=NOW + timedelta(hours=1))
    assert message.journaled_at == NOW and message.journaled_by_staff_id == world.employee.id
    messaging.thread_close(db, staff, thread=thread, now=NOW)
    assert thread.status is ThreadStatus.CLOSED and thread.closed_at == NOW
    assert events(db, thread).count(ThreadEventKind.JOURNALED) == 1


def test_a_unit_may_journal_automatically(db, world):
    world.unit.auto_journal = True
    db.flush()
    thread = start(db, actor_for(db, world.resident), world)
    message = db.scalars(sa.select(Message).where(Message.thread_id == thread.id)).one()
    assert message.journaled_at == NOW


def test_staff_reading_a_thread_is_logged_and_clears_new(db, world):
    thread = start(db, actor_for(db, world.resident), world)
    messaging.thread_opened_by_staff(db, actor_for(db, world.employee), thread=thread, now=NOW)
    assert not thread.unread_by_staff
    entry = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.action == UsageAction.STAFF_VIEWED_THREAD)
    ).one()
    assert (entry.subject_person_id, entry.actor_staff_id, entry.actor_unit_id) == (
        world.resident.id,
        world.employee.id,
        world.unit.id,
    )


# --- the service writes first -----------------------------------------------------------


def test_staff_write_a_new_message_to_a_recipient(db, world, app):
    settings(db, world.resident)
    thread = messaging.staff_thread_start(
        db,
        actor_for(db, world.coordinator),
        person_id=world.resident.id,
        subject="Ny tid",
        body="Fra mandag kommer vi kl. 09.",
        submission_key=None,
        now=NOW,
        terms_version=app.config["TERMS_VERSION"],
    )
    assert thread.started_by_staff and thread.status is ThreadStatus.ANSWERED
    assert [n.recipient_person_id for n in notices(db)] == [world.resident.id]


def test_a_staff_message_sent_twice_at_once_leaves_one_thread(db, world, app, monkeypatch):
    """The second request passed the key check before the first committed (a double tap)."""

    def write():
        return messaging.staff_thread_start(
            db,
            actor_for(db, world.coordinator),
            person_id=world.resident.id,
            subject="Ny tid",
            body="Fra mandag kommer vi kl. 09.",
            submission_key="same-form",
            now=NOW,
            terms_version=app.config["TERMS_VERSION"],
        )

    first = write()
    real_lookup = messaging._earlier
    lookups = iter([None])  # the early check sees nothing; the later one the first message
    monkeypatch.setattr(
        messaging,
        "_earlier",
        lambda session, key, **author: next(lookups, real_lookup(session, key, **author)),
    )
    second = write()
    assert second.id == first.id
    assert db.scalars(sa.select(Thread).where(Thread.person_id == world.resident.id)).all() == [
        first
    ]


def test_staff_cannot_write_to_someone_outside_the_unit(db, world, app):
    stranger = factories.person(db, "Stranger")
    with pytest.raises(AccessDenied):
        messaging.staff_thread_start(
            db,
            actor_for(db, world.coordinator),
            person_id=stranger.id,
            subject="x",
            body="y",
            submission_key=None,
            now=NOW,
            terms_version=app.config["TERMS_VERSION"],
        )


def test_staff_cannot_write_to_someone_not_digitally_active(db, world, app):
    nils = factories.person(db, "Nils", active=False)
    factories.receives(db, nils, world.unit)
    with pytest.raises(MessagingError, match="not_digitally_active"):
        messaging.staff_thread_start(
            db,
            actor_for(db, world.coordinator),
            person_id=nils.id,
            subject="x",
            body="y",
            submission_key=None,
            now=NOW,
            terms_version=app.config["TERMS_VERSION"],
        )


def test_welcome_message_goes_once_to_each_digitally_active_recipient(db, world, app):
    second = factories.person(db, "Second")
    factories.receives(db, second, world.unit)
    inactive = factories.person(db, "Inactive", active=False)
    factories.receives(db, inactive, world.unit)
    elsewhere = factories.person(db, "Elsewhere")
    factories.receives(db, elsewhere, world.other_unit)
    coordinator = actor_for(db, world.coordinator)
    version = app.config["TERMS_VERSION"]
    sent = messaging.welcome_send(
        db, coordinator, subject="Velkommen", body="Hei", terms_version=version, now=NOW
    )
    assert {t.person_id for t in sent} == {world.resident.id, second.id}
    again = messaging.welcome_send(
        db, coordinator, subject="Velkommen", body="Hei", terms_version=version, now=NOW
    )
    assert again == []
    kinds = db.scalars(sa.select(Message.kind)).all()
    assert kinds == [MessageKind.WELCOME, MessageKind.WELCOME]


def test_an_employee_without_the_coordinator_role_cannot_send_the_welcome(db, world, app):
    with pytest.raises(AccessDenied):
        messaging.welcome_send(
            db,
            actor_for(db, world.employee),
            subject="x",
            body="y",
            terms_version=app.config["TERMS_VERSION"],
            now=NOW,
        )
