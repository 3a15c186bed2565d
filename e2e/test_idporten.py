"""Log-in and log-out against a real, independent OpenID provider set up as ID-porten (R12).

The provider is panva's oidc-provider (OpenID Certified), installed from npm by
`make test` into e2e/idporten/ and started here with node beside the app; its small
log-in page asks for a fødselsnummer and a level. The app talks to it as it talks to
ID-porten: PKCE, acr_values, pid, `iss` in the answer, private_key_jwt, RP-initiated,
front-channel and back-channel log-out, and keys that rotate.

These journeys do not depend on the database, so they run once: as a desktop, on the
SQLite pass. One provider and one app server serve the whole module.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from joserfc.jwk import ECKey
from playwright.sync_api import Page, expect

from e2e.conftest import ROOT, A11y, DemoDatabase, LiveServer, _base_env, live_server
from e2e.journeys import person_menu
from tests.databases import postgres_url
from tests.support import free_port, wait_for

pytestmark = pytest.mark.skipif(
    postgres_url() is not None,
    reason="the provider journeys do not depend on the database: they run on the SQLite pass",
)

PROVIDER_DIR = ROOT / "e2e" / "idporten"
KARI = "12833810241"
CLIENT_ID = "hjemmedialog"
CLIENT_KEY_ID = "hjemmedialog-e2e"
HIGH = "Høyt (idporten-loa-high)"
SUBSTANTIAL = "Betydelig (idporten-loa-substantial)"


@dataclass
class IdPorten:
    url: str
    control_token: str
    log: Path

    def configure(self, **change: object) -> None:
        """Change the client's registration or rotate the signing key (see provider.mjs)."""
        response = requests.post(
            f"{self.url}/_test/configure",
            json=change,
            headers={"X-Control-Token": self.control_token},
            timeout=10,
        )
        response.raise_for_status()


@pytest.fixture(scope="module", params=["desktop"])
def device(request: pytest.FixtureRequest) -> str:
    """Once, as a desktop (overrides the phone-and-desktop default)."""
    return request.param


@pytest.fixture(scope="module")
def app_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The app's private_key_jwt key (EC P-256): PEM for the app, public JWK for the provider."""
    key = ECKey.generate_key("P-256", parameters={"kid": CLIENT_KEY_ID, "use": "sig"})
    path = tmp_path_factory.mktemp("client-key") / "client-key.pem"
    path.write_bytes(key.as_pem(private=True))
    return path, key.as_dict(private=False)


