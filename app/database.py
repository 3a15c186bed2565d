"""Engine settings per database (SQLite gets WAL, foreign keys and real transactions;
PostgreSQL no parallel workers), reads that never wait for each other on SQLite, and writes
that outlive a failed request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from app.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def configure(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
        # First of all request hooks: it decides how the request's transaction begins.
        app.before_request_funcs.setdefault(None, []).insert(0, _choose_transaction)
    elif engine.dialect.name == "postgresql" and not app.config["PG_PARALLEL_QUERY"]:
        _no_parallel_workers(engine)


def _no_parallel_workers(engine: sa.Engine) -> None:
    """The app's queries read small index ranges in a few milliseconds; a parallel worker
    costs as much again to start and takes a core another request needs (Oversikt at
    national scale: its counts from 5 ms to 3 ms). PG_PARALLEL_QUERY=true leaves the
    server's setting."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        dbapi_connection.commit()


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
        if _reading():
            # A read: under WAL it sees one snapshot and waits for nobody.
            connection.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock at the start, waiting up to busy_timeout for it.
        # A deferred transaction that reads, then writes after another process (the notice
        # worker, another gunicorn worker) has committed, fails at once with "database is
        # locked": SQLite cannot upgrade a stale snapshot, and busy_timeout does not apply.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _no_write_in_a_read(
        _conn: Any, _cursor: Any, statement: str, *_args: object, **_kw: object
    ) -> None:
        if _reading() and statement.lstrip()[:7].upper().startswith(WRITE_STATEMENTS):
            raise WriteInRead(
                f"{request.endpoint} wrote in its read transaction; write after the reads "
                f"(after_reads) or mark the view @writes: {statement[:80]}"
            )


# --- reads that never wait (SQLite) ---------------------------------------------------------
#
# A GET, HEAD or OPTIONS request reads in a deferred transaction: under WAL, readers run side
# by side and beside one writer. What such a request must still write (the usage-log entry of
# what staff saw, a session's last-seen time) is queued with after_reads() and written when
# its reads are done, in a short transaction of its own that takes the write lock at once.
# A view that writes on GET (a log-in callback) says so with @writes and is a write request.
# PostgreSQL needs none of this: there, every request runs as before.

READING = "hjemmedialog_reading"
AFTER_READS = "hjemmedialog.after_reads"


class WriteInRead(RuntimeError):
    """A read request tried to write inside its read transaction (a bug, found by tests)."""


def writes(view: Callable) -> Callable:
    """Mark a view that writes although its method is GET: it runs as a write request."""
    view.writes = True  # type: ignore[attr-defined]
    return view


def _choose_transaction() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    g.setdefault(READING, request.method in SAFE_METHODS and not getattr(view, "writes", False))


def _reading() -> bool:
    return has_request_context() and bool(g.get(READING))


def after_reads(session: Session, write: Callable[[Session], object]) -> None:
    """Run `write` now in a write request; in a read request, once its reads are done, in a
    transaction of its own, whatever the response (`after_reads_done`)."""
    if _reading():
        session.info.setdefault(AFTER_READS, []).append(write)
    else:
        write(session)


def after_reads_done(session: Session, *, failed: bool) -> bool:
    """End a read request's transaction and make its queued writes; False if it is not one.

    The reads' transaction ends (it wrote nothing); the queued writes then run in one
    transaction that begins IMMEDIATE, as every write does, whether or not the response
    failed: they record what was shown or tried.
    """
    if not _reading():
        return False
    if failed:
        session.rollback()
    else:
        session.commit()
    queued = session.info.pop(AFTER_READS, [])
    if queued:
        g.pop(READING)
        g.setdefault(READING, False)
        for write in queued:
            write(session)
        session.commit()
    return True


# --- writes that outlive a failed request ----------------------------------------------------

DURABLE_WRITES = "hjemmedialog.durable_writes"


def durable_write(session: Session, write: Callable[[Session], object]) -> None:
    """Run `write` now, and once more after the request's rollback if the request fails.

    For records that must stay whatever the response: the usage-log entry of data a refused
    form still showed, a failed log-in counted toward its limit. The web layer replays them
    (`durable_writes_pending`) in their own commit after rolling the request back. In a read
    request the write waits for the reads to end (`after_reads`), and is made either way.
    """
    if _reading():
        after_reads(session, write)
        return
    write(session)
    session.info.setdefault(DURABLE_WRITES, []).append(write)


def durable_writes_pending(session: Session) -> list[Callable[[Session], object]]:
    """The durable writes made in this session since the last call (and forgets them)."""
    return session.info.pop(DURABLE_WRITES, [])
