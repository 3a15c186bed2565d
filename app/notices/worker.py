"""The outbox worker: claim due notices, send them, record what happened.

Crash safety: a claim is committed before anything is sent, and the result after, each
in its own transaction. A worker killed at any point leaves its claimed notices to be
claimed again when the lease runs out; so every notice is sent at least once and recorded
as sent once, and the provider's idempotency key (SMS) or the stable Message-ID (e-mail)
makes a repeat recognisable. On PostgreSQL several workers claim with FOR UPDATE SKIP
LOCKED and never take the same notice; on SQLite one worker is enough.

Waking: an idle worker waits until the next notice is due, at most NOTICE_POLL_SECONDS. On
PostgreSQL it also LISTENs for the NOTIFY that queueing a notice sends
(app/services/notices.py), and claims at once when it comes; the poll is the fallback.

Record systems' events (app/notices/hooks.py) are delivered by a thread of the same worker,
which polls: their endpoints may be slow, and a resident's notice must not wait for them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
import requests
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.models import (
    Appointment,
    Municipality,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeStatus,
    Person,
    UsageAction,
)
from app.notices import hooks
from app.notices.channels import (
    Channel,
    Delivered,
    DevSinkChannel,
    Permanent,
    SmsHttpChannel,
    SmtpChannel,
    Temporary,
)
from app.notices.outbox import (
    LEASE_MARGIN,
    Settings,
    backoff_delay,
    claim_due,
    due_in,
    still_held,
)
from app.notices.texts import NoticeText, notice_text
from app.services.audit import usage_log_add_many
from app.services.notices import NOTICE_CHANNEL, representatives

log = logging.getLogger("hjemmedialog.notices")

# An idle worker notices SIGTERM within this long.
STOP_CHECK = 0.5


def claim(session: Session, *, now: datetime, settings: Settings) -> tuple[list[int], datetime]:
    """Take up to a batch of due notices for this worker; committed before any sending."""
    ids, lease_until = _claim(session, now=now, settings=settings)
    session.commit()
    return ids, lease_until


def _claim(session: Session, *, now: datetime, settings: Settings) -> tuple[list[int], datetime]:
    return claim_due(session, Notice, now=now, batch_size=settings.batch_size, lease=settings.lease)


@dataclass
class Channels:
    """The channels a worker sends through, opened once and reused across batches."""

    email: Channel | None
    sms: Channel | None

    @classmethod
    def from_app(cls, app: Flask, session: Session) -> Channels:
        c = app.config
        sink = DevSinkChannel(session) if c["NOTICE_DEV_SINK"] else None
        email = (
            SmtpChannel(
                c["SMTP_HOST"],
                c["SMTP_PORT"],
                security=c["SMTP_SECURITY"],
                username=c["SMTP_USERNAME"],
                password=c["SMTP_PASSWORD"],
                sender=c["MAIL_FROM"],
                timeout=c["SMTP_TIMEOUT"],
            )
            if c["SMTP_HOST"]
            else sink
        )
        sms = (
            SmsHttpChannel(c["SMS_URL"], c["SMS_TOKEN"], timeout=c["SMS_TIMEOUT"])
            if c["SMS_URL"]
            else sink
        )
        return cls(email, sms)

    def for_notice(self, notice: Outgoing) -> Channel | None:
        return self.email if notice.channel is NoticeChannel.EMAIL else self.sms

    def close(self) -> None:
        for channel in (self.email, self.sms):
            if channel is not None:
                channel.close()


@dataclass(frozen=True)
class Outgoing:
    """What the worker needs of one claimed notice, read once per batch."""

    id: int
    status: NoticeStatus
    claimed_until: datetime | None
    attempts: int
    recipient_person_id: int
    subject_person_id: int
    event: NoticeEvent
    channel: NoticeChannel
    address: str
    language: str
    sender: str
    completed_at: datetime | None


def _visit_id(notice: sa.Row) -> int | None:
    """The visit a completed-visit notice is about (its event key is "visit:<id>")."""
    if notice.event is not NoticeEvent.VISIT_COMPLETED:
        return None
    return int(notice.event_key.partition(":")[2])


def load_batch(session: Session, ids: list[int]) -> list[Outgoing]:
    """The claimed notices with their sender names and visit times, in a read of its own."""
    batch = _load(session, ids)
    session.commit()
    return batch


def _load(session: Session, ids: list[int]) -> list[Outgoing]:
    """The claimed notices with their sender names and visit times: two queries a batch."""
    if not ids:
        return []
    # Columns, not entities: the claim just changed these rows behind the identity map.
    notices = session.execute(
        sa.select(
            Notice.id,
            Notice.status,
            Notice.claimed_until,
            Notice.attempts,
            Notice.recipient_person_id,
            Notice.subject_person_id,
            Notice.event,
            Notice.event_key,
            Notice.channel,
            Notice.address,
            Notice.language,
            Municipality.notice_sender_name,
        )
        .join(Municipality, Municipality.id == Notice.municipality_id)
        .where(Notice.id.in_(ids))
        .order_by(Notice.id)
    ).all()
    visits = {_visit_id(notice) for notice in notices} - {None}
    completed = (
        dict(
            session.execute(
                sa.select(Appointment.id, Appointment.completed_at).where(
                    Appointment.id.in_(visits)
                )
            ).all()
        )
        if visits
        else {}
    )
    batch = [
        Outgoing(
            id=n.id,
            status=n.status,
            claimed_until=n.claimed_until,
            attempts=n.attempts,
            recipient_person_id=n.recipient_person_id,
            subject_person_id=n.subject_person_id,
            event=n.event,
            channel=n.channel,
            address=n.address,
            language=n.language,
            sender=n.notice_sender_name or "",
            completed_at=completed.get(_visit_id(n)),
        )
        for n in notices
    ]
    return batch


def _still_represents(session: Session, notice: Outgoing, now: datetime) -> bool:
    """A notice about someone else goes out only while the recipient still represents them."""
    if notice.recipient_person_id == notice.subject_person_id:
        return True
    subject = session.get(Person, notice.subject_person_id)
    return notice.recipient_person_id in {p.id for p in representatives(session, subject, now)}


@dataclass(frozen=True)
class Result:
    """The outcome of one notice of a batch and the columns it sets."""

    notice: Outgoing
    outcome: str  # sent, dropped, failed or retry
    values: dict[str, object]


def _dropped(notice: Outgoing, reason: str) -> Result:
    return Result(notice, "dropped", {"status": NoticeStatus.DROPPED, "last_error": reason})


def _not_to_send(
    session: Session, notice: Outgoing, lease_until: datetime, now: datetime
) -> Result | str | None:
    """Why a claimed notice is not sent: a result to record, an outcome that records
    nothing, or None to send it."""
    if notice.status is not NoticeStatus.PENDING or notice.claimed_until != lease_until:
        return "not_mine"
    if now >= lease_until - LEASE_MARGIN:
        # The lease is (nearly) up: another worker may claim it now; leave it to them.
        return "lease_expired"
    if notice.event is NoticeEvent.VISIT_COMPLETED and notice.completed_at is None:
        # Undone (Angre) at the very end of its window: the visit is not done after all.
        return _dropped(notice, "the visit is no longer registered as done")
    if not _still_represents(session, notice, now):
        return _dropped(notice, "recipient no longer represents the person")
    return None


def _send(notice: Outgoing, channels: Channels, settings: Settings) -> Result:
    channel = channels.for_notice(notice)
    if channel is None:
        outcome = Temporary(f"no {notice.channel.value} channel configured")
    else:
        outcome = channel.send(notice, _text(notice))
    now = utcnow()
    if isinstance(outcome, Delivered):
        values = {
            "status": NoticeStatus.SENT,
            "sent_at": now,
            "provider_id": outcome.provider_id[:200],
            "last_error": None,
        }
        return Result(notice, "sent", values)
    if isinstance(outcome, Permanent) or notice.attempts >= settings.max_attempts:
        log.warning("notice %s failed for good: %s", notice.id, outcome.error)
        values = {"status": NoticeStatus.FAILED, "last_error": outcome.error[:500]}
        return Result(notice, "failed", values)
    delay = outcome.retry_after or backoff_delay(notice.attempts, settings)
    values = {
        "next_attempt_at": now + timedelta(seconds=delay),
        "last_error": outcome.error[:500],
    }
    return Result(notice, "retry", values)


def _record(session: Session, lease_until: datetime, results: list[Result]) -> set[int]:
    """Write the outcomes of a batch, for the notices this worker still holds; returns those.

    A few statements for the whole batch: the held notices are locked, each kind of result
    is one executemany (psycopg pipelines it), and the usage log is one insert."""
    if not results:
        return set()
    notice = Notice.__table__.c  # Core: no ORM bookkeeping
    mine = still_held(session, Notice, [r.notice.id for r in results], lease_until)
    by_columns: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for result in results:
        if result.notice.id in mine:
            row = {f"new_{key}": value for key, value in result.values.items()}
            row["notice_id"] = result.notice.id
            by_columns.setdefault(tuple(sorted(result.values)), []).append(row)
    for columns, rows in by_columns.items():
        session.execute(
            sa.update(Notice.__table__)
            .where(notice.id == sa.bindparam("notice_id"))
            .values(claimed_until=None, **{c: sa.bindparam(f"new_{c}") for c in columns}),
            rows,
        )
    usage_log_add_many(
        session,
        [
            {
                "at": result.values["sent_at"],
                "subject_person_id": result.notice.subject_person_id,
                "action": UsageAction.NOTICE_SENT,
                "actor_person_id": result.notice.recipient_person_id,
                "object_type": "notice",
                "object_id": result.notice.id,
                "detail": result.notice.channel.value,
            }
            for result in results
            if result.outcome == "sent" and result.notice.id in mine
        ],
    )
    return mine


def deliver_batch(
    session: Session,
    batch: list[Outgoing],
    lease_until: datetime,
    channels: Channels,
    settings: Settings,
) -> dict[str, int]:
    """Send a claimed batch, then record every outcome in one transaction.

    Nothing is recorded between sends: a worker killed in the middle of a batch leaves the
    batch to be claimed again when the lease runs out, and what it had sent of it goes out
    again (with the same Message-ID or idempotency key). NOTICE_BATCH_SIZE bounds that."""
    counts: dict[str, int] = {}
    results: list[Result] = []
    to_send: list[Outgoing] = []
    now = utcnow()
    for notice in batch:
        verdict = _not_to_send(session, notice, lease_until, now)
        if verdict is None:
            to_send.append(notice)
        elif isinstance(verdict, Result):
            results.append(verdict)
        else:
            counts[verdict] = counts.get(verdict, 0) + 1
    session.commit()  # hold no transaction (nor SQLite's write lock) while sending
    for notice in to_send:
        if utcnow() >= lease_until - LEASE_MARGIN:
            counts["lease_expired"] = counts.get("lease_expired", 0) + 1
            continue
        results.append(_send(notice, channels, settings))
    _record(session, lease_until, results)
    session.commit()
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return counts


def deliver_one(
    session: Session,
    notice_id: int,
    lease_until: datetime,
    channels: Channels,
    settings: Settings,
) -> str:
    """Send one claimed notice and record the outcome; returns what happened."""
    (outcome,) = deliver_batch(
        session, load_batch(session, [notice_id]), lease_until, channels, settings
    )
    return outcome


def _text(notice: Outgoing) -> NoticeText:
    return _text_for(
        notice.event,
        notice.channel,
        notice.language,
        notice.sender,
        notice.recipient_person_id != notice.subject_person_id,
        notice.completed_at,
    )


@functools.lru_cache(maxsize=1024)
def _text_for(
    event: NoticeEvent,
    channel: NoticeChannel,
    language: str,
    sender: str,
    for_someone_else: bool,  # noqa: FBT001
    completed_at: datetime | None,
) -> NoticeText:
    """The same few texts serve most notices; translating them each time cost ~0.3 ms."""
    return notice_text(
        event=event,
        channel=channel,
        language=language,
        sender=sender,
        for_someone_else=for_someone_else,
        completed_at=completed_at,
    )


def run_batch(session: Session, channels: Channels, settings: Settings) -> dict[str, int]:
    """Claim one batch and deliver it; returns how many of each outcome.

    Claiming and reading the batch is one transaction, recording it another."""
    ids, lease_until = _claim(session, now=utcnow(), settings=settings)
    batch = _load(session, ids)
    session.commit()
    return deliver_batch(session, batch, lease_until, channels, settings)


def next_due_in(session: Session, now: datetime, settings: Settings) -> float:
    """Seconds until the next pending notice is due, at most the poll interval."""
    return due_in(session, Notice, now, settings.poll)


class Waker:
    """Waits for work: on PostgreSQL a NOTIFY on NOTICE_CHANNEL ends the wait at once.

    Uses psycopg's own `notifies(timeout=...)` on a connection of its own, in autocommit
    and outside the pool. It listens from the start, before the first claim, so a notice
    queued while a batch is sent is not missed: its notification waits on the connection.
    A lost connection is opened again at the next wait; until then the worker polls.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.listening = engine.dialect.name == "postgresql"
        self._conn = None
        if self.listening:
            self._listen()

    def _listen(self) -> bool:
        try:
            raw = self.engine.raw_connection()
            conn = raw.driver_connection
            raw.detach()  # its own connection for as long as the worker runs
            conn.autocommit = True
            conn.execute(f"LISTEN {NOTICE_CHANNEL}")
        except (sa.exc.SQLAlchemyError, psycopg.Error):
            log.warning("cannot LISTEN for notices; polling instead", exc_info=True)
            return False
        self._conn = conn
        return True

    def wait(self, seconds: float, stopped: Callable[[], bool]) -> None:
        """Wait up to `seconds`, less when woken; checks `stopped` every STOP_CHECK seconds."""
        deadline = time.monotonic() + seconds
        while not stopped():
            left = deadline - time.monotonic()
            if left <= 0 or self._wait(min(left, STOP_CHECK)):
                return

    def _wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; True when there may be work before then."""
        if not self.listening:
            time.sleep(seconds)
            return False
        if self._conn is None:
            if self._listen():
                return True  # notices queued while not listening were not announced: look now
            time.sleep(seconds)
            return False
        try:
            return any(True for _ in self._conn.notifies(timeout=seconds, stop_after=1))
        except psycopg.Error:
            log.warning("lost the LISTEN connection; polling until it is back", exc_info=True)
            self.close()
            time.sleep(seconds)
            return False

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


def run(app: Flask, session: Session, *, once: bool = False) -> dict[str, int]:
    """Deliver notices and record-system events (app/notices/hooks.py) until stopped
    (SIGTERM or SIGINT), or with `once` until nothing is due."""
    settings = Settings.from_app(app)
    channels = Channels.from_app(app, session)
    for kind, channel, setting in (
        ("e-mail", channels.email, "SMTP_HOST"),
        ("SMS", channels.sms, "SMS_URL"),
    ):
        if channel is None:
            log.warning("No %s channel: set %s (README, Configuration); they wait.", kind, setting)
    stopping = False

    def stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    if not once:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    totals: dict[str, int] = {}
    waker = Waker(session.get_bind()) if not once else None
    hook_settings = hooks.HookSettings.from_app(app)
    http = requests.Session()
    # Running on, the record systems' events go in a thread of their own (a slow endpoint
    # never holds up a notice); with `once`, in this loop after the notices.
    events = (
        None
        if once
        else threading.Thread(
            target=hooks.run_beside,
            args=(app, lambda: stopping, hook_settings),
            name="events",
            daemon=True,
        )
    )
    if events is not None:
        events.start()
    try:
        while not stopping:
            counts = run_batch(session, channels, settings)
            if once:
                for key, value in hooks.run_batch(session, http, hook_settings).items():
                    counts[f"event_{key}"] = counts.get(f"event_{key}", 0) + value
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            if not counts:
                if waker is None:
                    break
                waker.wait(next_due_in(session, utcnow(), settings), lambda: stopping)
    finally:
        stopping = True
        if waker is not None:
            waker.close()
        if events is not None:
            events.join(timeout=hook_settings.timeout + 5)
        channels.close()
        http.close()
    return totals
