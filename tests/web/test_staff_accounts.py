"""Staff accounts in Administrasjon (docs/product.md 5.9): list, create, edit, one-time password,
passkeys, reactivation. Every change is written to Endringslogg."""

from __future__ import annotations

import sqlalchemy as sa

from app.clock import utcnow
from app.models import AdminChange, PasskeyCredential, StaffAccount, StaffRoleKind
from app.services.staff import current_roles
from tests import factories
from tests.support import LoginHelper, csrf_token

NEW_PASSWORD = "fire ord er nok"


def _post(client, path: str, **data):
    data = {"csrf_token": csrf_token(client, path), **data}
    return client.post(path, data=data)


def _changes(db, staff_id: int) -> list[tuple[str, str | None, str | None]]:
    rows = db.scalars(
        sa.select(AdminChange)
        .where(AdminChange.object_type == "staff_account", AdminChange.object_id == staff_id)
        .order_by(AdminChange.id)
    )
    return [(c.field, c.before, c.after) for c in rows]


def _create(client, world, **overrides):
    data = {
        "full_name": "Nina Ny",
        "username": "Nina.Ny",
        "roles": f"{world.unit.id}:ansatt",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
        **overrides,
    }
    return _post(client, "/admin/staff/new", **data)


def _log_in(client, username: str, password: str):
    token = csrf_token(client, "/auth/logged-out")
    return client.post(
        "/staff/login", data={"csrf_token": token, "username": username, "password": password}
    )


def test_the_list_is_searched_and_paged_by_keyset(client, db, login, world):
    for n in range(30):
        factories.staff(db, world.municipality, f"vikar{n:02d}", [], name=f"Vikar {n:02d}")
    login.staff(world.admin)
    first = client.get("/admin/staff")
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert "Vikar 00" in page and "Vikar 29" not in page and "Vis flere" in page
    cursor = page.split("after=")[1].split('"')[0]
    more = client.get(f"/admin/staff?after={cursor}", headers={"HX-Request": "true"})
    assert "Vikar 29" in more.get_data(as_text=True)
    assert "<html" not in more.get_data(as_text=True)
    found = client.get("/admin/staff?q=vikar07").get_data(as_text=True)
    assert "Vikar 07" in found and "Vikar 08" not in found
    assert client.get("/admin/staff?after=broken").status_code == 200


def test_the_administrator_creates_an_account_with_a_one_time_password(client, db, login, world):
    login.staff(world.admin)
    done = _create(client, world)
    assert done.status_code == 303
    account = db.scalars(sa.select(StaffAccount).where(StaffAccount.username == "nina.ny")).one()
    assert account.password_must_change and account.active
    assert account.municipality_id == world.admin.municipality_id
    assert current_roles(db, account.id) == {(StaffRoleKind.EMPLOYEE, world.unit.id)}
    assert _changes(db, account.id) == [
        ("account", None, "nina.ny"),
        ("roles", None, "ansatt, Sone Nord"),
    ]
    assert "nina.ny" in client.get(done.location).get_data(as_text=True)
    log = client.get("/admin/changes").get_data(as_text=True)
    assert "Nina Ny: konto opprettet med brukernavn nina.ny" in log


def test_creation_refuses_with_clear_messages_and_keeps_the_input(client, db, login, world):
    login.staff(world.admin)
    taken = _create(client, world, username=world.employee.username)
    assert taken.status_code == 422
    assert "Brukernavnet er tatt" in taken.get_data(as_text=True)
    assert "Nina Ny" in taken.get_data(as_text=True)
    short = _create(client, world, password="kort", password_again="kort")
    assert "fra 12 til 200 tegn" in short.get_data(as_text=True)
    same = _create(
        client,
        world,
        username="ninanynyny12",
        password="ninanynyny12",
        password_again="ninanynyny12",
    )
    assert "kan ikke være brukernavnet" in same.get_data(as_text=True)
    none = _create(client, world, roles=[])
    assert "minst én rolle" in none.get_data(as_text=True)
    foreign = _create(client, world, roles=f"{world.foreign_unit.id}:ansatt")
    assert foreign.status_code == 422
    bad = _create(client, world, username="ni na")
    assert bad.status_code == 422 and "bokstavene a–z" in bad.get_data(as_text=True)
    assert db.scalar(sa.select(StaffAccount).where(StaffAccount.full_name == "Nina Ny")) is None


def test_name_units_and_roles_are_changed_and_logged(client, db, login, world):
    login.staff(world.admin)
    done = _post(
        client,
        f"/admin/staff/{world.employee.id}",
        full_name="Anne Ansatt",
        roles=[f"{world.unit.id}:leder", f"{world.other_unit.id}:ansatt"],
    )
    assert done.status_code == 303
    assert current_roles(db, world.employee.id) == {
        (StaffRoleKind.LEADER, world.unit.id),
        (StaffRoleKind.EMPLOYEE, world.other_unit.id),
    }
    before = world.employee.username.title()
    assert _changes(db, world.employee.id) == [
        ("full_name", before, "Anne Ansatt"),
        ("roles", "ansatt, Sone Nord", "ansatt, Praktisk bistand Testby; leder, Sone Nord"),
    ]
    change = db.scalars(sa.select(AdminChange).order_by(AdminChange.id.desc())).first()
    assert change.actor_staff_id == world.admin.id


