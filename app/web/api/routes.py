"""The record-system API (docs/api.md): the token endpoint and FHIR R4 under /fhir/R4.

Every answer is JSON: a FHIR resource, or an OperationOutcome for every refusal and error
(an OAuth error object at the token endpoint), never an HTML page. Every call by a known
client is kept in its audit trail (ApiCall), refused ones too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import wraps
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.clock import oslo_today, utcnow
from app.extensions import csrf, db
from app.models import Municipality
from app.security import access, api_auth
from app.security.access import AccessDenied
from app.selectors import api as api_selectors
from app.services import api_clients
from app.web.api import fhir
from app.web.edge import InvalidInput

bp = Blueprint("api", __name__)
csrf.exempt(bp)

FHIR_PREFIX = "/fhir/R4"
API_PREFIXES = (FHIR_PREFIX + "/", "/oauth/")
FNR_DIGITS = 11
SEARCH_VALUES_MAX = 20

View = TypeVar("View", bound=Callable[..., Any])


class ApiProblem(Exception):
    """A refusal with its HTTP status and what the client is told."""

    def __init__(self, status: int, diagnostics: str, *, code: str | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.code = code


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIXES) or request.path == FHIR_PREFIX


def _json(document: dict, status: int = 200, *, media_type: str = fhir.MEDIA_TYPE) -> Response:
    response = Response(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype=media_type,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def outcome_response(status: int, diagnostics: str, *, code: str | None = None) -> Response:
    """An error as the API tells it; noted for the audit trail."""
    g.api_outcome = diagnostics
    if request.path.startswith("/oauth/"):
        error = "invalid_request" if status < 500 else "server_error"
        return _json(
            {"error": error, "error_description": diagnostics},
            status,
            media_type="application/json",
        )
    response = _json(fhir.operation_outcome(status, diagnostics, code=code), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hjemmedialog"'
    return response


def http_error(error: HTTPException) -> Response:
    """The app's HTTP errors (404, 405, 413, a refused request at the edge) on API paths."""
    db.session.rollback()
    status = error.code or 500
    if isinstance(error, InvalidInput):
        text = str(error.message)
    else:
        text = error.description or error.name
    return outcome_response(status, text)


def access_denied(error: AccessDenied) -> Response:
    db.session.rollback()
    if error.hide_existence:
        return outcome_response(404, "not found")
    return outcome_response(403, error.reason)


@bp.errorhandler(ApiProblem)
def _problem(error: ApiProblem) -> Response:
    db.session.rollback()
    return outcome_response(error.status, error.diagnostics, code=error.code)


@bp.errorhandler(api_auth.Unauthorized)
def _unauthorized(error: api_auth.Unauthorized) -> Response:
    db.session.rollback()
    if error.client is not None:
        g.api_client_pk = error.client.id
    return outcome_response(401, error.description)


@bp.errorhandler(api_auth.OAuthError)
def _oauth_error(error: api_auth.OAuthError) -> Response:
    db.session.rollback()
    if error.client is not None:
        g.api_client_pk = error.client.id
    g.api_outcome = error.description
    response = _json(
        {"error": error.error, "error_description": error.description},
        error.status,
        media_type="application/json",
    )
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hjemmedialog"'
    return response


@bp.after_request
def _audit(response: Response) -> Response:
    """Every call of a known client is kept, whatever its status."""
    client_pk = g.get("api_client_pk")
    if client_pk is not None:
        api_clients.record_call(
            db.session,
            client_pk,
            method=request.method,
            path=request.full_path.rstrip("?"),
            status=response.status_code,
            outcome=g.get("api_outcome"),
            now=utcnow(),
        )
    return response


# --- addresses ---------------------------------------------------------------------------------


def fhir_base() -> str:
    return request.host_url.rstrip("/") + FHIR_PREFIX


def token_url() -> str:
    return url_for("api.token", _external=True)


def issuer() -> str:
    return request.host_url.rstrip("/") + "/oauth"


def _software_version() -> str:
    try:
        return version("hjemmedialog")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        return "unknown"


# --- log-in ------------------------------------------------------------------------------------


@bp.post("/oauth/token")
def token() -> Response:
    """Client credentials with private_key_jwt (docs/api.md, Log-in)."""
    now = utcnow()
    assertion = api_auth.verify_assertion(db.session, request.form, token_url=token_url(), now=now)
    client = assertion.client
    g.api_client_pk = client.id
    if not api_clients.use_assertion(db.session, client, assertion.jti, assertion.expires_at):
        raise api_auth.OAuthError("invalid_client", "client_assertion was used before", status=401)
    scopes = api_auth.narrow(api_auth.registered_scopes(client), request.form.get("scope"))
    municipality = db.session.get(Municipality, client.municipality_id)
    try:
        answer = api_auth.issue_token(
            client,
            municipality,
            scopes,
            issuer=issuer(),
            audience=fhir_base(),
            key_paths=current_app.config["API_SIGNING_KEY_PATHS"],
            lifetime=current_app.config["API_TOKEN_SECONDS"],
            now=now,
        )
    except api_auth.NotConfigured:
        raise ApiProblem(503, "this server issues no tokens (API_SIGNING_KEY_PATHS)") from None
    g.api_outcome = None
    return _json(answer, media_type="application/json")


