"""Every htmx URL is a real page: full page normally, the fragment for htmx swaps."""

from __future__ import annotations

from typing import Any

from flask import redirect as flask_redirect
from flask import render_template, request
from werkzeug.wrappers import Response


def wants_fragment() -> bool:
    """An htmx swap, not a boosted navigation or a history restore (those need the page)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-History-Restore-Request") != "true"
        and headers.get("HX-Boosted") != "true"
    )


def render(
    page_template: str, fragment: str | None = None, /, *, status: int = 200, **context: Any
) -> Response:
    template = fragment if fragment and wants_fragment() else page_template
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    response.vary.add("HX-Request")
    return response


def redirect(location: str) -> Response:
    """After a state change: HX-Redirect for htmx, 303 See Other for plain forms."""
    if request.headers.get("HX-Request") == "true":
        response = Response(status=204)
        response.headers["HX-Redirect"] = location
        response.vary.add("HX-Request")
        return response
    return flask_redirect(location, code=303)
