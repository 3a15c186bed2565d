"""System log-in for the record-system API (docs/api.md), as SMART Backend Services and
HelseID do it: OAuth 2.0 client credentials (RFC 6749 4.4), the client authenticated by a
JWT it signs with its own private key (`private_key_jwt`, RFC 7523); the answer is a short
access token signed by this app (RFC 9068), bound to the client's municipality and, for a
provider's client, to that provider.

Scopes are SMART v2 system scopes: `system/Appointment.crus` lets a client create, read,
update and search appointments. A token carries the scopes the client asked for, of those
registered for it (all of them when it asked for none).

Every check that refuses raises `OAuthError` (the token endpoint) or `Unauthorized` (a
bearer token), with the reason kept for the audit trail.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy.orm import Session

from app.models import ApiClient, Municipality
from app.security import dpop
from app.security.keyfiles import pem_at

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What clients may sign their assertions with (SMART asks for RS384 and ES384).
ASSERTION_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384")
TOKEN_ALGORITHM = "ES256"  # noqa: S105 - a name, not a secret
TOKEN_TYPE = "at+jwt"  # noqa: S105 - RFC 9068 typ, not a secret
# An assertion may live at most this long (SMART: five minutes) and is used once.
ASSERTION_MAX_SECONDS = 300
LEEWAY_SECONDS = 30
JTI_MAX = 200

# The resources and what may be done to each: c(reate) r(ead) u(pdate) d(elete) s(earch).
RESOURCES: dict[str, str] = {
    "Patient": "rs",
    "Appointment": "crus",
    "Communication": "crus",
    "Subscription": "cruds",
}
PERMISSION_ORDER = "cruds"
# What a token or key that is not what it should be can raise while it is read: any of these
# is a refusal, never a server error.
UNREADABLE = (JoseError, ValueError, TypeError, KeyError, RecursionError)


class OAuthError(Exception):
    """A refused token request, as RFC 6749 5.2 names it."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, client: ApiClient | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        # The registered client the request named, when it named one: its trail keeps it.
        self.client = client


class Unauthorized(Exception):
    """No valid access token: 401 with `WWW-Authenticate` (`error` names a DPoP problem)."""

    def __init__(
        self, description: str, *, client: ApiClient | None = None, error: str | None = None
    ) -> None:
        super().__init__(description)
        self.description = description
        self.client = client
        self.error = error


# --- scopes -----------------------------------------------------------------------------------


def parse_scopes(text: str) -> dict[str, frozenset[str]]:
    """`system/Appointment.crus system/Patient.rs` as {resource: permissions}; ValueError
    names the first part that is not a scope this API knows."""
    granted: dict[str, set[str]] = {}
    for part in text.split():
        context, _, rest = part.partition("/")
        resource, _, letters = rest.partition(".")
        allowed = RESOURCES.get(resource, "")
        if (
            context != "system"
            or not allowed
            or not letters
            or any(letter not in allowed for letter in letters)
            or letters != "".join(sorted(set(letters), key=PERMISSION_ORDER.index))
        ):
            raise ValueError(part)
        granted.setdefault(resource, set()).update(letters)
    return {resource: frozenset(letters) for resource, letters in granted.items()}


def format_scopes(scopes: Mapping[str, Iterable[str]]) -> str:
    return " ".join(
        f"system/{resource}.{''.join(sorted(letters, key=PERMISSION_ORDER.index))}"
        for resource, letters in sorted(scopes.items())
        if letters
    )


def narrow(registered: Mapping[str, frozenset[str]], asked: str | None) -> dict:
    """The scopes a token gets: those asked for, each within what is registered."""
    if not asked or not asked.strip():
        return dict(registered)
    try:
        wanted = parse_scopes(asked)
    except ValueError as error:
        raise OAuthError("invalid_scope", f"unknown scope {error}") from None
    for resource, letters in wanted.items():
        if not letters <= registered.get(resource, frozenset()):
            raise OAuthError(
                "invalid_scope", f"scope {format_scopes({resource: letters})} is not registered"
            )
    return wanted


# --- the app's signing keys -------------------------------------------------------------------


class NotConfigured(Exception):
    """API_SIGNING_KEY_PATHS is not set: the API issues and accepts no tokens."""


