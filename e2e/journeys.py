"""Steps shared by the end-to-end journeys; each checks every page it passes with axe-core."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import A11y

DEMO_PASSWORD = "demo-passord"


def log_in_resident(page: Page, a11y: A11y, name: str) -> None:
    """From the front page, through the test identity provider, by clicking the name."""
    page.goto("/")
    a11y.check(page)
    page.get_by_role("link", name="Logg inn", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Testinnlogging")
    a11y.check(page)
    page.get_by_role("button", name=name, exact=True).click()
    # Through the provider and the callback: wait until the app's own page has loaded.
    page.wait_for_url(lambda url: "/dev-idp/" not in url and "/auth/callback" not in url)
    page.wait_for_load_state()


def log_in_staff(page: Page, a11y: A11y, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/")
    a11y.check(page)
    page.get_by_role("link", name="Logg inn for ansatte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg inn for ansatte")
    a11y.check(page)
    page.get_by_label("Brukernavn").fill(username)
    page.get_by_label("Passord").fill(password)
    with page.expect_navigation():  # the form's POST answers with a page or a redirect
        page.get_by_role("button", name="Logg inn", exact=True).click()


def staff_nav(page: Page, name: str) -> None:
    """Go to a section of the staff navigation: in its row, or behind "Mer" on a phone."""
    nav = page.get_by_role("navigation", name="Hovedmeny")
    link = nav.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        nav.get_by_role("button", name="Mer").click()
    link.click()


def person_menu(page: Page, name: str):
    """The top bar's menu button, named by the person one acts for."""
    return (
        page.locator(".topbar")
        .get_by_role("button", name=name, exact=True)
        .and_(page.locator("button.person-button"))
    )


def act_for(page: Page, a11y: A11y, me: str, other: str, note: str = "fullmakt") -> None:
    """Open the name menu and switch to acting for `other`."""
    person_menu(page, me).click()
    a11y.check(page, "with the person menu open")
    page.locator("#person-menu").get_by_role("button", name=f"{other} {note}").click()
    expect(page.get_by_text(f"Du bruker nå Hjemmedialog på vegne av {other}.")).to_be_visible()
