"""Compression, and the caching of static files (docs/quality.md P4, S3)."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest
from flask import Response

from app.config import PROJECT_ROOT
from app.web import compression

STATIC = PROJECT_ROOT / "app" / "static"
TOKEN = re.compile(r'"X-CSRFToken": "[^"]+"')


def decode(response) -> bytes:
    data = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(data)
    if encoding == "gzip":
        return gzip.decompress(data)
    assert encoding is None, encoding
    return data


def page_text(response) -> str:
    """The page without its CSRF token, whose signature holds the time in seconds."""
    return TOKEN.sub("", decode(response).decode())


def versioned(client, filename: str) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(rf'"(/static/{re.escape(filename)}\?v=[0-9a-f]+)"', html).group(1)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_are_compressed_when_the_client_asks(client, db, login, world, encoding):
    login.resident(world.resident)
    plain = client.get("/messages")
    compressed = client.get("/messages", headers={"Accept-Encoding": f"{encoding}, identity"})
    assert "Content-Encoding" not in plain.headers
    assert compressed.headers["Content-Encoding"] == encoding
    assert int(compressed.headers["Content-Length"]) == len(compressed.get_data())
    assert len(compressed.get_data()) < len(plain.get_data()) / 2
    assert page_text(compressed) == page_text(plain)
    for response in (plain, compressed):
        assert "Accept-Encoding" in response.headers["Vary"]
        assert response.headers["Cache-Control"] == "no-store"


def test_brotli_is_chosen_when_both_are_welcome(client, db):
    response = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] == "br"
    response = client.get("/", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.headers["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("accept", [None, "identity", "deflate", "zstd"])
def test_no_compression_the_client_did_not_ask_for(client, db, accept):
    headers = {"Accept-Encoding": accept} if accept else {}
    response = client.get("/", headers=headers)
    assert "Content-Encoding" not in response.headers
    assert "<html" in response.get_data(as_text=True)
    assert "Accept-Encoding" in response.headers["Vary"]


def test_htmx_fragments_are_compressed(client, db, login, demo):
    login.staff(demo["staff"]["siri"])
    headers = {"HX-Request": "true", "Accept-Encoding": "gzip"}
    fragment = client.get("/staff/threads", headers=headers)
    assert fragment.status_code == 200
    body = decode(fragment).decode()
    assert "<html" not in body and len(body) >= 500
    assert fragment.headers["Content-Encoding"] == "gzip"
    assert {"HX-Request", "Accept-Encoding"} <= set(
        v.strip() for v in fragment.headers["Vary"].split(",")
    )


def test_small_responses_are_sent_as_they_are(client, db):
    response = client.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert response.get_data() == b"ok"
    assert "Content-Encoding" not in response.headers


def test_pages_asked_for_by_another_site_are_not_compressed(client, db):
    """BREACH: a page's size must not be measurable for requests another site makes."""
    for site in ("cross-site", "same-site"):
        response = client.get("/", headers={"Accept-Encoding": "br", "Sec-Fetch-Site": site})
        assert "Content-Encoding" not in response.headers, site
        assert "Accept-Encoding" in response.headers["Vary"]
    for site in ("same-origin", "none"):
        response = client.get("/", headers={"Accept-Encoding": "br", "Sec-Fetch-Site": site})
        assert response.headers["Content-Encoding"] == "br", site


def test_errors_and_redirects_are_not_compressed(client, db):
    missing = client.get("/finnes-ikke", headers={"Accept-Encoding": "gzip"})
    assert missing.status_code == 404 and "Content-Encoding" not in missing.headers
    redirect = client.get("/messages", headers={"Accept-Encoding": "gzip"})
    assert redirect.status_code == 302 and "Content-Encoding" not in redirect.headers


def test_streamed_responses_pass_as_they_are(app, db):
    """A download sent in pieces (a file, an export) keeps its body and length."""
    with app.test_request_context("/export", headers={"Accept-Encoding": "br, gzip"}):
        for mimetype in ("text/csv", "text/html"):
            streamed = Response(iter([b"a;b\n" * 400]), mimetype=mimetype)
            result = compression.apply(streamed)
            assert "Content-Encoding" not in result.headers
            assert result.get_data() == b"a;b\n" * 400


def test_compression_can_be_left_to_a_proxy(app, client, db):
    app.config["COMPRESS_RESPONSES"] = False
    try:
        page = client.get("/", headers={"Accept-Encoding": "br, gzip"})
        css = client.get(versioned(client, "css/app.css"), headers={"Accept-Encoding": "br"})
    finally:
        app.config["COMPRESS_RESPONSES"] = True
    assert "Content-Encoding" not in page.headers
    assert "Content-Encoding" not in css.headers
    css.close()


