"""The stand-in OpenID provider for the security tests (see oidc_support)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import responses
from flask import Flask

from tests.security.oidc_support import FakeProvider


@pytest.fixture
def provider(app: Flask) -> Iterator[FakeProvider]:
    cache = app.extensions["oidc"].provider
    cache.forget()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeProvider(mock, cache)
    cache.clock = time.monotonic
    cache.forget()