@bp.get("/oauth/jwks")
def jwks() -> Response:
    """The app's public keys, with which its access tokens verify."""
    return _json(
        api_auth.public_jwks(current_app.config["API_SIGNING_KEY_PATHS"]),
        media_type="application/json",
    )


def requires_token(view: View) -> View:
    """The view runs for a client with a valid bearer token (g.api_principal)."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        principal = api_auth.verify_token(
            db.session,
            api_auth.bearer(request.headers.get("Authorization")),
            issuer=issuer(),
            audience=fhir_base(),
            key_paths=current_app.config["API_SIGNING_KEY_PATHS"],
            now=utcnow(),
        )
        g.api_principal = principal
        g.api_client_pk = principal.client_pk
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def principal() -> api_auth.ApiPrincipal:
    return g.api_principal


# --- FHIR ------------------------------------------------------------------------------------


@bp.get(FHIR_PREFIX + "/metadata")
def metadata() -> Response:
    return _json(fhir.capability_statement(fhir_base(), token_url(), _software_version()))


@bp.get(FHIR_PREFIX + "/.well-known/smart-configuration")
def smart_configuration() -> Response:
    return _json(
        {
            "issuer": issuer(),
            "jwks_uri": url_for("api.jwks", _external=True),
            "token_endpoint": token_url(),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(api_auth.ASSERTION_ALGORITHMS),
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": [
                f"system/{resource}.{letters}" for resource, letters in api_auth.RESOURCES.items()
            ],
            "capabilities": ["client-confidential-asymmetric"],
        },
        media_type="application/json",
    )


def _reachable_patients(
    *, ids: Sequence[int] = (), fodselsnumre: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The people named whom the client reaches, as Patients; each read is logged."""
    caller = principal()
    today = oslo_today()
    found = [
        person
        for person, registrations in api_selectors.people_with_registrations(
            db.session, ids=ids, fodselsnumre=fodselsnumre
        )
        if access.api_reaches_person(caller, registrations, today)
    ]
    api_clients.record_system_read(
        db.session, caller.client_pk, [p.id for p in found], "Patient", utcnow()
    )
    return [fhir.patient(person) for person in found]


@bp.get(FHIR_PREFIX + "/Patient/<id:person_id>")
@requires_token
def patient_read(person_id: int) -> Response:
    access.require_api_permission(principal(), "Patient", "r")
    found = _reachable_patients(ids=[person_id])
    if not found:
        raise ApiProblem(404, f"Patient/{person_id} is not known to this client")
    return _json(found[0])


def _fodselsnumre(values: list[str]) -> list[str]:
    """`identifier` values: `system|value` with a Norwegian system, or a bare value."""
    numbers = []
    for raw in values:
        for token in raw.split(","):
            system, bar, value = token.rpartition("|")
            if bar and system not in (fhir.FNR_SYSTEM, fhir.DNR_SYSTEM):
                raise ApiProblem(400, f"identifier system {system!r} is not supported")
            if len(value) != FNR_DIGITS or not value.isdigit():
                raise ApiProblem(400, "identifier must be an 11-digit fødselsnummer")
            numbers.append(value)
    return numbers


def _ids(values: list[str]) -> list[int]:
    ids = []
    for raw in values:
        for token in raw.split(","):
            if not token.isdigit() or not 0 < int(token) < 2**31:
                raise ApiProblem(400, "_id must be a Patient id")
            ids.append(int(token))
    return ids


@bp.get(FHIR_PREFIX + "/Patient")
@requires_token
def patient_search() -> Response:
    access.require_api_permission(principal(), "Patient", "s")
    known = {"identifier", "_id", "_format"}
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise ApiProblem(400, f"search parameter not supported: {', '.join(unknown)}")
    if request.args.get("_format") not in (None, "json", "application/fhir+json"):
        raise ApiProblem(406, "only JSON is served", code="not-supported")
    fodselsnumre = _fodselsnumre(request.args.getlist("identifier"))
    ids = _ids(request.args.getlist("_id"))
    if not fodselsnumre and not ids:
        raise ApiProblem(400, "search by identifier or _id; the register is not listed")
    if len(fodselsnumre) + len(ids) > SEARCH_VALUES_MAX:
        raise ApiProblem(400, f"at most {SEARCH_VALUES_MAX} values in one search")
    patients = _reachable_patients(ids=ids, fodselsnumre=fodselsnumre)
    return _json(fhir.searchset(fhir_base(), patients, request.url))
