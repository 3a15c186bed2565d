"""What the two outboxes share: notices (app/notices/worker.py) and record-system events
(app/notices/hooks.py). Each row has a status with a PENDING member, `next_attempt_at`,
`claimed_until` and `attempts`; a worker claims due rows with a lease and counts the try."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

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


def claim_due(
    session: Session, model: Any, *, now: datetime, batch_size: int, lease: timedelta
) -> tuple[list[int], datetime]:
    """Up to a batch of due rows of `model`, leased to this worker until the returned moment.

    On PostgreSQL several workers claim with FOR UPDATE SKIP LOCKED and never take the same
    row; the caller commits the claim before it delivers anything."""
    pending = model.status.type.enum_class.PENDING
    due = (
        sa.select(model.id)
        .where(
            model.status == pending,
            model.next_attempt_at <= now,
            sa.or_(model.claimed_until.is_(None), model.claimed_until < now),
        )
        .order_by(model.next_attempt_at, model.id)
        .limit(batch_size)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    lease_until = now + lease
    if ids:
        table = model.__table__
        session.execute(
            sa.update(table)
            .where(table.c.id.in_(ids))
            .values(claimed_until=lease_until, attempts=table.c.attempts + 1)
        )
    return ids, lease_until


def soonest_due(session: Session, model: Any, now: datetime) -> datetime | None:
    """When the next pending row of `model` that is not due yet will be."""
    pending = model.status.type.enum_class.PENDING
    soonest = session.scalar(
        sa.select(sa.func.min(model.next_attempt_at)).where(
            model.status == pending, model.next_attempt_at > now
        )
    )
    if soonest is not None and soonest.tzinfo is None:  # SQLite keeps no time zone: UTC
        soonest = soonest.replace(tzinfo=now.tzinfo)
    return soonest


def still_held(session: Session, model: Any, ids: list[int], lease_until: datetime) -> set[int]:
    """Which of `ids` this worker still holds (pending, its lease), locked until the
    transaction ends: the outcomes are recorded for those only."""
    pending = model.status.type.enum_class.PENDING
    table = model.__table__.c  # Core: no ORM bookkeeping
    held = (
        sa.select(table.id)
        .where(
            table.id.in_(ids),
            table.status == pending,
            table.claimed_until == lease_until,
        )
        .order_by(table.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        held = held.with_for_update()  # SQLite: BEGIN IMMEDIATE already holds the write lock
    return set(session.scalars(held))


def due_in(session: Session, model: Any, now: datetime, poll: float) -> float:
    """Seconds until the next pending row of `model` is due, at most `poll`; ends the
    read's transaction."""
    soonest = soonest_due(session, model, now)
    session.commit()
    if soonest is None:
        return poll
    # A millisecond late rather than early: woken early, the claim finds nothing yet.
    return min(poll, max((soonest - now).total_seconds() + 0.001, 0.0))
