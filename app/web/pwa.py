"""The installable app: web manifest, service worker (served from the root scope), offline page."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, current_app
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.web import asset
from app.web.htmx import render

bp = Blueprint("pwa", __name__)

# What the service worker keeps for offline use: static files only, never personal pages.
OFFLINE_ASSETS = (
    "css/app.css",
    "js/app.js",
    "js/visits.js",
    "vendor/htmx/htmx-2.0.11.min.js",
    "icons/icon.svg",
    "icons/icon-192.png",
)


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    body = {
        "name": "Hjemmedialog",
        "short_name": "Hjemmedialog",
        "description": _("Digital dialog with the home services of your municipality."),
        "lang": "nb",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f3f5f7",
        "theme_color": "#0b4f6c",
        "icons": [
            {"src": asset("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": asset("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": asset("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": asset("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/sw.js")
def service_worker() -> Response:
    source = (Path(current_app.static_folder) / "sw.js").read_text(encoding="utf-8")
    assets = [asset(name) for name in OFFLINE_ASSETS]
    version = "-".join(url.rsplit("=", 1)[-1] for url in assets)[:64]
    body = source.replace("__VERSION__", version).replace(
        "__ASSETS__", ", ".join(json.dumps(url) for url in assets)
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline")
def offline() -> Response:
    return render("offline.html")