@pytest.mark.parametrize("encoding", ["br", "gzip"])
@pytest.mark.parametrize("filename", ["css/app.css", "vendor/htmx/htmx-2.0.11.min.js", "js/app.js"])
def test_static_files_are_compressed(client, db, filename, encoding):
    url = versioned(client, filename)
    response = client.get(url, headers={"Accept-Encoding": encoding})
    assert response.headers["Content-Encoding"] == encoding
    assert decode(response) == (STATIC / filename).read_bytes()
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert "Accept-Ranges" not in response.headers
    assert "Accept-Encoding" in response.headers["Vary"]
    # Made once per process: the second answer is the same bytes.
    again = client.get(url, headers={"Accept-Encoding": encoding})
    assert again.get_data() == response.get_data()


@pytest.mark.parametrize("filename", ["icons/apple-touch-icon.png", "icons/icon.svg"])
def test_images_compressed_already_or_small_are_sent_as_they_are(client, db, filename):
    """PNG is compressed already; the SVG icon is below the smallest size worth it."""
    response = client.get(versioned(client, filename), headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == (STATIC / filename).read_bytes()
    response.close()


def test_head_of_a_static_file_says_what_get_would_send(client, db):
    url = versioned(client, "css/app.css")
    get = client.get(url, headers={"Accept-Encoding": "gzip"})
    head = client.head(url, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.get_data() == b""
    for name in ("Content-Encoding", "Content-Length", "ETag", "Cache-Control"):
        assert head.headers[name] == get.headers[name], name


@pytest.mark.parametrize("accept", ["br", "gzip", None])
def test_static_files_answer_304_when_unchanged(client, db, accept):
    headers = {"Accept-Encoding": accept} if accept else {}
    first = client.get("/static/css/app.css", headers=headers)
    etag = first.headers["ETag"]
    first.close()
    if accept:
        assert etag.endswith(f':{accept}"')
    again = client.get("/static/css/app.css", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["Cache-Control"] == "no-cache"
    again.close()
    # Another encoding's ETag is another body: sent in full.
    other = client.get(
        "/static/css/app.css", headers={"Accept-Encoding": "br", "If-None-Match": '"x:gzip"'}
    )
    assert other.status_code == 200
    other.close()


def test_static_caching_a_year_only_with_a_version(client, db):
    versioned_css = client.get(versioned(client, "css/app.css"))
    assert versioned_css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    versioned_css.close()
    plain = client.get("/static/css/app.css")
    assert plain.headers["Cache-Control"] == "no-cache"
    plain.close()


def test_the_service_worker_is_never_cached_long(client, db):
    response = client.get("/sw.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Cache-Control"] == "no-store"
    assert "/static/css/app.css?v=" in decode(response).decode()


def test_the_manifest_names_versioned_icons(client, db):
    response = client.get("/manifest.webmanifest")
    icons = response.get_json()["icons"]
    assert icons and all(re.search(r"^/static/.+\?v=[0-9a-f]{10}$", i["src"]) for i in icons)


def referenced(html: str) -> list[str]:
    """Every address of a <link> or <script>, and every /static/ address in the page."""
    tags = re.findall(r"<(?:link|script)\b[^>]*?\b(?:href|src)=\"([^\"]+)\"", html)
    return [*tags, *re.findall(r"/static/[^\"'\s)]+", html)]


def assert_versioned(html: str, path: str) -> None:
    urls = referenced(html)
    assert any(u.startswith("/static/css/app.css?v=") for u in urls), path
    for url in urls:
        if url == "/manifest.webmanifest":
            continue  # made by the app, with its icons versioned; see above
        assert re.fullmatch(r"/static/[\w./-]+\?v=[0-9a-f]{10}", url), (path, url)


def test_every_resident_page_links_versioned_files(client, db, login, world):
    for path in ("/", "/auth/logged-out", "/auth/frontchannel-logout", "/staff/login", "/offline"):
        assert_versioned(client.get(path).get_data(as_text=True), path)
    login.resident(world.resident)
    for path in ("/messages", "/appointments", "/contacts", "/profile"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_versioned(response.get_data(as_text=True), path)


def test_every_staff_page_links_versioned_files(client, db, login, world):
    login.staff(world.coordinator)
    for path in ("/staff/", "/staff/threads", "/staff/visits", "/staff/passkeys"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert_versioned(response.get_data(as_text=True), path)
