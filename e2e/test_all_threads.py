"""Alle tråder: a thread passed on outside digital dialog is found again.

Siri passes Kari's waiting thread on to the GP with the promise to relay the answer; it
leaves the queue; she finds it under Alle tråder, filtered to "Venter på svar utenfra",
replies with the GP's answer and closes it. The filters are a plain GET form.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import A11y
from e2e.journeys import log_in_staff, staff_nav

SUBJECT = "Ny pakke med smertestillende"  # Kari's waiting thread in the demo
PASSED_ON = "Vi har sendt spørsmålet til fastlegen og gir deg svaret når det kommer."
GP_ANSWER = "Fastlegen har skrevet ut en ny pakke. Vi tar den med i morgen."


def show(page: Page, a11y: A11y, status: str) -> None:
    """Alle tråder with one status chosen in the filter form."""
    page.get_by_label("Status").select_option(label=status)
    page.get_by_role("button", name="Vis", exact=True).click()
    expect(page.get_by_label("Status")).to_have_value(
        page.get_by_label("Status").locator("option", has_text=status).get_attribute("value")
    )
    a11y.check(page, f"filtered to {status}")


def test_siri_relays_the_gps_answer_from_alle_trader(page: Page, a11y: A11y):
    log_in_staff(page, a11y, "siri")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    a11y.check(page)
    page.locator("#queue .thread-row").filter(has_text=SUBJECT).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    a11y.check(page)

    # Passed on to the GP by PLO message, with the promise to relay the answer.
    page.locator("#action-pass_on > summary").click()
    form = page.locator("form[action$='/pass-on']")
    form.get_by_label("PLO-melding").check()
    form.get_by_label("Ja, vi formidler svaret").check()
    form.get_by_label("Sendt videre til").fill("Fastlegen ved Andeby legekontor")
    form.get_by_label("Svar til tjenestemottakeren").fill(PASSED_ON)
    a11y.check(page, "with the pass-on form open")
    form.get_by_role("button", name="Registrer og send").click()
    expect(page.get_by_role("status")).to_contain_text("Registrert som sendt videre")
    a11y.check(page)

    # It has left the queue.
    staff_nav(page, "Meldingskø")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    expect(page.get_by_text(SUBJECT)).to_have_count(0)
    a11y.check(page)

    # Alle tråder, Venter på svar utenfra: there it is, marked.
    staff_nav(page, "Alle tråder")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alle tråder")
    a11y.check(page)
    show(page, a11y, "Venter på svar utenfra")
    assert "status=relay" in page.url
    rows = page.locator("#threads .thread-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(SUBJECT)
    expect(rows.first).to_contain_text("Venter på svar utenfra")
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    a11y.check(page)

    # The GP's answer goes to Kari, and the loop is closed.
    page.locator("#action-reply > summary").click()
    reply = page.locator("form[action$='/reply']")
    reply.get_by_label("Melding").fill(GP_ANSWER)
    a11y.check(page, "with the reply form open")
    reply.get_by_role("button", name="Send svar").click()
    expect(page.get_by_role("status")).to_contain_text("Svaret er sendt")
    expect(page.get_by_text(GP_ANSWER)).to_be_visible()
    a11y.check(page)
    page.locator("#action-close > summary").click()
    a11y.check(page, "asked to confirm the close")
    page.get_by_role("button", name="Ja, avslutt tråden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    a11y.check(page)

    # Nothing is left to relay; the thread is among the closed ones.
    staff_nav(page, "Alle tråder")
    a11y.check(page)
    show(page, a11y, "Venter på svar utenfra")
    expect(page.get_by_text("Ingen tråder passer med filteret.")).to_be_visible()
    show(page, a11y, "Avsluttede tråder")
    expect(page.locator("#threads .thread-row").filter(has_text=SUBJECT)).to_have_count(1)
