"""Liveness and readiness for the load balancer (docs/deployment in the README).

/healthz says the process answers; /readyz says it can serve: the database answers at the
schema this code needs, and Redis answers where REDIS_URL names one.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.databases import redis_url
from tests.support import free_port


def _set_revision(db, revision: str) -> None:
    db.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    db.flush()


def test_a_migrated_process_is_alive_and_ready(client):
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_data(as_text=True) == "ready"


def test_a_database_behind_the_code_is_not_ready_and_says_what_to_run(client, db):
    _set_revision(db, "0012_scale")
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "0012_scale" in answer.get_data(as_text=True)
    assert "flask db upgrade" in answer.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200  # alive: no restart would help


def test_a_database_a_newer_release_has_migrated_is_ready(client, db):
    _set_revision(db, "9999_from_a_newer_release")
    assert client.get("/readyz").status_code == 200


def test_redis_that_does_not_answer_is_not_ready(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    answer = client.get("/readyz")
    assert answer.status_code == 503 and "redis" in answer.get_data(as_text=True)


def test_redis_that_answers_is_ready(app, client, monkeypatch):
    url = redis_url()
    if url is None:
        pytest.skip("TEST_REDIS_URL names no Redis")
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    assert client.get("/readyz").status_code == 200
