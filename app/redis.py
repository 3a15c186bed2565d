"""The shared Redis, where REDIS_URL names one (several app machines share it); else None.

Redis holds only what may be lost: the log-in limits' counts (`app.services.throttle`).
Everything else, sessions included, is in the database, so the app runs without it.
"""

from __future__ import annotations

import redis
from flask import current_app

# Short timeouts: a log-in waits at most this long before its counts go to the database.
TIMEOUT_SECONDS = 2.0


def shared_redis() -> redis.Redis | None:
    """This process's client for REDIS_URL (made on first use, so after gunicorn forks)."""
    url = current_app.config["REDIS_URL"]
    if not url:
        return None
    clients = current_app.extensions.setdefault("redis", {})
    client = clients.get(url)
    if client is None:
        client = clients[url] = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            health_check_interval=30,
        )
    return client
