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
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
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
from app.notices.channels import (
    Channel,
    Delivered,
    DevSinkChannel,
    Permanent,
    SmsHttpChannel,
    SmtpChannel,
    Temporary,
)
from app.notices.texts import NoticeText, notice_text
from app.services.audit import usage_log_add_many
from app.services.notices import NOTICE_CHANNEL, representatives

log = logging.getLogger("hjemmedialog.notices")

# A send must finish inside the lease; one that starts later than this before its end waits.
LEASE_MARGIN = timedelta(milliseconds=500)


@dataclass(frozen=True)
class Settings:
    """The NOTICE_* configuration (see app/config.py for the defaults)."""

    batch_size: int
    lease: timedelta
    max_attempts: int
    backoff: float
    backoff_max: float
    poll: float

    @classmethod
    def from_app(cls, app: Flask) -> Settings:
        c = app.config
        return cls(
            batch_size=c["NOTICE_BATCH_SIZE"],
            lease=timedelta(seconds=c["NOTICE_LEASE_SECONDS"]),
            max_attempts=c["NOTICE_MAX_ATTEMPTS"],
            backoff=c["NOTICE_BACKOFF_SECONDS"],
            backoff_max=c["NOTICE_BACKOFF_MAX_SECONDS"],
            poll=c["NOTICE_POLL_SECONDS"],
        )


