"""Delivering the outbox through a real SMTP server and a local SMS HTTP API."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.clock import utcnow
from app.models import (
    ContactSettings,
    Fullmakt,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeLevel,
    NoticeStatus,
    UsageAction,
    UsageLogEntry,
)
from app.notices.channels import SmsHttpChannel, SmtpChannel
from app.notices.worker import Channels, Settings, backoff_delay, run_batch
from app.services.notices import notices_for_event
from tests.notices.servers import SmsServer, SmtpServer, free_port

SENDER = "Hjemmedialog <ikke-svar@hjemmedialog.example>"
FAST = Settings(
    batch_size=50,
    lease=timedelta(seconds=30),
    max_attempts=4,
    backoff=30,
    backoff_max=600,
    poll=0.1,
)


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def sms():
    server = SmsServer().start()
    yield server
    server.stop()


def channels(smtp_port: int | None = None, sms_url: str | None = None) -> Channels:
    email = SmtpChannel("127.0.0.1", smtp_port, sender=SENDER, timeout=5) if smtp_port else None
    text = SmsHttpChannel(sms_url, "token", timeout=5) if sms_url else None
    return Channels(email, text)


def contact(
    db,
    person,
    *,
    email=None,
    mobile=None,
    channel=NoticeChannel.EMAIL,
    level=NoticeLevel.NORMAL,
    same=False,
    language="nb",
):
    db.add(
        ContactSettings(
            person_id=person.id,
            email=email,
            mobile=mobile,
            channel=channel,
            level=level,
            same_for_represented=same,
            language=language,
            updated_at=utcnow(),
        )
    )
    db.flush()


def new_message(db, world, key="message:1"):
    return notices_for_event(
        db,
        subject=world.resident,
        event=NoticeEvent.NEW_MESSAGE,
        event_key=key,
        municipality_id=world.municipality.id,
        now=utcnow(),
    )


def deliver(app, db, chans, settings=FAST):
    try:
        with app.app_context():
            return run_batch(db, chans, settings)
    finally:
        chans.close()


def test_email_in_each_recipients_language_without_health_content(app, db, world, smtp):
    contact(db, world.resident, email="rita@test.example", language="nb")
    contact(
        db, world.proxy, email="per@test.example", level=NoticeLevel.ALL, same=True, language="en"
    )
    made = new_message(db, world)
    assert deliver(app, db, channels(smtp.port)) == {"sent": 2}
    by_to = {m.to: m for m in smtp.recorder.messages}
    rita, per = by_to["rita@test.example"], by_to["per@test.example"]
    assert rita.subject == "Ny melding fra Testby kommune"
    assert "Du har mottatt en ny melding fra Testby kommune" in rita.body
    assert "Logg på for å lese meldingen" in rita.body and "kan ikke besvares" in rita.body
    assert per.subject == "New message from Testby kommune"
    assert "Someone you represent has received a new message" in per.body
    assert (rita.language, per.language) == ("nb", "en")
    for message in (rita, per):
        assert "Hjemmesykepleie" not in message.body and "Rita" not in message.body
        assert message.message_id == f"<notice-{message.notice_id}@hjemmedialog.example>"
    for notice in made:
        db.refresh(notice)
        assert notice.status is NoticeStatus.SENT and notice.provider_id and notice.sent_at
    logged = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.action == UsageAction.NOTICE_SENT)
    ).all()
    assert {e.actor_person_id for e in logged} == {world.resident.id, world.proxy.id}
    assert {e.subject_person_id for e in logged} == {world.resident.id}


def test_sms_through_the_http_provider_with_the_notice_as_idempotency_key(app, db, world, sms):
    contact(db, world.resident, mobile="+4791234567", channel=NoticeChannel.SMS)
    (notice,) = new_message(db, world)
    assert deliver(app, db, channels(sms_url=sms.url)) == {"sent": 1}
    received = sms.recorder.deliveries[f"notice-{notice.id}"]
    assert received.to == "+4791234567"
    assert received.body == (
        "Du har mottatt en ny melding fra Testby kommune. Logg på for å lese meldingen. "
        "Denne SMSen kan ikke besvares."
    )
    db.refresh(notice)
    assert notice.provider_id == f"sms-notice-{notice.id}"


def test_a_completed_visit_names_no_service_and_gives_the_time(app, db, world, smtp):
    from app.clock import local_to_utc
    from app.models import Appointment, AppointmentStatus

    contact(db, world.resident, email="rita@test.example", level=NoticeLevel.ALL)
    done = utcnow().replace(second=0, microsecond=0)
    visit = Appointment(
        person_id=world.resident.id,
        service_id=world.nursing.id,
        unit_id=world.unit.id,
        status=AppointmentStatus.COMPLETED,
        window_start=done,
        window_end=done,
        start_at=done,
        employee_staff_id=world.employee.id,
        completed_at=done,
        completed_by_staff_id=world.employee.id,
        description="Sårstell",
        created_at=done,
    )
    db.add(visit)
    db.flush()
    notices_for_event(
        db,
        subject=world.resident,
        event=NoticeEvent.VISIT_COMPLETED,
        event_key=f"visit:{visit.id}",
        municipality_id=world.municipality.id,
        now=utcnow(),
    )
    deliver(app, db, channels(smtp.port))
    (message,) = smtp.recorder.messages
    assert "registrert som utført" in message.body
    assert (
        done.astimezone(__import__("app.clock", fromlist=["OSLO"]).OSLO).strftime("%H:%M")
        in message.body
    )
    for secret in ("Hjemmesykepleie", "Sårstell", world.employee.full_name):
        assert secret not in message.body and secret not in (message.subject or "")
    assert local_to_utc


def test_two_people_sharing_an_address_get_one_message(app, db, world, smtp):
    contact(db, world.resident, email="familien@test.example")
    contact(db, world.proxy, email="Familien@test.example", level=NoticeLevel.ALL, same=True)
    made = new_message(db, world)
    assert len(made) == 2
    assert sorted(n.status for n in made) == [NoticeStatus.DROPPED, NoticeStatus.PENDING]
    deliver(app, db, channels(smtp.port))
    assert len(smtp.recorder.messages) == 1


def test_a_recipient_who_lost_access_is_dropped_with_a_reason(app, db, world, smtp):
    contact(db, world.resident, email="rita@test.example")
    contact(db, world.proxy, email="per@test.example", same=True)
    made = new_message(db, world)
    fullmakt = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == world.proxy.id)).one()
    fullmakt.ended_at = utcnow()
    db.flush()
    assert deliver(app, db, channels(smtp.port)) == {"sent": 1, "dropped": 1}
    dropped = next(n for n in made if n.recipient_person_id == world.proxy.id)
    db.refresh(dropped)
    assert dropped.status is NoticeStatus.DROPPED
    assert "no longer represents" in dropped.last_error
    assert [m.to for m in smtp.recorder.messages] == ["rita@test.example"]


def test_smtp_down_then_up_waits_with_back_off_and_then_arrives(app, db, world):
    contact(db, world.resident, email="rita@test.example")
    (notice,) = new_message(db, world)
    port = free_port()  # nothing listens here yet
    with time_machine.travel(utcnow(), tick=False) as clock:
        start = utcnow()
        assert deliver(app, db, channels(port)) == {"retry": 1}
        db.refresh(notice)
        first_wait = notice.next_attempt_at - start
        assert notice.status is NoticeStatus.PENDING and notice.attempts == 1
        assert timedelta(seconds=15) <= first_wait <= timedelta(seconds=45)
        assert "ConnectionRefused" in notice.last_error
        assert deliver(app, db, channels(port)) == {}  # not due yet: nothing is tried
        clock.shift(first_wait + timedelta(seconds=1))
        assert deliver(app, db, channels(port)) == {"retry": 1}
        db.refresh(notice)
        second_wait = notice.next_attempt_at - utcnow()
        assert timedelta(seconds=30) <= second_wait <= timedelta(seconds=90)  # grows
        server = SmtpServer(port).start()
        try:
            clock.shift(second_wait + timedelta(seconds=1))
            assert deliver(app, db, channels(port)) == {"sent": 1}
        finally:
            server.stop()
    db.refresh(notice)
    assert notice.status is NoticeStatus.SENT and notice.attempts == 3
    assert [m.notice_id for m in server.recorder.messages] == [notice.id]


def test_a_refused_address_fails_for_good_at_once(app, db, world, smtp):
    smtp.recorder.refuse_with = "550 5.1.1 No such user"
    contact(db, world.resident, email="finnes.ikke@test.example")
    (notice,) = new_message(db, world)
    assert deliver(app, db, channels(smtp.port)) == {"failed": 1}
    db.refresh(notice)
    assert notice.status is NoticeStatus.FAILED and "550" in notice.last_error


def test_temporary_failures_end_as_failed_after_the_last_try(app, db, world, sms):
    contact(db, world.resident, mobile="+4791234567", channel=NoticeChannel.SMS)
    (notice,) = new_message(db, world)
    sms.recorder.fail_with = [503] * 10
    with time_machine.travel(utcnow(), tick=False) as clock:
        outcomes = []
        for _ in range(FAST.max_attempts):
            outcomes.append(deliver(app, db, channels(sms_url=sms.url)))
            clock.shift(timedelta(hours=2))
    assert outcomes == [{"retry": 1}] * (FAST.max_attempts - 1) + [{"failed": 1}]
    db.refresh(notice)
    assert notice.status is NoticeStatus.FAILED and notice.attempts == FAST.max_attempts


def test_the_sms_provider_answers_decide_retry_or_failure(app, db, world, sms):
    contact(db, world.resident, mobile="+4791234567", channel=NoticeChannel.SMS)
    (notice,) = new_message(db, world)
    sms.recorder.fail_with = [429]
    sms.recorder.retry_after = "120"
    assert deliver(app, db, channels(sms_url=sms.url)) == {"retry": 1}
    db.refresh(notice)
    wait = notice.next_attempt_at - utcnow()
    assert timedelta(seconds=100) < wait <= timedelta(seconds=120)  # the provider's Retry-After
    other = new_message(db, world, key="message:2")[0]
    sms.recorder.fail_with = [400]
    with time_machine.travel(utcnow() + timedelta(minutes=5), tick=False):
        outcome = deliver(app, db, channels(sms_url=sms.url))
    db.refresh(other)
    assert other.status is NoticeStatus.FAILED or outcome.get("failed") == 1


def test_back_off_grows_exponentially_with_jitter_and_a_cap():
    settings = FAST  # back-off 30 s, capped at 600 s
    rng = random.Random(7)
    delays = [backoff_delay(n, settings, rng) for n in range(1, 9)]
    for n, delay in enumerate(delays, start=1):
        base = min(30 * 2 ** (n - 1), 600)
        assert 0.5 * base <= delay <= 1.5 * base
    assert max(delays) <= 900


def test_a_notice_claimed_by_another_worker_is_left_alone(app, db, world, smtp):
    from app.notices.worker import claim, deliver_one

    contact(db, world.resident, email="rita@test.example")
    (notice,) = new_message(db, world)
    ids, lease = claim(db, now=utcnow(), settings=FAST)
    assert ids == [notice.id]
    # Meanwhile the lease ran out and another worker claimed it with its own lease.
    again, other_lease = claim(db, now=utcnow() + timedelta(minutes=5), settings=FAST)
    assert again == [notice.id] and other_lease != lease
    chans = channels(smtp.port)
    with app.app_context():
        assert deliver_one(db, notice.id, lease, chans, FAST) == "not_mine"
    chans.close()
    assert smtp.recorder.messages == []
    assert db.scalar(sa.select(Notice.status).where(Notice.id == notice.id)) is (
        NoticeStatus.PENDING
    )


def test_a_notice_whose_lease_runs_out_is_not_sent_late(app, db, world, smtp):
    """Sending after the lease could overlap another worker's claim: leave it to them."""
    from app.notices.worker import claim, deliver_one

    contact(db, world.resident, email="rita@test.example")
    (notice,) = new_message(db, world)
    with time_machine.travel(utcnow(), tick=False) as clock:
        ids, lease = claim(db, now=utcnow(), settings=FAST)
        clock.shift(FAST.lease - timedelta(milliseconds=100))
        chans = channels(smtp.port)
        with app.app_context():
            assert deliver_one(db, notice.id, lease, chans, FAST) == "lease_expired"
        chans.close()
        assert smtp.recorder.messages == []
        clock.shift(timedelta(seconds=1))
        assert deliver(app, db, channels(smtp.port)) == {"sent": 1}  # claimed again
    assert smtp.recorder.by_notice() == {notice.id: 1}


