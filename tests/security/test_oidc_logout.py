"""Log-out with the identity provider: RP-initiated, front-channel and back-channel.

"Logg ut" must end the provider's session too (or the next person at a shared computer
is signed straight back in), and when the provider's session ends, the provider tells
the app in a frame of its log-out page (front-channel) or server to server with a signed
logout token (back-channel, OpenID Connect Back-Channel Logout 1.0).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from joserfc.jwk import OctKey

from app.clock import utcnow
from app.models import LoginSession
from app.services.sessions import EndReason, ProviderSession, session_start
from tests import factories
from tests.security.oidc_support import (
    ISSUER,
    KEY,
    OMIT,
    OTHER_KEY,
    log_in,
    logout_token,
)
from tests.support import csrf_token

LOGIN_SERVICE = "http://login.idp.test"


@pytest.fixture
def kari(db):
    return factories.person(db, "Kari", "Nordmann")


@pytest.fixture
def logged_in(client, db, provider, kari):
    """Kari logged in through the provider (its session "sid-kari"); her log-in row."""
    provider.metadata["end_session_endpoint"] = f"{LOGIN_SERVICE}/logout"
    log_in(client, provider, kari.fodselsnummer, sid="sid-kari", sub="sub-kari")
    return db.scalars(sa.select(LoginSession).where(LoginSession.person_id == kari.id)).one()


def other_session(db, person, *, sid: str, sub: str = "sub-kari") -> LoginSession:
    """Another live log-in (another browser), vouched for by the same provider."""
    login, _ = session_start(
        db,
        now=utcnow(),
        person=person,
        auth_method="oidc",
        provider_session=ProviderSession(ISSUER, sid, sub),
    )
    return login


def assert_logged_out_by_the_provider(client) -> None:
    response = client.get("/messages")
    assert response.status_code == 302
    front = client.get(response.location).get_data(as_text=True)
    assert "innloggingen din med elektronisk ID ble avsluttet" in front


def assert_still_logged_in(client) -> None:
    assert client.get("/messages").status_code == 200


# --- RP-initiated: "Logg ut" ends the provider's session too ----------------------------


def test_resident_pages_let_the_log_out_form_lead_to_the_providers_end_session_page(
    client, logged_in
):
    """CSP form-action applies to the redirect after the form; 'self' alone blocked it."""
    csp = client.get("/messages").headers["Content-Security-Policy"]
    assert f"form-action 'self' {LOGIN_SERVICE};" in csp + ";"


def test_log_out_sends_the_browser_to_the_provider_with_the_id_token(client, db, logged_in):
    id_token = logged_in.id_token
    response = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/messages")})
    assert response.status_code == 303
    target = urlsplit(response.location)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{LOGIN_SERVICE}/logout"
    query = parse_qs(target.query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://localhost/auth/logged-out"]
    assert query["state"][0]
    db.refresh(logged_in)
    assert logged_in.end_reason == EndReason.LOGOUT and logged_in.id_token is None
    # Logged out here, and the provider's address is no longer a form target.
    after = client.get("/auth/logged-out")
    assert LOGIN_SERVICE not in after.headers["Content-Security-Policy"]
    assert client.get("/messages").status_code == 302


def test_the_address_after_log_out_is_configurable(app, client, logged_in, monkeypatch):
    monkeypatch.setitem(
        app.config, "OIDC_POST_LOGOUT_REDIRECT_URI", "https://hjemmedialog.example/auth/logged-out"
    )
    response = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/messages")})
    query = parse_qs(urlsplit(response.location).query)
    assert query["post_logout_redirect_uri"] == ["https://hjemmedialog.example/auth/logged-out"]


def test_log_out_stays_local_when_the_provider_cannot_be_reached(app, client, logged_in, provider):
    provider.tick(app.config["OIDC_CACHE_SECONDS"] + 1)
    provider.cache.forget()
    provider.up = False
    response = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/messages")})
    assert response.status_code == 303
    assert response.location == "http://localhost/auth/logged-out"
    assert client.get("/messages").status_code == 302


# --- front-channel: the provider's log-out page shows our page in a frame ---------------


def test_front_channel_log_out_ends_the_named_session(app, client, db, logged_in, kari):
    elsewhere = other_session(db, kari, sid="sid-other-browser")
    frame = app.test_client()  # the provider's page: no cookie of Kari's needed
    response = frame.get(f"/auth/frontchannel-logout?iss={ISSUER}&sid=sid-kari")
    assert response.status_code == 200
    assert "Du er logget ut av Hjemmedialog" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert_logged_out_by_the_provider(client)
    db.refresh(logged_in)
    db.refresh(elsewhere)
    assert logged_in.end_reason == EndReason.FRONTCHANNEL
    assert elsewhere.ended_at is None


def test_only_the_provider_may_show_the_front_channel_page_in_a_frame(app, client, logged_in):
    response = app.test_client().get(f"/auth/frontchannel-logout?iss={ISSUER}&sid=sid-kari")
    csp = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors http://idp.test {LOGIN_SERVICE};" in csp
    assert "X-Frame-Options" not in response.headers
    # Every other page stays unframeable.
    page = client.get("/auth/logged-out")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "query",
    [
        "iss=https://evil.example&sid=sid-kari",
        "sid=sid-kari",
        f"iss={ISSUER}",
        "",
        f"iss={ISSUER}&sid=sid%00kari",
        f"iss={ISSUER}&sid={'s' * 256}",
    ],
    ids=["another issuer", "no issuer", "no sid", "nothing", "NUL in sid", "sid too long"],
)
def test_front_channel_requests_without_the_providers_iss_and_sid_end_nothing(
    app, client, logged_in, query
):
    response = app.test_client().get(f"/auth/frontchannel-logout?{query}")
    assert response.status_code == 400
    assert_still_logged_in(client)


def test_front_channel_log_out_of_an_unknown_session_ends_nothing(app, client, logged_in):
    response = app.test_client().get(f"/auth/frontchannel-logout?iss={ISSUER}&sid=sid-unknown")
    assert response.status_code == 200
    assert_still_logged_in(client)


# --- back-channel: the provider posts a signed logout token ----------------------------


def post_logout_token(app, token: str):
    """As the provider sends it: server to server, no cookie, no CSRF token."""
    return app.test_client().post("/auth/backchannel-logout", data={"logout_token": token})


def test_back_channel_log_out_ends_the_named_session(app, client, db, logged_in, kari):
    elsewhere = other_session(db, kari, sid="sid-other-browser")
    response = post_logout_token(app, logout_token(sid="sid-kari", sub="sub-kari"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert_logged_out_by_the_provider(client)
    db.refresh(logged_in)
    db.refresh(elsewhere)
    assert logged_in.end_reason == EndReason.BACKCHANNEL
    assert elsewhere.ended_at is None


def test_back_channel_log_out_by_subject_ends_every_session_of_that_person(
    app, client, db, logged_in, kari
):
    elsewhere = other_session(db, kari, sid="sid-other-browser")
    ola = factories.person(db, "Ola", "Nordmann")
    olas = other_session(db, ola, sid="sid-ola", sub="sub-ola")
    response = post_logout_token(app, logout_token(sid=OMIT, sub="sub-kari"))
    assert response.status_code == 200
    assert_logged_out_by_the_provider(client)
    db.refresh(elsewhere)
    db.refresh(olas)
    assert elsewhere.end_reason == EndReason.BACKCHANNEL
    assert olas.ended_at is None


def test_back_channel_log_out_with_sid_and_sub_needs_both_to_match(app, client, logged_in):
    response = post_logout_token(app, logout_token(sid="sid-kari", sub="sub-someone-else"))
    assert response.status_code == 200
    assert_still_logged_in(client)


def test_back_channel_log_out_of_an_unknown_session_answers_200(app, client, logged_in):
    assert post_logout_token(app, logout_token(sid="sid-unknown")).status_code == 200
    assert_still_logged_in(client)


def test_a_key_rotated_at_the_provider_is_fetched_for_a_logout_token(
    app, client, logged_in, provider
):
    provider.keys = [OTHER_KEY]
    provider.tick(60)
    assert post_logout_token(app, logout_token(key=OTHER_KEY)).status_code == 200
    assert_logged_out_by_the_provider(client)


def _hour_ago() -> int:
    return int(time.time()) - 3600


INVALID_TOKENS = {
    "signed by another key": lambda: logout_token(key=OTHER_KEY, kid=KEY.kid),
    "for another client": lambda: logout_token(aud="someone-else"),
    "from another issuer": lambda: logout_token(iss="https://evil.example"),
    "with a nonce (an ID token)": lambda: logout_token(nonce="n"),
    "an ID token": lambda: logout_token(typ="JWT", events=OMIT, nonce="n"),
    "without the event": lambda: logout_token(events=OMIT),
    "with another event": lambda: logout_token(events={"http://example.com/other": {}}),
    "with the event not an object": lambda: logout_token(
        events={"http://schemas.openid.net/event/backchannel-logout": "yes"}
    ),
    "naming neither session nor subject": lambda: logout_token(sid=OMIT),
    "with a sid that is not text": lambda: logout_token(sid=12),
    "with a NUL in the sid": lambda: logout_token(sid="sid\x00kari"),
    "with a sub too long to be one": lambda: logout_token(sid=OMIT, sub="s" * 256),
    "without jti": lambda: logout_token(jti=OMIT),
    "without iat": lambda: logout_token(iat=OMIT),
    "issued an hour ago": lambda: logout_token(iat=_hour_ago(), exp=OMIT),
    "issued an hour from now": lambda: logout_token(iat=int(time.time()) + 3600),
    "expired": lambda: logout_token(iat=_hour_ago() + 3000, exp=_hour_ago() + 3060),
    "of another type": lambda: logout_token(typ="at+jwt"),
    "signed with a shared secret": lambda: logout_token(
        key=OctKey.import_key("s" * 32), alg="HS256"
    ),
    "not a JWT": lambda: "a.b.c",
    "empty": lambda: "",
    "not ASCII": lambda: "æøå.ÆØÅ.\u202e",
}


@pytest.mark.parametrize("make", INVALID_TOKENS.values(), ids=INVALID_TOKENS.keys())
def test_invalid_logout_tokens_get_400_and_end_nothing(app, client, logged_in, make):
    response = post_logout_token(app, make())
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert_still_logged_in(client)


def test_a_back_channel_request_without_a_token_gets_400(app, client, logged_in):
    assert app.test_client().post("/auth/backchannel-logout").status_code == 400
    assert_still_logged_in(client)


def test_a_logout_token_that_cannot_be_checked_gets_400(app, client, logged_in, provider):
    provider.cache.forget()
    provider.up = False
    response = post_logout_token(app, logout_token())
    assert response.status_code == 400
    assert_still_logged_in(client)
