"""DPoP-bound tokens (docs/api.md, DPoP; RFC 9449): a client that proves a key at the token
endpoint gets a token bound to it, and that token works only with a fresh proof of the same
key for each call. Every refusal is a 401 (400 at the token endpoint) that says why."""

from __future__ import annotations

import json
import time

import pytest
from flask.testing import FlaskClient
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey
from sqlalchemy.orm import Session

from tests import factories
from tests.support import API_TOKEN_URL, FHIR_BASE, RecordSystem, fhir_validated


@pytest.fixture
def epj(db: Session, world: factories.World) -> RecordSystem:
    system = RecordSystem()
    row = factories.api_client(db, world.municipality, system.public_jwks, name="Testby EPJ")
    system.client_id = row.client_id
    system.row = row
    return system


def _bound_token(client: FlaskClient, epj: RecordSystem) -> str:
    answer = client.post(
        "/oauth/token",
        data=epj.token_form(API_TOKEN_URL),
        headers={"DPoP": epj.dpop_proof("POST", API_TOKEN_URL)},
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["token_type"] == "DPoP"
    return answer.get_json()["access_token"]


def _get(client, epj, token, path, **proof) -> object:
    url = FHIR_BASE + path
    return client.get(
        f"/fhir/R4{path}",
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": epj.dpop_proof("GET", url, access_token=token, **proof),
        },
    )


def _refused(response, words: str) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    outcome = fhir_validated(response.get_json())
    assert words in outcome.issue[0].diagnostics
    challenges = response.headers.getlist("WWW-Authenticate")
    assert any(challenge.startswith("DPoP") for challenge in challenges)


def test_a_bound_token_is_bound_to_the_proofs_key_and_works_with_a_proof(
    client: FlaskClient, epj: RecordSystem, world: factories.World
):
    token = _bound_token(client, epj)
    claims = json.loads(jws.extract_compact(token.encode()).payload)
    assert claims["cnf"] == {"jkt": epj.dpop_key.thumbprint()}
    found = _get(client, epj, token, f"/Patient/{world.resident.id}")
    assert found.status_code == 200
    assert fhir_validated(found.get_json()).id == str(world.resident.id)
    posted = client.post(
        "/fhir/R4/Subscription",
        json={
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "Avlysninger",
            "criteria": "Appointment?status=cancelled",
            "channel": {"type": "rest-hook", "endpoint": "https://epj.example/hooks"},
        },
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": epj.dpop_proof("POST", f"{FHIR_BASE}/Subscription", access_token=token),
        },
    )
    assert posted.status_code == 201, posted.get_json()


def test_without_a_proof_the_token_is_a_bearer_token_as_before(
    client: FlaskClient, epj: RecordSystem, world: factories.World
):
    token = epj.token(client)
    response = client.get(
        f"/fhir/R4/Patient/{world.resident.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    _refused(_get(client, epj, token, f"/Patient/{world.resident.id}"), "not DPoP-bound")


def test_a_stolen_bound_token_is_useless_without_the_key(
    client: FlaskClient, epj: RecordSystem, world: factories.World
):
    token = _bound_token(client, epj)
    path = f"/Patient/{world.resident.id}"
    as_bearer = client.get(f"/fhir/R4{path}", headers={"Authorization": f"Bearer {token}"})
    _refused(as_bearer, "DPoP-bound")
    no_proof = client.get(f"/fhir/R4{path}", headers={"Authorization": f"DPoP {token}"})
    _refused(no_proof, "exactly one DPoP header")
    thief = ECKey.generate_key("P-256")
    _refused(_get(client, epj, token, path, key=thief), "not signed with the token's key")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"htm": "POST"}, "htm must be GET"),
        ({"htu": "https://elsewhere.example/fhir/R4/Patient/1"}, "htu must be"),
        ({"iat": int(time.time()) - 3600}, "iat must be now"),
        ({"iat": int(time.time()) + 3600}, "iat must be now"),
        ({"iat": "now"}, "iat must be now"),
        ({"ath": "not-the-hash"}, "ath must be the hash"),
        ({"jti": None}, "needs a jti"),
        ({"header": {"typ": "JWT"}}, "typ must be dpop+jwt"),
        ({"header": {"jwk": {"kty": "oct", "k": "c2VjcmV0"}}}, "public EC or RSA key"),
    ],
)
def test_a_proof_that_is_not_for_this_call_is_refused(
    client: FlaskClient, epj: RecordSystem, world: factories.World, change: dict, words: str
):
    token = _bound_token(client, epj)
    _refused(_get(client, epj, token, f"/Patient/{world.resident.id}", **change), words)


def test_a_proof_with_its_private_key_or_signed_by_a_secret_is_refused(
    client: FlaskClient, epj: RecordSystem, world: factories.World
):
    token = _bound_token(client, epj)
    path = f"/Patient/{world.resident.id}"
    private = epj.dpop_key.as_dict(private=True)
    _refused(_get(client, epj, token, path, header={"jwk": private}), "public EC or RSA key")
    secret = OctKey.generate_key(256)
    forged = jwt.encode(
        {"typ": "dpop+jwt", "alg": "HS256", "jwk": epj.dpop_key.as_dict(private=False)},
        {"jti": "x", "htm": "GET", "htu": FHIR_BASE + path, "iat": int(time.time())},
        secret,
    )
    response = client.get(
        f"/fhir/R4{path}", headers={"Authorization": f"DPoP {token}", "DPoP": forged}
    )
    _refused(response, "alg must be one of")


def test_a_proof_is_used_once(client: FlaskClient, epj: RecordSystem, world: factories.World):
    token = _bound_token(client, epj)
    url = f"{FHIR_BASE}/Patient/{world.resident.id}"
    proof = epj.dpop_proof("GET", url, access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    path = f"/fhir/R4/Patient/{world.resident.id}"
    assert client.get(path, headers=headers).status_code == 200
    _refused(client.get(path, headers=headers), "used before")


def test_the_token_endpoint_refuses_a_bad_proof_and_gives_no_token(
    client: FlaskClient, epj: RecordSystem
):
    for proof, words in (
        (epj.dpop_proof("GET", API_TOKEN_URL), "htm must be POST"),
        (epj.dpop_proof("POST", FHIR_BASE), "htu must be"),
        ("not a jwt", "not a signed JWT"),
    ):
        answer = client.post(
            "/oauth/token", data=epj.token_form(API_TOKEN_URL), headers={"DPoP": proof}
        )
        assert answer.status_code == 400
        assert answer.get_json()["error"] == "invalid_dpop_proof"
        assert words in answer.get_json()["error_description"]
    discovery = client.get("/fhir/R4/.well-known/smart-configuration").get_json()
    assert "ES256" in discovery["dpop_signing_alg_values_supported"]
