"""The record-system API (docs/api.md): the token endpoint and FHIR R4 under /fhir/R4.

Every answer is JSON: a FHIR resource, or an OperationOutcome for every refusal and error
(an OAuth error object at the token endpoint), never an HTML page. Every call by a known
client is kept in its audit trail (ApiCall), refused ones too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, time
from functools import wraps
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode

from flask import Blueprint, current_app, g, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date
from werkzeug.wrappers import Response

from app import fhir
from app.clock import local_to_utc, oslo_today, utcnow
from app.extensions import csrf, db
from app.models import (
    ApiSubscription,
    ApiSubscriptionStatus,
    Appointment,
    AppointmentIdentifier,
    Message,
    Municipality,
)
from app.security import access, api_auth, dpop
from app.security.access import AccessDenied
from app.selectors import api as api_selectors
from app.services import api_clients, api_events, record_system
from app.services.api_refusals import RecordRefused
from app.web.edge import InvalidInput, takes_json

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


def _challenge(response: Response, dpop_error: str | None = None) -> None:
    """401: how to authenticate, as a bearer token or a DPoP-bound one (RFC 9449 7.1)."""
    response.headers["WWW-Authenticate"] = 'Bearer realm="hjemmedialog"'
    error = f'error="{dpop_error}", ' if dpop_error else ""
    response.headers.add("WWW-Authenticate", f'DPoP {error}algs="{" ".join(dpop.ALGORITHMS)}"')


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
        _challenge(response, g.get("api_dpop_error"))
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
    g.api_dpop_error = error.error
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
        _challenge(response)
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
    proof = None
    if "DPoP" in request.headers:  # a token bound to the proof's key (docs/api.md, DPoP)
        try:
            proof = dpop.verify_proof(
                request.headers.getlist("DPoP"), method="POST", url=token_url(), now=now
            )
        except dpop.InvalidProof as error:
            raise api_auth.OAuthError(
                "invalid_dpop_proof", error.description, client=client
            ) from None
        if not api_clients.use_dpop_proof(db.session, client, proof):
            raise api_auth.OAuthError(
                "invalid_dpop_proof", "the DPoP proof was used before", client=client
            )
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
            proof=proof,
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
        now = utcnow()
        scheme, token = api_auth.presented(request.headers.get("Authorization"))
        proof = None
        if scheme == "dpop":
            try:
                proof = dpop.verify_proof(
                    request.headers.getlist("DPoP"),
                    method=request.method,
                    url=request.base_url,
                    now=now,
                    access_token=token,
                )
            except dpop.InvalidProof as error:
                raise api_auth.Unauthorized(error.description, error="invalid_dpop_proof") from None
        principal = api_auth.verify_token(
            db.session,
            token,
            issuer=issuer(),
            audience=fhir_base(),
            key_paths=current_app.config["API_SIGNING_KEY_PATHS"],
            now=now,
            proof=proof,
        )
        if proof is not None and not api_clients.use_dpop_proof(
            db.session, principal.client, proof
        ):
            raise api_auth.Unauthorized(
                "the DPoP proof was used before",
                client=principal.client,
                error="invalid_dpop_proof",
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
            "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),
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
    _known_params({"identifier", "_id", "_format"})
    _only_json()
    fodselsnumre = _fodselsnumre(request.args.getlist("identifier"))
    ids = _ids(request.args.getlist("_id"))
    if not fodselsnumre and not ids:
        raise ApiProblem(400, "search by identifier or _id; the register is not listed")
    if len(fodselsnumre) + len(ids) > SEARCH_VALUES_MAX:
        raise ApiProblem(400, f"at most {SEARCH_VALUES_MAX} values in one search")
    patients = _reachable_patients(ids=ids, fodselsnumre=fodselsnumre)
    return _json(fhir.searchset(fhir_base(), patients, request.url))


# --- Appointment -----------------------------------------------------------------------------

STATUS_CODES = {code: status for code, status in fhir.STATUS_IN.items()}
LAST_UPDATED_PREFIXES = ("gt", "ge", "lt")


def _appointment_response(
    appointment: Appointment,
    identifier: AppointmentIdentifier | None,
    *,
    status: int = 200,
    created: bool = False,
) -> Response:
    response = _json(fhir.appointment(appointment, identifier), status)
    response.headers["ETag"] = fhir.version_tag(appointment.version)
    response.headers["Last-Modified"] = http_date(appointment.updated_at)
    if created:
        response.headers["Location"] = (
            f"{fhir_base()}/Appointment/{appointment.id}/_history/{appointment.version}"
        )
    return response


def _body() -> fhir.VisitInput:
    try:
        return fhir.parse_appointment(request.get_json(silent=True))
    except fhir.Invalid as error:
        raise ApiProblem(400, str(error), code="invalid") from None


def _identifier_param(raw: str) -> tuple[str, str]:
    system, bar, value = raw.partition("|")
    if not bar or not system or not value or len(system) > 200 or len(value) > 200:
        raise ApiProblem(400, "identifier must be system|value")
    return system, value


def _version(header: str | None) -> int | None:
    """If-Match: W/"3" (or "3") as the version number."""
    if header is None:
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 9:
        raise ApiProblem(400, 'If-Match must be a version tag such as W/"3"')
    return int(tag)


@bp.errorhandler(RecordRefused)
def _record_refused(error: RecordRefused) -> Response:
    db.session.rollback()
    return outcome_response(error.status, error.diagnostics, code=error.code)


@bp.get(FHIR_PREFIX + "/Appointment/<id:appointment_id>")
@requires_token
def appointment_read(appointment_id: int) -> Response:
    caller = principal()
    access.require_api_permission(caller, "Appointment", "r")
    found = record_system.visit_for_client(db.session, caller, appointment_id)
    api_clients.record_system_read(
        db.session, caller.client_pk, [found[0].person_id], "Appointment", utcnow()
    )
    return _appointment_response(*found)


def _moment_param(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiProblem(400, f"{raw!r} is not a date or a date and time") from None
    if moment.tzinfo is None:
        if "T" in raw:
            raise ApiProblem(400, "a time in _lastUpdated needs its time zone")
        moment = local_to_utc(moment.date(), time(0))
    return moment


def _known_params(known: set[str]) -> None:
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise ApiProblem(400, f"search parameter not supported: {', '.join(unknown)}")


def _moments(name: str) -> tuple[datetime | None, datetime | None, datetime | None]:
    """A date search parameter (`gt`, `ge` or `lt` and a moment) as (after, from, before)."""
    after = from_ = before = None
    for raw in request.args.getlist(name):
        prefix, value = raw[:2], raw[2:]
        if prefix not in LAST_UPDATED_PREFIXES:
            raise ApiProblem(400, f"{name} takes gt, ge or lt and a moment")
        moment = _moment_param(value)
        if prefix == "gt":
            after = moment
        elif prefix == "ge":
            from_ = moment
        else:
            before = moment
    return after, from_, before


def _patient_ids() -> list[int]:
    patients = []
    for raw in request.args.getlist("patient"):
        for token in raw.split(","):
            number = token.removeprefix("Patient/")
            if not number.isdigit() or not 0 < int(number) < 2**31:
                raise ApiProblem(400, "patient must be Patient/<id>")
            patients.append(int(number))
    return patients


def _count(default: int) -> int:
    count = request.args.get("_count", str(default))
    if not count.isdigit() or not 1 <= int(count) <= api_selectors.PAGE_MAX:
        raise ApiProblem(400, f"_count must be from 1 to {api_selectors.PAGE_MAX}")
    return int(count)


def _only_json() -> None:
    if request.args.get("_format") not in (None, "json", "application/fhir+json"):
        raise ApiProblem(406, "only JSON is served", code="not-supported")


def _paged_bundle(resource_type: str, resources: list[dict], next_cursor: str | None) -> dict:
    """A page of a search that goes on (no total counted), with its `next` link."""
    bundle = fhir.searchset(fhir_base(), resources, request.url)
    bundle.pop("total")
    if next_cursor:
        following = request.args.to_dict(flat=False)
        following["_cursor"] = [next_cursor]
        bundle["link"].append(
            {
                "relation": "next",
                "url": f"{fhir_base()}/{resource_type}?{urlencode(following, doseq=True)}",
            }
        )
    return bundle


def _appointment_search() -> api_selectors.AppointmentSearch:
    _known_params(
        {"_lastUpdated", "patient", "identifier", "status", "_count", "_cursor", "_format"}
    )
    after, from_, before = _moments("_lastUpdated")
    patients = _patient_ids()
    statuses = []
    for raw in request.args.getlist("status"):
        for token in raw.split(","):
            if token not in STATUS_CODES:
                raise ApiProblem(400, f"status must be one of {', '.join(STATUS_CODES)}")
            statuses.append(STATUS_CODES[token])
    identifiers = [_identifier_param(raw) for raw in request.args.getlist("identifier")]
    if len(patients) + len(identifiers) + len(statuses) > SEARCH_VALUES_MAX * 3:
        raise ApiProblem(400, "too many values in one search")
    return api_selectors.AppointmentSearch(
        updated_after=after,
        updated_from=from_,
        updated_before=before,
        patient_ids=tuple(patients),
        identifiers=tuple(identifiers),
        statuses=tuple(dict.fromkeys(statuses)),
        count=_count(api_selectors.APPOINTMENT_PAGE),
    )


@bp.get(FHIR_PREFIX + "/Appointment")
@requires_token
def appointment_search() -> Response:
    """Search, oldest change first; `_lastUpdated=gt<moment>` follows what changed."""
    caller = principal()
    access.require_api_permission(caller, "Appointment", "s")
    _only_json()
    page = api_selectors.appointments_search(
        db.session,
        access.api_appointment_scope(caller),
        _appointment_search(),
        request.args.get("_cursor"),
    )
    api_clients.record_system_read(
        db.session,
        caller.client_pk,
        [appointment.person_id for appointment, _ in page.items],
        "Appointment",
        utcnow(),
    )
    resources = [
        fhir.appointment(appointment, identifier) for appointment, identifier in page.items
    ]
    return _json(_paged_bundle("Appointment", resources, page.next_cursor))


@bp.post(FHIR_PREFIX + "/Appointment")
@takes_json
@requires_token
def appointment_create() -> Response:
    """Create; with If-None-Exist (or an identifier known before) the visit made before."""
    visit = _body()
    condition = request.headers.get("If-None-Exist")
    if condition is not None:
        name, _, value = condition.partition("=")
        if name != "identifier":
            raise ApiProblem(400, "If-None-Exist takes identifier=system|value")
        wanted = _identifier_param(unquote(value))
        if visit.identifier not in (None, wanted):
            raise ApiProblem(400, "If-None-Exist names another identifier than the body")
        visit = record_system.with_identifier(visit, wanted)
    saved = record_system.visit_create(db.session, principal(), visit, utcnow())
    return _appointment_response(
        saved.appointment,
        saved.identifier,
        status=201 if saved.created else 200,
        created=saved.created,
    )


@bp.put(FHIR_PREFIX + "/Appointment/<id:appointment_id>")
@takes_json
@requires_token
def appointment_update(appointment_id: int) -> Response:
    document = request.get_json(silent=True)
    if isinstance(document, dict) and document.get("id") not in (None, str(appointment_id)):
        raise ApiProblem(400, "the body's id must be the id in the address")
    saved = record_system.visit_update(
        db.session,
        principal(),
        appointment_id,
        _body(),
        if_match=_version(request.headers.get("If-Match")),
        now=utcnow(),
    )
    return _appointment_response(saved.appointment, saved.identifier)


@bp.put(FHIR_PREFIX + "/Appointment")
@takes_json
@requires_token
def appointment_conditional_update() -> Response:
    """PUT Appointment?identifier=system|value: change that visit, or make it."""
    unknown = sorted(set(request.args) - {"identifier"})
    raw = request.args.getlist("identifier")
    if unknown or len(raw) != 1:
        raise ApiProblem(400, "a conditional update takes exactly one identifier=system|value")
    saved = record_system.visit_put_by_identifier(
        db.session,
        principal(),
        _identifier_param(raw[0]),
        _body(),
        if_match=_version(request.headers.get("If-Match")),
        now=utcnow(),
    )
    return _appointment_response(
        saved.appointment,
        saved.identifier,
        status=201 if saved.created else 200,
        created=saved.created,
    )


# --- Communication -----------------------------------------------------------------------------

CATEGORIES = {fhir.FROM_RESIDENT: True, fhir.FROM_SERVICE: False}


def _communication_response(message: Message, *, status: int = 200) -> Response:
    response = _json(fhir.communication(message, message.thread), status)
    if status == 201:
        response.headers["Location"] = f"{fhir_base()}/Communication/{message.id}"
    return response


def _log_message_reads(messages: Sequence[Message]) -> None:
    api_clients.record_system_read(
        db.session,
        principal().client_pk,
        [message.thread.person_id for message in messages],
        "Communication",
        utcnow(),
    )


@bp.get(FHIR_PREFIX + "/Communication/<id:message_id>")
@requires_token
def communication_read(message_id: int) -> Response:
    caller = principal()
    access.require_api_permission(caller, "Communication", "r")
    message = api_selectors.message_with_thread(db.session, message_id)
    if message is None or not access.api_reaches_thread(caller, message.thread):
        raise ApiProblem(404, f"Communication/{message_id} is not known to this client")
    _log_message_reads([message])
    return _communication_response(message)


def _communication_search() -> api_selectors.MessageSearch:
    _known_params({"sent", "patient", "category", "journaled", "_count", "_cursor", "_format"})
    after, from_, before = _moments("sent")
    patients = _patient_ids()
    if len(patients) > SEARCH_VALUES_MAX:
        raise ApiProblem(400, f"at most {SEARCH_VALUES_MAX} patients in one search")
    category = request.args.get("category")
    if category is not None:
        category = category.removeprefix(fhir.CATEGORY_SYSTEM + "|")
        if category not in CATEGORIES:
            raise ApiProblem(400, f"category must be {' or '.join(CATEGORIES)}")
    journaled = request.args.get("journaled")
    if journaled not in (None, "true", "false"):
        raise ApiProblem(400, "journaled must be true or false")
    return api_selectors.MessageSearch(
        sent_after=after,
        sent_from=from_,
        sent_before=before,
        patient_ids=tuple(patients),
        from_residents=CATEGORIES.get(category) if category else None,
        journaled=None if journaled is None else journaled == "true",
        count=_count(api_selectors.MESSAGE_PAGE),
    )


@bp.get(FHIR_PREFIX + "/Communication")
@requires_token
def communication_search() -> Response:
    """Messages, oldest first: `category=from-resident&journaled=false` are the new ones."""
    caller = principal()
    access.require_api_permission(caller, "Communication", "s")
    _only_json()
    page = api_selectors.messages_search(
        db.session,
        access.api_message_municipality(caller),
        _communication_search(),
        request.args.get("_cursor"),
    )
    _log_message_reads(page.items)
    resources = [fhir.communication(message, message.thread) for message in page.items]
    return _json(_paged_bundle("Communication", resources, page.next_cursor))


@bp.post(FHIR_PREFIX + "/Communication")
@takes_json
@requires_token
def communication_create() -> Response:
    """A reply written in the record system (inResponseTo the message it answers)."""
    try:
        reply = fhir.parse_reply(request.get_json(silent=True))
    except fhir.Invalid as error:
        raise ApiProblem(400, str(error), code="invalid") from None
    message, created = record_system.message_reply(
        db.session,
        principal(),
        in_response_to=reply.in_response_to,
        employee_username=reply.employee_username,
        body=reply.body,
        identifier=reply.identifier,
        now=utcnow(),
    )
    return _communication_response(message, status=201 if created else 200)


@bp.post(FHIR_PREFIX + "/Communication/<id:message_id>/$journal")
@takes_json
@requires_token
def communication_journal(message_id: int) -> Response:
    """Mark a message journaled in the record system; a Parameters body may give the
    journal's own reference (`reference`, valueString)."""
    reference = None
    document = request.get_json(silent=True)
    if document is not None:
        if not isinstance(document, dict) or document.get("resourceType") != "Parameters":
            raise ApiProblem(400, "the body must be a FHIR Parameters resource, or none")
        for parameter in document.get("parameter") or []:
            if isinstance(parameter, dict) and parameter.get("name") == "reference":
                value = parameter.get("valueString")
                if not isinstance(value, str) or not 0 < len(value.strip()) <= 200:
                    raise ApiProblem(400, "reference must be a valueString of 1 to 200 characters")
                reference = value.strip()
    message = record_system.message_journal(
        db.session, principal(), message_id, reference, utcnow()
    )
    return _communication_response(message)