def test_an_approved_assigned_fullmakt_is_told_to_the_resident_and_their_proxies(
    app, db, world, smtp
):
    """In each recipient's language, naming nobody and no health content (R11)."""
    from app.models import FullmaktKind, StaffRoleKind
    from app.services.fullmakt import fullmakt_approve
    from tests import factories
    from tests.support import actor_for

    contact(db, world.resident, email="rita@test.example", level=NoticeLevel.LIMITED)
    contact(db, world.proxy, email="per@test.example", language="nn")  # not "same notices"
    stranger = factories.person(db, "Sara", "Fremmed")
    contact(db, stranger, email="sara@test.example", level=NoticeLevel.ALL, same=True)
    fullmakt = factories.fullmakt(
        db,
        world.resident,
        stranger,
        kind=FullmaktKind.ASSIGNED,
        registered_by=world.admin,
        pending=True,
    )
    second = factories.staff(
        db, world.municipality, "admin-to", [(StaffRoleKind.MUNICIPAL_ADMIN, None)]
    )
    fullmakt_approve(db, actor_for(db, second), fullmakt_id=fullmakt.id, now=utcnow())
    assert deliver(app, db, channels(smtp.port)) == {"sent": 2}
    by_to = {m.to: m for m in smtp.recorder.messages}
    rita, per = by_to["rita@test.example"], by_to["per@test.example"]
    assert rita.subject == "Ny fullmakt registrert av Testby kommune"
    assert "lar en annen person handle på dine vegne i Hjemmedialog" in rita.body
    assert "Om ho er feil, kontakt Testby kommune" in per.body  # nynorsk, for someone else
    assert "på vegner av nokon du representerer" in per.body
    for message in (rita, per):
        for named in ("Sara", "Rita", "Fremmed", "Hjemmesykepleie", "samtykke"):
            assert named not in message.body


