"""Throwaway databases for tests and benchmarks: a SQLite file, or a fresh PostgreSQL database.

DATABASE_URL chooses: unset (or SQLite) means a file; a PostgreSQL URL names a server on
which a database is created for the caller and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig, database_url
from app.extensions import db as flask_db


def postgres_url() -> str | None:
    """The PostgreSQL server from DATABASE_URL, or None when the run is on SQLite."""
    raw = os.environ.get("DATABASE_URL", "")
    return raw if raw.startswith("postgres") else None


def make_config(database_uri: str, tmp_dir: Path) -> TestConfig:
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_uri
    config.DEV_IDP_KEY_PATH = str(tmp_dir / "dev-idp-key.pem")
    config.API_SIGNING_KEY_PATHS = [str(tmp_dir / "api-signing-key.pem")]
    config.SECRET_KEY = "test-secret"
    config.REDIS_URL = ""  # counts in the database; tests of Redis ask for it (redis_url)
    return config


def redis_url() -> str | None:
    """TEST_REDIS_URL: the Redis that tests of the Redis-backed parts use (CI sets it)."""
    return os.environ.get("TEST_REDIS_URL") or None


@contextmanager
def scratch_database(tmp_dir: Path, prefix: str = "hd_test") -> Iterator[str]:
    """A fresh, empty database on the run's kind of database (see the module's text)."""
    server_url = postgres_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    if server_url is None:
        yield f"sqlite:///{tmp_dir / f'{name}.db'}"
        return
    server = sa.make_url(database_url(server_url))
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def migrated_app(uri: str, tmp_dir: Path) -> Iterator[Flask]:
    """The app on that database, migrated to the newest schema; its connections closed after."""
    app = create_app(make_config(uri, tmp_dir))
    with app.app_context():
        upgrade()
    try:
        yield app
    finally:
        with app.app_context():
            flask_db.engine.dispose()
