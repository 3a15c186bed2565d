"""Siri adds a passkey with Chromium's virtual authenticator and logs in with it alone; a
replayed answer, an answer for another origin and a cloned authenticator are refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, CDPSession, Page, Route, expect

from e2e.conftest import DEVICES, A11y, LiveServer
from e2e.journeys import log_in_staff


def new_page(browser: Browser, server: LiveServer, device: str, a11y: A11y) -> Page:
    """A browser context of its own (a device), on `localhost`: an IP address cannot be a
    passkey's RP id."""
    context = browser.new_context(
        base_url=server.url.replace("127.0.0.1", "localhost"),
        locale="nb-NO",
        timezone_id="Europe/Oslo",
        **DEVICES[device],
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on(
        "framenavigated",
        lambda frame: (
            a11y.visited.append(frame.url)
            if frame == page.main_frame and frame.url.startswith("http")
            else None
        ),
    )
    return page


@pytest.fixture
def page(browser: Browser, server: LiveServer, device: str, a11y: A11y) -> Iterator[Page]:
    """As e2e/conftest.py's page, on `localhost`: an IP address cannot be a passkey's RP id."""
    page = new_page(browser, server, device, a11y)
    yield page
    page.context.close()
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


REFUSED = "Passnøkkelen ble ikke godtatt"


def add_passkey(page: Page, a11y: A11y, username: str, name: str) -> None:
    log_in_staff(page, a11y, username)
    a11y.check(page)
    page.get_by_role("link", name="Passnøkler").click()
    page.get_by_label("Navn på passnøkkelen").fill(name)
    with page.expect_navigation():
        page.get_by_role("button", name="Legg til passnøkkel", exact=True).click()
    expect(page.get_by_text(f"Passnøkkelen {name} er lagt til.")).to_be_visible()
    a11y.check(page)
    page.get_by_role("button", name="Logg ut").click()
    page.wait_for_url("**/auth/logged-out")
    a11y.check(page)


def passkey_log_in(page: Page, a11y: A11y) -> None:
    page.goto("/staff/login")
    a11y.check(page)
    page.get_by_role("button", name="Logg inn med passnøkkel").click()


def test_a_replayed_answer_another_origin_and_a_cloned_authenticator_are_refused(
    browser: Browser, server: LiveServer, device: str, page: Page, a11y: A11y
):
    cdp, authenticator = virtual_authenticator(page)
    add_passkey(page, a11y, "jonas", "Håndholdt")

    # A log-in whose answer someone records on the way.
    answers: list[str] = []

    def record(route: Route) -> None:
        answers.append(route.request.post_data or "")
        route.continue_()

    page.route("**/staff/login/passkey", record)
    with page.expect_navigation(url="**/staff/**"):
        passkey_log_in(page, a11y)
    expect(page.locator(".staff-name")).to_have_text("Jonas Lie")
    a11y.check(page, "logged in with the passkey")
    page.unroute("**/staff/login/passkey")
    page.get_by_role("button", name="Logg ut").click()
    page.wait_for_url("**/auth/logged-out")

    # Replayed: the challenge inside it was used once and is gone.
    page.goto("/staff/login")
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    replay = page.request.post(
        "/staff/login/passkey",
        data=answers[0],
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
    )
    assert replay.status == 400
    assert REFUSED in replay.json()["message"]
    assert "/staff/login" in page.request.get("/staff/", max_redirects=0).headers.get(
        "location", ""
    )

    # Another origin: a relaying site's answer names its own origin in the client data.
    def other_origin(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        client_data = body["credential"]["response"]["clientDataJSON"]
        data = json.loads(base64.urlsafe_b64decode(client_data + "=" * (-len(client_data) % 4)))
        data["origin"] = "https://hjemmedialog.example.net"
        encoded = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        body["credential"]["response"]["clientDataJSON"] = encoded
        route.continue_(post_data=json.dumps(body))

    page.route("**/staff/login/passkey", other_origin)
    passkey_log_in(page, a11y)
    expect(page.get_by_role("alert")).to_contain_text(REFUSED)
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg inn for ansatte")
    a11y.check(page, "with the passkey refused")
    page.unroute("**/staff/login/passkey")

    # A clone: the same key copied to a second device whose counter lags behind.
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    assert credential["signCount"] > 0, "the virtual authenticator counts its signatures"
    other = new_page(browser, server, device, a11y)
    try:
        other_cdp, other_authenticator = virtual_authenticator(other)
        other_cdp.send(
            "WebAuthn.addCredential",
            {
                "authenticatorId": other_authenticator,
                "credential": {**credential, "signCount": 0},
            },
        )
        passkey_log_in(other, a11y)
        expect(other.get_by_role("alert")).to_contain_text(REFUSED)
        a11y.check(other, "the clone refused")
    finally:
        other.context.close()

    # The genuine device still logs in.
    with page.expect_navigation(url="**/staff/**"):
        passkey_log_in(page, a11y)
    expect(page.locator(".staff-name")).to_have_text("Jonas Lie")
    a11y.check(page, "the genuine passkey still works")
