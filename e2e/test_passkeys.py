"""Siri adds a passkey with Chromium's virtual authenticator and logs in with it alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, CDPSession, Page, expect

from e2e.conftest import DEVICES, A11y, LiveServer
from e2e.journeys import log_in_staff


@pytest.fixture
def page(browser: Browser, server: LiveServer, device: str, a11y: A11y) -> Iterator[Page]:
    """As e2e/conftest.py's page, on `localhost`: an IP address cannot be a passkey's RP id."""
    context = browser.new_context(
        base_url=server.url.replace("127.0.0.1", "localhost"),
        locale="nb-NO",
        timezone_id="Europe/Oslo",
        **DEVICES[device],
    )
    context.set_default_timeout(10_000)
    page = context.new_page()

    def remember(frame) -> None:
        if frame == page.main_frame and frame.url.startswith("http"):
            a11y.visited.append(frame.url)

    page.on("framenavigated", remember)
    yield page
    context.close()
    missing = a11y.unchecked()
    assert not missing, f"pages visited without an axe-core check: {missing}"


def virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    """A platform authenticator with resident keys that verifies the user at once."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_siri_adds_a_passkey_and_logs_in_with_it_alone(page: Page, a11y: A11y):
    cdp, authenticator = virtual_authenticator(page)
    log_in_staff(page, a11y, "siri")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    a11y.check(page)

    page.get_by_role("link", name="Passnøkler").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Passnøkler")
    expect(page.get_by_text("Du har ingen passnøkler ennå.")).to_be_visible()
    a11y.check(page)
    page.get_by_label("Navn på passnøkkelen").fill("Jobbtelefon")
    with page.expect_navigation():
        page.get_by_role("button", name="Legg til passnøkkel", exact=True).click()
    expect(page.get_by_text("Passnøkkelen Jobbtelefon er lagt til.")).to_be_visible()
    expect(page.get_by_role("heading", name="Jobbtelefon")).to_be_visible()
    expect(page.get_by_text("Ikke brukt ennå.")).to_be_visible()
    a11y.check(page, "with the new passkey")
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    assert credential["isResidentCredential"]

    page.get_by_role("button", name="Logg ut").click()
    page.wait_for_url("**/auth/logged-out")
    a11y.check(page)

    page.goto("/staff/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg inn for ansatte")
    a11y.check(page)
    with page.expect_navigation(url="**/staff/"):
        page.get_by_role("button", name="Logg inn med passnøkkel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    expect(page.locator(".staff-name")).to_have_text("Siri Berg")
    a11y.check(page, "after the passkey log-in")

    page.get_by_role("link", name="Passnøkler").click()
    expect(page.get_by_text("Sist brukt")).to_be_visible()
    a11y.check(page, "after the passkey was used")


def test_without_passkeys_in_the_browser_the_button_explains(page: Page, a11y: A11y):
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto("/staff/login")
    a11y.check(page)
    page.get_by_role("button", name="Logg inn med passnøkkel").click()
    expect(page.get_by_role("alert")).to_contain_text("krever en nettleser med passnøkler")
    expect(page.get_by_label("Brukernavn")).to_be_visible()
    a11y.check(page, "with the explanation")
