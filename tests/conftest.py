"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

DATABASE_URL chooses the database: unset means a SQLite file; a PostgreSQL URL makes
the run create (and afterwards drop) a fresh database on that server.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy.orm import Session

from app import create_app
from app.config import PROJECT_ROOT, TestConfig, database_url
from app.extensions import db as flask_db
from app.extensions import limiter
from tests import factories
from tests.support import LoginHelper


def pytest_configure(config: pytest.Config) -> None:
    """Compile the catalogs when a .po is newer than its .mo (`make` does this too)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in PROJECT_ROOT.glob("translations/*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    raw = os.environ.get("DATABASE_URL")
    if not raw or raw.startswith("sqlite"):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    server = sa.make_url(database_url(raw))
    name = f"hd_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def make_config(database_uri: str, tmp_dir: Path) -> TestConfig:
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_uri
    config.DEV_IDP_KEY_PATH = str(tmp_dir / "dev-idp-key.pem")
    config.SECRET_KEY = "test-secret"
    return config


@pytest.fixture(scope="session")
def app(database_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(make_config(database_uri, tmp_path_factory.getbasetemp()))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        flask_db.engine.dispose()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session for the test's own data, inside a transaction rolled back afterwards.

    Requests made by the test bind to the same connection, so they see the test's data
    and their commits become savepoints inside the outer transaction. No application
    context stays pushed: each request gets its own, as in production.
    """
    engines = flask_db._app_engines[app]
    engine = engines[None]
    connection = engine.connect()
    transaction = connection.begin()
    engines[None] = connection
    factory_options = flask_db.session.session_factory.kw
    before = factory_options.copy()
    flask_db.session.session_factory.configure(join_transaction_mode="create_savepoint")
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        factory_options.clear()
        factory_options.update(before)  # SQLAlchemy's default mode again
        engines[None] = engine
        transaction.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask, db: Session) -> FlaskClient:
    limiter.reset()  # rate limits are on, as in production; each test starts afresh
    return app.test_client()


@pytest.fixture
def login(client: FlaskClient, db: Session) -> LoginHelper:
    return LoginHelper(client, db)


@pytest.fixture
def world(db: Session) -> factories.World:
    """A small municipality with services, units, staff and residents (see factories)."""
    return factories.build_world(db)


@pytest.fixture
def demo(db: Session, app: Flask) -> dict[str, object]:
    """The demo cast (PRODUCT.md section 8), loaded into the test's transaction."""
    from app.clock import utcnow
    from app.services.demo import demo_load

    demo_load(
        db,
        now=utcnow(),
        allow_synthetic=True,
        terms_version=app.config["TERMS_VERSION"],
    )
    return factories.demo_index(db)


@pytest.fixture
def idp(app: Flask) -> Iterator[responses.RequestsMock]:
    """Route the client's HTTP calls to the provider into the app itself."""
    app.extensions["oidc_client"].server_metadata.clear()
    server = app.test_client()

    def forward(request):
        url = urlsplit(request.url)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("content-type", "authorization", "accept")
        }
        response = server.open(
            url.path + (f"?{url.query}" if url.query else ""),
            method=request.method,
            data=request.body,
            headers=headers,
        )
        return response.status_code, dict(response.headers), response.get_data()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST"):
            mock.add_callback(method, re.compile(r"http://idp\.test/.*"), callback=forward)
        yield mock
    app.extensions["oidc_client"].server_metadata.clear()
