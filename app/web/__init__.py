"""The web layer: blueprints, one commit per request, errors, headers, template helpers."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, g, request, session, url_for
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.wrappers import Response

from app.database import after_reads_done, durable_writes_pending
from app.extensions import db
from app.health import readiness_problems
from app.security.access import AccessDenied
from app.web import compression, edge, filters, headers
from app.web.api import routes as api
from app.web.htmx import render, wants_fragment


def init_app(app: Flask) -> None:
    from app.web.admin.routes import bp as admin_bp
    from app.web.api.routes import bp as api_bp
    from app.web.auth.routes import bp as auth_bp
    from app.web.auth.routes import password_change_gate
    from app.web.citizen.routes import bp as citizen_bp
    from app.web.pwa import bp as pwa_bp
    from app.web.staff.routes import bp as staff_bp

    app.session_interface = headers.SessionInterface()
    _install_template_gettext(app)
    edge.register_converters(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(citizen_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(api_bp)
    if app.config["DEV_IDP_ENABLED"]:
        from app.web.dev_idp.routes import bp as dev_idp_bp

        app.register_blueprint(dev_idp_bp)
        if app.config["NOTICE_DEV_SINK"]:
            from app.web.dev.routes import bp as dev_bp

            app.register_blueprint(dev_bp)

    edge.init_app(app)
    app.before_request(password_change_gate)
    filters.init_app(app)
    compression.init_app(app)
    app.after_request(_finish_transaction)
    app.after_request(headers.apply)
    app.context_processor(_template_globals)
    app.register_error_handler(AccessDenied, _access_denied)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(SecurityError, _untrusted_host)
    # Unhandled exceptions: Flask logs them (and propagates in debug and tests), then
    # answers with a 500 InternalServerError, which _http_error renders.
    app.register_error_handler(HTTPException, _http_error)
    app.add_url_rule("/healthz", "healthz", _healthz)
    app.add_url_rule("/readyz", "readyz", _readyz)


def _translations():
    """The request's catalog, looked up once per locale. Flask-Babel looks it up again for
    every string in a template, through several context lookups: a tenth of a page's time.
    Keyed by Flask-Babel's locale object, so `force_locale` still switches it."""
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    if locale is None:
        return get_translations()
    cached = g.get("_template_translations")
    if cached is None or cached[0] is not locale:
        cached = g._template_translations = (locale, get_translations())
    return cached[1]


def _install_template_gettext(app: Flask) -> None:
    """Templates' _(), gettext() and ngettext() through `_translations`, called directly, with
    the newstyle rules of the i18n extension Flask-Babel installs (the text is a format
    string; autoescaped, its variables are escaped): through Jinja's own wrappers, a page's
    thirty strings cost a tenth of its render. pgettext stays Flask-Babel's."""

    @pass_eval_context
    def gettext(eval_ctx: EvalContext, string: str, /, **variables: object) -> str:
        text = _translations().ugettext(string)
        # The catalogs are the app's own text, trusted as Jinja trusts them; variables escape.
        return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704

    @pass_eval_context
    def ngettext(
        eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: object
    ) -> str:
        variables.setdefault("num", num)
        text = _translations().ungettext(singular, plural, num)
        return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704

    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    best = request.accept_languages.best_match([*languages, "no"], default="nb")
    return "nb" if best == "no" else best


def _finish_transaction(response: Response) -> Response:
    """One commit per request: services flush, the request commits or rolls back.

    A failed response (a refused form, say) may still have shown a resident's data to staff,
    or been a wrong password: such durable writes are made again after the rollback. A read
    request (SQLite) makes its writes after its reads (app/database.py).
    """
    if after_reads_done(db.session, failed=response.status_code >= 400):
        return response
    writes = durable_writes_pending(db.session)
    if response.status_code < 400:
        db.session.commit()
        return response
    db.session.rollback()
    if writes:
        for write in writes:
            write(db.session)
        db.session.commit()
    return response


