"""Sessions: renewed on every log-in, 30 minutes idle, 12 hours in all, ended on log-out."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from app.clock import utcnow
from app.models import LoginSession
from app.services.sessions import EndReason
from tests import factories
from tests.support import csrf_token


def logged_in(client) -> bool:
    return client.get("/messages").status_code == 200


def test_idle_for_30_minutes_ends_the_session(client, db, login):
    kari = factories.person(db, "Kari")
    with time_machine.travel(utcnow(), tick=False) as clock:
        session = login.resident(kari)
        assert logged_in(client)
        clock.shift(timedelta(minutes=29))
        assert logged_in(client)  # activity keeps it alive
        clock.shift(timedelta(minutes=30))
        response = client.get("/messages")
        assert response.status_code == 302
        assert response.location.startswith("/?next=")
        db.refresh(session)
        assert session.ended_at is not None and session.end_reason == EndReason.IDLE
        front = client.get(response.location)
        assert "30 minutter uten aktivitet" in front.get_data(as_text=True)


def test_activity_does_not_extend_a_session_beyond_12_hours(client, db, login):
    kari = factories.person(db, "Kari")
    with time_machine.travel(utcnow(), tick=False) as clock:
        session = login.resident(kari)
        for _ in range(11 * 3 + 2):  # a request every 20 minutes for 11 h 40 min
            clock.shift(timedelta(minutes=20))
            assert logged_in(client)
        clock.shift(timedelta(minutes=20))  # 12 hours after log-in
        assert not logged_in(client)
        db.refresh(session)
        assert session.end_reason == EndReason.EXPIRED


def test_log_out_ends_the_session_on_the_server(client, db, login, app):
    kari = factories.person(db, "Kari")
    session = login.resident(kari)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    stolen = client.get_cookie(cookie_name).value
    response = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/messages")})
    assert response.status_code == 303
    db.refresh(session)
    assert session.end_reason == EndReason.LOGOUT
    # The old cookie, replayed, no longer opens anything.
    client.set_cookie(cookie_name, stolen)
    assert not logged_in(client)


def test_log_out_needs_a_csrf_token(client, db, login):
    login.resident(factories.person(db, "Kari"))
    assert client.post("/auth/logout").status_code == 400
    assert logged_in(client)


def test_every_log_in_gets_a_new_session_and_ends_the_previous_one(client, db, login, app):
    account = factories.staff(db, factories.municipality(db), "siri", [])
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    token = csrf_token(client, "/staff/login")
    before = client.get_cookie(cookie_name).value
    first = client.post(
        "/staff/login",
        data={"csrf_token": token, "username": "siri", "password": factories.PASSWORD},
    )
    assert first.status_code == 303
    after_first = client.get_cookie(cookie_name).value
    assert after_first != before
    token = csrf_token(client, "/auth/logged-out")
    second = client.post(
        "/staff/login",
        data={"csrf_token": token, "username": "siri", "password": factories.PASSWORD},
    )
    assert second.status_code == 303
    rows = db.scalars(
        sa.select(LoginSession).where(LoginSession.staff_id == account.id).order_by(LoginSession.id)
    ).all()
    assert len(rows) == 2
    assert rows[0].end_reason == EndReason.REPLACED and rows[1].ended_at is None
    assert rows[0].token_hash != rows[1].token_hash


def test_session_cookie_is_http_only_and_lax(client, db, app):
    response = client.get("/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure_and_host_bound(monkeypatch):
    from app.config import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    config = ProductionConfig()
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_NAME.startswith("__Host-")
    assert config.HSTS is True
    assert config.DEV_IDP_ENABLED is False
    assert config.ALLOW_SYNTHETIC_FNR is False
