"""Staff log-in: password, unit choice, rate limits (docs/quality.md R8)."""

from __future__ import annotations

import uuid

import pytest
import redis
import sqlalchemy as sa

from app.clock import utcnow
from app.models import LoginSession, LoginThrottle, StaffRoleKind
from tests import factories
from tests.databases import redis_url
from tests.support import csrf_token, free_port


def staff_login(client, username: str, password: str = factories.PASSWORD):
    token = csrf_token(client, "/auth/logged-out")
    return client.post(
        "/staff/login", data={"csrf_token": token, "username": username, "password": password}
    )


def test_one_unit_goes_straight_to_the_queue(client, db, world):
    response = staff_login(client, world.coordinator.username)
    assert response.status_code == 303 and response.location == "/staff/"
    page = client.get("/staff/").get_data(as_text=True)
    assert "Meldingskø" in page and "Sone Nord" in page


def test_username_is_not_case_sensitive(client, db, world):
    assert staff_login(client, world.coordinator.username.upper()).status_code == 303


def test_wrong_password_or_unknown_user_get_the_same_answer(client, db, world):
    wrong = staff_login(client, world.coordinator.username, "feil")
    unknown = staff_login(client, "finnes-ikke", "feil")
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Brukernavnet eller passordet er feil" in response.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def test_empty_fields_are_explained(client, db):
    response = staff_login(client, "", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Skriv inn brukernavnet ditt" in html and "Skriv inn passordet ditt" in html


def test_a_deactivated_account_cannot_log_in(client, db, world):
    world.coordinator.active = False
    db.flush()
    assert staff_login(client, world.coordinator.username).status_code == 422


def test_several_units_means_choosing_one(client, db, world):
    response = staff_login(client, world.leader.username)
    assert response.location == "/staff/unit"
    assert client.get("/staff/").location == "/staff/unit"  # no unit yet
    page = client.get("/staff/unit").get_data(as_text=True)
    assert "Sone Nord" in page and "Praktisk bistand Testby" in page
    chosen = client.post(
        "/staff/unit",
        data={"csrf_token": csrf_token(client, "/staff/unit"), "unit_id": world.other_unit.id},
    )
    assert chosen.status_code == 303
    assert "Praktisk bistand Testby" in client.get("/staff/").get_data(as_text=True)


def test_choosing_a_unit_one_does_not_work_in_is_refused(client, db, world):
    staff_login(client, world.leader.username)
    refused = client.post(
        "/staff/unit",
        data={"csrf_token": csrf_token(client, "/staff/unit"), "unit_id": world.foreign_unit.id},
    )
    assert refused.status_code == 403


def test_the_administrator_lands_on_administration(client, db, world):
    response = staff_login(client, world.admin.username)
    assert response.location == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    assert "Administrasjon" in page and "Fysioterapi" in page
    # Only this municipality's services and staff.
    assert "Hjemmetjenesten" not in page
    assert world.foreign_staff.username not in page


def test_staff_log_in_keeps_the_page_asked_for(client, db, world):
    first = client.get("/staff/recipients")
    assert first.location == "/staff/login?next=/staff/recipients"
    token = csrf_token(client, "/auth/logged-out")
    response = client.post(
        "/staff/login",
        data={
            "csrf_token": token,
            "username": world.coordinator.username,
            "password": factories.PASSWORD,
            "next": "/staff/recipients",
        },
    )
    assert response.location == "/staff/recipients"


def test_next_never_leads_to_another_site(client, db, world):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        token = csrf_token(client, "/auth/logged-out")
        response = client.post(
            "/staff/login",
            data={
                "csrf_token": token,
                "username": world.coordinator.username,
                "password": factories.PASSWORD,
                "next": target,
            },
        )
        assert response.location == "/staff/"


def test_staff_role_kinds_are_shown_in_norwegian(client, db, world):
    staff_login(client, world.admin.username)
    page = client.get("/admin/staff").get_data(as_text=True)
    assert "meldingsansvarlig" in page and "leder" in page and "kommuneadministrator" in page
    assert StaffRoleKind.EMPLOYEE.value in page  # "ansatt"


def test_staff_log_in_is_rate_limited_per_username(client, db, world):
    for _ in range(10):
        assert staff_login(client, world.coordinator.username, "feil").status_code == 422
    blocked = staff_login(client, world.coordinator.username, factories.PASSWORD)
    assert blocked.status_code == 429
    assert "For mange forsøk" in blocked.get_data(as_text=True)
    assert "Prøv igjen om 1 minutt" in blocked.get_data(as_text=True)
    # A minute from the failures; ten password hashes take a few seconds on a busy machine.
    assert 45 <= int(blocked.headers["Retry-After"]) <= 60


def test_resident_log_in_is_rate_limited_per_address(db, idp, app):
    limit = app.config["LOGIN_START_LIMIT"]
    # A new browser each time: the limit is on the address, not on the browser.
    statuses = [
        app.test_client().get("/auth/login", environ_base=_from("198.51.100.5")).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [302] * limit and statuses[limit] == 429
    assert app.test_client().get("/auth/login", environ_base=_from("10.0.0.5")).status_code == 302


def _from(address: str):
    return {"REMOTE_ADDR": address}


def login_from(client, address: str, username: str, password: str = factories.PASSWORD):
    token = csrf_token(client, "/auth/logged-out")
    return client.post(
        "/staff/login",
        data={"csrf_token": token, "username": username, "password": password},
        environ_base=_from(address),
    )


def test_an_attacker_does_not_lock_the_nurse_out_of_her_own_device(app, db, world):
    nurse = world.coordinator.username
    device = app.test_client()
    assert login_from(device, "10.0.0.7", nurse).status_code == 303  # her handheld, once
    device.post("/auth/logout", data={"csrf_token": csrf_token(device, "/staff/")})

    attacker = app.test_client()
    answers = [login_from(attacker, "198.51.100.66", nurse, "gjett").status_code for _ in range(12)]
    assert answers[:10] == [422] * 10 and answers[10:] == [429, 429]
    # The attacker's address is blocked, for every account and even the right password.
    assert login_from(attacker, "198.51.100.66", world.employee.username).status_code == 429

    # The nurse's handheld, even from another network, is not.
    assert login_from(device, "10.0.0.8", nurse).status_code == 303
    # A browser the account never used is blocked while the account is under attack.
    stranger = app.test_client()
    assert login_from(stranger, "10.0.0.9", nurse).status_code == 429


def test_a_wrong_password_on_a_known_device_counts_for_that_device_only(app, db, world):
    nurse = world.coordinator.username
    device = app.test_client()
    assert login_from(device, "10.0.0.7", nurse).status_code == 303
    device.post("/auth/logout", data={"csrf_token": csrf_token(device, "/staff/")})
    answers = [login_from(device, "10.0.0.7", nurse, "feil").status_code for _ in range(11)]
    assert answers[10] == 429
    # Neither the address nor the account is blocked for anyone else.
    assert login_from(app.test_client(), "10.0.0.7", world.employee.username).status_code == 303
    assert login_from(app.test_client(), "10.0.0.1", nurse).status_code == 303


def test_a_forged_device_cookie_counts_as_no_device(app, db, world):
    attacker = app.test_client()
    attacker.set_cookie("hd-device", "forged.value.here")
    for _ in range(10):
        login_from(attacker, "198.51.100.66", world.coordinator.username, "gjett")
    assert login_from(attacker, "198.51.100.66", world.coordinator.username).status_code == 429


def test_blocks_grow_longer_each_time(app, db, world):
    import time_machine

    attacker = app.test_client()
    with time_machine.travel(0, tick=False) as traveller:
        traveller.move_to(utcnow())
        waits = []
        for _ in range(3):
            for _ in range(10):
                login_from(attacker, "198.51.100.66", "ukjent", "gjett")
            blocked = login_from(attacker, "198.51.100.66", "ukjent", "gjett")
            waits.append(int(blocked.headers["Retry-After"]))
            traveller.shift(waits[-1])
    assert waits == [60, 120, 240]


def _counted_in_database(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(LoginThrottle))


@pytest.fixture
def with_redis(app, monkeypatch):
    """The app counts in the Redis TEST_REDIS_URL names, under a prefix of its own."""
    url = redis_url()
    if url is None:
        pytest.skip("TEST_REDIS_URL names no Redis")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.config, "REDIS_KEY_PREFIX", prefix)
    client = redis.Redis.from_url(url)
    yield client, prefix
    for name in client.scan_iter(f"{prefix}*"):
        client.delete(name)
    client.close()


def _eleven_wrong(app, username: str) -> list[int]:
    attacker = app.test_client()
    return [login_from(attacker, "198.51.100.66", username, "gjett").status_code for _ in range(11)]


def test_with_redis_failures_are_counted_there_and_not_in_the_database(app, db, world, with_redis):
    client, prefix = with_redis
    answers = _eleven_wrong(app, world.coordinator.username)
    assert answers == [422] * 10 + [429]
    assert _counted_in_database(db) == 0
    assert len(list(client.scan_iter(f"{prefix}throttle:*"))) == 2  # the address and the account


def test_when_redis_cannot_be_reached_the_failures_are_counted_in_the_database(
    app, db, world, monkeypatch
):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    answers = _eleven_wrong(app, world.coordinator.username)
    assert answers == [422] * 10 + [429]  # never a 500, and still limited
    assert _counted_in_database(db) == 2
