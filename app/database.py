"""Engine settings per database (SQLite gets WAL, foreign keys and real transactions), and
writes that outlive a failed request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.extensions import db


def configure(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin,
        # so that SAVEPOINT and rollback behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # IMMEDIATE takes the write lock at the start, waiting up to busy_timeout for it.
        # A deferred transaction that reads, then writes after another process (the notice
        # worker, another gunicorn worker) has committed, fails at once with "database is
        # locked": SQLite cannot upgrade a stale snapshot, and busy_timeout does not apply.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# --- writes that outlive a failed request ----------------------------------------------------

DURABLE_WRITES = "hjemmedialog.durable_writes"


def durable_write(session: Session, write: Callable[[Session], object]) -> None:
    """Run `write` now, and once more after the request's rollback if the request fails.

    For records that must stay whatever the response: the usage-log entry of data a refused
    form still showed, a failed log-in counted toward its limit. The web layer replays them
    (`durable_writes_pending`) in their own commit after rolling the request back.
    """
    write(session)
    session.info.setdefault(DURABLE_WRITES, []).append(write)


def durable_writes_pending(session: Session) -> list[Callable[[Session], object]]:
    """The durable writes made in this session since the last call (and forgets them)."""
    return session.info.pop(DURABLE_WRITES, [])
