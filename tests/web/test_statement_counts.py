"""Pages issue a fixed, small number of SQL statements (QUALITY.md P2: at most 8)."""

from __future__ import annotations

import pytest

from app.extensions import db as flask_db
from tests import factories
from tests.support import StatementCounter

LIMIT = 8


@pytest.fixture
def counter(app, db):
    engine = flask_db._app_engines[app][None].engine  # the connection's engine
    return StatementCounter(engine)


def grow(db, world, n: int) -> None:
    """Give the proxy n represented people and the unit n recipients."""
    for i in range(n):
        grantor = factories.person(db, f"G{i}", "Grantor")
        factories.fullmakt(db, grantor, world.proxy)
        factories.receives(db, factories.person(db, f"R{i}", "Recipient"), world.unit)


@pytest.mark.parametrize("path", ["/messages", "/appointments", "/contacts"])
def test_resident_pages_need_the_same_statements_for_1_and_50_people(
    client, db, login, world, counter, path
):
    login.resident(world.proxy, acting_for=world.resident)
    client.get(path)
    with counter:
        assert client.get(path).status_code == 200
    few = counter.count
    grow(db, world, 49)
    with counter:
        assert client.get(path).status_code == 200
    assert 0 < counter.count == few <= LIMIT, counter.statements


@pytest.mark.parametrize("path", ["/staff/", "/staff/recipients"])
def test_staff_pages_need_the_same_statements_for_1_and_50_recipients(
    client, db, login, world, counter, path
):
    login.staff(world.coordinator)
    client.get(path)
    with counter:
        assert client.get(path).status_code == 200
    few = counter.count
    grow(db, world, 49)
    with counter:
        assert client.get(path).status_code == 200
    assert 0 < counter.count == few <= LIMIT, counter.statements
