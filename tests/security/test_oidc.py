"""Residents' log-in through OpenID Connect: the happy path and every refusal.

The identity provider here is a stand-in served by `responses`, so each test controls
exactly what the provider answers; the test identity provider itself is tested end to
end in tests/web/test_dev_idp.py and e2e/.
"""

from __future__ import annotations

import time
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from app.models import LoginSession, UsageAction, UsageLogEntry
from tests import factories

ISSUER = "http://idp.test/dev-idp"
CLIENT_ID = "hjemmedialog"
KEY = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
OTHER_KEY = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)


@pytest.fixture
def provider(app):
    """A mocked provider: discovery, JWKS and a token endpoint the test fills in."""
    app.extensions["oidc_client"].server_metadata.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            f"{ISSUER}/.well-known/openid-configuration",
            json={
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            },
        )
        mock.get(f"{ISSUER}/jwks", json=KeySet([KEY]).as_dict(private=False))
        yield mock
    app.extensions["oidc_client"].server_metadata.clear()


def start(client) -> dict[str, str]:
    response = client.get("/auth/login")
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}/authorize"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def id_token(pid: str, nonce: str, *, acr="idporten-loa-high", key=KEY, kid=None, **extra) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "pairwise-sub",
        "pid": pid,
        "acr": acr,
        "nonce": nonce,
        "iat": now,
        "exp": now + 120,
        **extra,
    }
    return jwt.encode({"alg": "RS256", "kid": kid or key.kid}, claims, key)


def answer_token(provider, token: str) -> None:
    provider.post(
        f"{ISSUER}/token",
        json={
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 120,
            "id_token": token,
        },
    )


def sessions(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(LoginSession))


def assert_refused(response, db, text: str) -> None:
    assert response.status_code == 400
    assert text in response.get_data(as_text=True)
    assert sessions(db) == 0


def assert_logged_out(client) -> None:
    assert client.get("/messages").status_code == 302


def test_authorization_request_uses_pkce_nonce_state_and_level_high(client, provider):
    params = start(client)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) >= 43
    assert params["nonce"] and params["state"]
    assert params["acr_values"] == "idporten-loa-high"
    assert "openid" in params["scope"].split()


def test_valid_log_in_starts_a_session_and_lands_on_messages(client, db, provider):
    kari = factories.person(db, "Kari", "Nordmann", born=date(1938, 3, 12))
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"]))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert response.status_code == 302
    assert response.location == "/messages"
    login = db.scalars(sa.select(LoginSession)).one()
    assert login.person_id == kari.id and login.acr == "idporten-loa-high"
    logged = db.scalars(sa.select(UsageLogEntry).where(UsageLogEntry.subject_person_id == kari.id))
    assert [e.action for e in logged] == [UsageAction.LOGGED_IN]
    page = client.get("/messages")
    assert page.status_code == 200
    assert "Kari Nordmann" in page.get_data(as_text=True)


def test_the_token_request_sends_the_pkce_verifier(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"]))
    client.get(f"/auth/callback?code=abc&state={params['state']}")
    token_call = next(c for c in provider.calls if c.request.url.endswith("/token"))
    body = parse_qs(token_call.request.body)
    assert body["code"] == ["abc"]
    assert len(body["code_verifier"][0]) >= 43
    assert body["grant_type"] == ["authorization_code"]


def test_bad_state_is_refused_without_a_session(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"]))
    response = client.get("/auth/callback?code=abc&state=forged-state")
    assert_refused(response, db, "startet i et annet vindu")
    assert_logged_out(client)


def test_callback_without_a_started_log_in_is_refused(client, db, provider):
    response = client.get("/auth/callback?code=abc&state=anything")
    assert_refused(response, db, "startet i et annet vindu")


def test_bad_nonce_is_refused_without_a_session(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, "another-nonce"))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "kunne ikke bekreftes")
    assert_logged_out(client)


def test_level_substantial_is_refused_without_a_session(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(
        provider, id_token(kari.fodselsnummer, params["nonce"], acr="idporten-loa-substantial")
    )
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "høyt sikkerhetsnivå")
    assert_logged_out(client)


def test_bad_signature_is_refused_without_a_session(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    # Signed by another key but claiming the provider's key id.
    forged = id_token(kari.fodselsnummer, params["nonce"], key=OTHER_KEY, kid=KEY.kid)
    answer_token(provider, forged)
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "kunne ikke bekreftes")
    assert_logged_out(client)


def test_token_for_another_client_is_refused(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"], aud="someone-else"))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "kunne ikke bekreftes")


def test_expired_token_is_refused(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    old = int(time.time()) - 3600
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"], iat=old, exp=old + 120))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "kunne ikke bekreftes")


def test_person_not_in_the_register_is_refused(client, db, provider):
    params = start(client)
    answer_token(provider, id_token(factories.synthetic_fnr(date(1960, 1, 1)), params["nonce"]))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "fant deg ikke i folkeregisteret")


def test_cancelled_at_the_provider(client, db, provider):
    params = start(client)
    response = client.get(f"/auth/callback?error=access_denied&state={params['state']}")
    assert_refused(response, db, "avbrutt")


def test_token_endpoint_error_is_refused(client, db, provider):
    params = start(client)
    provider.post(f"{ISSUER}/token", status=400, json={"error": "invalid_grant"})
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "avviste innloggingen")


def test_provider_down_gives_a_clear_page(client, db, app):
    app.extensions["oidc_client"].server_metadata.clear()
    with responses.RequestsMock() as mock:
        mock.get(f"{ISSUER}/.well-known/openid-configuration", status=503)
        response = client.get("/auth/login")
    assert response.status_code == 503
    assert "ikke tilgjengelig" in response.get_data(as_text=True)
    app.extensions["oidc_client"].server_metadata.clear()


def test_state_cannot_be_replayed(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"]))
    assert client.get(f"/auth/callback?code=abc&state={params['state']}").status_code == 302
    client.post("/auth/logout", data={"csrf_token": _csrf(client)})
    again = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert again.status_code == 400


def _csrf(client) -> str:
    from tests.support import csrf_token

    return csrf_token(client, "/messages")
