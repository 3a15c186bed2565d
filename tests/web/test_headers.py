"""Security headers, caching and CSRF on every response (docs/quality.md R2)."""

from __future__ import annotations

import re

import pytest

from tests.support import csrf_token


def test_content_security_policy_has_no_unsafe_sources(client, db):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp and "object-src 'none'" in csp


def test_pages_have_no_inline_scripts_or_styles(client, db, login, world):
    login.resident(world.resident)
    for path in ("/", "/messages", "/contacts", "/profile", "/auth/logged-out"):
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and " style=" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers


def test_personal_pages_are_never_stored(client, db, login, world):
    login.resident(world.resident)
    response = client.get("/messages")
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_with_a_version_are_cached_for_a_year(client, db):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', html).group(1)
    response = client.get(css)
    assert "immutable" in response.headers["Cache-Control"]
    response.close()


@pytest.mark.parametrize("who", ["anonymous", "resident", "staff"])
def test_static_files_carry_no_cookie(client, db, login, world, who):
    """The same for everyone: no Set-Cookie, and no `Vary: Cookie` to keep caches off."""
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', html).group(1)
    if who == "resident":
        login.resident(world.resident)
    elif who == "staff":
        login.staff(world.employee)
    for url in (css, "/static/js/app.js"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert "Cookie" not in response.headers.get("Vary", ""), url
        assert "Set-Cookie" not in response.headers, url
        response.close()


def test_other_protective_headers(client, db):
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_hsts_when_cookies_are_secure(app, client, db):
    assert "Strict-Transport-Security" not in client.get("/").headers  # plain-HTTP test config
    app.config["HSTS"] = True
    try:
        assert "max-age=" in client.get("/").headers["Strict-Transport-Security"]
    finally:
        app.config["HSTS"] = False


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/auth/logout", {}),
        ("/language", {"lang": "en"}),
        ("/act-for", {"person_id": "1"}),
        ("/staff/login", {"username": "x", "password": "y"}),
        ("/auth/consent", {"accept": "y"}),
        ("/staff/unit", {"unit_id": "1"}),
    ],
)
def test_every_state_change_needs_a_csrf_token(client, db, login, world, path, data):
    login.resident(world.resident)
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "Skjemaet er utløpt" in response.get_data(as_text=True)


def test_csrf_token_in_the_htmx_header_is_accepted(client, db, login, world):
    login.resident(world.proxy)
    token = csrf_token(client, "/messages")
    response = client.post(
        "/act-for",
        data={"person_id": world.resident.id},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 204


def test_every_page_carries_the_csrf_token_for_htmx(client, db, login, world):
    login.resident(world.resident)
    html = client.get("/messages").get_data(as_text=True)
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'>", html)


def test_unknown_pages_answer_404_in_norwegian(client, db):
    response = client.get("/finnes-ikke")
    assert response.status_code == 404
    assert "Vi fant ikke siden" in response.get_data(as_text=True)


def test_an_unexpected_error_gives_a_calm_500_page(app, client, db, monkeypatch):
    from app.web.auth import routes

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(routes, "render", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.get("/")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert "Noe gikk galt hos oss" in response.get_data(as_text=True)
