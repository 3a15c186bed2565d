"""Security and caching headers on every response."""

from __future__ import annotations

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.wrappers import Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors {ancestors}; form-action 'self'{extra}"
)
# Kept in the session cookie from log-in to log-out: where this browser's forms may lead.
SESSION_FORM_ORIGINS = "csp_form_origins"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, left out of static files' responses.

    Static files are the same for everyone: they carry no Set-Cookie and no `Vary: Cookie`,
    which Flask adds whenever the session was touched (Flask-Login's after-request function
    touches it on every response), and which would keep shared caches from storing them.
    """

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.endpoint == "static":
            return
        super().save_session(app, session, response)


def allow_form_target(origin: str) -> None:
    """Let this page's forms lead to another origin (the identity provider's redirect)."""
    g.csp_form_origins = (*g.get("csp_form_origins", ()), origin)


def remember_form_target(origin: str) -> None:
    """Let every page's forms lead to `origin` until the session ends.

    A resident's log-out form ends in a redirect to the identity provider's end-session
    page, and CSP `form-action` applies to a form's redirects too (Chromium enforces it).
    """
    known = list(session.get(SESSION_FORM_ORIGINS) or [])
    if origin not in known:
        session[SESSION_FORM_ORIGINS] = [*known, origin]


def allow_framing_by(origins: list[str]) -> None:
    """Let these origins (and no others) show this response in a frame."""
    g.csp_frame_ancestors = tuple(origins)


def apply(response: Response) -> Response:
    h = response.headers
    static = request.endpoint == "static"
    origins = [*g.get("csp_form_origins", ())]
    if not static:  # a static file is the same for every session
        origins += session.get(SESSION_FORM_ORIGINS) or ()
    extra = "".join(f" {origin}" for origin in dict.fromkeys(origins))
    framers = g.get("csp_frame_ancestors")
    ancestors = " ".join(framers) if framers else "'none'"
    h.setdefault("Content-Security-Policy", CSP.format(ancestors=ancestors, extra=extra))
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    if not framers:
        h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if current_app.config.get("HSTS"):
        h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if static:
        if request.args.get("v"):
            h["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            h["Cache-Control"] = "no-cache"
    else:
        # Pages can hold personal data: never stored by the browser or a proxy.
        h["Cache-Control"] = "no-store"
        h.setdefault("Pragma", "no-cache")
    return response
