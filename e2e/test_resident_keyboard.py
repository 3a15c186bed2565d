"""The resident journeys by keyboard alone (docs/quality.md R7).

Kari writes a message and replies in it, and cancels a period of visits (with the step
that asks her to confirm); Ola switches to acting for Kari and back. Only keys: Tab,
Shift+Tab, Enter, Space, arrows and Escape, never a click. Every control passed shows its
focus, focus moves to what changed (also after an htmx swap), and nothing traps it.
axe-core checks every page and state on the way. Small text links are 44 px targets.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page, expect

from app.clock import oslo_today
from e2e.conftest import ONCE, A11y
from e2e.keyboard import assert_focus_shown, focused, no_trap, tab_to

SUBJECT = "Spørsmål om tidspunkt"
BODY = "Kan dere komme litt senere på fredag?"
REPLY = "Etter klokka ni passer best."
NOTE = "Jeg er hos Ola disse dagene."

pytestmark = ONCE


def log_in_by_keyboard(page: Page, a11y: A11y, name: str) -> None:
    """Through the test identity provider, choosing the person by keyboard."""
    page.goto("/")
    a11y.check(page)
    tab_to(page, "Logg inn", tag="a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Testinnlogging")
    a11y.check(page)
    tab_to(page, name, tag="button")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/dev-idp/" not in url and "/auth/callback" not in url)
    page.wait_for_load_state()


def test_kari_writes_a_message_and_replies_by_keyboard(page: Page, a11y: A11y):
    log_in_by_keyboard(page, a11y, "Kari Nordmann")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    a11y.check(page)
    no_trap(page)

    tab_to(page, "Skriv melding", tag="a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Skriv melding")
    a11y.check(page)
    tab_to(page, "Hjemmesykepleie", tag="input")
    page.keyboard.press("Space")
    expect(page.get_by_label("Hjemmesykepleie")).to_be_checked()
    tab_to(page, "Emne", tag="input")
    page.keyboard.type(SUBJECT)
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Melding"
    page.keyboard.type(BODY)
    a11y.check(page, "with the message written")
    tab_to(page, "Send", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    expect(page.get_by_role("status")).to_contain_text("Meldingen er sendt")
    a11y.check(page)
    no_trap(page)

    # Svar is an htmx form: after sending, focus is on the new message, not lost.
    tab_to(page, "Melding", tag="textarea")
    page.keyboard.type(REPLY)
    tab_to(page, "Send", tag="button")
    page.keyboard.press("Enter")
    newest = page.locator(".message article").last
    expect(newest).to_contain_text(REPLY)
    expect(newest).to_be_focused()
    assert_focus_shown(page)
    a11y.check(page, "after the reply")
    page.keyboard.press("Tab")  # on from the new message, not from the top of the page
    assert focused(page)["text"] == "Melding"
    no_trap(page)


def a_day_for_the_period() -> date:
    """A day a week or more ahead, early enough in its month that two days more stay in it
    (the date field's arrow keys change the day within the month)."""
    day = oslo_today() + timedelta(days=7)
    while day.day > 26:
        day += timedelta(days=1)
    return day


def two_days_on(page: Page, field, day: date) -> None:
    """In a date field (focus on its first part), move the day two on with the arrow keys;
    the order of day, month and year follows the browser's language, so find the day."""
    for _ in range(3):
        page.keyboard.press("ArrowUp")
        if field.input_value() == (day + timedelta(days=1)).isoformat():
            page.keyboard.press("ArrowUp")
            return
        page.keyboard.press("ArrowDown")  # not the day: put it back, on to the next part
        page.keyboard.press("Tab")
    raise AssertionError("no day in the date field")


def test_kari_cancels_a_period_by_keyboard_and_confirms(page: Page, a11y: A11y):
    first = a_day_for_the_period()
    last = first + timedelta(days=2)
    log_in_by_keyboard(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.goto(f"/appointments?view=week&date={first.isoformat()}")
    a11y.check(page)
    day = page.locator(".week-day").filter(
        has=page.locator(".day-title", has_text=re.compile(rf"\b{first.day}\."))
    )
    morning = day.locator(".appt-link").filter(has_text="Hjemmesykepleie").first
    target = morning.evaluate("a => a.innerText.replace(/\\s+/g, ' ').trim()")
    href = morning.get_attribute("href")
    tab_to(page, target, tag="a", most=120)
    while page.evaluate("document.activeElement.getAttribute('href')") != href:
        tab_to(page, target, tag="a")  # the same visit on an earlier day of the week
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Morgenstell og medisiner")
    a11y.check(page)
    tab_to(page, "Avbestill", tag="a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Avbestill")
    period = page.locator("#period")
    expect(period).to_be_hidden()  # Enkeltavtale is chosen: no period to fill in
    a11y.check(page)

    # Periode with the arrow key shows the period; its fields follow in the tab order.
    tab_to(page, "Enkeltavtale", tag="input")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Periode", exact=True)).to_be_checked()
    expect(period).to_be_visible()
    a11y.check(page, "with Periode chosen")
    tab_to(page, "Til dato", tag="input")
    two_days_on(page, page.get_by_label("Til dato"), first)
    expect(page.get_by_label("Til dato")).to_have_value(last.isoformat())
    tab_to(page, "Praktisk bistand", tag="input")
    page.keyboard.press("Space")
    expect(page.get_by_label("Praktisk bistand")).to_be_checked()
    tab_to(page, "Beskjed til tjenesten (valgfritt)", tag="textarea")
    page.keyboard.type(NOTE)
    a11y.check(page, "with the form filled in")
    tab_to(page, "Avbestill", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # Asked first: the visits it cancels, and nothing is cancelled yet.
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekreft avbestillingen")
    rows = page.locator(".rows .row")
    expected = 3 + sum(1 for i in range(3) if (first + timedelta(days=i)).weekday() in (1, 4))
    expect(rows).to_have_count(expected)
    expect(page.get_by_text(NOTE)).to_be_visible()
    a11y.check(page, "asked to confirm")
    no_trap(page)

    # Tilbake keeps every choice; then on again, and confirm.
    tab_to(page, "Tilbake", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Avbestill")
    expect(page.get_by_label("Periode", exact=True)).to_be_checked()
    expect(period).to_be_visible()
    expect(page.get_by_label("Til dato")).to_have_value(last.isoformat())
    expect(page.get_by_label("Praktisk bistand")).to_be_checked()
    a11y.check(page, "back from the confirmation")
    tab_to(page, "Avbestill", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(rows).to_have_count(expected)
    a11y.check(page, "asked again")
    tab_to(page, "Bekreft avbestilling", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Avbestillingen er registrert")
    expect(page.locator(".rows .row")).to_have_count(expected)
    a11y.check(page)
    no_trap(page)


def test_ola_switches_to_kari_and_back_by_keyboard(page: Page, a11y: A11y):
    log_in_by_keyboard(page, a11y, "Ola Nordmann")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    a11y.check(page)
    tab_to(page, "Ola Nordmann", tag="button")
    page.keyboard.press("Enter")
    menu = page.locator("#person-menu")
    expect(menu).to_be_visible()
    a11y.check(page, "with the person menu open")
    page.keyboard.press("Escape")  # closes, and focus is back on the menu button
    expect(menu).to_be_hidden()
    assert focused(page)["text"] == "Ola Nordmann"
    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    tab_to(page, "Kari Nordmann fullmakt", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("Du bruker nå Hjemmedialog på vegne av Kari Nordmann.")).to_be_visible()
    a11y.check(page, "acting for Kari")
    no_trap(page)

    tab_to(page, "Tilbake til deg selv", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("på vegne av")).to_have_count(0)
    expect(page.locator("button.person-button")).to_contain_text("Ola Nordmann")
    a11y.check(page)


def test_small_text_links_are_44_px_targets(page: Page, a11y: A11y, device):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in_by_keyboard(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.goto("/appointments")
    a11y.check(page)
    links = [
        page.locator(".more a", has_text="Vis flere"),
        page.get_by_role("link", name="Vis tidligere timeavtaler"),
    ]
    page.locator(".appt-link").first.click()
    a11y.check(page)
    links_after = [page.locator(".breadcrumb a", has_text="Timeavtaler")]
    for link in links_after:
        assert_target(link)
    page.go_back()
    a11y.check(page)
    for link in links:
        assert_target(link)

    # Vis flere by keyboard: the next visits come in, and focus is on the first of them.
    before = page.locator(".appt").count()
    tab_to(page, "Vis flere", tag="a", most=120)
    page.keyboard.press("Enter")
    expect(page.locator(".appt")).not_to_have_count(before)
    first_new = page.locator(".appt-link").nth(before)
    expect(first_new).to_be_focused()
    assert_focus_shown(page)
    a11y.check(page, "after Vis flere")


def assert_target(link) -> None:
    box = link.bounding_box()
    assert box is not None, link
    assert box["height"] >= 44 and box["width"] >= 44, (link, box)
