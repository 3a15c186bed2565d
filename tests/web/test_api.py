"""The record-system API's log-in and its FHIR answers (docs/api.md): a client signs its
token request with its own key, gets a short token bound to its municipality, and reads
only the people its municipality serves; every refusal is an OperationOutcome or an OAuth
error, never a page."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.fhir import FNR_SYSTEM
from app.models import ApiCall, UsageAction, UsageLogEntry
from app.security import api_auth
from tests import factories
from tests.support import API_TOKEN_URL, FHIR_BASE, RecordSystem, fhir_validated

USAGE_LOG = "/profile/log"


@pytest.fixture
def epj(db: Session, world: factories.World) -> RecordSystem:
    system = RecordSystem()
    client = factories.api_client(db, world.municipality, system.public_jwks, name="Testby EPJ")
    system.client_id = client.client_id
    system.row = client
    return system


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _outcome(response, status: int, code: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    document = response.get_json()
    fhir_validated(document)
    assert document["resourceType"] == "OperationOutcome"
    assert document["issue"][0]["code"] == code
    return document["issue"][0]["diagnostics"]


def _calls(db: Session, epj: RecordSystem) -> list[ApiCall]:
    return list(
        db.scalars(
            sa.select(ApiCall).where(ApiCall.api_client_id == epj.row.id).order_by(ApiCall.id)
        )
    )


# --- discovery -------------------------------------------------------------------------------


def test_metadata_is_a_capability_statement_naming_the_token_endpoint(client: FlaskClient):
    response = client.get("/fhir/R4/metadata")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    statement = fhir_validated(response.get_json())
    assert statement.fhirVersion == "4.0.1"
    oauth = statement.rest[0].security.extension[0].extension
    assert oauth[0].valueUri == API_TOKEN_URL
    smart = client.get("/fhir/R4/.well-known/smart-configuration").get_json()
    assert smart["token_endpoint"] == API_TOKEN_URL
    assert smart["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]


def test_the_apps_keys_are_published_without_their_private_parts(client: FlaskClient):
    keys = client.get("/oauth/jwks").get_json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "EC" and keys[0]["alg"] == "ES256"
    assert "d" not in keys[0]


# --- log-in ----------------------------------------------------------------------------------


def test_a_signed_assertion_gets_a_short_token_bound_to_the_municipality(
    client: FlaskClient, epj: RecordSystem, world: factories.World, app: Flask
):
    response = client.post(
        "/oauth/token", data=epj.token_form(API_TOKEN_URL, scope="system/Patient.rs")
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == app.config["API_TOKEN_SECONDS"] == 300
    assert answer["scope"] == "system/Patient.rs"
    claims = jwt.decode(
        answer["access_token"],
        api_auth.signing_keys(app.config["API_SIGNING_KEY_PATHS"])[0],
    ).claims
    assert claims["aud"] == FHIR_BASE
    assert claims["municipality"] == world.municipality.number
    assert claims["client_id"] == epj.client_id
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"aud": "http://elsewhere.example/oauth/token"}, "aud"),
        ({"lifetime": -120}, "expired"),
        ({"lifetime": 3600}, "5 minutes"),
        ({"sub": "someone-else"}, "sub"),
    ],
)
def test_an_assertion_that_is_not_right_is_refused(
    client: FlaskClient, epj: RecordSystem, db: Session, change: dict, why: str
):
    response = client.post("/oauth/token", data=epj.token_form(API_TOKEN_URL, **change))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert why in response.get_json()["error_description"]
    assert _calls(db, epj)[-1].status == 401


def test_an_assertion_is_used_once(client: FlaskClient, epj: RecordSystem):
    form = epj.token_form(API_TOKEN_URL)
    assert client.post("/oauth/token", data=form).status_code == 200
    again = client.post("/oauth/token", data=form)
    assert again.status_code == 401
    assert "used before" in again.get_json()["error_description"]


def test_an_assertion_signed_by_another_key_is_refused(client: FlaskClient, epj: RecordSystem):
    impostor = RecordSystem(epj.client_id)
    response = client.post("/oauth/token", data=impostor.token_form(API_TOKEN_URL))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_unknown_clients_and_malformed_requests_get_oauth_errors(
    client: FlaskClient, epj: RecordSystem
):
    stranger = RecordSystem("no-such-client")
    assert client.post("/oauth/token", data=stranger.token_form(API_TOKEN_URL)).status_code == 401
    form = epj.token_form(API_TOKEN_URL)
    wrong_grant = client.post("/oauth/token", data={**form, "grant_type": "password"})
    assert wrong_grant.get_json()["error"] == "unsupported_grant_type"
    garbage = client.post("/oauth/token", data={**form, "client_assertion": "not.a.jwt"})
    assert garbage.status_code == 401
    scope = client.post(
        "/oauth/token", data=epj.token_form(API_TOKEN_URL, scope="system/Patient.cruds")
    )
    assert scope.status_code == 400 and scope.get_json()["error"] == "invalid_scope"
    assert client.get("/oauth/token").status_code == 405


def test_a_revoked_client_gets_no_token_and_its_tokens_stop_at_once(
    client: FlaskClient, epj: RecordSystem, db: Session, world: factories.World
):
    token = epj.token(client)
    epj.row.revoked_at = utcnow()
    db.flush()
    assert client.post("/oauth/token", data=epj.token_form(API_TOKEN_URL)).status_code == 401
    response = client.get(f"/fhir/R4/Patient/{world.resident.id}", headers=_bearer(token))
    assert "revoked" in _outcome(response, 401, "login")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- tokens ----------------------------------------------------------------------------------


def test_no_token_an_expired_one_or_one_for_another_server_is_refused(
    client: FlaskClient, epj: RecordSystem, world: factories.World, app: Flask
):
    path = f"/fhir/R4/Patient/{world.resident.id}"
    _outcome(client.get(path), 401, "login")
    _outcome(client.get(path, headers={"Authorization": "Basic eDp5"}), 401, "login")
    token = epj.token(client)
    with time_machine.travel(utcnow() + timedelta(seconds=400)):
        _outcome(client.get(path, headers=_bearer(token)), 401, "login")
    key = api_auth.signing_keys(app.config["API_SIGNING_KEY_PATHS"])[0]
    claims = jwt.decode(token, key).claims
    elsewhere = jwt.encode(
        {"alg": "ES256", "typ": "at+jwt", "kid": key.kid},
        {**claims, "aud": "https://other.example/fhir/R4"},
        key,
    )
    assert "aud" in _outcome(client.get(path, headers=_bearer(elsewhere)), 401, "login")
    forged_key = ECKey.generate_key("P-256", auto_kid=True)
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt"}, claims, forged_key)
    _outcome(client.get(path, headers=_bearer(forged)), 401, "login")


def test_tokens_signed_by_the_previous_key_still_work_after_rotation(
    client: FlaskClient, epj: RecordSystem, world: factories.World, app: Flask, tmp_path
):
    old_paths = app.config["API_SIGNING_KEY_PATHS"]
    token = epj.token(client)
    app.config["API_SIGNING_KEY_PATHS"] = [str(tmp_path / "new-key.pem"), *old_paths]
    try:
        keys = client.get("/oauth/jwks").get_json()["keys"]
        assert len(keys) == 2
        path = f"/fhir/R4/Patient/{world.resident.id}"
        assert client.get(path, headers=_bearer(token)).status_code == 200
        fresh = epj.token(client)
        header = json.loads(__import__("base64").urlsafe_b64decode(fresh.split(".")[0] + "=="))
        assert header["kid"] == keys[0]["kid"] != keys[1]["kid"]
        assert client.get(path, headers=_bearer(fresh)).status_code == 200
        app.config["API_SIGNING_KEY_PATHS"] = [str(tmp_path / "new-key.pem")]
        _outcome(client.get(path, headers=_bearer(token)), 401, "login")
    finally:
        app.config["API_SIGNING_KEY_PATHS"] = old_paths


# --- Patient ---------------------------------------------------------------------------------


def test_a_client_reads_a_resident_its_municipality_serves_and_the_read_is_logged(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session, login
):
    token = epj.token(client)
    response = client.get(f"/fhir/R4/Patient/{world.resident.id}", headers=_bearer(token))
    assert response.status_code == 200
    patient = fhir_validated(response.get_json())
    assert patient.identifier[0].system == FNR_SYSTEM
    assert patient.identifier[0].value == world.resident.fodselsnummer
    assert patient.name[0].family == "Resident"
    assert patient.birthDate.isoformat() == "1940-02-03"
    entry = db.scalars(
        sa.select(UsageLogEntry).where(
            UsageLogEntry.subject_person_id == world.resident.id,
            UsageLogEntry.action == UsageAction.RECORD_SYSTEM_READ,
        )
    ).one()
    assert entry.actor_api_client_id == epj.row.id
    assert _calls(db, epj)[-1].status == 200
    login.resident(world.resident)
    log = client.get(USAGE_LOG).get_data(as_text=True)
    assert "Journalsystemet Testby EPJ leste opplysningene dine" in log


def test_search_by_fodselsnummer_finds_only_people_the_municipality_serves(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session
):
    token = epj.token(client)
    found = client.get(
        "/fhir/R4/Patient",
        query_string={"identifier": f"{FNR_SYSTEM}|{world.resident.fodselsnummer}"},
        headers=_bearer(token),
    )
    bundle = fhir_validated(found.get_json())
    assert bundle.total == 1
    assert bundle.entry[0].fullUrl == f"{FHIR_BASE}/Patient/{world.resident.id}"
    # The proxy lives in the municipality but receives no service: not the client's business.
    nobody = client.get(
        "/fhir/R4/Patient",
        query_string={"identifier": world.proxy.fodselsnummer},
        headers=_bearer(token),
    )
    assert fhir_validated(nobody.get_json()).total == 0
    _outcome(
        client.get(f"/fhir/R4/Patient/{world.proxy.id}", headers=_bearer(token)),
        404,
        "not-found",
    )


def test_a_client_of_another_municipality_reads_nobody_here(
    client: FlaskClient, world: factories.World, db: Session
):
    foreign = RecordSystem()
    row = factories.api_client(db, world.other_municipality, foreign.public_jwks)
    foreign.client_id = row.client_id
    token = foreign.token(client)
    _outcome(
        client.get(f"/fhir/R4/Patient/{world.resident.id}", headers=_bearer(token)),
        404,
        "not-found",
    )
    bundle = client.get(
        "/fhir/R4/Patient",
        query_string={"identifier": world.resident.fodselsnummer},
        headers=_bearer(token),
    ).get_json()
    assert bundle["total"] == 0
    assert "Rita" not in json.dumps(bundle)


def test_a_token_without_the_scope_is_forbidden(
    client: FlaskClient, epj: RecordSystem, world: factories.World
):
    token = epj.token(client, scope="system/Appointment.rs")
    response = client.get(f"/fhir/R4/Patient/{world.resident.id}", headers=_bearer(token))
    assert "system/Patient.r" in _outcome(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({}, 400, "invalid"),
        ({"name": "Rita"}, 400, "invalid"),
        ({"identifier": "urn:oid:1.2.3|12345678901"}, 400, "invalid"),
        ({"identifier": "123"}, 400, "invalid"),
        ({"_id": "x"}, 400, "invalid"),
        ({"_id": "1", "_format": "xml"}, 406, "not-supported"),
    ],
)
def test_a_search_the_api_does_not_take_is_explained(
    client: FlaskClient, epj: RecordSystem, query: dict, status: int, code: str
):
    token = epj.token(client)
    _outcome(
        client.get("/fhir/R4/Patient", query_string=query, headers=_bearer(token)), status, code
    )


def test_errors_under_the_api_are_operation_outcomes_never_pages(
    client: FlaskClient, epj: RecordSystem
):
    token = epj.token(client)
    _outcome(client.get("/fhir/R4/Nothing", headers=_bearer(token)), 404, "not-found")
    _outcome(client.delete("/fhir/R4/metadata"), 405, "not-supported")
    _outcome(client.get("/fhir/R4/Patient/\x01"), 400, "invalid")
    _outcome(client.get("/fhir/R4/Patient/99999999999"), 404, "not-found")


def test_the_audit_trail_keeps_each_call(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session
):
    token = epj.token(client)
    client.get(f"/fhir/R4/Patient/{world.resident.id}", headers=_bearer(token))
    client.get("/fhir/R4/Patient", query_string={"name": "x"}, headers=_bearer(token))
    calls = _calls(db, epj)
    assert [(c.method, c.status) for c in calls] == [("POST", 200), ("GET", 200), ("GET", 400)]
    assert calls[1].path == f"/fhir/R4/Patient/{world.resident.id}"
    assert "name" in calls[2].outcome


def test_assertions_are_forgotten_once_they_have_expired(
    client: FlaskClient, epj: RecordSystem, db: Session
):
    epj.token(client)
    later = time.time() + 3600
    with time_machine.travel(later):
        response = client.post("/oauth/token", data=epj.token_form(API_TOKEN_URL, now=later))
        assert response.status_code == 200
    kept = db.scalar(sa.text("SELECT count(*) FROM api_assertion"))
    assert kept == 1


# --- hostile input (docs/quality.md R6) ---------------------------------------------------------

_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "system/Patient.rs", "client_credentials", "a.b.c", "e30.e30.", "|", ","]),
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),
)


_HEADER = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_makes_the_api_answer_5xx(
    data, client: FlaskClient, epj: RecordSystem, world: factories.World
):
    token = epj.token(client)
    keys = ["grant_type", "client_assertion_type", "client_assertion", "scope", "client_id"]
    form = data.draw(st.dictionaries(st.sampled_from(keys), _TEXT, max_size=5))
    if data.draw(st.booleans()):
        form = {**epj.token_form(API_TOKEN_URL), **form}
    answer = client.post("/oauth/token", data=form)
    assert answer.status_code < 500 and answer.is_json
    query = data.draw(
        st.lists(
            st.tuples(st.sampled_from(["identifier", "_id", "_format", "name", "x"]), _TEXT),
            max_size=4,
        )
    )
    headers = data.draw(
        st.sampled_from(
            [_bearer(token), {"Authorization": data.draw(_HEADER)}, _bearer(data.draw(_HEADER))]
        )
    )
    path = data.draw(st.sampled_from(["/fhir/R4/Patient", f"/fhir/R4/Patient/{world.resident.id}"]))
    response = client.get(path, query_string=query, headers=headers)
    assert response.status_code < 500
    assert response.mimetype == "application/fhir+json"
