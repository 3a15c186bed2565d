"""The app refuses to start with configuration that is missing, unknown or unsafe."""

from __future__ import annotations

import pytest

from app import config as settings
from app import create_app
from app.config import ProductionConfig

PRODUCTION = {
    "SECRET_KEY": "x" * 32,
    "OIDC_ISSUER": "https://idporten.example",
    "OIDC_CLIENT_ID": "hjemmedialog",
    "TRUSTED_HOSTS": "hjemmedialog.example",
}


@pytest.fixture
def production_env(monkeypatch):
    for name in ("DEV_IDP_ENABLED", "NOTICE_DEV_SINK", "OIDC_TOKEN_AUTH_METHOD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_a_complete_production_configuration_starts(production_env):
    ProductionConfig().validate()


@pytest.mark.parametrize("switch", ["DEV_IDP_ENABLED", "NOTICE_DEV_SINK"])
def test_the_test_provider_and_dev_outbox_cannot_be_switched_on_in_production(
    production_env, switch
):
    """The test provider lets anyone log in as anyone; /dev/outbox shows every notice."""
    production_env.setenv(switch, "true")
    with pytest.raises(RuntimeError, match=switch):
        create_app(ProductionConfig())


def test_production_needs_the_trusted_host_names(production_env):
    production_env.delenv("TRUSTED_HOSTS")
    with pytest.raises(RuntimeError, match="TRUSTED_HOSTS"):
        create_app(ProductionConfig())


def test_trusted_host_names_are_a_comma_separated_list(production_env):
    production_env.setenv("TRUSTED_HOSTS", " hjemmedialog.example, .andeby.example ,")
    assert ProductionConfig().TRUSTED_HOSTS == ["hjemmedialog.example", ".andeby.example"]


def test_development_and_tests_trust_the_local_names_only(monkeypatch):
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    assert settings.TestConfig().TRUSTED_HOSTS == ["localhost", "127.0.0.1"]


@pytest.mark.parametrize("method", ["client_secret_jwt", "none", "private-key-jwt", "tls"])
def test_an_unknown_token_auth_method_is_refused_at_start_up(production_env, method):
    production_env.setenv("OIDC_TOKEN_AUTH_METHOD", method)
    with pytest.raises(RuntimeError, match="OIDC_TOKEN_AUTH_METHOD"):
        create_app(ProductionConfig())


def test_private_key_jwt_needs_a_key_and_its_id(production_env):
    production_env.setenv("OIDC_TOKEN_AUTH_METHOD", "private_key_jwt")
    with pytest.raises(RuntimeError, match="OIDC_CLIENT_KEY_PATH, OIDC_CLIENT_KEY_ID"):
        create_app(ProductionConfig())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot be read"),
        (b"not a key", "no RSA or EC private key"),
    ],
)
def test_private_key_jwt_with_a_key_that_cannot_be_used_is_refused_at_start_up(
    monkeypatch, tmp_path, content, message
):
    path = tmp_path / "client-key.pem"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("OIDC_TOKEN_AUTH_METHOD", "private_key_jwt")
    monkeypatch.setenv("OIDC_CLIENT_KEY_PATH", str(path))
    monkeypatch.setenv("OIDC_CLIENT_KEY_ID", "k1")
    with pytest.raises(RuntimeError, match=message):
        create_app(settings.TestConfig())


def test_private_key_jwt_refuses_a_public_key(monkeypatch, tmp_path):
    from joserfc.jwk import ECKey

    path = tmp_path / "client-key.pem"
    path.write_bytes(ECKey.generate_key("P-256").as_pem(private=False))
    monkeypatch.setenv("OIDC_TOKEN_AUTH_METHOD", "private_key_jwt")
    monkeypatch.setenv("OIDC_CLIENT_KEY_PATH", str(path))
    monkeypatch.setenv("OIDC_CLIENT_KEY_ID", "k1")
    with pytest.raises(RuntimeError, match="public key"):
        create_app(settings.TestConfig())
