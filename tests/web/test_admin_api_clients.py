"""Administrasjon: the municipality's API clients (docs/api.md). The administrator registers
a system with the public half of its key and the access it gets, follows its calls, and
revokes it; the system's tokens stop at once."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.models import AdminChange, ApiClient, StaffRoleKind
from tests import factories
from tests.support import API_TOKEN_URL, LoginHelper, RecordSystem, csrf_token

NEW = "/admin/api-clients/new"


def _register(client: FlaskClient, **fields) -> object:
    data = {
        "name": "Testby EPJ",
        "provider": "",
        "jwks": "",
        "scopes": ["system/Patient.rs", "system/Appointment.crus"],
        **fields,
    }
    data["csrf_token"] = csrf_token(client, NEW)
    return client.post(NEW, data=data)


def test_a_registered_system_logs_in_with_its_own_key(
    client: FlaskClient, db: Session, login: LoginHelper, world: factories.World
):
    system = RecordSystem()
    login.staff(world.admin)
    one_key = json.dumps(system.public_jwks["keys"][0])  # a single JWK is taken too
    response = _register(client, jwks=one_key)
    assert response.status_code == 303
    row = db.scalars(sa.select(ApiClient).where(ApiClient.name == "Testby EPJ")).one()
    assert row.municipality_id == world.municipality.id
    assert row.scopes == "system/Appointment.crus system/Patient.rs"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Gi systemet klient-ID-en: {row.client_id}" in page
    assert "Finne og lese tjenestemottakere (Patient)" in page
    system.client_id = row.client_id
    answer = client.post("/oauth/token", data=system.token_form(API_TOKEN_URL)).get_json()
    assert answer["scope"] == "system/Appointment.crus system/Patient.rs"
    change = db.scalars(sa.select(AdminChange).where(AdminChange.object_type == "api_client")).one()
    assert change.after == row.client_id
    log = client.get("/admin/changes").get_data(as_text=True)
    assert f"Testby EPJ: registrert som API-klient med klient-ID {row.client_id}" in log


def test_a_key_that_cannot_be_used_is_explained_and_nothing_is_saved(
    client: FlaskClient, db: Session, login: LoginHelper, world: factories.World
):
    login.staff(world.admin)
    private = RecordSystem().key.as_dict(private=True)
    for jwks in (json.dumps(private), "not a key", json.dumps({"keys": []})):
        response = _register(client, jwks=jwks)
        assert response.status_code == 422
        assert "Den offentlige nøkkelen kunne ikke leses" in response.get_data(as_text=True)
    no_access = _register(client, jwks=json.dumps(RecordSystem().public_jwks), scopes=[])
    assert no_access.status_code == 422
    assert "Velg minst én type tilgang" in no_access.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(ApiClient)) == 0


def test_the_administrator_sees_the_calls_refused_ones_too(
    client: FlaskClient, db: Session, login: LoginHelper, world: factories.World
):
    system = RecordSystem()
    row = factories.api_client(db, world.municipality, system.public_jwks)
    system.client_id = row.client_id
    token = system.token(client)
    client.get(
        f"/fhir/R4/Patient/{world.resident.id}", headers={"Authorization": f"Bearer {token}"}
    )
    client.post("/oauth/token", data=system.token_form("http://elsewhere.example/oauth/token"))
    login.staff(world.admin)
    page = client.get(f"/admin/api-clients/{row.id}").get_data(as_text=True)
    assert f"GET /fhir/R4/Patient/{world.resident.id}" in page
    assert "401: client_assertion refused" in page
    listing = client.get("/admin/api-clients").get_data(as_text=True)
    assert row.name in listing


def test_revoking_stops_the_systems_tokens_at_once(
    client: FlaskClient, db: Session, login: LoginHelper, world: factories.World
):
    system = RecordSystem()
    row = factories.api_client(db, world.municipality, system.public_jwks, name="Gammelt EPJ")
    system.client_id = row.client_id
    token = system.token(client)
    login.staff(world.admin)
    path = f"/admin/api-clients/{row.id}/revoke"
    confirm = client.get(path).get_data(as_text=True)
    assert "kan ikke lenger logge på API-et" in confirm
    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert done.status_code == 303
    assert "Gammelt EPJ har ikke lenger tilgang." in client.get(done.headers["Location"]).get_data(
        as_text=True
    )
    refused = client.get(
        f"/fhir/R4/Patient/{world.resident.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 401
    assert client.post("/oauth/token", data=system.token_form(API_TOKEN_URL)).status_code == 401


def test_another_municipalitys_administrator_does_not_see_the_client(
    client: FlaskClient, db: Session, login: LoginHelper, world: factories.World
):
    row = factories.api_client(db, world.municipality, RecordSystem().public_jwks)
    foreign_admin = factories.staff(
        db, world.other_municipality, "admin-annenby", [(StaffRoleKind.MUNICIPAL_ADMIN, None)]
    )
    login.staff(foreign_admin)
    assert client.get(f"/admin/api-clients/{row.id}").status_code == 404
    path = f"/admin/api-clients/{row.id}/revoke"
    assert client.post(path, data={"csrf_token": csrf_token(client, "/admin/")}).status_code == 404
    assert row.name not in client.get("/admin/api-clients").get_data(as_text=True)
    assert row.revoked_at is None
