"""The app answers only to its configured host names (TRUSTED_HOSTS).

A request naming another host gets 400 before any view runs, so no link, redirect or
address sent to the identity provider is ever built from a Host header someone else chose.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.security.oidc_support import DISCOVERY, FakeProvider

FOREIGN = {"Host": "evil.example"}


@pytest.mark.parametrize("path", ["/", "/auth/logged-out", "/staff/login", "/healthz"])
def test_a_request_for_a_foreign_host_gets_400(client, db, path):
    response = client.get(path, headers=FOREIGN)
    assert response.status_code == 400


def test_a_foreign_host_with_a_trusted_name_in_front_gets_400(client, db):
    assert client.get("/", headers={"Host": "localhost.evil.example"}).status_code == 400


def test_the_configured_names_are_answered_on_any_port(client, db):
    for host in ("localhost", "127.0.0.1:5000", "localhost:8443"):
        assert client.get("/", headers={"Host": host}).status_code == 200, host


def test_log_in_never_sends_the_provider_back_to_a_foreign_host(app, client, db):
    """The callback address sent to the provider comes only from a trusted name."""
    import responses

    cache = app.extensions["oidc"].provider
    cache.forget()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeProvider(mock, cache)
        refused = client.get("/auth/login", headers=FOREIGN)
        assert refused.status_code == 400
        assert not any(call.request.url == DISCOVERY for call in mock.calls)
        accepted = client.get("/auth/login", headers={"Host": "127.0.0.1:5000"})
    cache.forget()
    redirect_uri = parse_qs(urlsplit(accepted.location).query)["redirect_uri"][0]
    assert redirect_uri == "http://127.0.0.1:5000/auth/callback"


def test_log_out_from_a_foreign_host_is_refused(client, db, login, world):
    login.resident(world.resident)
    response = client.post("/auth/logout", headers=FOREIGN)
    assert response.status_code == 400
    assert client.get("/messages").status_code == 200  # nothing happened
