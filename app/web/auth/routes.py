"""Front page, log-in for residents (OpenID Connect) and staff, consent, log-out, language."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.database import writes
from app.extensions import csrf, db, login_manager
from app.models import StaffAccount, UsageAction
from app.security import access, login_limits, oidc, passkeys
from app.security.login import begin_login, end_login
from app.selectors.people import person_by_fodselsnummer
from app.services.audit import usage_log_add
from app.services.consent import consent_give, is_digitally_active
from app.services.people import contact_language_set
from app.services.register import InvalidFodselsnummer, fodselsnummer_validate
from app.services.sessions import EndReason, ProviderSession, sessions_end_by_provider
from app.services.staff import StaffRefused, own_password_set
from app.services.staff_auth import staff_authenticate
from app.web.admin_text import staff_refusal
from app.web.auth.forms import (
    ConsentForm,
    LanguageForm,
    NewPasswordForm,
    PasskeyLoginForm,
    StaffLoginForm,
)
from app.web.edge import takes_json
from app.web.headers import allow_framing_by, remember_form_target
from app.web.htmx import render
from app.web.utils import safe_next

bp = Blueprint("auth", __name__)
# What a staff member who must change their password may still open.
PASSWORD_GATE_OPEN = {
    "auth.staff_new_password",
    "auth.logout",
    "auth.logged_out",
    "auth.language",
    "static",
    "healthz",
    "readyz",
    "pwa.manifest",
    "pwa.service_worker",
    "pwa.offline",
}
log = logging.getLogger("hjemmedialog.auth")

LOGIN_FAILURES = {
    "bad_state": _l(
        "The log-in could not be completed because it was started in another window or "
        "took too long. Please try again."
    ),
    "bad_token": _l("The answer from the log-in service could not be verified. Please try again."),
    "wrong_level": _l("You must log in with a high security level (BankID, Buypass or Commfides)."),
    "cancelled": _l("The log-in was cancelled."),
    "rejected": _l("The log-in service refused the log-in. Please try again."),
    "provider_unavailable": _l(
        "The log-in service is not available right now. Please try again in a few minutes."
    ),
    "not_in_register": _l(
        "We could not find you in the population register, so you cannot use Hjemmedialog."
    ),
}


def resident_home() -> str:
    return url_for("citizen.messages")


def staff_home() -> str:
    return url_for("staff.queue")


@bp.get("/")
def front() -> Response:
    if current_user.is_authenticated:
        return redirect(resident_home() if current_user.is_resident else staff_home())
    return render("auth/front.html", next=safe_next(request.args.get("next"), ""))


def _blocked(blocked: login_limits.LoginBlocked) -> Response:
    minutes = -(-blocked.retry_after // 60)
    response = render("errors/429.html", status=429, minutes=minutes)
    response.headers["Retry-After"] = str(blocked.retry_after)
    return response


@bp.get("/auth/login")
def login() -> Response:
    now = utcnow()
    try:
        login_limits.resident_check(db.session, now)
    except login_limits.LoginBlocked as blocked:
        return _blocked(blocked)
    login_limits.resident_count(db.session, now)
    session["login_next"] = safe_next(request.args.get("next"), "")
    redirect_uri = current_app.config["OIDC_REDIRECT_URI"] or url_for(
        "auth.callback", _external=True
    )
    try:
        return redirect(oidc.start(redirect_uri, locale=session.get("lang") or "nb"))
    except oidc.LoginFailed as failure:
        return _login_failed(failure.code, status=503)


@bp.get("/auth/callback")
@writes  # the log-in: a session, the usage log, log-in limits
def callback() -> Response:
    try:
        login_limits.resident_check(db.session, utcnow())
        verified = oidc.finish(request.args)
    except login_limits.LoginBlocked as blocked:
        return _blocked(blocked)
    except oidc.LoginFailed as failure:
        return _login_failed(failure.code)
    try:
        pid = fodselsnummer_validate(
            verified.pid, allow_synthetic=current_app.config["ALLOW_SYNTHETIC_FNR"]
        )
    except InvalidFodselsnummer:
        return _login_failed("not_in_register")
    person = db.session.scalars(person_by_fodselsnummer(pid)).one_or_none()
    if person is None:
        return _login_failed("not_in_register")

    next_url = session.get("login_next") or ""
    begin_login(
        person=person,
        auth_method="oidc",
        acr=verified.acr,
        id_token=verified.id_token,
        provider_session=ProviderSession(verified.issuer, verified.sid, verified.sub),
    )
    # The log-out form on the resident's pages leads on to the provider's end-session page.
    for origin in oidc.client().origins("end_session_endpoint"):
        remember_form_target(origin)
    usage_log_add(
        db.session,
        subject_person_id=person.id,
        action=UsageAction.LOGGED_IN,
        actor_person_id=person.id,
    )
    if not is_digitally_active(db.session, person.id, current_app.config["TERMS_VERSION"]):
        return redirect(url_for("auth.consent"))
    return redirect(safe_next(next_url, resident_home()))


def _login_failed(code: str, *, status: int = 400) -> Response:
    login_limits.resident_count(db.session, utcnow())
    message = LOGIN_FAILURES.get(code, LOGIN_FAILURES["rejected"])
    return render("auth/login_failed.html", status=status, message=message)


@bp.route("/auth/consent", methods=["GET", "POST"])
def consent() -> Response:
    if not current_user.is_authenticated or not current_user.is_resident:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    version = current_app.config["TERMS_VERSION"]
    if is_digitally_active(db.session, current_user.person.id, version):
        return redirect(resident_home())
    form = ConsentForm()
    if form.validate_on_submit():
        consent_give(db.session, person=current_user.person, terms_version=version, now=utcnow())
        flash(_("Thank you. You can now use Hjemmedialog."), "success")
        return redirect(resident_home(), code=303)
    status = 422 if form.is_submitted() else 200
    return render("auth/consent.html", form=form, status=status)


@bp.post("/auth/logout")
def logout() -> Response:
    was_resident = current_user.is_resident
    id_token = current_user.login.id_token if was_resident else None
    end_login()
    after = url_for("auth.logged_out", _external=True)
    if was_resident:
        provider_logout = oidc.logout_url(
            id_token, current_app.config["OIDC_POST_LOGOUT_REDIRECT_URI"] or after
        )
        if provider_logout:
            return redirect(provider_logout, code=303)
    return redirect(after, code=303)


@bp.get("/auth/frontchannel-logout")
@writes  # ends the provider's sessions here
def frontchannel_logout() -> Response:
    """The provider ended its session and tells us in an iframe of its own page."""
    client = oidc.client()
    allow_framing_by(client.origins("issuer", "authorization_endpoint", "end_session_endpoint"))
    try:
        ended = client.front_channel_logout(request.args.get("iss"), request.args.get("sid"))
    except oidc.LogoutRefused as refused:
        log.warning("front-channel log-out refused: %s", refused)
        return render("auth/frontchannel_logout.html", status=400, ended=False)
    sessions_end_by_provider(
        db.session,
        issuer=ended.issuer,
        sid=ended.sid,
        now=utcnow(),
        reason=EndReason.FRONTCHANNEL,
    )
    return render("auth/frontchannel_logout.html", ended=True)


@bp.post("/auth/backchannel-logout")
@csrf.exempt
def backchannel_logout() -> Response:
    """The provider ended its session and tells us server to server, with a logout token.

    200 when the token is valid (whether or not a session was still live), 400 otherwise,
    as OpenID Connect Back-Channel Logout 1.0 section 2.8 says.
    """
    token = request.form.get("logout_token", "")
    try:
        if not token:
            raise oidc.LogoutRefused("no logout_token")
        ended = oidc.client().verify_logout_token(token)
    except oidc.LogoutRefused as refused:
        log.warning("back-channel log-out refused: %s", refused)
        return _backchannel_refused("The logout token was not accepted.")
    except oidc.ProviderUnavailable as exc:
        log.error("back-channel log-out failed, the provider's keys are unavailable: %s", exc)
        return _backchannel_refused("The logout token could not be checked.")
    sessions_end_by_provider(
        db.session,
        issuer=ended.issuer,
        sid=ended.sid,
        sub=ended.sub,
        now=utcnow(),
        reason=EndReason.BACKCHANNEL,
    )
    return Response(status=200)


def _backchannel_refused(description: str) -> Response:
    response = jsonify(error="invalid_request", error_description=description)
    response.status_code = 400
    return response


@bp.get("/auth/logged-out")
def logged_out() -> Response:
    return render("auth/logged_out.html")


@bp.route("/staff/login", methods=["GET", "POST"])
def staff_login() -> Response:
    """Password log-in, limited per address and account, or per known device (R10)."""
    if request.method == "GET" and current_user.is_staff:
        return redirect(staff_home())
    form = StaffLoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        now = utcnow()
        username = form.username.data.strip().lower()
        attempt = login_limits.password_attempt(username)
        try:
            login_limits.check(db.session, attempt.keys, now)
        except login_limits.LoginBlocked as blocked:
            return _blocked(blocked)
        staff = staff_authenticate(db.session, username=username, password=form.password.data)
        if staff is not None:
            login_limits.succeeded(db.session, attempt, now)
            response = redirect(_staff_logged_in(staff, "password", form.next.data), code=303)
            login_limits.remember_device(response, username)
            return response
        login_limits.failed(db.session, attempt, now)
        error = _("The username or password is wrong.")
    return _staff_login_page(form, error=error, status=422 if form.is_submitted() else 200)


def _staff_login_page(
    form: StaffLoginForm, *, error: str | None = None, passkey_error: str | None = None, status: int
) -> Response:
    return render(
        "auth/staff_login.html",
        form=form,
        passkey_form=PasskeyLoginForm(formdata=None, next=form.next.data),
        error=error,
        passkey_error=passkey_error,
        status=status,
    )


def _staff_logged_in(staff: StaffAccount, auth_method: str, next_url: str | None) -> str:
    """Start the staff member's session; where to go next (the unit choice if several)."""
    unit_ids = sorted({r.unit_id for r in staff.roles if r.unit_id is not None})
    begin_login(
        staff=staff,
        auth_method=auth_method,
        active_unit_id=unit_ids[0] if len(unit_ids) == 1 else None,
    )
    if len(unit_ids) > 1:
        return url_for("staff.choose_unit")
    return safe_next(next_url, staff_home() if unit_ids else url_for("admin.index"))


