"""Failed attempts counted per key, with blocks that double each time.

The counts are shared by every process and every machine behind the load balancer. By
default they live in the app's own database, on SQLite and on PostgreSQL alike, with nothing
more to run: each count is one upsert, so two processes counting the same key at once both
count. Where REDIS_URL is set they live in Redis instead (`RedisCounts`): an attack's
failed log-ins then cost the database nothing, each count is one atomic script, and keys
expire on their own. (Flask-Limiter's limits count requests, not failures, and know no
back-off; its storages are the same Redis.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

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


# --- where the counts live -------------------------------------------------------------------


class Counts(Protocol):
    """Failures per key and their blocks; `login_limits` asks one of these."""

    durable: bool  # True: counts join the request's transaction (see `durable_write`)

    def blocked_until(self, keys: Iterable[str], now: datetime) -> datetime | None: ...

    def count(self, key: str, limit: Limit, *, now: datetime) -> bool: ...

    def forget_failures(self, keys: Iterable[str], *, now: datetime) -> None: ...


class DatabaseCounts:
    """The counts in the app's database, in the request's session."""

    durable = True

    def __init__(self, session: Session) -> None:
        self.session = session

    def blocked_until(self, keys: Iterable[str], now: datetime) -> datetime | None:
        return throttle_blocked_until(self.session, keys, now)

    def count(self, key: str, limit: Limit, *, now: datetime) -> bool:
        return throttle_count(self.session, key, limit, now=now)

    def forget_failures(self, keys: Iterable[str], *, now: datetime) -> None:
        throttle_forget_failures(self.session, keys, now=now)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(value: datetime | timedelta) -> int:
    """Whole microseconds since the epoch (or in a duration): exact, unlike float seconds."""
    return (value - _EPOCH if isinstance(value, datetime) else value) // timedelta(microseconds=1)


def _moment(us: int | bytes) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


# One failure, atomically: the same rules as throttle_count. Times are whole microseconds,
# written with %d because Lua would print large numbers in exponent form. The key expires a
# day (STRIKES_FORGOTTEN_AFTER) after it was last touched or its block ended, as
# throttle_prune forgets rows. Returns {blocked (0/1), blocked_until or -1}.
_COUNT_SCRIPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local block, block_max, forgotten = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h = redis.call('HMGET', KEYS[1], 'failures', 'window_started_at', 'blocked_until', 'strikes')
local failures, started = tonumber(h[1]), tonumber(h[2])
local blocked, strikes = tonumber(h[3]), tonumber(h[4]) or 0
if failures == nil or started <= now - window then
  failures, started = 1, now
else
  failures = failures + 1
end
local result = 0
if failures >= limit then
  result = 1
  if blocked == nil or blocked <= now then
    if blocked == nil or now - blocked >= forgotten then strikes = 0 end
    blocked = now + math.min(block * 2 ^ math.min(strikes, 20), block_max)
    strikes, failures, started = strikes + 1, 0, now
  end
end
local fields = {'failures', string.format('%d', failures),
  'window_started_at', string.format('%d', started), 'strikes', string.format('%d', strikes)}
if blocked ~= nil then
  table.insert(fields, 'blocked_until')
  table.insert(fields, string.format('%d', blocked))
end
redis.call('HSET', KEYS[1], unpack(fields))
local ends = now
if blocked ~= nil and blocked > now then ends = blocked end
redis.call('PEXPIRE', KEYS[1], math.floor((ends - now + forgotten) / 1000))
return {result, blocked or -1}
"""

# After a success: the keys that exist start from no failures (blocks and strikes stay).
_FORGET_SCRIPT = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'failures', '0', 'window_started_at', ARGV[1])
  end
end
return 0
"""


class RedisCounts:
    """The counts in Redis (REDIS_URL), one hash per key, named by the key's hash."""

    durable = False  # made at once, outside the request's transaction: kept whatever happens

    def __init__(self, client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._count = client.register_script(_COUNT_SCRIPT)
        self._forget = client.register_script(_FORGET_SCRIPT)

    def name(self, key: str) -> str:
        return f"{self.prefix}throttle:{key_hash(key)}"

    def blocked_until(self, keys: Iterable[str], now: datetime) -> datetime | None:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hget(self.name(key), "blocked_until")
        blocks = [_moment(v) for v in pipe.execute() if v is not None]
        return max((b for b in blocks if b > now), default=None)

    def count(self, key: str, limit: Limit, *, now: datetime) -> bool:
        blocked, _until = self._count(
            keys=[self.name(key)],
            args=[
                _us(now),
                _us(limit.window),
                limit.failures,
                _us(limit.block),
                _us(limit.block_max),
                _us(STRIKES_FORGOTTEN_AFTER),
            ],
        )
        return bool(blocked)

    def forget_failures(self, keys: Iterable[str], *, now: datetime) -> None:
        names = [self.name(k) for k in keys]
        if names:
            self._forget(keys=names, args=[_us(now)])