def test_the_administrator_keeps_her_own_administrator_role(client, db, login, world):
    login.staff(world.admin)
    refused = _post(
        client, f"/admin/staff/{world.admin.id}", full_name="Admin", roles=f"{world.unit.id}:leder"
    )
    assert refused.status_code == 422
    assert "din egen administratorrolle" in refused.get_data(as_text=True)
    assert current_roles(db, world.admin.id) == {(StaffRoleKind.MUNICIPAL_ADMIN, None)}
    assert _changes(db, world.admin.id) == []


def test_deactivation_and_reactivation_are_logged(app, client, db, login, world):
    login.staff(world.admin)
    path = f"/admin/staff/{world.coordinator.id}/deactivate"
    assert _post(client, path).status_code == 303
    assert (
        _log_in(app.test_client(), world.coordinator.username, factories.PASSWORD).status_code
        == 422
    )
    assert _post(client, f"/admin/staff/{world.coordinator.id}/reactivate").status_code == 303
    assert _changes(db, world.coordinator.id) == [("active", "yes", "no"), ("active", "no", "yes")]
    again = _log_in(app.test_client(), world.coordinator.username, factories.PASSWORD)
    assert again.status_code == 303


def test_a_one_time_password_ends_sessions_and_must_be_changed(app, client, db, login, world):
    nurse = app.test_client()
    LoginHelper(nurse, db).staff(world.coordinator)
    login.staff(world.admin)
    done = _post(
        client,
        f"/admin/staff/{world.coordinator.id}/password",
        password=NEW_PASSWORD,
        password_again=NEW_PASSWORD,
    )
    assert done.status_code == 303
    assert nurse.get("/staff/").status_code == 302  # the open session ended
    assert _changes(db, world.coordinator.id) == [("one_time_password", None, "yes")]
    assert NEW_PASSWORD not in str(_changes(db, world.coordinator.id))

    fresh = app.test_client()
    assert _log_in(fresh, world.coordinator.username, NEW_PASSWORD).status_code == 303
    for path in ("/staff/", "/staff/recipients", "/staff/passkeys"):
        answer = fresh.get(path)
        assert answer.status_code == 302 and answer.location == "/staff/password"
    htmx = fresh.get("/staff/", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/staff/password"
    assert "Velg nytt passord" in fresh.get("/staff/password").get_data(as_text=True)
    same = _post(fresh, "/staff/password", password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert same.status_code == 422 and "engangspassordet" in same.get_data(as_text=True)
    mine = "mitt eget lange passord"
    done = _post(fresh, "/staff/password", password=mine, password_again=mine)
    assert done.status_code == 303 and done.location == "/staff/"
    assert fresh.get("/staff/").status_code == 200
    db.refresh(world.coordinator)
    assert not world.coordinator.password_must_change
    assert _log_in(app.test_client(), world.coordinator.username, mine).status_code == 303


def test_the_administrator_gives_herself_no_one_time_password(client, db, login, world):
    login.staff(world.admin)
    refused = _post(
        client,
        f"/admin/staff/{world.admin.id}/password",
        password=NEW_PASSWORD,
        password_again=NEW_PASSWORD,
    )
    assert refused.status_code == 422


def test_passkeys_are_listed_and_revoked(client, db, login, world):
    passkey = PasskeyCredential(
        staff_id=world.coordinator.id,
        credential_id=b"k1",
        public_key=b"x",
        name="Jobbtelefon",
        created_at=utcnow(),
    )
    db.add(passkey)
    db.flush()
    login.staff(world.admin)
    page = client.get(f"/admin/staff/{world.coordinator.id}").get_data(as_text=True)
    assert "Jobbtelefon" in page
    wrong = _post(client, f"/admin/staff/{world.employee.id}/passkeys/{passkey.id}/revoke")
    assert wrong.status_code == 404
    done = _post(client, f"/admin/staff/{world.coordinator.id}/passkeys/{passkey.id}/revoke")
    assert done.status_code == 303
    left = sa.select(PasskeyCredential.id).where(PasskeyCredential.id == passkey.id)
    assert db.scalar(left) is None
    assert _changes(db, world.coordinator.id) == [("passkey", "Jobbtelefon", None)]


def test_staff_of_another_municipality_are_not_found(client, db, login, world):
    login.staff(world.admin)
    assert client.get(f"/admin/staff/{world.foreign_staff.id}").status_code == 404
    assert client.get(f"/admin/staff/{world.foreign_staff.id}/password").status_code == 404
    assert world.foreign_staff.full_name not in client.get("/admin/staff").get_data(as_text=True)


def test_a_leader_does_not_read_staff_account_changes(client, db, login, world):
    login.staff(world.admin)
    _create(client, world)
    login.staff(world.leader, unit_id=world.unit.id)
    page = client.get("/admin/changes").get_data(as_text=True)
    assert "Nina Ny" not in page


def test_an_administrator_role_is_removed_from_another_administrator(client, db, login, world):
    second = factories.staff(
        db,
        world.municipality,
        "admin2",
        [(StaffRoleKind.MUNICIPAL_ADMIN, None), (StaffRoleKind.LEADER, world.unit)],
        name="Andre Admin",
    )
    login.staff(world.admin)
    done = _post(
        client,
        f"/admin/staff/{second.id}",
        full_name="Andre Admin",
        roles=[f"{world.unit.id}:leder", f"{world.unit.id}:ansatt"],
    )
    assert done.status_code == 303
    assert current_roles(db, second.id) == {
        (StaffRoleKind.LEADER, world.unit.id),
        (StaffRoleKind.EMPLOYEE, world.unit.id),
    }
    assert _changes(db, second.id) == [
        ("roles", "kommuneadministrator; leder, Sone Nord", "ansatt, Sone Nord; leder, Sone Nord")
    ]
