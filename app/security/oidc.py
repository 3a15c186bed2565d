"""OpenID Connect client for residents' log-in (ID-porten, or the test provider).

Authorization code flow with PKCE (S256), state and nonce, through Authlib's OAuth 2.0
client; the ID token's signature is checked against the provider's keys with joserfc and
its claims by Authlib's rules for ID tokens. On top, what ID-porten asks of a client:

- `acr` must be the configured level (high), and `pid` is the fødselsnummer;
- the authorization response's `iss` (RFC 9207) must name the provider;
- the client authenticates with `client_secret_basic`, `client_secret_post` or, as
  ID-porten recommends, `private_key_jwt` (RFC 7523, audience the issuer, short-lived);
- log-out reaches the provider (RP-initiated), and the provider ends the app's sessions
  by front-channel (`iss` + `sid`) and back-channel log-out (a signed logout token,
  OpenID Connect Back-Channel Logout 1.0).

The provider's discovery document and keys are cached for OIDC_CACHE_SECONDS; the keys
are fetched again at once when a signature does not verify (a new `kid`, or a key replaced
under the same `kid`), at most every OIDC_KEY_REFRESH_SECONDS. The same code runs against
ID-porten and against the test provider.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import sign_jwt_bearer_assertion
from authlib.oidc.core import CodeIDToken
from flask import Flask, current_app, session
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import JWSRegistry
from werkzeug.datastructures import MultiDict

from app.config import PRIVATE_KEY_JWT

log = logging.getLogger("hjemmedialog.oidc")

# Signatures accepted on ID tokens and logout tokens: public-key algorithms only.
SIGNING_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
)  # fmt: skip
EC_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPES = {"logout+jwt", "application/logout+jwt", "jwt"}
# Seconds of clock difference tolerated; how old a logout token may be; how long a
# client assertion lives (ID-porten accepts at most 120 seconds).
ID_TOKEN_LEEWAY = 120
LOGOUT_TOKEN_LEEWAY = 60
LOGOUT_TOKEN_MAX_AGE = 600
CLIENT_ASSERTION_LIFETIME = 60
# After the provider could not be reached, it is asked again only after this many seconds.
RETRY_AFTER = 30.0
# Log-ins under way in this browser, by state (a few tabs at once).
PENDING_KEY = "oidc_pending"
MAX_PENDING = 3


class LoginFailed(Exception):
    """The log-in could not be completed; `code` picks the message shown."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class ProviderUnavailable(Exception):
    """The provider's discovery document or keys could not be fetched or are unusable."""


class LogoutRefused(Exception):
    """A front- or back-channel log-out request that does not come from the provider."""


@dataclass(frozen=True)
class VerifiedLogin:
    pid: str
    acr: str
    id_token: str
    issuer: str
    sid: str | None
    sub: str


@dataclass(frozen=True)
class ProviderLogout:
    """The provider says its session ended: `sid` names one session, `sub` a person's all."""

    issuer: str
    sid: str | None
    sub: str | None


# Longest session id (`sid`) or subject (`sub`) kept with a log-in (the columns' length).
MAX_IDENTIFIER = 255


def _identifier(value: object) -> bool:
    """A session id or subject fit to keep and look up: printable text of sane length."""
    return isinstance(value, str) and 0 < len(value) <= MAX_IDENTIFIER and value.isprintable()


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


