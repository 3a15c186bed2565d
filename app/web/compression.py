"""Compressed responses: brotli or gzip, as the request's Accept-Encoding asks.

- Pages, htmx fragments, JSON, the manifest and the service worker: Flask-Compress, at
  levels cheap on CPU (gzip 6, brotli 4), from COMPRESS_MIN_SIZE bytes, 2xx only. Only for
  requests that come from the app's own pages or from the user (`Sec-Fetch-Site` same-origin
  or none; or no such header, from browsers older than 2023): a page another site makes the
  browser load is sent uncompressed, so its size cannot be used to guess a secret in it
  (BREACH; docs/quality.md R2).
- Static files: compressed at the best quality once per process and kept in memory (they
  are few and small), sent with their length and an ETag per encoding, so a conditional
  request still gets 304.
- Streamed responses (a file sent in pieces) pass as they are.

Every response says `Vary: Accept-Encoding`. COMPRESS_RESPONSES=false turns it all off, for
a reverse proxy that compresses.
"""

from __future__ import annotations

import gzip
import threading

import brotli
from flask import Flask, current_app, request
from flask_compress import Compress
from werkzeug.wrappers import Response

# What is worth compressing; images other than SVG and fonts are compressed already.
MIMETYPES = (
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
    "text/plain",
)
ENCODINGS = ("br", "gzip")
# Sec-Fetch-Site values of requests whose responses may be compressed (BREACH).
OWN_REQUESTS = frozenset({"same-origin", "none"})

compress = Compress()
_static_cache: dict[tuple[str, str, str], bytes] = {}
_static_lock = threading.Lock()
STATIC_CACHE_ENTRIES = 64


def init_app(app: Flask) -> None:
    """Register before the web layer's other after-request functions: Flask runs them in
    reverse, so this one runs after the commit and the headers, when the body is final."""
    app.config.update(
        COMPRESS_REGISTER=False,  # called from `apply` below, not on its own
        COMPRESS_MIMETYPES=list(MIMETYPES),
        COMPRESS_ALGORITHM=list(ENCODINGS),
        COMPRESS_LEVEL=6,
        COMPRESS_BR_LEVEL=4,
        COMPRESS_MIN_SIZE=500,
        COMPRESS_STREAMS=False,
    )
    compress.init_app(app)
    app.after_request(apply)


def apply(response: Response) -> Response:
    if not current_app.config["COMPRESS_RESPONSES"]:
        return response
    if request.endpoint == "static":
        _compress_static(response)
    elif request.headers.get("Sec-Fetch-Site", "none") not in OWN_REQUESTS:
        # Pages are never stored (Cache-Control: no-store), so no cache needs to know
        # that the encoding also depends on Sec-Fetch-Site.
        response.vary.add("Accept-Encoding")
        return response
    return compress.after_request(response)


def _compress_static(response: Response) -> None:
    """Replace a whole static file's body with its compressed form, made once per process."""
    if (
        response.status_code != 200
        or response.mimetype not in MIMETYPES
        or "Content-Encoding" in response.headers
        or response.content_length is None
        or response.content_length < current_app.config["COMPRESS_MIN_SIZE"]
    ):
        return
    encoding = request.accept_encodings.best_match(ENCODINGS)
    etag, weak = response.get_etag()
    if encoding is None or etag is None or weak:
        return
    key = (request.path, etag, encoding)
    file = response.response
    body = _static_cache.get(key)
    if body is None:
        response.direct_passthrough = False
        body = _encode(response.get_data(), encoding)
        with _static_lock:
            if len(_static_cache) >= STATIC_CACHE_ENTRIES:
                _static_cache.clear()  # files changed on disk (development)
            _static_cache[key] = body
    if hasattr(file, "close"):
        file.close()
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = encoding
    response.headers.pop("Accept-Ranges", None)  # ranges of the file, not of this body
    response.set_etag(f"{etag}:{encoding}")
    response.vary.add("Accept-Encoding")
    response.make_conditional(request)


def _encode(data: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return brotli.compress(data, quality=11)
    return gzip.compress(data, compresslevel=9, mtime=0)
