"""Security and caching headers on every response."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.wrappers import Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'{extra}"
)


def allow_form_target(origin: str) -> None:
    """Let this page's forms lead to another origin (the identity provider's redirect)."""
    g.csp_form_origins = (*g.get("csp_form_origins", ()), origin)


def apply(response: Response) -> Response:
    h = response.headers
    extra = "".join(f" {origin}" for origin in g.get("csp_form_origins", ()))
    h.setdefault("Content-Security-Policy", CSP.format(extra=extra))
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if current_app.config.get("HSTS"):
        h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.endpoint == "static":
        if request.args.get("v"):
            h["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            h["Cache-Control"] = "no-cache"
    else:
        # Pages can hold personal data: never stored by the browser or a proxy.
        h["Cache-Control"] = "no-store"
        h.setdefault("Pragma", "no-cache")
    return response