class ProviderCache:
    """The provider's discovery document and signing keys, fetched over HTTP and cached.

    Thread-safe; each process keeps its own copy. While the provider cannot be reached,
    the last copy is used, and it is asked again only after RETRY_AFTER seconds.
    """

    def __init__(
        self,
        issuer: str,
        metadata_url: str,
        *,
        timeout: float,
        cache_seconds: float,
        key_refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.metadata_url = metadata_url
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.key_refresh_seconds = key_refresh_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self.forget()

    def forget(self) -> None:
        """Drop everything cached (tests; a changed provider)."""
        with self._lock:
            self._metadata: dict[str, Any] | None = None
            self._metadata_at = 0.0
            self._keys: KeySet | None = None
            self._keys_at = 0.0
            self._failed_at: float | None = None

    def _get_json(self, url: str) -> Any:
        with self._lock:
            failed_at = self._failed_at
        if failed_at is not None and self.clock() - failed_at < RETRY_AFTER:
            raise ProviderUnavailable(f"not asking {url} again yet: it failed moments ago")
        try:
            response = requests.get(url, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            with self._lock:
                self._failed_at = self.clock()
            raise ProviderUnavailable(f"{url}: {exc}") from exc

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            cached, fetched_at = self._metadata, self._metadata_at
        if cached is not None and self.clock() - fetched_at < self.cache_seconds:
            return cached
        try:
            document = self._get_json(self.metadata_url)
            self._check_metadata(document)
        except ProviderUnavailable as exc:
            if cached is None:
                raise
            log.warning("using the cached discovery document: %s", exc)
            return cached
        with self._lock:
            self._metadata, self._metadata_at, self._failed_at = document, self.clock(), None
        return document

    def _check_metadata(self, document: Any) -> None:
        if not isinstance(document, dict):
            raise ProviderUnavailable("the discovery document is not a JSON object")
        if document.get("issuer") != self.issuer:
            # A provider answering for another issuer is a mix-up, never a small difference.
            log.error(
                "discovery document names issuer %r, configured %r",
                document.get("issuer"),
                self.issuer,
            )
            raise ProviderUnavailable("the discovery document names another issuer")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(name), str):
                raise ProviderUnavailable(f"the discovery document lacks {name}")

    def _fetch_keys(self) -> KeySet:
        jwks = self._get_json(self.metadata()["jwks_uri"])
        try:
            keys = [
                key
                for key in (jwks.get("keys") if isinstance(jwks, dict) else None) or []
                if isinstance(key, dict) and key.get("use", "sig") == "sig"
            ]
            key_set = KeySet.import_key_set({"keys": keys})
        except (JoseError, ValueError, TypeError) as exc:
            raise ProviderUnavailable(f"the provider's keys cannot be read: {exc}") from exc
        with self._lock:
            self._keys, self._keys_at = key_set, self.clock()
        return key_set

    def keys(self) -> KeySet:
        with self._lock:
            cached, fetched_at = self._keys, self._keys_at
        if cached is not None and self.clock() - fetched_at < self.cache_seconds:
            return cached
        try:
            return self._fetch_keys()
        except ProviderUnavailable as exc:
            if cached is None:
                raise
            log.warning("using the cached keys: %s", exc)
            return cached

    def refresh_keys(self) -> KeySet | None:
        """Fetch the keys again after a signature failed; None when fetched moments ago."""
        with self._lock:
            cached, fetched_at = self._keys, self._keys_at
        if cached is not None and self.clock() - fetched_at < self.key_refresh_seconds:
            return None
        log.info("fetching the provider's keys again after a signature did not verify")
        return self._fetch_keys()


class IssuerPrivateKeyJWT(PrivateKeyJWT):
    """`private_key_jwt` as ID-porten asks for it: the audience is the provider's issuer
    identifier, the header names the registered key id, and each assertion is new (its own
    `jti`) and lives CLIENT_ASSERTION_LIFETIME seconds."""

    def __init__(self, *, key: RSAKey | ECKey, key_id: str, alg: str, audience: str) -> None:
        super().__init__(alg=alg)
        self.key = key
        self.key_id = key_id
        self.audience = audience

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return sign_jwt_bearer_assertion(
            self.key,
            issuer=auth.client_id,
            audience=self.audience,
            subject=auth.client_id,
            header={"kid": self.key_id},
            alg=self.alg,
            expires_in=CLIENT_ASSERTION_LIFETIME,
        )


def load_client_key(path: str) -> tuple[RSAKey | ECKey, str]:
    """The client's private key (PEM, RSA or EC) and the signing algorithm it implies."""
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise RuntimeError(f"OIDC_CLIENT_KEY_PATH cannot be read: {exc}") from exc
    key: RSAKey | ECKey
    try:
        key = RSAKey.import_key(pem)
        alg = "RS256"
    except (JoseError, ValueError):
        try:
            key = ECKey.import_key(pem)
        except (JoseError, ValueError) as exc:
            raise RuntimeError(
                "OIDC_CLIENT_KEY_PATH holds no RSA or EC private key in PEM form"
            ) from exc
        alg = EC_CURVE_ALGORITHMS.get(key.curve_name, "")
    if not alg:
        raise RuntimeError(f"OIDC_CLIENT_KEY_PATH: curve {key.curve_name} is not supported")
    if not key.is_private:
        raise RuntimeError("OIDC_CLIENT_KEY_PATH holds a public key; the private key is needed")
    return key, alg


class OidcClient:
    """This app as a client of one OpenID provider, built from the configuration."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.issuer: str = config["OIDC_ISSUER"]
        self.client_id: str = config["OIDC_CLIENT_ID"]
        self.client_secret: str | None = config["OIDC_CLIENT_SECRET"]
        self.auth_method: str = config["OIDC_TOKEN_AUTH_METHOD"]
        self.scope: str = config["OIDC_SCOPE"]
        self.required_acr: str = config["OIDC_REQUIRED_ACR"]
        self.timeout: float = config["OIDC_HTTP_TIMEOUT"]
        self.client_key: tuple[RSAKey | ECKey, str] | None = None
        self.client_key_id: str | None = config["OIDC_CLIENT_KEY_ID"]
        if self.auth_method == PRIVATE_KEY_JWT:
            self.client_key = load_client_key(config["OIDC_CLIENT_KEY_PATH"])
        metadata_url = (
            config["OIDC_METADATA_URL"]
            or f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        )
        self.provider = ProviderCache(
            self.issuer,
            metadata_url,
            timeout=self.timeout,
            cache_seconds=config["OIDC_CACHE_SECONDS"],
            key_refresh_seconds=config["OIDC_KEY_REFRESH_SECONDS"],
        )

    # --- the code flow ------------------------------------------------------------

    def _oauth(self, redirect_uri: str) -> OAuth2Session:
        if self.client_key is not None:
            key, alg = self.client_key
            oauth = OAuth2Session(
                self.client_id,
                token_endpoint_auth_method=PRIVATE_KEY_JWT,
                scope=self.scope,
                redirect_uri=redirect_uri,
                code_challenge_method="S256",
                default_timeout=self.timeout,
            )
            oauth.register_client_auth_method(
                IssuerPrivateKeyJWT(
                    key=key, key_id=self.client_key_id or "", alg=alg, audience=self.issuer
                )
            )
            return oauth
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            token_endpoint_auth_method=self.auth_method,
            scope=self.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            default_timeout=self.timeout,
        )

    def authorization_url(
        self, redirect_uri: str, *, state: str, nonce: str, code_verifier: str, locale: str
    ) -> str:
        endpoint = self.provider.metadata()["authorization_endpoint"]
        with self._oauth(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                endpoint,
                state=state,
                nonce=nonce,
                code_verifier=code_verifier,
                acr_values=self.required_acr,
                ui_locales=locale,
            )
        return url

    def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> dict:
        endpoint = self.provider.metadata()["token_endpoint"]
        with self._oauth(redirect_uri) as oauth:
            return dict(
                oauth.fetch_token(
                    endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=redirect_uri,
                )
            )

    # --- signed tokens from the provider ------------------------------------------------

    def _algorithms(self) -> list[str]:
        offered = self.provider.metadata().get("id_token_signing_alg_values_supported")
        if not isinstance(offered, list):
            offered = ["RS256"]
        return [alg for alg in offered if alg in SIGNING_ALGORITHMS]

    def _decode(self, value: str) -> jwt.Token:
        """Verify a JWS from the provider; on an unknown key or a bad signature, fetch the
        keys again once (a rotated key) and try again."""
        registry = JWSRegistry(algorithms=self._algorithms(), strict_check_header=False)
        try:
            return jwt.decode(value, self.provider.keys(), registry=registry)
        except (InvalidKeyIdError, BadSignatureError):
            refreshed = self.provider.refresh_keys()
            if refreshed is None:
                raise
            return jwt.decode(value, refreshed, registry=registry)

    def verify_id_token(self, value: str, *, nonce: str, access_token: str | None) -> dict:
        token = self._decode(value)
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": self.issuer},
                "aud": {"essential": True, "value": self.client_id},
            },
            params={"nonce": nonce, "client_id": self.client_id, "access_token": access_token},
        )
        claims.validate(leeway=ID_TOKEN_LEEWAY)
        return dict(claims)

    def verify_logout_token(self, value: str, *, now: float | None = None) -> ProviderLogout:
        """Validate a back-channel logout token (Back-Channel Logout 1.0, section 2.6)."""
        try:
            token = self._decode(value)
        except (JoseError, ValueError) as exc:
            raise LogoutRefused(f"logout token does not verify: {exc}") from exc
        typ = token.header.get("typ")
        if typ is not None and str(typ).lower() not in LOGOUT_TOKEN_TYPES:
            raise LogoutRefused(f"a {typ} token is not a logout token")
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=int(now) if now is not None else None,
            leeway=LOGOUT_TOKEN_LEEWAY,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise LogoutRefused(f"logout token claims: {exc}") from exc
        issued = claims["iat"]
        current = now if now is not None else time.time()
        if not isinstance(issued, int | float) or current - issued > LOGOUT_TOKEN_MAX_AGE:
            raise LogoutRefused("logout token is too old")
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(
            events.get(BACKCHANNEL_LOGOUT_EVENT), dict
        ):
            raise LogoutRefused("logout token without the back-channel logout event")
        if "nonce" in claims:
            raise LogoutRefused("a logout token must not carry a nonce")
        sid, sub = claims.get("sid"), claims.get("sub")
        if sid is None and sub is None:
            raise LogoutRefused("logout token names neither a session (sid) nor a subject (sub)")
        for name, value in (("sid", sid), ("sub", sub)):
            if value is not None and not _identifier(value):
                raise LogoutRefused(f"{name} is not a usable identifier")
        return ProviderLogout(issuer=self.issuer, sid=sid, sub=sub)

    def front_channel_logout(self, iss: str | None, sid: str | None) -> ProviderLogout:
        """Check a front-channel log-out request (`iss` and `sid` in the query)."""
        if not iss or not sid:
            raise LogoutRefused("front-channel log-out without iss and sid")
        if iss != self.issuer:
            raise LogoutRefused("front-channel log-out from another issuer")
        if not _identifier(sid):
            raise LogoutRefused("sid is not a usable identifier")
        return ProviderLogout(issuer=self.issuer, sid=sid, sub=None)

    # --- addresses at the provider ------------------------------------------------------

    def end_session_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None:
        """The provider's end-session address (RP-initiated log-out), if it has one."""
        try:
            endpoint = self.provider.metadata().get("end_session_endpoint")
        except ProviderUnavailable as exc:
            log.warning("log-out stays local: %s", exc)
            return None
        if not isinstance(endpoint, str) or not _origin(endpoint):
            return None
        query = urlencode(
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": post_logout_redirect_uri,
                "state": secrets.token_urlsafe(16),
            }
        )
        return f"{endpoint}{'&' if urlsplit(endpoint).query else '?'}{query}"

    def origins(self, *names: str) -> list[str]:
        """Origins of the provider's endpoints named (issuer when unreachable), no repeats."""
        try:
            metadata = self.provider.metadata()
        except ProviderUnavailable:
            metadata = {"issuer": self.issuer}
        found = [_origin(metadata.get(name)) for name in names]
        return list(dict.fromkeys(origin for origin in found if origin))