def test_a_registered_visit_is_notified_only_when_it_can_no_longer_be_undone(app, db, world, smtp):
    """Issue 10: the notice waits out the undo window; one undone at its very end is dropped."""
    from app.models import Appointment, AppointmentStatus
    from app.services import appointments as visits
    from tests.support import actor_for

    contact(db, world.resident, email="rita@test.example", level=NoticeLevel.ALL)
    done, undone = (
        Appointment(
            person_id=world.resident.id,
            service_id=world.nursing.id,
            unit_id=world.unit.id,
            status=AppointmentStatus.ASSIGNED,
            window_start=utcnow(),
            window_end=utcnow(),
            start_at=utcnow(),
            employee_staff_id=world.employee.id,
            description="Sårstell",
            created_at=utcnow(),
        )
        for _ in range(2)
    )
    db.add_all([done, undone])
    db.flush()
    employee = actor_for(db, world.employee)
    window = timedelta(minutes=2)
    with time_machine.travel(utcnow(), tick=False) as clock:
        for target in (done, undone):
            visits.visit_register(
                db,
                employee,
                appointment_id=target.id,
                idempotency_key=f"window-{target.id}",
                registered_at=None,
                now=utcnow(),
                undo_window=window,
            )
        assert deliver(app, db, channels(smtp.port)) == {}  # still in the window: nothing
        clock.shift(window - timedelta(seconds=1))
        assert deliver(app, db, channels(smtp.port)) == {}
        # Undone in its last moment, past the service's own check: the worker drops it.
        db.execute(
            sa.update(Appointment)
            .where(Appointment.id == undone.id)
            .values(status=AppointmentStatus.ASSIGNED, completed_at=None, undo_until=None)
        )
        clock.shift(timedelta(seconds=2))
        assert deliver(app, db, channels(smtp.port)) == {"sent": 1, "dropped": 1}
    assert len(smtp.recorder.messages) == 1
    dropped = db.scalars(sa.select(Notice).where(Notice.status == NoticeStatus.DROPPED)).one()
    assert dropped.event_key == f"visit:{undone.id}"
    assert "no longer registered as done" in dropped.last_error