def backoff_delay(attempts: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter: base * 2^(tries - 1), capped, times 0.5 to 1.5."""
    delay = min(settings.backoff * 2 ** max(attempts - 1, 0), settings.backoff_max)
    return delay * (rng or random).uniform(0.5, 1.5)  # noqa: S311 - jitter, not secrets


def claim(session: Session, *, now: datetime, settings: Settings) -> tuple[list[int], datetime]:
    """Take up to a batch of due notices for this worker; committed before any sending."""
    due = (
        sa.select(Notice.id)
        .where(
            Notice.status == NoticeStatus.PENDING,
            Notice.next_attempt_at <= now,
            sa.or_(Notice.claimed_until.is_(None), Notice.claimed_until < now),
        )
        .order_by(Notice.next_attempt_at, Notice.id)
        .limit(settings.batch_size)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    lease_until = now + settings.lease
    if ids:
        session.execute(
            sa.update(Notice)
            .where(Notice.id.in_(ids))
            .values(claimed_until=lease_until, attempts=Notice.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    session.commit()
    return ids, lease_until


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


def _visit_id(notice: Notice) -> int | None:
    """The visit a completed-visit notice is about (its event key is "visit:<id>")."""
    if notice.event is not NoticeEvent.VISIT_COMPLETED:
        return None
    return int(notice.event_key.partition(":")[2])


def load_batch(session: Session, ids: list[int]) -> list[Outgoing]:
    """The claimed notices with their sender names and visit times: three queries a batch."""
    if not ids:
        return []
    notices = session.execute(
        sa.select(Notice, Municipality.notice_sender_name)
        .join(Municipality, Municipality.id == Notice.municipality_id)
        .where(Notice.id.in_(ids))
        .order_by(Notice.id)
    ).all()
    visits = {_visit_id(notice) for notice, _ in notices} - {None}
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
            sender=sender or "",
            completed_at=completed.get(_visit_id(n)),
        )
        for n, sender in notices
    ]
    session.commit()  # end the read; each notice is then written in its own transaction
    return batch


def _still_represents(session: Session, notice: Outgoing, now: datetime) -> bool:
    """A notice about someone else goes out only while the recipient still represents them."""
    if notice.recipient_person_id == notice.subject_person_id:
        return True
    subject = session.get(Person, notice.subject_person_id)
    return notice.recipient_person_id in {p.id for p in representatives(session, subject, now)}


def _record(session: Session, notice_id: int, lease_until: datetime, **values) -> bool:
    """Write the result only if this worker still holds the claim."""
    notice = Notice.__table__.c  # Core: one statement per notice, without ORM bookkeeping
    done = session.execute(
        sa.update(Notice.__table__)
        .where(
            notice.id == notice_id,
            notice.status == NoticeStatus.PENDING,
            notice.claimed_until == lease_until,
        )
        .values(claimed_until=None, **values)
    ).rowcount
    return done == 1


def deliver_one(
    session: Session,
    notice_id: int,
    lease_until: datetime,
    channels: Channels,
    settings: Settings,
) -> str:
    """Send one claimed notice and record the outcome; returns what happened."""
    (notice,) = load_batch(session, [notice_id])
    return deliver(session, notice, lease_until, channels, settings)


def deliver(
    session: Session,
    notice: Outgoing,
    lease_until: datetime,
    channels: Channels,
    settings: Settings,
) -> str:
    """Send one notice of a claimed batch and record the outcome in its own transaction."""
    now = utcnow()
    if notice.status is not NoticeStatus.PENDING or notice.claimed_until != lease_until:
        return "not_mine"
    if now >= lease_until - LEASE_MARGIN:
        # The lease is (nearly) up: another worker may claim it now; leave it to them.
        return "lease_expired"
    if notice.event is NoticeEvent.VISIT_COMPLETED and notice.completed_at is None:
        # Undone (Angre) at the very end of its window: the visit is not done after all.
        _record(
            session,
            notice.id,
            lease_until,
            status=NoticeStatus.DROPPED,
            last_error="the visit is no longer registered as done",
        )
        session.commit()
        return "dropped"
    if not _still_represents(session, notice, now):
        _record(
            session,
            notice.id,
            lease_until,
            status=NoticeStatus.DROPPED,
            last_error="recipient no longer represents the person",
        )
        session.commit()
        return "dropped"
    session.commit()  # hold no transaction (nor SQLite's write lock) while sending
    channel = channels.for_notice(notice)
    if channel is None:
        outcome = Temporary(f"no {notice.channel.value} channel configured")
    else:
        outcome = channel.send(notice, _text(notice))
    now = utcnow()
    if isinstance(outcome, Delivered):
        if _record(
            session,
            notice.id,
            lease_until,
            status=NoticeStatus.SENT,
            sent_at=now,
            provider_id=outcome.provider_id[:200],
            last_error=None,
        ):
            usage_log_add_many(
                session,
                [
                    {
                        "at": now,
                        "subject_person_id": notice.subject_person_id,
                        "action": UsageAction.NOTICE_SENT,
                        "actor_person_id": notice.recipient_person_id,
                        "object_type": "notice",
                        "object_id": notice.id,
                        "detail": notice.channel.value,
                    }
                ],
            )
        session.commit()
        return "sent"
    if isinstance(outcome, Permanent) or notice.attempts >= settings.max_attempts:
        _record(
            session,
            notice.id,
            lease_until,
            status=NoticeStatus.FAILED,
            last_error=outcome.error[:500],
        )
        session.commit()
        log.warning("notice %s failed for good: %s", notice.id, outcome.error)
        return "failed"
    delay = outcome.retry_after or backoff_delay(notice.attempts, settings)
    _record(
        session,
        notice.id,
        lease_until,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=outcome.error[:500],
    )
    session.commit()
    return "retry"


def _text(notice: Outgoing) -> NoticeText:
    return notice_text(
        event=notice.event,
        channel=notice.channel,
        language=notice.language,
        sender=notice.sender,
        for_someone_else=notice.recipient_person_id != notice.subject_person_id,
        completed_at=notice.completed_at,
    )


def run_batch(session: Session, channels: Channels, settings: Settings) -> dict[str, int]:
    """Claim one batch and deliver it; returns how many of each outcome."""
    ids, lease_until = claim(session, now=utcnow(), settings=settings)
    counts: dict[str, int] = {}
    for notice in load_batch(session, ids):
        outcome = deliver(session, notice, lease_until, channels, settings)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def next_due_in(session: Session, now: datetime, settings: Settings) -> float:
    """Seconds until the next pending notice is due, at most the poll interval."""
    soonest = session.scalar(
        sa.select(sa.func.min(Notice.next_attempt_at)).where(
            Notice.status == NoticeStatus.PENDING, Notice.next_attempt_at > now
        )
    )
    session.commit()
    if soonest is None:
        return settings.poll
    if soonest.tzinfo is None:  # SQLite keeps no time zone; the app stores UTC
        soonest = soonest.replace(tzinfo=now.tzinfo)
    # A millisecond late rather than early: woken early, the claim finds nothing yet.
    return min(settings.poll, max((soonest - now).total_seconds() + 0.001, 0.0))


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

    def wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if not self.listening:
            time.sleep(seconds)
            return
        if self._conn is None:
            if self._listen():
                return  # notices queued while not listening were not announced: look now
            time.sleep(seconds)
            return
        try:
            for _ in self._conn.notifies(timeout=seconds, stop_after=1):
                pass
        except psycopg.Error:
            log.warning("lost the LISTEN connection; polling until it is back", exc_info=True)
            self.close()
            time.sleep(seconds)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


def run(app: Flask, session: Session, *, once: bool = False) -> dict[str, int]:
    """Deliver until stopped (SIGTERM or SIGINT), or with `once` until nothing is due."""
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
    try:
        while not stopping:
            counts = run_batch(session, channels, settings)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            if not counts:
                if waker is None:
                    break
                waker.wait(next_due_in(session, utcnow(), settings))
    finally:
        if waker is not None:
            waker.close()
        channels.close()
    return totals
