"""A stand-in OpenID provider served by `responses`, and helpers to log in through it.

Each test controls exactly what the provider answers: its discovery document, its keys
(which can rotate) and its token endpoint; the provider cache's clock is the test's, so
cache times pass without waiting.
"""

from __future__ import annotations

import json
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import responses
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from app.security.oidc import BACKCHANNEL_LOGOUT_EVENT, ProviderCache

ISSUER = "http://idp.test/dev-idp"
CLIENT_ID = "hjemmedialog"
KEY = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
OTHER_KEY = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
# Another key published under KEY's key id: how a key is replaced without a new kid.
REPLACED_KEY = RSAKey.import_key({**OTHER_KEY.as_dict(private=True), "kid": KEY.kid})
DISCOVERY = f"{ISSUER}/.well-known/openid-configuration"
JWKS = f"{ISSUER}/jwks"
# Leave a claim out of a token.
OMIT = object()


class FakeProvider:
    """Discovery, JWKS and a token endpoint the test fills in; counts what was fetched."""

    def __init__(self, mock: responses.RequestsMock, cache: ProviderCache) -> None:
        self.mock = mock
        self.cache = cache
        self.now = 1_000.0
        self.metadata: dict[str, object] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": JWKS,
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        self.keys: list[RSAKey] = [KEY]
        self.up = True
        mock.add_callback("GET", DISCOVERY, callback=lambda _: self._answer(self.metadata))
        mock.add_callback(
            "GET", JWKS, callback=lambda _: self._answer(KeySet(self.keys).as_dict(private=False))
        )
        cache.clock = lambda: self.now

    def _answer(self, body: object) -> tuple[int, dict[str, str], str]:
        if not self.up:
            return 503, {}, "down"
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    # What the old fixture offered, so tests read as before.
    def post(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.mock.post(*args, **kwargs)

    @property
    def calls(self):  # type: ignore[no-untyped-def]
        return self.mock.calls

    def fetched(self, url: str) -> int:
        return sum(1 for call in self.mock.calls if call.request.url == url)

    def tick(self, seconds: float) -> None:
        self.now += seconds


def start(client, **headers: str) -> dict[str, str]:
    response = client.get("/auth/login", headers=headers)
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


def answer_token(provider: FakeProvider, token: str) -> None:
    provider.post(
        f"{ISSUER}/token",
        json={
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 120,
            "id_token": token,
        },
    )


def log_in(client, provider: FakeProvider, pid: str, **claims: object) -> None:
    """A whole log-in through the stand-in provider; the ID token carries `claims`."""
    params = start(client)
    answer_token(provider, id_token(pid, params["nonce"], **claims))
    response = client.get(f"/auth/callback?code=abc&state={params['state']}&iss={ISSUER}")
    assert response.status_code == 302, response.get_data(as_text=True)


def logout_token(
    *, key=KEY, kid=None, alg="RS256", typ: object = "logout+jwt", **claims: object
) -> str:
    """A back-channel logout token as the provider signs it; OMIT leaves a claim out."""
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(8),
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "sid": "sid-kari",
        **claims,
    }
    body = {name: value for name, value in body.items() if value is not OMIT}
    header = {"alg": alg, "kid": kid or getattr(key, "kid", None) or "k"}
    if typ is not OMIT:
        header["typ"] = typ
    return jwt.encode(header, body, key, algorithms=[alg])
