"""Small helpers for views."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(value: str | None, default: str) -> str:
    """A local path to continue to, never another site."""
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value:
        return default
    return value
