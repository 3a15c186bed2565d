"""Every htmx URL is a real page: the fragment for swaps, the full page otherwise."""

from __future__ import annotations

from app.web.htmx import redirect, render, wants_fragment


def test_render_gives_the_page_without_hx_request(app, db):
    with app.test_request_context("/"):
        response = render("errors/404.html", "_flashes.html")
    assert "<html" in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]


def test_render_gives_the_fragment_for_an_htmx_swap(app, db):
    with app.test_request_context("/", headers={"HX-Request": "true"}):
        assert wants_fragment()
        response = render("errors/404.html", "_language.html")
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'class="language"' in body
    assert "HX-Request" in response.headers["Vary"]


def test_history_restore_and_boosted_requests_get_the_full_page(app, db):
    for extra in ({"HX-History-Restore-Request": "true"}, {"HX-Boosted": "true"}):
        with app.test_request_context("/", headers={"HX-Request": "true", **extra}):
            assert not wants_fragment()
            body = render("errors/404.html", "_language.html").get_data(as_text=True)
        assert "<html" in body


def test_redirect_after_a_form_or_an_htmx_request(app, db):
    with app.test_request_context("/", method="POST"):
        plain = redirect("/messages")
    assert plain.status_code == 303 and plain.headers["Location"] == "/messages"
    with app.test_request_context("/", method="POST", headers={"HX-Request": "true"}):
        swap = redirect("/messages")
    assert swap.status_code == 204 and swap.headers["HX-Redirect"] == "/messages"


def test_htmx_is_vendored_pinned_and_licensed(app):
    from pathlib import Path

    vendor = Path(app.static_folder) / "vendor" / "htmx"
    assert (vendor / "htmx-2.0.11.min.js").read_text().find('version:"2.0.11"') > 0
    assert "Zero-Clause BSD" in (vendor / "LICENSE").read_text()
