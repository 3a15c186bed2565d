"""Staff log-in: password, unit choice, rate limits (QUALITY.md R8)."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import LoginSession, StaffRoleKind
from tests import factories
from tests.support import csrf_token


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
    page = client.get("/admin/").get_data(as_text=True)
    assert "meldingsansvarlig" in page and "leder" in page and "kommuneadministrator" in page
    assert StaffRoleKind.EMPLOYEE.value in page  # "ansatt"


def test_staff_log_in_is_rate_limited_per_username(client, db, world):
    for _ in range(10):
        assert staff_login(client, world.coordinator.username, "feil").status_code == 422
    blocked = staff_login(client, world.coordinator.username, factories.PASSWORD)
    assert blocked.status_code == 429
    assert "For mange forsøk" in blocked.get_data(as_text=True)
    assert "Retry-After" in blocked.headers


def test_resident_log_in_is_rate_limited(client, db, idp):
    statuses = [client.get("/auth/login").status_code for _ in range(11)]
    assert statuses[:10] == [302] * 10 and statuses[10] == 429
