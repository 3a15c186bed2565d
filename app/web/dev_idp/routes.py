"""The test identity provider's endpoints (only registered when DEV_IDP_ENABLED)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.extensions import csrf, db
from app.selectors.people import register_people
from app.services.register import InvalidFodselsnummer, fodselsnummer_validate
from app.web.dev_idp import provider
from app.web.dev_idp.keys import public_jwks
from app.web.headers import allow_form_target
from app.web.htmx import render

bp = Blueprint("dev_idp", __name__, url_prefix="/dev-idp")

# What is wrong with a typed fødselsnummer, by InvalidFodselsnummer's code.
PID_REFUSALS = {
    "format": _l("The fødselsnummer must have 11 digits."),
    "checksum": _l(
        "The fødselsnummer is not valid: it has a typing error, since its check digits (the "
        "last two) do not match the others. Check each digit."
    ),
    "birth_date": _l("The fødselsnummer is not valid: it does not begin with a date of birth."),
    "synthetic": _l("The fødselsnummer is not valid: test numbers are not accepted here."),
}


def _issuer() -> str:
    return current_app.config["OIDC_ISSUER"]


def _parse(params: dict[str, str]) -> provider.AuthorizationRequest:
    return provider.parse_authorization_request(
        params,
        client_id=current_app.config["OIDC_CLIENT_ID"],
        callback_path=url_for("auth.callback"),
        fixed_redirect_uri=current_app.config["OIDC_REDIRECT_URI"],
        request_host=request.host,
    )


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    return jsonify(provider.discovery_document(_issuer()))


@bp.get("/jwks")
def jwks() -> Response:
    return jsonify(public_jwks(current_app.config["DEV_IDP_KEY_PATH"]))


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    source = request.form if request.method == "POST" else request.args
    params = {
        k: source.get(k, "")
        for k in (*provider.AuthorizationRequest.FIELDS, "response_type", "code_challenge_method")
    }
    if request.method == "POST":
        params.update(response_type="code", code_challenge_method="S256")
    try:
        auth_request = _parse(params)
    except provider.ProviderError as error:
        return render("dev_idp/error.html", status=400, error=error)
    target = urlsplit(auth_request.redirect_uri)
    allow_form_target(f"{target.scheme}://{target.netloc}")

    error = None
    if request.method == "POST":
        if request.form.get("cancel"):
            return redirect(auth_request.redirect(error="access_denied"), code=303)
        acr = request.form.get("acr") or provider.ACR_LEVELS[0]
        if acr not in provider.ACR_LEVELS:
            acr = provider.ACR_LEVELS[0]
        try:
            pid = fodselsnummer_validate(
                request.form.get("pid", ""),
                allow_synthetic=current_app.config["ALLOW_SYNTHETIC_FNR"],
            )
        except InvalidFodselsnummer as invalid:
            error = str(PID_REFUSALS.get(invalid.code, PID_REFUSALS["format"]))
        else:
            code = provider.grant_issue(db.session, auth_request, pid=pid, acr=acr, now=utcnow())
            return redirect(auth_request.redirect(code=code, iss=_issuer()), code=303)

    people = db.session.scalars(register_people()).all()
    return render(
        "dev_idp/authorize.html",
        status=422 if error else 200,
        auth_request=auth_request,
        people=people,
        error=error,
        acr_levels=provider.ACR_LEVELS,
        typed_pid=request.form.get("pid", "") if error else "",
    )


@bp.post("/token")
@csrf.exempt
def token() -> Response:
    auth = request.authorization
    basic = (auth.username or "", auth.password or "") if auth and auth.type == "basic" else None
    try:
        body = provider.token_exchange(
            db.session,
            request.form.to_dict(),
            basic_auth=basic,
            client_id=current_app.config["OIDC_CLIENT_ID"],
            client_secret=current_app.config["OIDC_CLIENT_SECRET"],
            issuer=_issuer(),
            key_path=current_app.config["DEV_IDP_KEY_PATH"],
            now=utcnow(),
        )
    except provider.ProviderError as error:
        status = 401 if error.error == "invalid_client" else 400
        return jsonify(error=error.error, error_description=error.description), status
    return jsonify(body)


@bp.get("/endsession")
def end_session() -> Response:
    """RP-initiated log-out: the test provider keeps no sessions, so it only redirects."""
    target = request.args.get("post_logout_redirect_uri", "")
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.path == url_for("auth.logged_out"):
        return redirect(target, code=303)
    return redirect(url_for("auth.logged_out"), code=303)
