"""Limits on log-in attempts that hold across processes and do not lock the real user out.

Staff passwords: failures are counted per address and per account, and each block lasts
twice as long as the one before (back-off). A browser where the account has logged in
before carries a signed "known device" cookie; its attempts are counted for that device
alone, so an attacker who blocks an address or an account does not block the nurse on her
own handheld (OWASP's device cookies). A failed passkey names no account: it counts
against the address, with the same limit. Residents' log-in starts and failed callbacks are
limited per address. The counts are in the database, or in Redis where REDIS_URL is set
(`app.services.throttle`); if Redis cannot be reached they fall back to the database.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis import RedisError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.database import durable_write
from app.redis import shared_redis
from app.services.throttle import Counts, DatabaseCounts, Limit, RedisCounts

log = logging.getLogger(__name__)

DEVICE_COOKIE_SALT = "hjemmedialog.known-device"
DEVICE_COOKIE_DAYS = 180
DEVICES_PER_COOKIE = 5  # a shared handheld remembers a few accounts


class LoginBlocked(Exception):
    """Too many failures: refused without checking the password, until `until`."""

    def __init__(self, until: datetime, now: datetime) -> None:
        super().__init__(f"blocked until {until.isoformat()}")
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))


def _limit(per: str) -> Limit:
    config = current_app.config
    if per == "start":
        failures, window = config["LOGIN_START_LIMIT"], timedelta(minutes=1)
    else:
        failures = config["LOGIN_MAX_FAILURES"]
        window = timedelta(seconds=config["LOGIN_FAILURE_WINDOW_SECONDS"])
    return Limit(
        failures=failures,
        window=window,
        block=timedelta(seconds=config["LOGIN_BLOCK_SECONDS"]),
        block_max=timedelta(seconds=config["LOGIN_BLOCK_MAX_SECONDS"]),
    )


def _enabled() -> bool:
    return bool(current_app.config["RATELIMIT_ENABLED"])


def _counts(session: Session) -> Counts:
    client = shared_redis()
    if client is None:
        return DatabaseCounts(session)
    prefix = current_app.config["REDIS_KEY_PREFIX"]
    counts = current_app.extensions.get("throttle_counts")
    if counts is None or counts.client is not client or counts.prefix != prefix:
        counts = current_app.extensions["throttle_counts"] = RedisCounts(client, prefix)
    return counts


def _ask(session: Session, question):
    """`question(counts)`, in Redis if it is there; on the database if Redis fails."""
    counts = _counts(session)
    try:
        return question(counts)
    except RedisError as failure:
        if counts.durable:
            raise
        log.warning("log-in limits: Redis failed (%s); counting in the database", failure)
        return question(DatabaseCounts(session))


def _count_in_database(session: Session, keys: tuple[str, ...], limit: Limit, now: datetime):
    for key in keys:
        DatabaseCounts(session).count(key, limit, now=now)


def _count(session: Session, keys: tuple[str, ...], limit: Limit, now: datetime) -> None:
    """One failure for each key, kept even when the response is an error."""

    def count(counts: Counts) -> None:
        if counts.durable:  # in the request's transaction: made again if it rolls back
            durable_write(session, lambda s: _count_in_database(s, keys, limit, now))
        else:
            for key in keys:
                counts.count(key, limit, now=now)

    _ask(session, count)


def client_address() -> str:
    """The client's address; behind proxies, ProxyFix (PROXY_COUNT) has set it."""
    return request.remote_addr or "unknown"


# --- the known-device cookie -----------------------------------------------------------------


def _device_cookie_name() -> str:
    return "__Host-hd-device" if current_app.config["SESSION_COOKIE_SECURE"] else "hd-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_COOKIE_SALT)


def _known_devices() -> list[dict[str, str]]:
    raw = request.cookies.get(_device_cookie_name())
    if not raw:
        return []
    try:
        value = _serializer().loads(raw, max_age=DEVICE_COOKIE_DAYS * 86400)
    except BadSignature:
        return []
    if not isinstance(value, list):
        return []
    return [d for d in value if isinstance(d, dict) and {"u", "n"} <= d.keys()]


def known_device(username: str) -> str | None:
    """This browser's device id for the account, if the account has logged in here."""
    return next((d["n"] for d in _known_devices() if d["u"] == username), None)


def remember_device(response: Response, username: str) -> None:
    """After a successful log-in: this browser becomes a known device for the account."""
    devices = [d for d in _known_devices() if d["u"] != username]
    devices.insert(0, {"u": username, "n": known_device(username) or secrets.token_urlsafe(16)})
    response.set_cookie(
        _device_cookie_name(),
        _serializer().dumps(devices[:DEVICES_PER_COOKIE]),
        max_age=DEVICE_COOKIE_DAYS * 86400,
        path="/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


# --- staff passwords -------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordAttempt:
    keys: tuple[str, ...]
    account_keys: tuple[str, ...]


def password_attempt(username: str) -> PasswordAttempt:
    """The keys an attempt counts against: its device if known, else its address and account."""
    device = known_device(username)
    if device is not None:
        keys = (f"device:{device}",)
        return PasswordAttempt(keys, keys)
    account = f"account:{username}"
    return PasswordAttempt((f"address:{client_address()}", account), (account,))


def passkey_attempt() -> PasswordAttempt:
    """A passkey log-in names no account: failures count against the address alone."""
    return PasswordAttempt((f"address:{client_address()}",), ())


def passkey_start(session: Session, now: datetime) -> None:
    """A passkey log-in begins (a challenge is stored): LoginBlocked if the address is blocked
    for failures or has begun too many lately (the residents' start limit); else counted."""
    key = f"passkey-start:{client_address()}"
    check(session, (*passkey_attempt().keys, key), now)
    if _enabled():
        _count(session, (key,), _limit("start"), now)


def check(session: Session, keys: tuple[str, ...], now: datetime) -> None:
    """Raise LoginBlocked if any key is blocked now."""
    if not _enabled():
        return
    until = _ask(session, lambda counts: counts.blocked_until(keys, now))
    if until is not None:
        raise LoginBlocked(until, now)


def failed(session: Session, attempt: PasswordAttempt, now: datetime) -> None:
    """Count a wrong password; kept even though the response is an error (durable)."""
    if not _enabled():
        return
    _count(session, attempt.keys, _limit("password"), now)


def succeeded(session: Session, attempt: PasswordAttempt, now: datetime) -> None:
    if _enabled():
        _ask(session, lambda counts: counts.forget_failures(attempt.account_keys, now=now))


# --- residents: log-in starts and callbacks, per address ----------------------------------------


def _resident_key() -> str:
    return f"resident-address:{client_address()}"


def resident_check(session: Session, now: datetime) -> None:
    """LoginBlocked if this address has started or failed too many log-ins lately."""
    check(session, (_resident_key(),), now)


def resident_count(session: Session, now: datetime) -> None:
    """Count a log-in start or a failed callback from this address (kept on errors too)."""
    if not _enabled():
        return
    _count(session, (_resident_key(),), _limit("start"), now)
