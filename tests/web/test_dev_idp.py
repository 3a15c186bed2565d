"""The test identity provider, and the whole log-in loop through it.

The OIDC client makes real HTTP requests (discovery, token, JWKS); `responses` hands
them to the same Flask app, as a server would, so the client code path is the one
used against ID-porten.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from app.models import DevIdpGrant, LoginSession
from tests import factories

ISSUER = "http://idp.test/dev-idp"


def authorize_params(client) -> dict[str, str]:
    response = client.get("/auth/login")
    return {k: v[0] for k, v in parse_qs(urlsplit(response.location).query).items()}


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def test_discovery_document_describes_the_provider(client, db):
    doc = client.get("/dev-idp/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == ISSUER
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "idporten-loa-high" in doc["acr_values_supported"]
    keys = client.get("/dev-idp/jwks").get_json()["keys"]
    assert keys[0]["kty"] == "RSA" and "d" not in keys[0]


def test_log_in_page_lists_the_register_by_name_and_has_a_fodselsnummer_field(client, db, idp):
    factories.person(db, "Kari", "Nordmann")
    page = client.get("/dev-idp/authorize?" + urlencode(authorize_params(client)))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'<button[^>]*name="pid"[^>]*>Kari Nordmann</button>', html)
    assert '<label for="pid">Fødselsnummer</label>' in html


def test_full_log_in_loop_through_the_test_provider(client, db, idp):
    kari = factories.person(db, "Kari", "Nordmann")
    params = authorize_params(client)
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    fields = hidden_fields(page.get_data(as_text=True)) | {"pid": kari.fodselsnummer}
    back = client.post("/dev-idp/authorize", data=fields)
    assert back.status_code == 303
    callback = urlsplit(back.location)
    assert callback.path == "/auth/callback"
    landed = client.get(f"{callback.path}?{callback.query}")
    assert landed.status_code == 302 and landed.location == "/messages"
    assert db.scalars(sa.select(LoginSession)).one().person_id == kari.id
    # The code is single-use.
    assert db.scalars(sa.select(DevIdpGrant)).one().used_at is not None


def test_wrong_level_chosen_at_the_provider_is_refused_by_the_client(client, db, idp):
    kari = factories.person(db, "Kari", "Nordmann")
    params = authorize_params(client)
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    fields = hidden_fields(page.get_data(as_text=True)) | {
        "pid": kari.fodselsnummer,
        "acr": "idporten-loa-substantial",
    }
    back = client.post("/dev-idp/authorize", data=fields)
    landed = client.get(back.location.replace("http://localhost", ""))
    assert landed.status_code == 400
    assert db.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def test_invalid_fodselsnummer_is_explained_on_the_page(client, db, idp):
    params = authorize_params(client)
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    fields = hidden_fields(page.get_data(as_text=True)) | {"pid": "12345678901"}
    again = client.post("/dev-idp/authorize", data=fields)
    assert again.status_code == 422
    assert "Fødselsnummeret er ikke gyldig" in again.get_data(as_text=True)


def test_a_mistyped_fodselsnummer_is_told_apart_from_a_short_one(client, db, idp):
    params = authorize_params(client)
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    fields = hidden_fields(page.get_data(as_text=True))
    typo = client.post("/dev-idp/authorize", data=fields | {"pid": "12833810242"})
    assert typo.status_code == 422
    said = error_of(typo)
    assert "skrivefeil" in said and "kontrollsifrene" in said
    assert "11 siffer" not in said  # it has 11 digits: that is not the problem
    short = client.post("/dev-idp/authorize", data=fields | {"pid": "1283381024"})
    assert short.status_code == 422
    assert error_of(short) == "Fødselsnummeret må ha 11 siffer."


def error_of(response) -> str:
    return re.search(r'id="pid-error">([^<]*)<', response.get_data(as_text=True)).group(1)


def test_cancel_returns_access_denied_to_the_client(client, db, idp):
    params = authorize_params(client)
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    back = client.post(
        "/dev-idp/authorize", data=hidden_fields(page.get_data(as_text=True)) | {"cancel": "1"}
    )
    assert "error=access_denied" in back.location


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"client_id": "intruder"}, "unauthorized_client"),
        ({"redirect_uri": "https://evil.example/auth/callback"}, "invalid_request"),
        ({"redirect_uri": "http://localhost/elsewhere"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_invalid_authorization_requests_are_refused(client, db, idp, change, expected):
    params = authorize_params(client) | change
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    assert page.status_code == 400
    assert expected in page.get_data(as_text=True)


def _grant(client, db, idp, *, verifier: str) -> tuple[str, dict[str, str]]:
    kari = factories.person(db, "Kari")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    params = authorize_params(client) | {"code_challenge": challenge.rstrip("=")}
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    fields = hidden_fields(page.get_data(as_text=True)) | {"pid": kari.fodselsnummer}
    back = client.post("/dev-idp/authorize", data=fields)
    code = parse_qs(urlsplit(back.location).query)["code"][0]
    return code, params


def _token(client, code, params, **overrides):
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": params["redirect_uri"],
        "client_id": "hjemmedialog",
        "client_secret": "dev-client-secret",
        "code_verifier": "v" * 50,
    } | overrides
    return client.post("/dev-idp/token", data=body)


def test_token_endpoint_checks_pkce_client_and_single_use(client, db, idp):
    code, params = _grant(client, db, idp, verifier="v" * 50)
    wrong_verifier = _token(client, code, params, code_verifier="w" * 50)
    assert wrong_verifier.get_json()["error"] == "invalid_grant"
    assert _token(client, code, params, client_secret="nope").status_code == 401
    assert _token(client, code, params, redirect_uri="http://localhost/x").status_code == 400
    first = _token(client, code, params)
    assert first.status_code == 200 and first.get_json()["id_token"]
    second = _token(client, code, params)
    assert second.status_code == 400 and second.get_json()["error"] == "invalid_grant"


def test_person_field_accepts_numbers_with_spaces(client, db, idp):
    kari = factories.person(db, "Kari", born=date(1938, 3, 12))
    params = authorize_params(client)
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    spaced = f"{kari.fodselsnummer[:6]} {kari.fodselsnummer[6:]}"
    back = client.post(
        "/dev-idp/authorize", data=hidden_fields(page.get_data(as_text=True)) | {"pid": spaced}
    )
    assert back.status_code == 303


@pytest.mark.parametrize(
    "credentials",
    [
        {"client_secret": "hemmelig-æøå"},
        {"client_id": "hjemmedialog-å"},
        {"client_id": "ÅØÆ", "client_secret": "\u202esnudd"},
    ],
    ids=["secret", "client id", "both"],
)
def test_non_ascii_client_credentials_are_refused_not_a_500(client, db, idp, credentials):
    code, params = _grant(client, db, idp, verifier="v" * 50)
    response = _token(client, code, params, **credentials)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    # The code was not used up by the refused attempt.
    assert _token(client, code, params).status_code == 200


def test_non_ascii_basic_credentials_are_refused_not_a_500(client, db, idp):
    code, params = _grant(client, db, idp, verifier="v" * 50)
    basic = base64.b64encode("hjemmedialog:hemmelig-æøå".encode()).decode()
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": params["redirect_uri"],
        "code_verifier": "v" * 50,
    }
    response = client.post("/dev-idp/token", data=body, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401


def test_a_non_ascii_code_challenge_never_matches(client, db, idp):
    kari = factories.person(db, "Kari")
    params = authorize_params(client) | {"code_challenge": "å" * 43}
    page = client.get("/dev-idp/authorize?" + urlencode(params))
    fields = hidden_fields(page.get_data(as_text=True)) | {"pid": kari.fodselsnummer}
    back = client.post("/dev-idp/authorize", data=fields)
    code = parse_qs(urlsplit(back.location).query)["code"][0]
    response = _token(client, code, params)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_the_test_provider_names_itself_in_the_answer_and_gives_a_session_id(client, db, idp):
    """What the client now checks (RFC 9207 `iss`) and keeps (`sid`) for log-out."""
    doc = client.get("/dev-idp/.well-known/openid-configuration").get_json()
    assert doc["authorization_response_iss_parameter_supported"] is True
    kari = factories.person(db, "Kari", "Nordmann")
    page = client.get("/dev-idp/authorize?" + urlencode(authorize_params(client)))
    fields = hidden_fields(page.get_data(as_text=True)) | {"pid": kari.fodselsnummer}
    back = client.post("/dev-idp/authorize", data=fields)
    assert parse_qs(urlsplit(back.location).query)["iss"] == [ISSUER]
    client.get(back.location.replace("http://localhost", ""))
    login = db.scalars(sa.select(LoginSession)).one()
    assert login.oidc_issuer == ISSUER and login.oidc_sid
