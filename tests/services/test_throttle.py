"""Failed attempts counted, in the database or in Redis: limits, windows, back-off
(docs/quality.md R10). The rules are tested on both stores; Redis only where TEST_REDIS_URL
names one (CI's PostgreSQL run)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from app.clock import utcnow
from app.models import LoginThrottle
from app.services.throttle import (
    DatabaseCounts,
    Limit,
    RedisCounts,
    throttle_count,
    throttle_prune,
)
from tests.databases import redis_url

LIMIT = Limit(
    failures=3,
    window=timedelta(minutes=15),
    block=timedelta(minutes=1),
    block_max=timedelta(minutes=5),
)


@pytest.fixture
def redis_counts():
    url = redis_url()
    if url is None:
        pytest.skip("TEST_REDIS_URL names no Redis")
    client = redis.Redis.from_url(url)
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    try:
        yield RedisCounts(client, prefix)
    finally:
        for name in client.scan_iter(f"{prefix}*"):
            client.delete(name)
        client.close()


@pytest.fixture(params=["database", "redis"])
def counts(request, db):
    if request.param == "database":
        return DatabaseCounts(db)
    return request.getfixturevalue("redis_counts")


def _fail(counts, key, times, now):
    return [counts.count(key, LIMIT, now=now) for _ in range(times)]


def test_a_key_is_blocked_when_it_reaches_its_limit(counts):
    now = utcnow()
    assert _fail(counts, "account:siri", 3, now) == [False, False, True]
    assert counts.blocked_until(["account:siri"], now) == now + timedelta(minutes=1)
    assert counts.blocked_until(["account:jonas"], now) is None
    assert counts.blocked_until(["account:siri"], now + timedelta(minutes=1)) is None


def test_each_new_block_lasts_twice_as_long_up_to_the_cap(counts):
    now = utcnow()
    lengths = []
    for _ in range(5):
        _fail(counts, "address:203.0.113.9", 3, now)
        until = counts.blocked_until(["address:203.0.113.9"], now)
        lengths.append(until - now)
        now = until
    assert lengths == [timedelta(minutes=m) for m in (1, 2, 4, 5, 5)]


def test_the_back_off_is_forgotten_a_day_after_the_last_block(counts):
    now = utcnow()
    _fail(counts, "k", 3, now)
    _fail(counts, "k", 3, now + timedelta(minutes=1))
    later = now + timedelta(days=1, minutes=3)  # a day after the second block ended
    _fail(counts, "k", 3, later)
    assert counts.blocked_until(["k"], later) == later + timedelta(minutes=1)


def test_failures_outside_the_window_do_not_add_up(counts):
    now = utcnow()
    _fail(counts, "k", 2, now)
    assert _fail(counts, "k", 2, now + timedelta(minutes=16)) == [False, False]
    assert counts.blocked_until(["k"], now + timedelta(minutes=16)) is None


def test_a_success_forgets_the_failures_but_not_the_block(counts):
    now = utcnow()
    _fail(counts, "k", 2, now)
    counts.forget_failures(["k"], now=now)
    assert _fail(counts, "k", 2, now) == [False, False]
    _fail(counts, "k", 1, now)
    counts.forget_failures(["k"], now=now)
    assert counts.blocked_until(["k"], now) is not None


def test_old_keys_are_pruned(db):
    now = utcnow()
    _fail(DatabaseCounts(db), "old", 1, now - timedelta(days=3))
    _fail(DatabaseCounts(db), "new", 1, now)
    assert throttle_prune(db, now=now) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(LoginThrottle)) == 1


def test_no_address_is_stored_in_clear(db):
    throttle_count(db, "address:203.0.113.9", LIMIT, now=utcnow())
    stored = db.scalars(sa.select(LoginThrottle.key_hash)).all()
    assert stored and all("203.0.113.9" not in k for k in stored)


def test_redis_keys_expire_a_day_after_their_last_block_and_name_no_address(redis_counts):
    now = utcnow()
    _fail(redis_counts, "address:203.0.113.9", 3, now)  # blocked for a minute
    (name,) = redis_counts.client.keys(f"{redis_counts.prefix}*")
    assert b"203.0.113.9" not in name
    ttl = timedelta(milliseconds=redis_counts.client.pttl(name))
    assert timedelta(days=1) < ttl <= timedelta(days=1, minutes=1)


def test_the_same_key_counted_from_many_clients_at_once_counts_every_failure(redis_counts):
    from concurrent.futures import ThreadPoolExecutor

    now = utcnow()
    limit = Limit(failures=40, window=LIMIT.window, block=LIMIT.block, block_max=LIMIT.block_max)
    with ThreadPoolExecutor(8) as pool:
        blocked = list(pool.map(lambda _: redis_counts.count("k", limit, now=now), range(40)))
    assert blocked.count(True) == 1  # the 40th, whichever thread it came from
    assert redis_counts.blocked_until(["k"], now) == now + LIMIT.block
