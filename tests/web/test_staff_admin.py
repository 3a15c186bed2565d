"""The administrator deactivates a staff account: every session of it ends at once (R10)."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import LoginSession
from tests.support import LoginHelper, csrf_token


def _deactivate(client, staff_id: int):
    path = f"/admin/staff/{staff_id}/deactivate"
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def test_deactivation_asks_first_and_then_ends_every_session_at_once(app, db, login, world):
    nurse = app.test_client()
    LoginHelper(nurse, db).staff(world.coordinator)
    handheld = app.test_client()
    LoginHelper(handheld, db).staff(world.coordinator)
    assert nurse.get("/staff/").status_code == 200

    admin = app.test_client()
    LoginHelper(admin, db).staff(world.admin)
    ask = admin.get(f"/admin/staff/{world.coordinator.id}/deactivate").get_data(as_text=True)
    assert "logget ut med en gang" in ask
    done = _deactivate(admin, world.coordinator.id)
    assert done.status_code == 303
    flashed = admin.get(done.location).get_data(as_text=True)
    assert "er deaktivert og logget ut overalt" in flashed

    open_sessions = db.scalar(
        sa.select(sa.func.count()).where(
            LoginSession.staff_id == world.coordinator.id, LoginSession.ended_at.is_(None)
        )
    )
    assert open_sessions == 0
    for client in (nurse, handheld):
        answer = client.get("/staff/")
        assert answer.status_code == 302 and answer.location.startswith("/staff/login")
    message = nurse.get("/staff/login").get_data(as_text=True)
    assert "Kontoen din er deaktivert" in message


def test_a_deactivated_account_is_also_refused_by_a_session_left_open(client, db, login, world):
    login.staff(world.coordinator)
    world.coordinator.active = False  # set some other way than through the page
    db.flush()
    assert client.get("/staff/").status_code == 302


def test_the_administrator_cannot_deactivate_herself(client, db, login, world):
    login.staff(world.admin)
    refused = _deactivate(client, world.admin.id)
    assert refused.status_code == 422
    assert "din egen konto" in refused.get_data(as_text=True)
    assert world.admin.active


def test_staff_of_another_municipality_are_not_found(client, db, login, world):
    login.staff(world.admin)
    assert client.get(f"/admin/staff/{world.foreign_staff.id}/deactivate").status_code == 404
    assert _deactivate(client, world.foreign_staff.id).status_code == 404
    db.refresh(world.foreign_staff)
    assert world.foreign_staff.active


def test_only_the_administrator_deactivates(client, db, login, world):
    login.staff(world.leader, unit_id=world.unit.id)
    assert client.get(f"/admin/staff/{world.coordinator.id}/deactivate").status_code == 403
