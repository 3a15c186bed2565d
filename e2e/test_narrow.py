"""The shell works from 320 px wide: nothing scrolls sideways (WCAG 1.4.10 reflow).

As a phone, and as a desktop browser at 320 CSS pixels (1280 px zoomed to 400 %).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, expect

from e2e.conftest import DEVICES, ONCE, A11y
from e2e.journeys import log_in_resident, log_in_staff

pytestmark = ONCE

# What sticks out past the right edge, to say where the overflow is.
WIDER = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > 320.5)
  .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""))
  .slice(0, 5)"""


@contextmanager
def narrow(browser, server, device: str) -> Iterator[tuple[Page, A11y]]:
    """A page 320 CSS pixels wide, and its accessibility checks."""
    size = {**DEVICES[device], "viewport": {"width": 320, "height": 640}}
    context = browser.new_context(base_url=server.url, locale="nb-NO", **size)
    try:
        yield context.new_page(), A11y()
    finally:
        context.close()


def fits(page: Page, a11y: A11y) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} is {width} px wide: {page.evaluate(WIDER)}"
    a11y.check(page, "at 320 px")


def each_fits(page: Page, a11y: A11y, paths: tuple[str, ...]) -> None:
    for path in paths:
        page.goto(path)
        fits(page, a11y)


def test_resident_pages_fit_320_px(browser, server, device):
    with narrow(browser, server, device) as (page, a11y):
        log_in_resident(page, a11y, "Ola Nordmann")
        page.locator("button.person-button").click()
        page.locator("#person-menu").get_by_role("button", name="Kari Nordmann fullmakt").click()
        expect(page.get_by_text("på vegne av Kari Nordmann")).to_be_visible()
        each_fits(page, a11y, ("/messages", "/appointments", "/contacts"))


def test_profile_pages_fit_320_px(browser, server, device):
    """Kontaktinformasjon og varseloppsett among them: its radio hints overflowed."""
    with narrow(browser, server, device) as (page, a11y):
        log_in_resident(page, a11y, "Ola Nordmann")
        each_fits(
            page, a11y, ("/profile", "/profile/contact", "/profile/fullmakter", "/profile/log")
        )


def test_staff_pages_fit_320_px(browser, server, device):
    """Planlegging among them: its status filter wraps."""
    with narrow(browser, server, device) as (page, a11y):
        log_in_staff(page, a11y, "anne")
        page.get_by_role("button", name="Hjemmesykepleien sone Nord").click()
        each_fits(page, a11y, ("/staff/", "/staff/recipients", "/staff/unit", "/staff/planning"))


def test_staff_account_pages_fit_320_px(browser, server, device):
    """Ansattkontoer: the list, a new account (roles per unit) and an account."""
    with narrow(browser, server, device) as (page, a11y):
        log_in_staff(page, a11y, "admin")
        each_fits(page, a11y, ("/admin/staff", "/admin/staff?q=siri", "/admin/staff/new"))
        page.goto("/admin/staff?q=siri")
        page.get_by_role("link", name="Siri Berg").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Siri Berg")
        fits(page, a11y)


def test_service_recipient_pages_fit_320_px(browser, server, device):
    """Tjenestemottakere: the list, a new registration, ending one and the import page."""
    with narrow(browser, server, device) as (page, a11y):
        log_in_staff(page, a11y, "admin")
        each_fits(
            page,
            a11y,
            ("/admin/recipients", "/admin/recipients/new", "/admin/recipients/import"),
        )
        page.goto("/admin/recipients")
        page.get_by_role("link", name="Avslutt").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Avslutt tjeneste")
        fits(page, a11y)