def init_app(app: Flask) -> None:
    app.extensions["oidc"] = OidcClient(app.config)


def client() -> OidcClient:
    return current_app.extensions["oidc"]


def start(redirect_uri: str, *, locale: str) -> str:
    """The provider's authorization address for a new log-in; remembers it in the session."""
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    try:
        url = client().authorization_url(
            redirect_uri, state=state, nonce=nonce, code_verifier=verifier, locale=locale
        )
    except ProviderUnavailable as exc:
        log.error("identity provider unreachable: %s", exc)
        raise LoginFailed("provider_unavailable", str(exc)) from exc
    pending = dict(session.get(PENDING_KEY) or {})
    pending[state] = {"nonce": nonce, "code_verifier": verifier, "redirect_uri": redirect_uri}
    session[PENDING_KEY] = dict(list(pending.items())[-MAX_PENDING:])
    return url


def finish(args: MultiDict[str, str]) -> VerifiedLogin:
    """Complete the callback: check state and issuer, exchange the code, verify the ID token."""
    pending = dict(session.get(PENDING_KEY) or {})
    state = args.get("state") or ""
    started = pending.pop(state, None)
    session[PENDING_KEY] = pending
    if not isinstance(started, dict):
        log.warning("OIDC callback with unknown state")
        raise LoginFailed("bad_state", "unknown state")

    oidc = client()
    try:
        metadata = oidc.provider.metadata()
    except ProviderUnavailable as exc:
        log.error("identity provider unreachable: %s", exc)
        raise LoginFailed("provider_unavailable", str(exc)) from exc
    # RFC 9207: the response names its issuer, so a response from another provider that
    # this browser also uses (a mix-up) is never taken for this one's.
    iss = args.get("iss")
    if iss is not None and iss != oidc.issuer:
        log.warning("authorization response from issuer %r refused", iss)
        raise LoginFailed("bad_token", f"iss={iss!r}")
    if iss is None and metadata.get("authorization_response_iss_parameter_supported"):
        log.warning("authorization response without iss refused")
        raise LoginFailed("bad_token", "no iss")

    error = args.get("error")
    if error:
        log.warning("OIDC callback refused: %s", error)
        raise LoginFailed("cancelled" if error == "access_denied" else "rejected", error)
    code = args.get("code")
    if not code:
        raise LoginFailed("rejected", "no code")

    try:
        token = oidc.exchange_code(
            code,
            redirect_uri=started["redirect_uri"],
            code_verifier=started["code_verifier"],
        )
    except OAuthError as exc:
        log.warning("token request refused: %s", exc)
        raise LoginFailed("rejected", str(exc)) from exc
    except (requests.RequestException, ValueError, KeyError, ProviderUnavailable) as exc:
        log.error("token exchange failed: %s", exc)
        raise LoginFailed("provider_unavailable", str(exc)) from exc

    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise LoginFailed("bad_token", "no ID token in the token response")
    try:
        claims = oidc.verify_id_token(
            id_token, nonce=started["nonce"], access_token=token.get("access_token")
        )
    except JoseError as exc:
        log.warning("ID token refused: %s", exc)
        raise LoginFailed("bad_token", str(exc)) from exc
    except ProviderUnavailable as exc:
        log.error("the provider's keys are unavailable: %s", exc)
        raise LoginFailed("provider_unavailable", str(exc)) from exc

    acr = claims.get("acr")
    if acr != oidc.required_acr:
        log.warning("ID token with acr=%r refused", acr)
        raise LoginFailed("wrong_level", f"acr={acr!r}")
    pid = claims.get("pid")
    if not isinstance(pid, str) or not pid:
        raise LoginFailed("bad_token", "no pid claim")
    sid, sub = claims.get("sid"), claims["sub"]
    if (sid is not None and not _identifier(sid)) or not _identifier(sub):
        raise LoginFailed("bad_token", "sid or sub is not a usable identifier")
    return VerifiedLogin(pid=pid, acr=acr, id_token=id_token, issuer=oidc.issuer, sid=sid, sub=sub)


def logout_url(id_token: str | None, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser so the provider's session ends too, if anywhere."""
    if not id_token:
        return None
    return client().end_session_url(id_token, post_logout_redirect_uri)
