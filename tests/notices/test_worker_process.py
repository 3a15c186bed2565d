"""The worker as `make run` starts it, a process of its own: killed, restarted, doubled.

Counted at the test servers by notice id: the SMS provider delivers a repeated
idempotency key once; a mailbox keeps one message per Message-ID. Raw SMTP repeats can
happen only for the batch in flight when the worker died (its outcomes are recorded
together after the batch), so there are at most a batch per kill.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import utcnow
from app.extensions import db as flask_db
from app.models import (
    ApiEventKind,
    Appointment,
    AppointmentStatus,
    ContactSettings,
    NoticeChannel,
    NoticeEvent,
    NoticeStatus,
    Person,
    UsageAction,
    UsageLogEntry,
)
from app.services.api_events import events_queue
from app.services.notices import notices_for_event
from tests import factories
from tests.databases import migrated_app, postgres_url, scratch_database
from tests.notices.outbox import (
    fill_outbox,
    start_worker,
    status_counts,
    stop_worker,
    worker_env,
)
from tests.notices.servers import HookReceiver, SmsServer, SmtpServer
from tests.support import wait_for

NOTICES = 1000
KILLS = 6
BATCH = 20


@pytest.fixture
def servers():
    smtp, sms = SmtpServer().start(), SmsServer().start()
    yield smtp, sms
    smtp.stop()
    sms.stop()


def assert_each_arrived_once(app, ids, smtp, sms, *, kills, batch_size=0):
    email = {n for n, channel in ids.items() if channel is NoticeChannel.EMAIL}
    text = set(ids) - email
    assert set(smtp.recorder.in_mailboxes()) == email
    assert set(smtp.recorder.in_mailboxes().values()) == {1}
    assert set(sms.recorder.by_notice()) == text
    assert set(sms.recorder.by_notice().values()) == {1}
    repeats = sum(smtp.recorder.by_notice().values()) - len(email)
    assert repeats <= kills * batch_size
    assert status_counts(app) == {NoticeStatus.SENT: len(ids)}
    with app.app_context():
        logged = flask_db.session.scalars(
            sa.select(UsageLogEntry.object_id).where(
                UsageLogEntry.action == UsageAction.NOTICE_SENT
            )
        ).all()
        flask_db.session.remove()
    assert sorted(logged) == sorted(ids)  # recorded as sent once each


def test_killed_at_random_points_and_restarted_every_notice_arrives_once(tmp_path, servers):
    """On the run's database: a SQLite file, or PostgreSQL when DATABASE_URL names one."""
    smtp, sms = servers
    seed = int(os.environ.get("CRASH_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    with scratch_database(tmp_path) as uri, migrated_app(uri, tmp_path) as app:
        ids = fill_outbox(app, NOTICES)
        env = worker_env(
            uri,
            tmp_path,
            smtp_port=smtp.port,
            sms_url=sms.url,
            lease_seconds=2,
            batch_size=BATCH,
            poll_seconds=0.05,
        )
        log = tmp_path / "worker.log"

        def progress() -> int:
            return smtp.recorder.total() + sms.recorder.total()

        kills = 0
        while kills < KILLS:
            before = progress()
            worker = start_worker(env, log)
            # Kill it while it works: once it has sent something, after a random moment.
            assert wait_for(lambda w=worker, b=before: progress() > b or w.poll() is not None, 60)
            time.sleep(rng.uniform(0, 0.3))
            if worker.poll() is not None:
                break
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
        assert kills == KILLS, f"the work ran out before the kills (seed {seed})"
        assert status_counts(app).get(NoticeStatus.PENDING), "nothing left for the restart"

        worker = start_worker(env, log)
        finished = wait_for(lambda: not status_counts(app).get(NoticeStatus.PENDING), 180, 0.2)
        assert stop_worker(worker) == 0
        assert finished, f"notices left pending (seed {seed}): {log.read_text()[-2000:]}"
        assert_each_arrived_once(app, ids, smtp, sms, kills=kills, batch_size=BATCH)


@pytest.mark.skipif(not postgres_url(), reason="needs PostgreSQL (DATABASE_URL)")
def test_two_workers_on_postgresql_share_the_outbox_without_doubles(tmp_path, servers):
    smtp, sms = servers
    with scratch_database(tmp_path) as uri, migrated_app(uri, tmp_path) as app:
        ids = fill_outbox(app, NOTICES)
        env = worker_env(
            uri, tmp_path, smtp_port=smtp.port, sms_url=sms.url, batch_size=10, poll_seconds=0.05
        )
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        workers = [start_worker(env, log) for log in logs]
        finished = wait_for(lambda: not status_counts(app).get(NoticeStatus.PENDING), 180, 0.2)
        assert [stop_worker(w) for w in workers] == [0, 0]
        assert finished
        # No SMTP repeats at all: nobody was killed, and no notice was taken by both.
        assert_each_arrived_once(app, ids, smtp, sms, kills=0)
        assert max(sms.recorder.attempts.values()) == 1
        sent = [int(re.search(r"(\d+) sent", log.read_text())[1]) for log in logs]
        assert sum(sent) == NOTICES and min(sent) > 0, sent  # both did their share


def resident_with_email(app) -> tuple[int, int]:
    """A resident who wants notices by e-mail: (person id, municipality id)."""
    with app.app_context():
        session = flask_db.session
        world = factories.build_world(session)
        session.add(
            ContactSettings(
                person_id=world.resident.id, email="rita@test.example", updated_at=utcnow()
            )
        )
        session.commit()
        ids = world.resident.id, world.municipality.id
        flask_db.session.remove()
    return ids


def queue_message(app, resident: tuple[int, int], key: str, *, delay: float = 0) -> float:
    """A new-message notice committed as the app does; returns when it is due (monotonic)."""
    person_id, municipality_id = resident
    with app.app_context():
        session = flask_db.session
        now = utcnow()
        due = now + timedelta(seconds=delay)
        notices_for_event(
            session,
            subject=session.get(Person, person_id),
            event=NoticeEvent.NEW_MESSAGE,
            event_key=key,
            municipality_id=municipality_id,
            now=now,
            due_at=due,
        )
        session.commit()
        flask_db.session.remove()
    return time.monotonic() + (due - utcnow()).total_seconds()


@pytest.mark.skipif(not postgres_url(), reason="LISTEN/NOTIFY: on SQLite the worker polls")
def test_on_postgresql_a_queued_notice_wakes_a_waiting_worker_at_once(tmp_path, servers):
    smtp, _ = servers
    with scratch_database(tmp_path) as uri, migrated_app(uri, tmp_path) as app:
        resident = resident_with_email(app)
        env = worker_env(uri, tmp_path, smtp_port=smtp.port, sms_url="", poll_seconds=30)
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            # The first arrives once the worker is up; then it waits, up to the 30 s poll.
            queue_message(app, resident, "message:1")
            assert wait_for(lambda: smtp.recorder.total() == 1, 30, 0.01)
            time.sleep(0.5)
            queued = time.monotonic()
            queue_message(app, resident, "message:2")
            assert wait_for(lambda: smtp.recorder.total() == 2, 5, 0.005)
            assert smtp.recorder.messages[1].at - queued < 1.0
        finally:
            assert stop_worker(worker) == 0


def test_a_delayed_notice_is_sent_when_due_and_not_before(tmp_path, servers):
    """As after Angre's window: the worker wakes when the notice is due, not at a poll.

    With a 3 s poll, a notice queued just after the worker went idle and due 4 s later
    would wait until the poll at 6 s; it arrives when due."""
    smtp, _ = servers
    with scratch_database(tmp_path) as uri, migrated_app(uri, tmp_path) as app:
        resident = resident_with_email(app)
        env = worker_env(uri, tmp_path, smtp_port=smtp.port, sms_url="", poll_seconds=3)
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            # The first arrives once the worker is up; it goes idle right after.
            queue_message(app, resident, "message:1")
            assert wait_for(lambda: smtp.recorder.total() == 1, 60, 0.005)
            due = queue_message(app, resident, "message:2", delay=4)
            assert wait_for(lambda: smtp.recorder.total() == 2, 15, 0.005)
        finally:
            assert stop_worker(worker) == 0
        arrived = smtp.recorder.messages[1].at
        assert due <= arrived < due + 1.0, arrived - due


def test_a_record_system_that_hangs_holds_up_no_notice(tmp_path, servers):
    """Events go in a thread of their own: while the worker waits for a record system's
    endpoint that takes seconds to answer, a notice queued meanwhile is sent at once."""
    smtp, sms = servers
    endpoint = HookReceiver().start()
    endpoint.recorder.delay = 4
    try:
        with scratch_database(tmp_path) as uri, migrated_app(uri, tmp_path) as app:
            with app.app_context():
                session = flask_db.session
                world = factories.build_world(session)
                client = factories.api_client(session, world.municipality, {"keys": []})
                factories.api_subscription(session, client, endpoint=endpoint.url)
                session.add(
                    ContactSettings(
                        person_id=world.resident.id, email="rita@test.example", updated_at=utcnow()
                    )
                )
                visit = Appointment(
                    person_id=world.resident.id,
                    service_id=world.nursing.id,
                    unit_id=world.unit.id,
                    status=AppointmentStatus.CANCELLED,
                    cancelled_at=utcnow(),
                    window_start=utcnow() + timedelta(days=1),
                    window_end=utcnow() + timedelta(days=1, hours=2),
                    description="Morgenstell",
                    created_at=utcnow(),
                )
                session.add(visit)
                session.flush()
                events_queue(
                    session,
                    ApiEventKind.APPOINTMENT_CANCELLED,
                    [(visit.id, world.municipality.id)],
                    now=utcnow(),
                )
                session.commit()
                resident_id = world.resident.id
                municipality_id = world.municipality.id
                flask_db.session.remove()
            env = worker_env(uri, tmp_path, smtp_port=smtp.port, sms_url=sms.url, poll_seconds=0.1)
            env |= {"API_EVENT_TIMEOUT": "10", "API_EVENT_HTTP_ALLOWED": "true"}
            worker = start_worker(env, tmp_path / "worker.log")
            try:
                assert wait_for(lambda: endpoint.recorder.received(), 30), "no event sent"
                with app.app_context():
                    resident = flask_db.session.get(Person, resident_id)
                    notices_for_event(
                        flask_db.session,
                        subject=resident,
                        event=NoticeEvent.NEW_MESSAGE,
                        event_key="message:1",
                        municipality_id=municipality_id,
                        now=utcnow(),
                    )
                    flask_db.session.commit()
                    flask_db.session.remove()
                queued = time.monotonic()
                assert wait_for(lambda: smtp.recorder.total() == 1, 3), "the notice waited"
                # It arrived while the endpoint still had the event's call.
                assert time.monotonic() - queued < endpoint.recorder.delay
            finally:
                assert stop_worker(worker) == 0
            assert len(endpoint.recorder.events()) == 1
    finally:
        endpoint.stop()