def many_messages(db, world, count):
    contact(db, world.resident, email="rita@test.example")
    return [new_message(db, world, key=f"message:{n}")[0] for n in range(1, count + 1)]


def test_batches_go_through_one_smtp_connection(app, db, world, smtp):
    """One connect (and login) for all the messages; the next batch reuses it."""
    many_messages(db, world, 20)
    chans = channels(smtp.port)
    settings = replace(FAST, batch_size=10)
    try:
        with app.app_context():
            assert run_batch(db, chans, settings) == {"sent": 10}
            assert run_batch(db, chans, settings) == {"sent": 10}
    finally:
        chans.close()
    assert smtp.recorder.total() == 20
    assert smtp.recorder.connections() == 1


def test_a_connection_dropped_mid_batch_loses_nothing_and_sends_nothing_twice(app, db, world, smtp):
    """Closed after a message was accepted, with a MAIL command unanswered, and with 421."""
    made = many_messages(db, world, 10)
    smtp.recorder.drop_after_message = {3}
    smtp.recorder.drop_at_mail = {7}  # the 7th MAIL the server sees: the 7th message
    smtp.recorder.closing_at_mail = {10}  # the 9th message
    assert deliver(app, db, channels(smtp.port)) == {"sent": 10}
    assert smtp.recorder.by_notice() == {notice.id: 1 for notice in made}
    assert smtp.recorder.connections() == 4
    statuses = db.scalars(sa.select(Notice.status).where(Notice.id.in_([n.id for n in made])))
    assert set(statuses) == {NoticeStatus.SENT}


