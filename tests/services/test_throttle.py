"""Failed attempts counted in the database: limits, windows, back-off (docs/quality.md R10)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.clock import utcnow
from app.models import LoginThrottle
from app.services.throttle import (
    Limit,
    throttle_blocked_until,
    throttle_count,
    throttle_forget_failures,
    throttle_prune,
)

LIMIT = Limit(
    failures=3,
    window=timedelta(minutes=15),
    block=timedelta(minutes=1),
    block_max=timedelta(minutes=5),
)


def _fail(db, key, times, now):
    return [throttle_count(db, key, LIMIT, now=now) for _ in range(times)]


def test_a_key_is_blocked_when_it_reaches_its_limit(db):
    now = utcnow()
    assert _fail(db, "account:siri", 3, now) == [False, False, True]
    assert throttle_blocked_until(db, ["account:siri"], now) == now + timedelta(minutes=1)
    assert throttle_blocked_until(db, ["account:jonas"], now) is None
    assert throttle_blocked_until(db, ["account:siri"], now + timedelta(minutes=1)) is None


def test_each_new_block_lasts_twice_as_long_up_to_the_cap(db):
    now = utcnow()
    lengths = []
    for _ in range(5):
        _fail(db, "address:203.0.113.9", 3, now)
        until = throttle_blocked_until(db, ["address:203.0.113.9"], now)
        lengths.append(until - now)
        now = until
    assert lengths == [timedelta(minutes=m) for m in (1, 2, 4, 5, 5)]


def test_the_back_off_is_forgotten_a_day_after_the_last_block(db):
    now = utcnow()
    _fail(db, "k", 3, now)
    _fail(db, "k", 3, now + timedelta(minutes=1))
    later = now + timedelta(days=1, minutes=3)  # a day after the second block ended
    _fail(db, "k", 3, later)
    assert throttle_blocked_until(db, ["k"], later) == later + timedelta(minutes=1)


def test_failures_outside_the_window_do_not_add_up(db):
    now = utcnow()
    _fail(db, "k", 2, now)
    assert _fail(db, "k", 2, now + timedelta(minutes=16)) == [False, False]
    assert throttle_blocked_until(db, ["k"], now + timedelta(minutes=16)) is None


def test_a_success_forgets_the_failures_but_not_the_block(db):
    now = utcnow()
    _fail(db, "k", 2, now)
    throttle_forget_failures(db, ["k"], now=now)
    assert _fail(db, "k", 2, now) == [False, False]
    _fail(db, "k", 1, now)
    throttle_forget_failures(db, ["k"], now=now)
    assert throttle_blocked_until(db, ["k"], now) is not None


def test_old_keys_are_pruned(db):
    now = utcnow()
    _fail(db, "old", 1, now - timedelta(days=3))
    _fail(db, "new", 1, now)
    assert throttle_prune(db, now=now) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(LoginThrottle)) == 1


def test_no_address_is_stored_in_clear(db):
    throttle_count(db, "address:203.0.113.9", LIMIT, now=utcnow())
    stored = db.scalars(sa.select(LoginThrottle.key_hash)).all()
    assert stored and all("203.0.113.9" not in k for k in stored)
