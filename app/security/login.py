"""Flask-Login glue: the browser's cookie holds a token, the database holds the session."""

from __future__ import annotations

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.extensions import db, login_manager
from app.models import LoginSession, Person, StaffAccount
from app.security.actor import Actor, Anonymous
from app.services.sessions import (
    EndReason,
    ProviderSession,
    session_end,
    session_resolve,
    session_start,
)

END_MESSAGES = {
    EndReason.IDLE: _l(
        "You were logged out after 30 minutes without activity. Please log in again."
    ),
    EndReason.EXPIRED: _l("Your session has reached its time limit. Please log in again."),
    EndReason.DEACTIVATED: _l(
        "Your account has been deactivated. Ask your leader or the administrator if this is wrong."
    ),
    EndReason.CREDENTIALS_RESET: _l(
        "The administrator gave you a new one-time password. Log in with it, then choose your own."
    ),
    EndReason.FRONTCHANNEL: _l(
        "You were logged out because your log-in with electronic ID ended. Please log in again."
    ),
    EndReason.BACKCHANNEL: _l(
        "You were logged out because your log-in with electronic ID ended. Please log in again."
    ),
}


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.session_protection = None  # the server-side session is the protection
    login_manager.user_loader(load_actor)
    login_manager.unauthorized_handler(unauthorized)


def load_actor(token: str) -> Actor | None:
    resolved, reason = session_resolve(
        db.session,
        token,
        now=utcnow(),
        idle_timeout=current_app.config["SESSION_IDLE_TIMEOUT"],
        absolute_timeout=current_app.config["SESSION_ABSOLUTE_TIMEOUT"],
        terms_version=current_app.config["TERMS_VERSION"],
    )
    if resolved is None:
        g.session_end_reason = reason
        return None
    return Actor(
        resolved.login,
        token,
        digitally_active=resolved.digitally_active,
        acts_for_others=resolved.acts_for_others,
    )


def begin_login(
    *,
    person: Person | None = None,
    staff: StaffAccount | None = None,
    auth_method: str,
    acr: str | None = None,
    id_token: str | None = None,
    provider_session: ProviderSession | None = None,
    active_unit_id: int | None = None,
) -> Actor:
    """A fresh session for every log-in: the old one ends and the cookie is emptied."""
    now = utcnow()
    if current_user.is_authenticated:
        session_end(db.session, current_user.login, now=now, reason=EndReason.REPLACED)
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    login, token = session_start(
        db.session,
        now=now,
        person=person,
        staff=staff,
        auth_method=auth_method,
        acr=acr,
        id_token=id_token,
        provider_session=provider_session,
        active_unit_id=active_unit_id,
    )
    actor = Actor(login, token)
    login_user(actor)
    return actor


def end_login() -> LoginSession | None:
    """Log out here and on the server; returns the ended session."""
    login = current_user.login if current_user.is_authenticated else None
    if login is not None:
        session_end(db.session, login, now=utcnow(), reason=EndReason.LOGOUT)
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    return login


def unauthorized() -> Response:
    reason = g.get("session_end_reason")
    if reason in END_MESSAGES:
        flash(str(END_MESSAGES[reason]), "info")
    staff_side = request.blueprint in {"staff", "admin"}
    target = url_for("auth.staff_login") if staff_side else url_for("auth.front")
    if request.method == "GET" and not request.headers.get("HX-Request"):
        target = url_for(
            "auth.staff_login" if staff_side else "auth.front", next=request.full_path.rstrip("?")
        )
    if request.headers.get("HX-Request"):
        response = Response(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)