def test_a_server_gone_mid_batch_leaves_the_rest_to_a_retry(app, db, world, smtp):
    """Sent before it went, retried after it is back: each message arrives once."""
    made = many_messages(db, world, 10)
    smtp.recorder.drop_at_mail = set(range(5, 100))  # every connection, from the 5th MAIL
    with time_machine.travel(utcnow(), tick=False) as clock:
        assert deliver(app, db, channels(smtp.port)) == {"sent": 4, "retry": 6}
        pending = db.scalars(sa.select(Notice).where(Notice.status == NoticeStatus.PENDING))
        assert sorted(n.id for n in pending) == sorted(n.id for n in made[4:])
        smtp.recorder.drop_at_mail = set()
        clock.shift(timedelta(minutes=2))  # past the first back-off
        assert deliver(app, db, channels(smtp.port)) == {"sent": 6}
    assert smtp.recorder.by_notice() == {notice.id: 1 for notice in made}


def test_the_message_built_once_per_text_is_the_message_built_whole():
    """The shared part is cached per text; the message equals the one the email package
    builds for the notice (the international-address path), Date aside."""
    import email as email_package
    from types import SimpleNamespace

    from app.notices.texts import NoticeText

    channel = SmtpChannel("127.0.0.1", 25, sender="Hjemmedialog – Testby <ikke-svar@t.example>")
    text = NoticeText(subject="Ny melding fra Testby kommune", body="Logg på for å lese.\n")
    notice = SimpleNamespace(
        id=7, channel=NoticeChannel.EMAIL, address="rita@test.example", language="nn"
    )
    head = f"To: {notice.address}\r\nMessage-ID: <notice-7@t.example>\r\n"
    fast = email_package.message_from_bytes(head.encode() + channel._part(notice, text))  # noqa: SLF001
    whole = email_package.message_from_bytes(channel._email(notice, text).as_bytes())  # noqa: SLF001
    assert channel._part(notice, text) is channel._part(notice, text)  # noqa: SLF001
    del whole["Date"], whole["X-Hjemmedialog-Notice"]
    assert sorted(fast.items()) == sorted(whole.items())
    assert fast.get_payload(decode=True) == whole.get_payload(decode=True)
    assert fast.get_payload(decode=True).decode() == text.body