@pytest.fixture(scope="module")
def idporten(
    app_url: str, client_key: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IdPorten]:
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the provider is not installed: run `make test-e2e` (npm ci in e2e/idporten)")
    tmp = tmp_path_factory.mktemp("idporten")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = {
        "port": port,
        "control_token": secrets.token_urlsafe(16),
        "client": {
            "client_id": CLIENT_ID,
            "redirect_uri": f"{app_url}/auth/callback",
            "post_logout_redirect_uri": f"{app_url}/auth/logged-out",
            "frontchannel_logout_uri": f"{app_url}/auth/frontchannel-logout",
            "backchannel_logout_uri": f"{app_url}/auth/backchannel-logout",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks": {"keys": [client_key[1]]},
        },
    }
    (tmp / "settings.json").write_text(json.dumps(settings))
    log = tmp / "provider.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [node, "provider.mjs", str(tmp / "settings.json")],
            cwd=PROVIDER_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def answering() -> bool:
        try:
            discovery = requests.get(f"{url}/.well-known/openid-configuration", timeout=5)
            return discovery.status_code == 200
        except requests.RequestException:
            return process.poll() is not None  # stop waiting: it has exited

    if not wait_for(answering, 30, 0.1) or process.poll() is not None:
        process.kill()
        process.wait()
        raise RuntimeError(log.read_text())
    yield IdPorten(url, settings["control_token"], log)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def server(
    app_url: str,
    idporten: IdPorten,
    client_key: tuple[Path, dict],
    demo_database: DemoDatabase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """The app as ID-porten's client (overrides the one that uses the test provider)."""
    port = int(app_url.rsplit(":", 1)[1])
    env = _base_env(demo_database.tmp) | {
        "DATABASE_URL": demo_database.copy(),
        "PORT": str(port),
        "TRUSTED_HOSTS": "127.0.0.1",
        "DEV_IDP_ENABLED": "false",
        "NOTICE_DEV_SINK": "false",
        "OIDC_ISSUER": idporten.url,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_TOKEN_AUTH_METHOD": "private_key_jwt",
        "OIDC_CLIENT_KEY_PATH": str(client_key[0]),
        "OIDC_CLIENT_KEY_ID": CLIENT_KEY_ID,
        "OIDC_REDIRECT_URI": f"{app_url}/auth/callback",
        "OIDC_POST_LOGOUT_REDIRECT_URI": f"{app_url}/auth/logged-out",
        # The journeys rotate keys seconds apart; every failed signature may fetch again.
        "OIDC_KEY_REFRESH_SECONDS": "0",
    }
    # One worker, so the keys it cached before a rotation are the ones it must replace.
    with live_server(env, port, tmp_path_factory.mktemp("server"), workers=1) as running:
        yield running


@pytest.fixture(autouse=True)
def both_channels(idporten: IdPorten) -> None:
    """Each journey starts with the client registered for both log-out channels."""
    idporten.configure(frontchannel=True, backchannel=True)


def at_provider(page: Page, idporten: IdPorten, heading: str) -> None:
    page.wait_for_url(f"{idporten.url}/**")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def provider_log_in(page: Page, a11y: A11y, idporten: IdPorten, level: str = HIGH) -> None:
    """On the provider's log-in page: Kari's fødselsnummer, a level, Logg inn."""
    at_provider(page, idporten, "Logg inn")
    a11y.check(page)
    page.get_by_label("Fødselsnummer").fill(KARI)
    page.get_by_label(level).check()
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(lambda url: not url.startswith(idporten.url))
    page.wait_for_load_state()


def kari_logs_in(page: Page, a11y: A11y, idporten: IdPorten) -> None:
    page.goto("/")
    a11y.check(page)
    page.get_by_role("link", name="Logg inn", exact=True).click()
    provider_log_in(page, a11y, idporten)
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    expect(person_menu(page, "Kari Nordmann")).to_be_visible()
    a11y.check(page)


def logs_in_again_straight_away(page: Page, a11y: A11y, server: LiveServer) -> None:
    """While the provider's session lives, a new log-in comes back without its page."""
    seen = len(a11y.visited)
    page.goto("/auth/login")
    page.wait_for_url(f"{server.url}/messages")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    assert not any("/interaction/" in url for url in a11y.visited[seen:])
    a11y.check(page)


def last_session_ended_by(server: LiveServer) -> object:
    return server.scalar(
        "SELECT end_reason FROM login_session WHERE oidc_sid IS NOT NULL ORDER BY id DESC LIMIT 1"
    )


def test_kari_logs_in_at_level_high_with_private_key_jwt(
    page: Page, a11y: A11y, idporten: IdPorten, server: LiveServer
):
    """The provider accepts only private_key_jwt from this client, so a log-in proves it."""
    kari_logs_in(page, a11y, idporten)
    assert server.scalar(
        "SELECT count(*) FROM login_session WHERE oidc_issuer = :iss AND oidc_sid IS NOT NULL"
        " AND acr = 'idporten-loa-high' AND ended_at IS NULL",
        iss=idporten.url,
    )


def test_level_substantial_is_refused_and_the_provider_asks_again(
    page: Page, a11y: A11y, idporten: IdPorten, server: LiveServer
):
    page.goto("/auth/login")
    provider_log_in(page, a11y, idporten, level=SUBSTANTIAL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Innloggingen mislyktes")
    expect(page.get_by_text("Du må logge inn på høyt sikkerhetsnivå")).to_be_visible()
    a11y.check(page)
    # The provider's session is at the lower level: trying again asks for a new log-in.
    page.get_by_role("link", name="Prøv igjen").click()
    provider_log_in(page, a11y, idporten, level=HIGH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    a11y.check(page)


def test_log_out_ends_the_providers_session_too(
    page: Page, a11y: A11y, idporten: IdPorten, server: LiveServer
):
    kari_logs_in(page, a11y, idporten)
    logs_in_again_straight_away(page, a11y, server)  # the single sign-on is live
    person_menu(page, "Kari Nordmann").click()
    page.get_by_role("button", name="Logg ut").click()
    at_provider(page, idporten, "Logg ut")
    a11y.check(page)
    page.get_by_role("button", name="Logg ut").click()
    page.wait_for_url(f"{server.url}/auth/logged-out?**")
    expect(page.get_by_role("heading", level=1)).to_have_text("Du er logget ut")
    a11y.check(page)
    # The next person at this computer must log in at the provider: no way straight back.
    page.get_by_role("link", name="Logg inn igjen").click()
    a11y.check(page)
    page.get_by_role("link", name="Logg inn", exact=True).click()
    at_provider(page, idporten, "Logg inn")
    a11y.check(page)


def test_the_provider_ends_the_session_by_front_channel(
    page: Page, a11y: A11y, idporten: IdPorten, server: LiveServer
):
    idporten.configure(frontchannel=True, backchannel=False)
    kari_logs_in(page, a11y, idporten)
    # Kari logs out at the provider, as from another service that uses ID-porten.
    page.goto(f"{idporten.url}/session/end")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg ut")
    a11y.check(page)
    page.get_by_role("button", name="Logg ut").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Du er logget ut av ID-porten")
    frame = page.frame_locator("iframe[title='Utlogging fra Hjemmedialog']")
    expect(frame.get_by_text("Du er logget ut av Hjemmedialog.")).to_be_visible()
    a11y.check(page)
    page.goto("/messages")
    expect(page.get_by_role("status")).to_contain_text(
        "innloggingen din med elektronisk ID ble avsluttet"
    )
    a11y.check(page)
    assert last_session_ended_by(server) == "frontchannel"


def test_the_provider_ends_the_session_by_back_channel(
    page: Page, a11y: A11y, idporten: IdPorten, server: LiveServer
):
    idporten.configure(frontchannel=False, backchannel=True)
    kari_logs_in(page, a11y, idporten)
    page.goto(f"{idporten.url}/session/end")
    a11y.check(page)
    page.get_by_role("button", name="Logg ut").click()
    # No frame on the provider's page: the provider told the app server to server.
    expect(page.get_by_role("heading", level=1)).to_have_text("Du er logget ut av ID-porten")
    expect(page.locator("iframe")).to_have_count(0)
    a11y.check(page)
    page.goto("/messages")
    expect(page.get_by_role("status")).to_contain_text(
        "innloggingen din med elektronisk ID ble avsluttet"
    )
    a11y.check(page)
    assert last_session_ended_by(server) == "backchannel"


@pytest.mark.parametrize("rotation", ["new-kid", "same-kid"])
def test_log_in_works_after_the_provider_rotates_its_signing_key(
    page: Page, a11y: A11y, idporten: IdPorten, server: LiveServer, rotation: str
):
    """A new key id is fetched at once; a key replaced under the same key id is fetched
    again after its signature fails once (the app keeps the old key cached until then)."""
    kari_logs_in(page, a11y, idporten)  # the app now holds the provider's current keys
    idporten.configure(rotate=rotation)
    logs_in_again_straight_away(page, a11y, server)  # an ID token signed with the new key