@lru_cache(maxsize=256)
def _asset_version(static_folder: str, filename: str) -> str:
    path = Path(static_folder) / filename
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def asset(filename: str) -> str:
    """URL of a static file with its content hash, so it can be cached for a year."""
    return _asset_url(request.script_root, current_app.static_folder or "", filename)


@lru_cache(maxsize=256)
def _asset_url(script_root: str, static_folder: str, filename: str) -> str:
    # Five on every page; the same for every request under this script root.
    version = _asset_version(static_folder, filename)
    return url_for("static", filename=filename, v=version)


def _template_globals() -> dict[str, object]:
    return {
        "asset": asset,
        "current_locale": str(get_locale()),
        "shell": g.get("shell"),
    }


def _access_denied(error: AccessDenied) -> Response:
    if api.is_api_request():
        return api.access_denied(error)
    db.session.rollback()
    if error.hide_existence:
        return render("errors/404.html", status=404)
    return _forbidden()


def _forbidden() -> Response:
    """403 inside the user's own shell (top bar, menu, navigation): never a dead end."""
    from app.web.citizen.shell import ResidentShell, resident_shell_for
    from app.web.staff.shell import StaffShell

    shell = g.get("shell")
    if shell is None and current_user.is_authenticated:
        if current_user.is_staff:
            shell = StaffShell(actor=current_user)
        elif current_user.digitally_active:
            shell = resident_shell_for(current_user)
        g.shell = shell
    layout = (
        "citizen/layout.html"
        if isinstance(shell, ResidentShell)
        else "staff/layout.html"
        if isinstance(shell, StaffShell)
        else "errors/layout.html"
    )
    return render("errors/403.html", status=403, layout=layout)


CSRF_EXPIRED = _l("The form has expired")
CSRF_EXPLAINED = _l(
    "For your security, forms work only for a while and only in the window where they were "
    "opened. Go back, reload the page and try again. Nothing was saved."
)


def _csrf_error(error: CSRFError) -> Response:
    db.session.rollback()
    return _problem(400, CSRF_EXPLAINED, title=CSRF_EXPIRED)


PROBLEMS = {
    400: _l("Go back and try again. Nothing was saved."),
    413: _l("What you sent is too large. Shorten it and try again. Nothing was saved."),
    415: _l("This address does not take that kind of request. Nothing was saved."),
}


def _untrusted_host(error: SecurityError) -> Response:
    """A Host outside TRUSTED_HOSTS: no page, since no address may be built from it."""
    db.session.rollback()
    return Response(_("The request was not accepted"), status=400, mimetype="text/plain")


def _http_error(error: HTTPException) -> Response:
    if error.code is None or error.code < 400:
        return error  # type: ignore[return-value]
    if api.is_api_request():
        return api.http_error(error)
    db.session.rollback()
    if error.code in PROBLEMS:
        return _problem(error.code, getattr(error, "message", None) or PROBLEMS[error.code])
    if error.code == 403:
        return _forbidden()
    template = {
        404: "errors/404.html",
        405: "errors/404.html",
        429: "errors/429.html",
        500: "errors/500.html",
    }.get(error.code, "errors/generic.html")
    response = render(template, status=error.code, error=error)
    if error.code == 429 and error.response is not None:
        response.headers.extend(
            {k: v for k, v in error.response.headers.items() if k.startswith("Retry")}
        )
    return response


def _problem(status: int, message: object, *, title: object = None) -> Response:
    """A request refused for what it contained: the page, or in place of the page's main
    content for an htmx request (which would otherwise swap nothing and say nothing)."""
    response = render(
        "errors/problem.html",
        "errors/_problem.html",
        status=status,
        message=message,
        title=title,
    )
    if wants_fragment():
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _healthz() -> Response:
    """Liveness: the process answers (restart it if not). Asks nothing of the database."""
    return Response("ok", mimetype="text/plain")


def _readyz() -> Response:
    """Readiness: the database (at this code's schema) and Redis answer; else 503 and why."""
    problems = readiness_problems(db.session)
    if problems:
        return Response("\n".join(problems) + "\n", status=503, mimetype="text/plain")
    return Response("ready", mimetype="text/plain")
