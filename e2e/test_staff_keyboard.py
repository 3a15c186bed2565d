"""The staff journeys by keyboard alone (docs/quality.md R7).

Siri replies to a thread, assigns it and closes it; Jonas registers a visit and, since it
was a mistake, undoes it, also after reloading the page. Only keys: Tab, Shift+Tab,
Enter, Space, arrows and Escape, never a click. Every control passed shows its focus,
focus moves to what changed (also after an htmx swap), and nothing traps it. axe-core
checks every page and state on the way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from e2e.conftest import ONCE, A11y
from e2e.journeys import log_in_resident
from e2e.keyboard import assert_focus_shown, focused, no_trap, tab_to
from e2e.test_appointments import OLA, new_page, todays_visit

# Long enough for the whole journey: Jonas undoes his registration after a reload.
UNDO_SECONDS = 600
SERVER_ENV = {"VISIT_UNDO_SECONDS": str(UNDO_SECONDS)}
REPLY = "Vi tar med en ny pakke Paracet i morgen tidlig."
NOTE = "Jonas, ta med pakken i morgen."

pytestmark = ONCE


def log_in_by_keyboard(page: Page, a11y: A11y, username: str) -> None:
    page.goto("/")
    a11y.check(page)
    tab_to(page, "Logg inn for ansatte", tag="a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg inn for ansatte")
    a11y.check(page)
    tab_to(page, "Brukernavn", tag="input")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Passord"
    page.keyboard.type("demo-passord")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def more_menu_opens_and_escape_closes_it(page: Page, a11y: A11y) -> None:
    """On a phone the other sections are behind "Mer": Enter opens, Escape closes."""
    more = page.get_by_role("button", name="Mer")
    if not more.is_visible():
        return  # a desktop shows every section in the row
    tab_to(page, "Mer", tag="button")
    page.keyboard.press("Enter")
    expect(page.locator("#more-menu")).to_be_visible()
    a11y.check(page, "with the Mer menu open")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Alle tråder"  # the first section behind Mer
    assert_focus_shown(page)
    page.keyboard.press("Escape")
    expect(page.locator("#more-menu")).to_be_hidden()
    assert focused(page)["text"] == "Mer"  # back where it was opened


def test_siri_replies_assigns_and_closes_by_keyboard(page: Page, a11y: A11y):
    log_in_by_keyboard(page, a11y, "siri")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    a11y.check(page)
    more_menu_opens_and_escape_closes_it(page, a11y)
    tab_to(page, re.compile("Ny pakke med smertestillende"), tag="a")  # the queue's row
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ny pakke med smertestillende")
    a11y.check(page)
    no_trap(page)

    # Svar: open the action (Enter), write, send.
    tab_to(page, "Svar", tag="summary")
    page.keyboard.press("Enter")
    expect(page.locator("#action-reply")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Melding"
    page.keyboard.type(REPLY)
    a11y.check(page, "writing a reply")
    tab_to(page, "Send svar", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Svaret er sendt")
    expect(page.locator(".message").last).to_contain_text(REPLY)
    a11y.check(page, "after the reply")

    # Tildel: open with Space, choose Jonas with the arrow keys, add a note.
    tab_to(page, "Tildel", tag="summary")
    page.keyboard.press("Space")
    expect(page.locator("#action-assign")).to_have_attribute("open", "")
    expect(page.locator("#action-reply")).not_to_have_attribute("open", "")  # one at a time
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Kollega"
    colleague = page.locator("#assignee_id")
    expect(colleague).to_have_value("")  # starts on "Velg kollega", not on the leader
    for _ in range(6):
        if colleague.evaluate("s => s.selectedOptions[0].text") == "Jonas Lie":
            break
        page.keyboard.press("ArrowDown")
    assert colleague.evaluate("s => s.selectedOptions[0].text") == "Jonas Lie"
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Intern merknad"
    page.keyboard.type(NOTE)
    a11y.check(page, "with the assign form filled in")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Tildel"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Tildelt Jonas Lie")
    expect(page.get_by_text(NOTE)).to_be_visible()
    a11y.check(page, "after assigning")

    # Avslutt tråd: the action asks first; going back with Shift+Tab, nothing happens.
    tab_to(page, "Avslutt tråd", tag="summary")
    page.keyboard.press("Enter")
    close = page.locator("#action-close")
    expect(close).to_contain_text("har fått vite utfallet")
    a11y.check(page, "asked to confirm the close")
    tab_to(page, "Ja, avslutt tråden", tag="button")
    tab_to(page, "Avslutt tråd", tag="summary", back=True)
    tab_to(page, "Ja, avslutt tråden", tag="button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    expect(page.get_by_role("status")).to_contain_text("Tråden er avsluttet")
    expect(page.get_by_role("link", name="Ny pakke med smertestillende")).to_have_count(0)
    a11y.check(page, "after closing")


def test_jonas_registers_a_visit_and_undoes_it_by_keyboard(
    page: Page, a11y: A11y, browser, server, device
):
    visit = todays_visit(server)
    log_in_by_keyboard(page, a11y, "jonas")
    a11y.check(page)
    tab_to(page, "Mine besøk i dag", tag="a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mine besøk i dag")
    a11y.check(page)
    no_trap(page)

    # Registrer utført with Space: focus moves to the line that replaces the button.
    card = page.locator(f".visit-card[data-visit='{visit}']")
    tab_to(page, re.compile(r"^Registrer utført$"), tag="button")
    while "Kari Nordmann" not in focused(page)["inCard"]:
        tab_to(page, re.compile(r"^Registrer utført$"), tag="button")
    page.keyboard.press("Space")
    expect(card.locator(".visit-done")).to_have_text(re.compile(r"^Utført kl\. \d\d:\d\d$"))
    expect(card.locator(".visit-done")).to_be_focused()
    assert_focus_shown(page)
    a11y.check(page, "registered")
    assert server.scalar("SELECT status FROM appointment WHERE id = :i", i=visit) == "completed"
    # The notice for Ola (Alle varsler) is written, and waits until Angre is no longer possible.
    due = server.scalar(
        "SELECT n.next_attempt_at FROM notice n JOIN person p ON p.id = n.recipient_person_id "
        "WHERE n.event_key = :k AND p.fodselsnummer = :n",
        k=f"visit:{visit}",
        n=OLA,
    )
    due = due if isinstance(due, datetime) else datetime.fromisoformat(str(due))
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    assert due > datetime.now(UTC) + timedelta(seconds=UNDO_SECONDS - 120)

    # Angre is next in the tab order; it is still there after a reload.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Angre registreringen for Kari Nordmann"
    assert_focus_shown(page)
    expect(card.get_by_text(re.compile(r"Du kan angre til kl\. \d\d:\d\d"))).to_be_visible()
    page.reload()
    a11y.check(page, "after a reload")
    tab_to(page, "Angre registreringen for Kari Nordmann", tag="button")
    page.keyboard.press("Enter")
    # htmx puts the card in again; focus lands on what happened, inside it.
    message = card.locator(".visit-message")
    expect(message).to_have_text("Angret: besøket er tildelt igjen, og ingenting ble sendt.")
    expect(message).to_be_focused()
    assert_focus_shown(page)
    a11y.check(page, "after Angre")
    page.keyboard.press("Tab")
    after = focused(page)
    assert after["text"] == "Registrer utført" and "Kari Nordmann" in after["inCard"]
    assert server.scalar("SELECT status FROM appointment WHERE id = :i", i=visit) == "assigned"
    assert (
        server.scalar("SELECT count(*) FROM notice WHERE event_key = :k", k=f"visit:{visit}") == 0
    )
    more_menu_opens_and_escape_closes_it(page, a11y)

    # Kari's calendar shows the visit assigned again at once.
    kari_page = new_page(browser, server, device)
    kari = A11y()
    log_in_resident(kari_page, kari, "Kari Nordmann")
    kari.check(kari_page)
    kari_page.goto(f"/appointments/{visit}")
    expect(kari_page.locator(".facts")).to_contain_text("Tildelt")
    expect(kari_page.locator(".facts")).not_to_contain_text("Utført")
    kari.check(kari_page)
    kari_page.context.close()
    assert not kari.unchecked()
