"""Residents' log-in through OpenID Connect: the happy path and every refusal.

The identity provider here is a stand-in served by `responses` (tests/security/oidc_support.py),
so each test controls exactly what the provider answers; the test identity provider itself
is tested end to end in tests/web/test_dev_idp.py, and a real, certified provider in
e2e/test_idporten.py.
"""

from __future__ import annotations

import time
from datetime import date
from urllib.parse import parse_qs

import pytest
import requests
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from app.models import LoginSession, UsageAction, UsageLogEntry
from app.security.oidc import OidcClient
from tests import factories
from tests.security.oidc_support import (
    CLIENT_ID,
    DISCOVERY,
    ISSUER,
    JWKS,
    KEY,
    OTHER_KEY,
    REPLACED_KEY,
    answer_token,
    id_token,
    log_in,
    start,
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


def test_provider_down_gives_a_clear_page(client, db, provider):
    provider.up = False
    response = client.get("/auth/login")
    assert response.status_code == 503
    assert "ikke tilgjengelig" in response.get_data(as_text=True)


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


# --- what ID-porten asks of a client ------------------------------


def test_only_the_openid_scope_is_asked_for_by_default(client, provider):
    assert start(client)["scope"] == "openid"


def test_log_in_remembers_the_providers_issuer_session_and_subject(client, db, provider):
    kari = factories.person(db, "Kari")
    log_in(client, provider, kari.fodselsnummer, sid="sid-kari", sub="sub-kari")
    login = db.scalars(sa.select(LoginSession)).one()
    assert (login.oidc_issuer, login.oidc_sid, login.oidc_sub) == (ISSUER, "sid-kari", "sub-kari")


@pytest.mark.parametrize(
    "claims", [{"sid": "s" * 256}, {"sid": "sid\x00"}, {"sub": ""}], ids=["long", "NUL", "empty"]
)
def test_an_id_token_with_an_unusable_sid_or_sub_is_refused(client, db, provider, claims):
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"], **claims))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "kunne ikke bekreftes")


def test_an_answer_naming_another_issuer_is_refused_before_the_code_is_used(client, db, provider):
    """RFC 9207: a mix-up with another provider this browser uses is caught at once."""
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"]))
    response = client.get(
        f"/auth/callback?code=abc&state={params['state']}&iss=https://evil.example"
    )
    assert_refused(response, db, "kunne ikke bekreftes")
    assert provider.fetched(f"{ISSUER}/token") == 0


def test_an_answer_without_iss_is_refused_when_the_provider_promises_one(client, db, provider):
    provider.metadata["authorization_response_iss_parameter_supported"] = True
    kari = factories.person(db, "Kari")
    params = start(client)
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"]))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert_refused(response, db, "kunne ikke bekreftes")


def test_an_answer_with_the_providers_iss_is_accepted(client, db, provider):
    provider.metadata["authorization_response_iss_parameter_supported"] = True
    kari = factories.person(db, "Kari")
    log_in(client, provider, kari.fodselsnummer)
    assert client.get("/messages").status_code == 200


def test_a_discovery_document_for_another_issuer_is_not_used(client, db, provider):
    provider.metadata["issuer"] = "https://evil.example"
    response = client.get("/auth/login")
    assert response.status_code == 503
    assert "ikke tilgjengelig" in response.get_data(as_text=True)


def _log_in_once_more(client, db, provider, pid, **token_options):
    from tests.support import csrf_token

    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/auth/logged-out")})
    params = start(client)
    answer_token(provider, id_token(pid, params["nonce"], **token_options))
    return client.get(f"/auth/callback?code=abc&state={params['state']}")


def test_a_key_replaced_under_the_same_kid_works_after_one_refresh(client, db, provider):
    kari = factories.person(db, "Kari")
    log_in(client, provider, kari.fodselsnummer)  # the old key is now cached
    provider.keys = [REPLACED_KEY]  # the provider replaces it, keeping the key id
    provider.tick(60)
    response = _log_in_once_more(client, db, provider, kari.fodselsnummer, key=REPLACED_KEY)
    assert response.status_code == 302 and response.location == "/messages"
    assert provider.fetched(JWKS) == 2


def test_a_new_key_id_is_fetched_at_once(client, db, provider):
    kari = factories.person(db, "Kari")
    log_in(client, provider, kari.fodselsnummer)
    provider.keys = [OTHER_KEY, KEY]
    provider.tick(60)
    response = _log_in_once_more(client, db, provider, kari.fodselsnummer, key=OTHER_KEY)
    assert response.status_code == 302 and response.location == "/messages"
    assert provider.fetched(JWKS) == 2


def test_bad_signatures_fetch_the_keys_again_at_most_every_few_seconds(client, db, provider):
    kari = factories.person(db, "Kari")
    log_in(client, provider, kari.fodselsnummer)
    forged = {"key": OTHER_KEY, "kid": KEY.kid}
    for _ in range(3):
        provider.tick(1)
        response = _log_in_once_more(client, db, provider, kari.fodselsnummer, **forged)
        assert response.status_code == 400
    assert provider.fetched(JWKS) == 1  # all three within OIDC_KEY_REFRESH_SECONDS
    provider.tick(30)
    assert _log_in_once_more(client, db, provider, kari.fodselsnummer, **forged).status_code == 400
    assert provider.fetched(JWKS) == 2


def test_discovery_and_keys_are_cached_and_fetched_again_after_the_cache_time(
    app, client, db, provider
):
    kari = factories.person(db, "Kari")
    log_in(client, provider, kari.fodselsnummer)
    provider.tick(app.config["OIDC_CACHE_SECONDS"] - 1)
    assert _log_in_once_more(client, db, provider, kari.fodselsnummer).status_code == 302
    assert (provider.fetched(DISCOVERY), provider.fetched(JWKS)) == (1, 1)
    provider.tick(2)
    assert _log_in_once_more(client, db, provider, kari.fodselsnummer).status_code == 302
    assert (provider.fetched(DISCOVERY), provider.fetched(JWKS)) == (2, 2)


def test_the_cached_documents_are_used_while_the_provider_cannot_be_reached(
    app, client, db, provider
):
    kari = factories.person(db, "Kari")
    log_in(client, provider, kari.fodselsnummer)
    provider.tick(app.config["OIDC_CACHE_SECONDS"] + 1)
    provider.up = False  # discovery and keys fail; the token endpoint still answers
    assert _log_in_once_more(client, db, provider, kari.fodselsnummer).status_code == 302


def _client_key(tmp_path, kind: str):
    key = RSAKey.generate_key(2048) if kind == "RS256" else ECKey.generate_key("P-256")
    path = tmp_path / "client-key.pem"
    path.write_bytes(key.as_pem(private=True))
    return key, path


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_private_key_jwt_signs_a_fresh_short_assertion_for_the_issuer(
    app, client, db, provider, monkeypatch, tmp_path, alg
):
    """ID-porten's recommended client authentication; it answered 500 on every log-in."""
    key, path = _client_key(tmp_path, alg)
    settings = {
        **app.config,
        "OIDC_TOKEN_AUTH_METHOD": "private_key_jwt",
        "OIDC_CLIENT_KEY_PATH": str(path),
        "OIDC_CLIENT_KEY_ID": "hjemmedialog-2026",
    }
    oidc = OidcClient(settings)
    oidc.provider.clock = provider.cache.clock
    monkeypatch.setitem(app.extensions, "oidc", oidc)
    kari = factories.person(db, "Kari")
    log_in(client, provider, kari.fodselsnummer)
    assert client.get("/messages").status_code == 200
    assert _log_in_once_more(client, db, provider, kari.fodselsnummer).status_code == 302

    assertions = []
    for call in provider.calls:
        if call.request.url == f"{ISSUER}/token":
            body = parse_qs(call.request.body)
            assert "client_secret" not in body and "Authorization" not in call.request.headers
            assert body["client_assertion_type"] == [
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            ]
            assertions.append(jwt.decode(body["client_assertion"][0], key, algorithms=[alg]))
    assert len(assertions) == 2
    for assertion in assertions:
        assert assertion.header["kid"] == "hjemmedialog-2026" and assertion.header["alg"] == alg
        claims = assertion.claims
        assert claims["iss"] == claims["sub"] == CLIENT_ID
        assert claims["aud"] == ISSUER
        assert 0 < claims["exp"] - claims["iat"] <= 120
    assert assertions[0].claims["jti"] != assertions[1].claims["jti"]


def test_a_token_endpoint_that_cannot_be_reached_gives_a_clear_page(client, db, provider):
    params = start(client)
    provider.post(f"{ISSUER}/token", body=requests.ConnectionError("refused"))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert response.status_code == 400
    assert "ikke tilgjengelig" in response.get_data(as_text=True)
    assert sessions(db) == 0


def test_keys_that_cannot_be_read_give_a_clear_page(client, db, provider):
    kari = factories.person(db, "Kari")
    params = start(client)
    provider.keys = []
    provider.mock.replace("GET", JWKS, json={"keys": "nonsense"})
    answer_token(provider, id_token(kari.fodselsnummer, params["nonce"]))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}")
    assert response.status_code == 400
    assert "ikke tilgjengelig" in response.get_data(as_text=True)
