"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

DATABASE_URL chooses the database: unset means a SQLite file; a PostgreSQL URL makes
the run create (and afterwards drop) a fresh database on that server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT
from app.extensions import db as flask_db
from tests import factories
from tests.databases import migrated_app, scratch_database
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
    with scratch_database(tmp_path_factory.mktemp("db")) as uri:
        yield uri


@pytest.fixture(scope="session")
def app(database_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with migrated_app(database_uri, tmp_path_factory.getbasetemp()) as app:
        yield app


@contextmanager
def bound_session(app: Flask) -> Iterator[Session]:
    """A session inside a transaction that is rolled back at the end.

    Requests made meanwhile bind to the same connection, so they see the session's data
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
def db(app: Flask) -> Iterator[Session]:
    """A session for the test's own data, inside a transaction rolled back afterwards."""
    with bound_session(app) as session:
        yield session


@pytest.fixture
def client(app: Flask, db: Session) -> FlaskClient:
    # Log-in limits are on, as in production; their counts live in the test's transaction.
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
    """The demo cast (docs/product.md section 8), loaded into the test's transaction."""
    from app.clock import utcnow
    from app.services.demo import demo_load

    demo_load(
        db,
        now=utcnow(),
        allow_synthetic=True,
        terms_version=app.config["TERMS_VERSION"],
    )
    return factories.demo_index(db)


@contextmanager
def forward_to_idp(app: Flask) -> Iterator[responses.RequestsMock]:
    """Route the client's HTTP calls to the provider into the app itself."""
    app.extensions["oidc"].provider.forget()
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
    app.extensions["oidc"].provider.forget()


@pytest.fixture
def idp(app: Flask) -> Iterator[responses.RequestsMock]:
    """Route the client's HTTP calls to the provider into the app itself."""
    with forward_to_idp(app) as mock:
        yield mock
