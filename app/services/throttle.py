"""Failed attempts counted per key in the database, with blocks that double each time.

The counts live in the app's own database, so every process and every machine behind the
load balancer shares them, on SQLite and on PostgreSQL alike, with nothing more to run.
(Flask-Limiter's storages are memory, Redis, Memcached and MongoDB; its limits count
requests, not failures, and know no back-off.) Each count is one upsert, so two processes
counting the same key at once both count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import LoginThrottle

# Strikes (blocks in a row) are forgotten this long after the last block ended.
STRIKES_FORGOTTEN_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """`failures` within `window` block the key for `block`, doubling up to `block_max`."""

    failures: int
    window: timedelta
    block: timedelta
    block_max: timedelta

    def block_for(self, strikes: int) -> timedelta:
        return min(self.block * (2 ** min(strikes, 20)), self.block_max)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def throttle_blocked_until(session: Session, keys: Iterable[str], now: datetime) -> datetime | None:
    """When the last of these keys stops being blocked, or None if none is blocked now."""
    hashes = [key_hash(k) for k in keys]
    return session.scalar(
        sa.select(sa.func.max(LoginThrottle.blocked_until)).where(
            LoginThrottle.key_hash.in_(hashes), LoginThrottle.blocked_until > now
        )
    )


def _upsert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(LoginThrottle.__table__)


def throttle_count(session: Session, key: str, limit: Limit, *, now: datetime) -> bool:
    """Count one failure for `key`; block it when it reaches its limit. True if now blocked."""
    table = LoginThrottle.__table__
    stale = table.c.window_started_at <= now - limit.window
    moment = sa.literal(now, table.c.window_started_at.type)
    statement = (
        _upsert(session)
        .values(
            key_hash=key_hash(key),
            failures=1,
            window_started_at=now,
            blocked_until=None,
            strikes=0,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[table.c.key_hash],
            set_={
                "failures": sa.case((stale, 1), else_=table.c.failures + 1),
                "window_started_at": sa.case((stale, moment), else_=table.c.window_started_at),
                "updated_at": now,
            },
        )
        .returning(table.c.failures, table.c.blocked_until, table.c.strikes)
    )
    failures, blocked_until, strikes = session.execute(statement).one()
    if failures < limit.failures:
        return False
    if blocked_until is not None and blocked_until > now:
        return True
    if blocked_until is None or now - blocked_until >= STRIKES_FORGOTTEN_AFTER:
        strikes = 0
    session.execute(
        sa.update(LoginThrottle)
        .where(LoginThrottle.key_hash == key_hash(key))
        .values(
            blocked_until=now + limit.block_for(strikes),
            strikes=strikes + 1,
            failures=0,
            window_started_at=now,
            updated_at=now,
        )
    )
    return True


def throttle_forget_failures(session: Session, keys: Iterable[str], *, now: datetime) -> None:
    """After a success: the keys' failures start from nothing (blocks and strikes stay)."""
    session.execute(
        sa.update(LoginThrottle)
        .where(LoginThrottle.key_hash.in_([key_hash(k) for k in keys]))
        .values(failures=0, window_started_at=now, updated_at=now)
    )


def throttle_prune(session: Session, *, now: datetime) -> int:
    """Forget keys untouched for longer than strikes are remembered; returns how many."""
    result = session.execute(
        sa.delete(LoginThrottle).where(
            LoginThrottle.updated_at < now - STRIKES_FORGOTTEN_AFTER,
            sa.or_(
                LoginThrottle.blocked_until.is_(None),
                LoginThrottle.blocked_until < now - STRIKES_FORGOTTEN_AFTER,
            ),
        )
    )
    return result.rowcount or 0
