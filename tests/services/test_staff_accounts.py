"""Staff accounts as the administrator creates them (services)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.clock import utcnow
from app.models import AdminChange, StaffAccount, StaffRoleKind
from app.services import staff as staff_service
from tests.support import actor_for


def test_a_username_taken_meanwhile_is_refused_and_leaves_nothing(db, world, monkeypatch):
    monkeypatch.setattr(staff_service, "username_taken", lambda session, username: False)
    with pytest.raises(staff_service.StaffRefused) as refused:
        staff_service.staff_create(
            db,
            actor_for(db, world.admin),
            full_name="Kopi",
            username=world.employee.username,
            roles=[(StaffRoleKind.EMPLOYEE, world.unit.id)],
            password="lang nok passord",
            now=utcnow(),
        )
    assert refused.value.code == "username_taken"
    assert db.scalar(sa.select(StaffAccount).where(StaffAccount.full_name == "Kopi")) is None
    assert db.scalar(sa.select(sa.func.count()).select_from(AdminChange)) == 0
    assert world.admin.active  # the session goes on


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("a" * 11, "password_short"),
        (" " * 12, "password_short"),
        ("a" * 201, "password_long"),
        ("Nina.Ny.Lang", "password_username"),
        ("a" * 12, None),
    ],
)
def test_password_rules(password, problem):
    assert staff_service.password_problem(password, "nina.ny.lang") == problem
