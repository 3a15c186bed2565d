"""SQLite with several processes: the web app and the notice worker write to one file.

A request that reads and then writes must not fail because another process committed in
between; it waits for the lock instead (QUALITY R5 on the default database).
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db as flask_db
from tests.databases import make_config


@pytest.fixture
def sqlite_engine(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path))
    with app.app_context():
        engine = flask_db.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    yield engine
    engine.dispose()


def test_read_then_write_waits_for_another_writer_instead_of_failing(sqlite_engine):
    other_done = threading.Event()
    errors: list[Exception] = []

    def other_process() -> None:  # e.g. the worker recording a sent notice
        try:
            with sqlite_engine.begin() as conn:
                conn.exec_driver_sql("UPDATE counter SET n = n + 1")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        other_done.set()

    with sqlite_engine.begin() as conn:  # a request: read, then write
        before = conn.exec_driver_sql("SELECT n FROM counter").scalar()
        writer = threading.Thread(target=other_process)
        writer.start()
        other_done.wait(0.5)  # it commits now if it can, between our read and our write
        conn.exec_driver_sql("UPDATE counter SET n = n + 10")
    writer.join(15)
    assert not errors
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT n FROM counter")).scalar() == before + 11