@lru_cache(maxsize=8)
def _key(path: str) -> ECKey:
    pem = pem_at(path, lambda: ECKey.generate_key("P-256").as_pem(private=True))
    key = ECKey.import_key(pem)
    if key.curve_name != "P-256":
        raise RuntimeError(f"API signing key {path}: curve P-256 is needed")
    parameters = {"use": "sig", "alg": TOKEN_ALGORITHM, "kid": key.thumbprint()}
    return ECKey.import_key(pem, parameters)


def signing_keys(paths: Iterable[str]) -> list[ECKey]:
    """The app's keys, the one that signs first."""
    keys = [_key(path) for path in paths]
    if not keys:
        raise NotConfigured()
    return keys


def public_jwks(paths: Iterable[str]) -> dict[str, Any]:
    try:
        return KeySet(signing_keys(paths)).as_dict(private=False)
    except NotConfigured:
        return {"keys": []}


# --- the token endpoint -----------------------------------------------------------------------


@dataclass(frozen=True)
class Assertion:
    client: ApiClient
    jti: str
    expires_at: datetime


def _unverified_claims(value: str) -> dict[str, Any]:
    try:
        claims = json.loads(jws.extract_compact(value.encode()).payload)
    except UNREADABLE:
        raise OAuthError(
            "invalid_client", "client_assertion is not a signed JWT", status=401
        ) from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_client", "client_assertion is not a signed JWT", status=401)
    return claims


def client_keys(client: ApiClient) -> KeySet:
    return KeySet.import_key_set(json.loads(client.jwks))


def verify_assertion(
    session: Session, form: Mapping[str, str], *, token_url: str, now: datetime
) -> Assertion:
    """The client that signed the token request's assertion, after every check but replay
    (the caller stores the jti, once)."""
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthError(
            "invalid_client", f"client_assertion_type must be {ASSERTION_TYPE}", status=401
        )
    value = form.get("client_assertion") or ""
    claims = _unverified_claims(value)
    client_id = claims.get("iss")
    client = (
        session.scalar(sa.select(ApiClient).where(ApiClient.client_id == client_id))
        if isinstance(client_id, str) and len(client_id) <= 64
        else None
    )
    if client is None or client.revoked_at is not None:
        raise OAuthError("invalid_client", "unknown or revoked client", status=401)
    if form.get("client_id") not in (None, "", client.client_id):
        raise OAuthError(
            "invalid_client", "client_id does not match the assertion", status=401, client=client
        )
    try:
        token = jwt.decode(value, client_keys(client), algorithms=list(ASSERTION_ALGORITHMS))
        JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": client.client_id},
            sub={"essential": True, "value": client.client_id},
            aud={"essential": True, "value": token_url},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(token.claims)
    except UNREADABLE as error:
        raise OAuthError(
            "invalid_client", f"client_assertion refused: {error}", status=401, client=client
        ) from None
    exp = token.claims["exp"]
    jti = token.claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= JTI_MAX:
        raise OAuthError(
            "invalid_client",
            "jti must be a string of at most 200 characters",
            status=401,
            client=client,
        )
    if not isinstance(exp, int) or exp > now.timestamp() + ASSERTION_MAX_SECONDS + LEEWAY_SECONDS:
        raise OAuthError(
            "invalid_client",
            "client_assertion may be valid for at most 5 minutes",
            status=401,
            client=client,
        )
    return Assertion(client, jti, datetime.fromtimestamp(exp, UTC))


def issue_token(
    client: ApiClient,
    municipality: Municipality,
    scopes: Mapping[str, frozenset[str]],
    *,
    issuer: str,
    audience: str,
    key_paths: Iterable[str],
    lifetime: int,
    now: datetime,
    proof: dpop.Proof | None = None,
) -> dict[str, Any]:
    """The token response (RFC 6749 5.1); with a DPoP proof, bound to its key."""
    key = signing_keys(key_paths)[0]
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": client.client_id,
        "client_id": client.client_id,
        "scope": format_scopes(scopes),
        "municipality": municipality.number,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": secrets.token_urlsafe(16),
    }
    if client.provider_name:
        claims["provider"] = client.provider_name
    claims |= dpop.thumbprint_claim(proof)
    header = {"alg": TOKEN_ALGORITHM, "typ": TOKEN_TYPE, "kid": key.kid}
    return {
        "access_token": jwt.encode(header, claims, key),
        "token_type": "DPoP" if proof is not None else "Bearer",
        "expires_in": lifetime,
        "scope": claims["scope"],
    }


