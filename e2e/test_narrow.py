"""The shell works from 320 px wide: nothing scrolls sideways (WCAG 1.4.10 reflow).

As a phone, and as a desktop browser at 320 CSS pixels (1280 px zoomed to 400 %).
"""

from __future__ import annotations

from playwright.sync_api import expect

from e2e.conftest import DEVICES, ONCE, A11y
from e2e.journeys import log_in_resident, log_in_staff

pytestmark = ONCE


def narrow(device: str) -> dict:
    return {**DEVICES[device], "viewport": {"width": 320, "height": 640}}


# What sticks out past the right edge, to say where the overflow is.
WIDER = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > 320.5)
  .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""))
  .slice(0, 5)"""


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} is {width} px wide: {page.evaluate(WIDER)}"


def test_resident_pages_fit_320_px(browser, server, device):
    a11y = A11y()
    context = browser.new_context(base_url=server.url, locale="nb-NO", **narrow(device))
    page = context.new_page()
    log_in_resident(page, a11y, "Ola Nordmann")
    page.locator("button.person-button").click()
    page.locator("#person-menu").get_by_role("button", name="Kari Nordmann fullmakt").click()
    expect(page.get_by_text("på vegne av Kari Nordmann")).to_be_visible()
    for path in ("/messages", "/appointments", "/contacts"):
        page.goto(path)
        no_sideways_scroll(page)
        a11y.check(page, "at 320 px")
    context.close()


def test_profile_pages_fit_320_px(browser, server, device):
    """Kontaktinformasjon og varseloppsett among them: its radio hints overflowed."""
    a11y = A11y()
    context = browser.new_context(base_url=server.url, locale="nb-NO", **narrow(device))
    page = context.new_page()
    log_in_resident(page, a11y, "Ola Nordmann")
    for path in ("/profile", "/profile/contact", "/profile/fullmakter", "/profile/log"):
        page.goto(path)
        no_sideways_scroll(page)
        a11y.check(page, "at 320 px")
    context.close()


def test_staff_pages_fit_320_px(browser, server, device):
    a11y = A11y()
    context = browser.new_context(base_url=server.url, locale="nb-NO", **narrow(device))
    page = context.new_page()
    log_in_staff(page, a11y, "anne")
    page.get_by_role("button", name="Hjemmesykepleien sone Nord").click()
    for path in ("/staff/", "/staff/recipients", "/staff/unit"):
        page.goto(path)
        no_sideways_scroll(page)
        a11y.check(page, "at 320 px")
    context.close()


def test_staff_account_pages_fit_320_px(browser, server, device):
    """Ansattkontoer: the list, a new account (roles per unit) and an account."""
    a11y = A11y()
    context = browser.new_context(base_url=server.url, locale="nb-NO", **narrow(device))
    page = context.new_page()
    log_in_staff(page, a11y, "admin")
    for path in ("/admin/staff", "/admin/staff?q=siri", "/admin/staff/new"):
        page.goto(path)
        no_sideways_scroll(page)
        a11y.check(page, "at 320 px")
    page.goto("/admin/staff?q=siri")
    page.get_by_role("link", name="Siri Berg").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Siri Berg")
    no_sideways_scroll(page)
    a11y.check(page, "at 320 px")
    context.close()


def test_service_recipient_pages_fit_320_px(browser, server, device):
    """Tjenestemottakere: the list, a new registration, ending one and the import page."""
    a11y = A11y()
    context = browser.new_context(base_url=server.url, locale="nb-NO", **narrow(device))
    page = context.new_page()
    log_in_staff(page, a11y, "admin")
    for path in ("/admin/recipients", "/admin/recipients/new", "/admin/recipients/import"):
        page.goto(path)
        no_sideways_scroll(page)
        a11y.check(page, "at 320 px")
    page.goto("/admin/recipients")
    page.get_by_role("link", name="Avslutt").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Avslutt tjeneste")
    no_sideways_scroll(page)
    a11y.check(page, "at 320 px")
    context.close()