@bp.route("/staff/password", methods=["GET", "POST"])
def staff_new_password() -> Response:
    """Velg nytt passord: after a one-time password, before anything else."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    access.require_staff(current_user)
    if not current_user.staff.password_must_change:
        return redirect(staff_home(), code=303)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            own_password_set(db.session, current_user, password=form.password.data, now=utcnow())
        except StaffRefused as refused:
            form.password.errors = [*form.password.errors, staff_refusal(refused.code)]
        else:
            flash(_("Your new password is saved."), "success")
            return redirect(staff_home(), code=303)
    status = 422 if form.is_submitted() else 200
    return render("auth/new_password.html", status=status, form=form)


def password_change_gate() -> Response | None:
    """Until a staff member with a one-time password chooses their own, every other page
    sends them to Velg nytt passord (log-out, language and static files stay open)."""
    if request.endpoint in PASSWORD_GATE_OPEN or request.endpoint is None:
        return None
    if not current_user.is_authenticated or not current_user.is_staff:
        return None
    if not current_user.staff.password_must_change:
        return None
    target = url_for("auth.staff_new_password")
    if request.headers.get("HX-Request"):
        response = Response(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


# --- passkeys: no username, the authenticator knows whose passkey it is ------------------------

PASSKEY_REFUSED = _l(
    "The passkey was not accepted. Try again, or log in with username and password."
)
PASSKEY_NEEDS_BROWSER = _l(
    "Log-in with a passkey needs a browser with passkeys and JavaScript. "
    "Log in with username and password instead."
)


def _passkey_blocked(blocked: login_limits.LoginBlocked) -> Response:
    minutes = -(-blocked.retry_after // 60)
    response = jsonify(
        error="blocked",
        message=_("Too many failed log-ins. Try again in %(minutes)s minutes.", minutes=minutes),
    )
    response.status_code = 429
    response.headers["Retry-After"] = str(blocked.retry_after)
    return response


@bp.post("/staff/login/passkey/options")
def passkey_options() -> Response:
    """A fresh challenge for navigator.credentials.get (JSON); limited per address."""
    now = utcnow()
    try:
        login_limits.passkey_start(db.session, now)
    except login_limits.LoginBlocked as blocked:
        return _passkey_blocked(blocked)
    options = passkeys.authentication_options(db.session, now)
    return Response(options, mimetype="application/json")


@bp.post("/staff/login/passkey")
@takes_json
def passkey_login() -> Response:
    """The authenticator's answer (JSON); failures count against the address, like passwords.

    Without JavaScript the button posts a plain form here: the page explains what is needed.
    """
    if not request.is_json:
        form = PasskeyLoginForm()
        return _staff_login_page(
            StaffLoginForm(formdata=None, next=form.next.data or ""),
            passkey_error=str(PASSKEY_NEEDS_BROWSER),
            status=400,
        )
    now = utcnow()
    attempt = login_limits.passkey_attempt()
    try:
        login_limits.check(db.session, attempt.keys, now)
    except login_limits.LoginBlocked as blocked:
        return _passkey_blocked(blocked)
    body = request.get_json(silent=True)
    credential = body.get("credential") if isinstance(body, dict) else None
    next_url = body.get("next") if isinstance(body, dict) else None
    try:
        if not isinstance(credential, dict):
            raise passkeys.PasskeyRefused("unreadable")
        staff = passkeys.authenticate(db.session, credential, now)
    except passkeys.PasskeyRefused:
        login_limits.failed(db.session, attempt, now)
        response = jsonify(error="refused", message=str(PASSKEY_REFUSED))
        response.status_code = 400
        return response
    target = _staff_logged_in(staff, "passkey", next_url if isinstance(next_url, str) else None)
    response = jsonify(redirect=target)
    login_limits.remember_device(response, staff.username)
    return response


@bp.post("/language")
def language() -> Response:
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    lang = request.form.get("lang")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    session["lang"] = lang
    if current_user.is_resident:
        contact_language_set(db.session, person=current_user.person, language=lang, now=utcnow())
    return redirect(safe_next(form.next.data, url_for("auth.front")), code=303)