# --- calls with a bearer token ----------------------------------------------------------------


@dataclass(frozen=True)
class ApiPrincipal:
    """Who calls: the client as its token says and as it is registered now."""

    client: ApiClient
    municipality_id: int
    provider_name: str | None
    scopes: Mapping[str, frozenset[str]]

    @property
    def client_pk(self) -> int:
        return self.client.id


def presented(authorization: str | None) -> tuple[str, str]:
    """The token of `Authorization: Bearer <token>` or `DPoP <token>`, with its scheme
    ("bearer" or "dpop")."""
    scheme, _, value = (authorization or "").partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "dpop") or not value.strip():
        raise Unauthorized("a bearer (or DPoP) access token is needed")
    return scheme, value.strip()


def verify_token(
    session: Session,
    value: str,
    *,
    issuer: str,
    audience: str,
    key_paths: Iterable[str],
    now: datetime,
    proof: dpop.Proof | None = None,
) -> ApiPrincipal:
    """The caller of an access token: signed by one of the app's keys, for this API, in
    time, and its client still registered, with the municipality it had. A DPoP-bound token
    needs the request's checked `proof` of its key; a bearer token must come without one."""
    try:
        keys = KeySet(signing_keys(key_paths))
    except NotConfigured:
        raise Unauthorized("this server issues no tokens") from None
    try:
        token = jwt.decode(value, keys, algorithms=[TOKEN_ALGORITHM])
    except UNREADABLE:
        raise Unauthorized("the token is not valid") from None
    if token.header.get("typ") != TOKEN_TYPE:
        raise Unauthorized("the token is not an access token")
    try:
        JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            client_id={"essential": True},
            municipality={"essential": True},
            scope={"essential": True},
        ).validate(token.claims)
    except UNREADABLE as error:
        raise Unauthorized(f"the token is not valid here: {error}") from None
    bound = dpop.bound_key(token.claims)
    if bound is not None and proof is None:
        raise Unauthorized("the token is DPoP-bound: send it as DPoP, with a proof of its key")
    if bound is None and proof is not None:
        raise Unauthorized("the token is not DPoP-bound: send it as Bearer")
    if proof is not None and proof.jkt != bound:
        raise Unauthorized("the DPoP proof is not signed with the token's key")
    row = session.execute(
        sa.select(ApiClient, Municipality.number)
        .join(Municipality, Municipality.id == ApiClient.municipality_id)
        .where(ApiClient.client_id == str(token.claims["client_id"]))
    ).first()
    if row is None:
        raise Unauthorized("the token's client is not registered")
    client, number = row
    if client.revoked_at is not None:
        raise Unauthorized("the client is revoked", client=client)
    if token.claims["municipality"] != number or token.claims.get("provider") != (
        client.provider_name or None
    ):
        raise Unauthorized("the token no longer matches the client", client=client)
    try:
        scopes = parse_scopes(str(token.claims["scope"]))
    except ValueError:
        raise Unauthorized("the token's scope is not valid", client=client) from None
    registered = registered_scopes(client)
    kept = {
        resource: letters & registered.get(resource, frozenset())
        for resource, letters in scopes.items()
    }
    return ApiPrincipal(client, client.municipality_id, client.provider_name, kept)


def registered_principal(client: ApiClient) -> ApiPrincipal:
    """The client with every scope registered for it: to whom an event is delivered."""
    return ApiPrincipal(
        client, client.municipality_id, client.provider_name, registered_scopes(client)
    )


def registered_scopes(client: ApiClient) -> dict[str, frozenset[str]]:
    try:
        return parse_scopes(client.scopes)
    except ValueError:
        return {}


def expired_before(now: datetime) -> datetime:
    """Assertions that expired before this may be forgotten."""
    return now - timedelta(seconds=LEEWAY_SECONDS)
