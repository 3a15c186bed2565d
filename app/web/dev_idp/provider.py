"""The test identity provider's protocol logic: requests, codes, tokens (OIDC, PKCE S256).

It speaks the subset of OpenID Connect that ID-porten speaks to this client, so the
client code is the same in production. Enabled only by configuration (DEV_IDP_ENABLED).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from joserfc import jwt
from sqlalchemy.orm import Session

from app.config import LANGUAGES
from app.models import DevIdpGrant
from app.web.dev_idp.keys import signing_key

CODE_LIFETIME = timedelta(seconds=60)
ID_TOKEN_LIFETIME = timedelta(seconds=120)
ACR_LEVELS = ("idporten-loa-high", "idporten-loa-substantial")


class ProviderError(Exception):
    """An OAuth error: `error` is the RFC 6749 code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str
    scope: str
    acr_values: str
    ui_locales: str

    FIELDS = (
        "client_id",
        "redirect_uri",
        "state",
        "nonce",
        "code_challenge",
        "scope",
        "acr_values",
        "ui_locales",
    )

    def as_hidden_fields(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def redirect(self, **params: str) -> str:
        separator = "&" if urlsplit(self.redirect_uri).query else "?"
        return self.redirect_uri + separator + urlencode({**params, "state": self.state})


def parse_authorization_request(
    params: dict[str, str],
    *,
    client_id: str,
    callback_path: str,
    fixed_redirect_uri: str | None,
    request_host: str,
) -> AuthorizationRequest:
    """Validate an authorization request before showing the log-in page."""
    if params.get("client_id") != client_id:
        raise ProviderError("unauthorized_client", "unknown client_id")
    redirect_uri = params.get("redirect_uri", "")
    if fixed_redirect_uri:
        if redirect_uri != fixed_redirect_uri:
            raise ProviderError("invalid_request", "redirect_uri is not registered")
    else:
        parts = urlsplit(redirect_uri)
        own_host = (urlsplit(f"//{request_host}").hostname or "").lower()
        if (
            parts.scheme not in ("http", "https")
            or parts.path != callback_path
            or (parts.hostname or "").lower() not in {own_host, "localhost", "127.0.0.1"}
        ):
            raise ProviderError("invalid_request", "redirect_uri is not registered")
    if params.get("response_type") != "code":
        raise ProviderError("unsupported_response_type", "only the code flow is supported")
    if "openid" not in params.get("scope", "").split():
        raise ProviderError("invalid_scope", "scope must include openid")
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        raise ProviderError("invalid_request", "PKCE with S256 is required")
    if not params.get("state"):
        raise ProviderError("invalid_request", "state is required")
    return AuthorizationRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        state=params["state"],
        nonce=params.get("nonce", ""),
        code_challenge=params["code_challenge"],
        scope=params["scope"],
        acr_values=params.get("acr_values") or ACR_LEVELS[0],
        ui_locales=params.get("ui_locales", ""),
    )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def grant_issue(
    session: Session, request: AuthorizationRequest, *, pid: str, acr: str, now: datetime
) -> str:
    code = secrets.token_urlsafe(32)
    session.add(
        DevIdpGrant(
            code_hash=_digest(code),
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            nonce=request.nonce or None,
            pid=pid,
            acr=acr,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    session.flush()
    return code


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of any two texts (`hmac.compare_digest` refuses non-ASCII str)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii", "ignore")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return _same(expected, challenge)


def token_exchange(
    session: Session,
    form: dict[str, str],
    *,
    basic_auth: tuple[str, str] | None,
    client_id: str,
    client_secret: str,
    issuer: str,
    key_path: str,
    now: datetime,
) -> dict[str, object]:
    """Exchange a code for tokens, once. Raises ProviderError with the OAuth error."""
    given_id, given_secret = basic_auth or (
        form.get("client_id", ""),
        form.get("client_secret", ""),
    )
    if not (_same(given_id or "", client_id) and _same(given_secret or "", client_secret)):
        raise ProviderError("invalid_client", "client authentication failed")
    if form.get("grant_type") != "authorization_code":
        raise ProviderError("unsupported_grant_type", "only authorization_code")
    grant = session.scalars(
        sa.select(DevIdpGrant).where(DevIdpGrant.code_hash == _digest(form.get("code", "")))
    ).one_or_none()
    if grant is None or grant.client_id != client_id:
        raise ProviderError("invalid_grant", "unknown code")
    if grant.expires_at <= now:
        raise ProviderError("invalid_grant", "code expired")
    if grant.redirect_uri != form.get("redirect_uri"):
        raise ProviderError("invalid_grant", "redirect_uri does not match")
    if not _pkce_matches(form.get("code_verifier", ""), grant.code_challenge):
        raise ProviderError("invalid_grant", "PKCE verification failed")
    used = session.execute(
        sa.update(DevIdpGrant)
        .where(DevIdpGrant.id == grant.id, DevIdpGrant.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise ProviderError("invalid_grant", "code already used")

    key = signing_key(key_path)
    issued = int(now.timestamp())
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": client_id,
        "sub": base64.urlsafe_b64encode(
            hashlib.sha256(f"{client_id}:{grant.pid}".encode()).digest()
        )
        .decode()
        .rstrip("="),
        "pid": grant.pid,
        "acr": grant.acr,
        "amr": ["TestID"],
        "iat": issued,
        "auth_time": issued,
        "exp": issued + int(ID_TOKEN_LIFETIME.total_seconds()),
        "jti": secrets.token_urlsafe(16),
        "sid": secrets.token_urlsafe(16),
    }
    if grant.nonce:
        claims["nonce"] = grant.nonce
    id_token = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)
    return {
        "access_token": secrets.token_urlsafe(32),
        "token_type": "Bearer",
        "expires_in": 120,
        "scope": "openid profile",
        "id_token": id_token,
    }


def discovery_document(issuer: str) -> dict[str, object]:
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "jwks_uri": f"{base}/jwks",
        "end_session_endpoint": f"{base}/endsession",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "authorization_response_iss_parameter_supported": True,
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": ["openid", "profile"],
        "claims_supported": ["iss", "sub", "aud", "pid", "acr", "amr", "nonce", "sid"],
        "acr_values_supported": list(ACR_LEVELS),
        "ui_locales_supported": list(LANGUAGES),
    }
