"""The staff side on a phone, measured by bounding boxes in Chromium.

Nothing is cut off or scrolls sideways at 320 px (the admin tables and forms included); the
navigation is one row at 390 px and 320 px, with "Mine besøk i dag" on one line; the thread
page keeps its actions collapsed; and Journalfør, Journalnotat, the actions, the
navigation and Angre are targets of at least 44 by 44 px.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import DEVICES, ONCE, A11y
from e2e.journeys import log_in_staff

TARGET = 44  # px, WCAG 2.5.5 and the "full-size controls"
SERVER_ENV = {"VISIT_UNDO_SECONDS": "600"}  # Angre stays while it is measured

# Elements of the page whose right edge is beyond the viewport (cut off, or scrolling
# sideways), but for visually hidden text (clipped to 1 px).
CUT_OFF = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")].filter((e) => {
    const box = e.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1 || !e.checkVisibility()) return false;
    return box.right > width + 0.5 || box.left < -0.5;
  }).map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.trim().slice(0, 40)}`);
}"""

pytestmark = ONCE


def context_page(browser: Browser, server, device: str, width: int) -> Page:
    viewport = {"width": width, "height": 700}
    context = browser.new_context(
        base_url=server.url,
        locale="nb-NO",
        timezone_id="Europe/Oslo",
        **{**DEVICES[device], "viewport": viewport},
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def fits(page: Page, a11y: A11y, path: str) -> None:
    page.goto(path)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert page.evaluate(CUT_OFF) == [], path
    a11y.check(page, f"at {page.viewport_size['width']} px")


def big_enough(page: Page, locator, what: str) -> None:
    assert locator.count() > 0, what
    for element in locator.all():
        box = element.bounding_box()
        assert box and box["width"] >= TARGET and box["height"] >= TARGET, (what, box)


def nav_in_one_row(page: Page) -> None:
    items = page.locator(".mainnav-staff > ul > li").all()
    tops = {round(item.bounding_box()["y"]) for item in items if item.is_visible()}
    assert len(tops) == 1, tops
    visits = page.get_by_role("link", name="Mine besøk i dag")
    lines = visits.evaluate(
        "a => { const r = document.createRange(); r.selectNodeContents(a);"
        " return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size; }"
    )
    assert lines == 1, "'Mine besøk i dag' wraps inside its tab"
    big_enough(page, page.locator(".mainnav-staff > ul > li:visible > :is(a, button)"), "nav")


def test_staff_and_admin_pages_fit_320_px(browser, server, device):
    thread = server.scalar("SELECT min(id) FROM thread WHERE status <> 'closed'")
    kari = server.scalar("SELECT id FROM person WHERE fodselsnummer = '12833810241'")
    praktisk = server.scalar("SELECT id FROM service WHERE name = 'Praktisk bistand'")
    praktisk_unit = server.scalar("SELECT id FROM unit WHERE name = 'Praktisk bistand Andeby'")
    for username, paths in (
        (
            "siri",
            (
                "/staff/",
                "/staff/threads",
                "/staff/threads?status=bogus",
                f"/staff/threads/{thread}",
                f"/staff/threads/{thread}/assign",
                "/staff/planning",
                "/staff/visits",
                "/staff/cancellations",
                "/staff/recipients",
                f"/staff/recipients/{kari}",
                "/staff/messages/new",
                "/staff/notices",
            ),
        ),
        (
            "admin",
            (
                "/admin/",
                "/admin/fullmakter",
                "/admin/notices",
                "/admin/settings",
                f"/admin/services/{praktisk}",
                f"/admin/units/{praktisk_unit}",
                "/admin/changes",
            ),
        ),
    ):
        page = context_page(browser, server, device, 320)
        a11y = A11y()
        log_in_staff(page, a11y, username)
        a11y.check(page)
        for path in paths:
            fits(page, a11y, path)
        if username == "admin":
            # The services table: each service a block, each value under its column's name.
            # (the names are shown, not read twice: the cells keep their column headers).
            page.goto("/admin/")
            cell = page.get_by_role("row", name="Fysioterapi").get_by_role("cell").first
            expect(cell).to_have_text("Stengt")
            shown = cell.evaluate("td => getComputedStyle(td, '::before').content")
            assert "Digital dialog" in shown, shown
        page.context.close()


def test_the_navigation_is_one_row_at_390_and_320_px(browser, server, device):
    for width in (390, 320):
        page = context_page(browser, server, device, width)
        a11y = A11y()
        log_in_staff(page, a11y, "anne")
        a11y.check(page)
        page.get_by_role("button", name="Hjemmesykepleien sone Nord").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
        nav_in_one_row(page)
        a11y.check(page, f"at {width} px")
        # The sections not in the row are one tap away, behind "Mer".
        page.get_by_role("button", name="Mer").click()
        menu = page.locator("#more-menu")
        for name in (
            "Alle tråder",
            "Planlegging",
            "Avbestillinger",
            "Tjenestemottakere",
            "Fullmakter",
        ):
            expect(menu.get_by_role("link", name=name)).to_be_visible()
        assert page.evaluate(CUT_OFF) == []
        a11y.check(page, f"with Mer open at {width} px")
        menu.get_by_role("link", name="Avbestillinger").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Avbestillinger")
        expect(page.get_by_role("button", name="Mer")).to_have_class("current-64")
        nav_in_one_row(page)
        a11y.check(page)
        page.context.close()


def test_the_thread_page_is_short_with_full_size_controls(page: Page, a11y: A11y, server, device):
    thread = server.scalar("SELECT min(id) FROM thread WHERE status <> 'closed'")
    log_in_staff(page, a11y, "siri")
    a11y.check(page)
    page.goto(f"/staff/threads/{thread}")
    a11y.check(page)
    actions = page.locator(".actions details.action")
    expect(actions).to_have_count(6)
    for action in actions.all():
        expect(action).not_to_have_attribute("open", "")
    big_enough(page, page.locator(".actions summary"), "action summaries")
    big_enough(page, page.get_by_role("button", name="Journalfør"), "Journalfør")
    big_enough(page, page.get_by_role("link", name="Journalnotat"), "Journalnotat")
    # One open at a time; a refused form opens its own action with the error.
    page.locator("#action-reply > summary").click()
    page.locator("#action-assign > summary").click()
    expect(page.locator("#action-reply")).not_to_have_attribute("open", "")
    page.locator("#action-assign").get_by_role("button", name="Tildel").click()
    expect(page.locator("#action-assign")).to_have_attribute("open", "")
    expect(page.locator("#action-assign").get_by_role("alert")).to_contain_text("Velg en kollega.")
    a11y.check(page, "with the refused assign form")


def test_angre_and_registrer_utfort_are_full_size(page: Page, a11y: A11y, server):
    log_in_staff(page, a11y, "jonas")
    a11y.check(page)
    page.goto("/staff/visits")
    big_enough(page, page.get_by_role("button", name="Registrer utført"), "Registrer utført")
    page.get_by_role("button", name="Registrer utført").first.click()
    undo = page.locator("form.visit-undo:visible button")
    expect(undo).to_have_count(1)
    big_enough(page, undo, "Angre")
    a11y.check(page, "with Angre")