# --- Subscription ------------------------------------------------------------------------------


def _subscription_body() -> api_events.SubscriptionInput:
    try:
        return fhir.parse_subscription(request.get_json(silent=True))
    except fhir.Invalid as error:
        raise ApiProblem(400, str(error), code="invalid") from None


def _subscription_response(subscription: ApiSubscription, *, status: int = 200) -> Response:
    response = _json(fhir.subscription(subscription), status)
    if status == 201:
        response.headers["Location"] = f"{fhir_base()}/Subscription/{subscription.id}"
    return response


@bp.post(FHIR_PREFIX + "/Subscription")
@takes_json
@requires_token
def subscription_create() -> Response:
    """Be told of cancelled or fulfilled visits, or of residents' messages (docs/api.md)."""
    subscription = api_events.subscription_create(
        db.session,
        principal(),
        _subscription_body(),
        allow_http=current_app.config["API_EVENT_HTTP_ALLOWED"],
        now=utcnow(),
    )
    return _subscription_response(subscription, status=201)


@bp.get(FHIR_PREFIX + "/Subscription/<id:subscription_id>")
@requires_token
def subscription_read(subscription_id: int) -> Response:
    return _subscription_response(
        api_events.subscription_for_client(db.session, principal(), subscription_id)
    )


@bp.get(FHIR_PREFIX + "/Subscription")
@requires_token
def subscription_search() -> Response:
    """The client's own subscriptions (deleted ones are not listed)."""
    caller = principal()
    access.require_api_permission(caller, "Subscription", "s")
    _known_params({"status", "_format"})
    _only_json()
    wanted = request.args.get("status")
    if wanted not in (None, *(status.value for status in ApiSubscriptionStatus)):
        raise ApiProblem(400, "status must be active or off")
    resources = [
        fhir.subscription(subscription)
        for subscription in api_selectors.subscriptions_of(db.session, caller.client_pk)
        if wanted is None or subscription.status.value == wanted
    ]
    return _json(fhir.searchset(fhir_base(), resources, request.url))


@bp.put(FHIR_PREFIX + "/Subscription/<id:subscription_id>")
@takes_json
@requires_token
def subscription_update(subscription_id: int) -> Response:
    document = request.get_json(silent=True)
    if isinstance(document, dict) and document.get("id") not in (None, str(subscription_id)):
        raise ApiProblem(400, "the body's id must be the id in the address")
    subscription = api_events.subscription_update(
        db.session,
        principal(),
        subscription_id,
        _subscription_body(),
        allow_http=current_app.config["API_EVENT_HTTP_ALLOWED"],
        now=utcnow(),
    )
    return _subscription_response(subscription)


@bp.delete(FHIR_PREFIX + "/Subscription/<id:subscription_id>")
@requires_token
def subscription_delete(subscription_id: int) -> Response:
    api_events.subscription_delete(db.session, principal(), subscription_id, utcnow())
    return _json(
        fhir.operation_outcome(
            200, f"Subscription/{subscription_id} is deleted", code="informational"
        )
    )
