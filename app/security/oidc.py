"""OpenID Connect client for residents' log-in (ID-porten, or the test provider).

Authorization code flow with PKCE (S256) and a nonce, through Authlib. The ID token's
signature is checked against the provider's JWKS, its issuer, audience, expiry and
nonce by Authlib; this module adds the checks ID-porten asks of a client: `acr` must
be the configured level (high), and `pid` must be a valid fødselsnummer.
The same code runs against ID-porten and against the test provider.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

log = logging.getLogger("hjemmedialog.oidc")

CLIENT_NAME = "idporten"


class LoginFailed(Exception):
    """The log-in could not be completed; `code` picks the message shown."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class VerifiedLogin:
    pid: str
    acr: str
    id_token: str


def init_app(app: Flask) -> None:
    oauth = OAuth()
    oauth.init_app(app)
    issuer = app.config["OIDC_ISSUER"]
    metadata_url = app.config["OIDC_METADATA_URL"] or (
        f"{issuer.rstrip('/')}/.well-known/openid-configuration" if issuer else None
    )
    oauth.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=metadata_url,
        client_kwargs={
            "scope": app.config["OIDC_SCOPE"],
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": app.config["OIDC_TOKEN_AUTH_METHOD"],
            "timeout": app.config["OIDC_HTTP_TIMEOUT"],
        },
    )
    app.extensions["oidc_client"] = oauth.create_client(CLIENT_NAME)


def _client():  # type: ignore[no-untyped-def]
    return current_app.extensions["oidc_client"]


def start(redirect_uri: str, *, locale: str) -> Response:
    """Redirect the browser to the provider's authorization endpoint."""
    try:
        return _client().authorize_redirect(
            redirect_uri,
            acr_values=current_app.config["OIDC_REQUIRED_ACR"],
            ui_locales=locale,
        )
    except (requests.RequestException, ValueError) as exc:
        log.error("identity provider unreachable: %s", exc)
        raise LoginFailed("provider_unavailable", str(exc)) from exc


def finish() -> VerifiedLogin:
    """Complete the callback: exchange the code and verify the ID token."""
    client = _client()
    try:
        token = client.authorize_access_token()
    except MismatchingStateError as exc:
        log.warning("OIDC callback with unknown state")
        raise LoginFailed("bad_state", str(exc)) from exc
    except AuthlibBaseError as exc:
        code = "cancelled" if getattr(exc, "error", "") == "access_denied" else "rejected"
        log.warning("OIDC callback refused: %s", exc)
        raise LoginFailed(code, str(exc)) from exc
    except JoseError as exc:
        log.warning("ID token refused: %s", exc)
        raise LoginFailed("bad_token", str(exc)) from exc
    except (requests.RequestException, ValueError, KeyError) as exc:
        log.error("token exchange failed: %s", exc)
        raise LoginFailed("provider_unavailable", str(exc)) from exc

    claims = token.get("userinfo")
    if not claims:
        raise LoginFailed("bad_token", "no ID token in the token response")
    acr = claims.get("acr")
    if acr != current_app.config["OIDC_REQUIRED_ACR"]:
        log.warning("ID token with acr=%r refused", acr)
        raise LoginFailed("wrong_level", f"acr={acr!r}")
    pid = claims.get("pid")
    if not isinstance(pid, str) or not pid:
        raise LoginFailed("bad_token", "no pid claim")
    return VerifiedLogin(pid=pid, acr=acr, id_token=token["id_token"])


def logout_url(id_token: str | None, post_logout_redirect_uri: str) -> str | None:
    """The provider's end-session URL (RP-initiated log-out), if it has one."""
    client = _client()
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError):
        return None
    if not metadata.get("end_session_endpoint") or not id_token:
        return None
    result = client.create_logout_url(
        post_logout_redirect_uri=post_logout_redirect_uri, id_token_hint=id_token
    )
    return result["url"]
