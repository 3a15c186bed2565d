"""The messaging journey across both sides (issue: messaging on both sides).

Ola, acting for Kari, writes to Hjemmesykepleie; Siri triages it; Jonas answers in two
steps and closes it; Kari and Eva read the whole thread. axe-core checks every page.
"""

from __future__ import annotations

from datetime import timedelta

from babel.dates import format_date
from playwright.sync_api import Browser, Page, expect

from app.clock import OSLO, utcnow
from app.workdays import reply_deadline
from e2e.conftest import DEVICES, A11y
from e2e.journeys import act_for, log_in_resident, log_in_staff

SUBJECT = "Hjelp med strømper"
BODY = "Hei. Mamma trenger hjelp med støttestrømpene om morgenen. Hilsen Ola"
NOTE = "Jonas, du kjenner Kari best. Ta denne."
INTERIM = "Vi sjekker med fysioterapeuten og svarer deg."
FINAL = "Fra i morgen hjelper vi Kari med strømpene hver morgen."


def expected_dates() -> set[str]:
    """The reply date in the words the page uses (either side of a midnight)."""
    now = utcnow()
    return {
        format_date(reply_deadline(moment, 1).astimezone(OSLO).date(), "EEEE d. MMMM", locale="nb")
        for moment in (now, now + timedelta(minutes=5))
    }


def new_page(browser: Browser, server, device: str) -> Page:
    context = browser.new_context(
        base_url=server.url, locale="nb-NO", timezone_id="Europe/Oslo", **DEVICES[device]
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def test_message_journey_from_ola_to_jonas_and_back(
    page: Page, a11y: A11y, browser, server, device
):
    # Ola, acting for Kari, writes to Hjemmesykepleie and is told the reply date.
    log_in_resident(page, a11y, "Ola Nordmann")
    a11y.check(page)
    act_for(page, a11y, "Ola Nordmann", "Kari Nordmann")
    a11y.check(page, "acting for Kari")
    page.get_by_role("link", name="Skriv melding").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Skriv melding")
    expect(page.get_by_label("Fysioterapi")).to_have_count(0)  # not open for dialog
    a11y.check(page)
    page.get_by_label("Hjemmesykepleie").check()
    page.get_by_label("Emne").fill(SUBJECT)
    page.get_by_label("Melding").fill(BODY)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    confirmation = page.get_by_role("status").inner_text()
    assert "Meldingen er sendt" in confirmation
    assert any(f"Svar forventet innen {d}" in confirmation for d in expected_dates()), confirmation
    a11y.check(page)

    # Siri finds it at the top of her queue, marks it urgent and gives it to Jonas.
    siri_page = new_page(browser, server, device)
    siri = A11y()
    log_in_staff(siri_page, siri, "siri")
    first_row = siri_page.locator("#queue .thread-row").first
    expect(first_row).to_contain_text(SUBJECT)
    expect(first_row).to_contain_text("Ny")
    siri.check(siri_page)
    first_row.get_by_role("link").click()
    expect(siri_page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    expect(siri_page.get_by_text("sendt av Ola Nordmann på vegne av Kari Nordmann")).to_be_visible()
    siri.check(siri_page)
    siri_page.get_by_role("button", name="Haster", exact=True).click()
    expect(siri_page.get_by_role("status")).to_contain_text("Merket som hastesak")
    siri.check(siri_page)
    siri_page.locator("#action-assign > summary").click()
    assign = siri_page.locator("#action-assign")
    expect(assign.get_by_label("Kollega")).to_be_visible()
    siri.check(siri_page, "with the assign form")
    assign.get_by_label("Kollega").select_option(label="Jonas Lie")
    assign.get_by_label("Intern merknad").fill(NOTE)
    assign.get_by_role("button", name="Tildel").click()
    expect(siri_page.get_by_role("status")).to_contain_text("Tildelt Jonas Lie")
    expect(siri_page.get_by_text(NOTE)).to_be_visible()
    siri.check(siri_page)
    siri_page.context.close()

    # Jonas sends an interim reply, then the answer, then closes the thread.
    jonas_page = new_page(browser, server, device)
    jonas = A11y()
    log_in_staff(jonas_page, jonas, "jonas")
    row = jonas_page.locator("#queue .thread-row").filter(has_text=SUBJECT)
    expect(row).to_contain_text("Haster")
    expect(row).to_contain_text("Tildelt Jonas Lie")
    jonas.check(jonas_page)
    row.get_by_role("link").click()
    jonas.check(jonas_page)
    jonas_page.get_by_text("Midlertidig svar", exact=True).click()
    interim = jonas_page.locator("form[action$='/interim']")
    interim.get_by_label("Melding").fill(INTERIM)
    next_day = (utcnow() + timedelta(days=2)).astimezone(OSLO)
    interim.get_by_label("Dato for neste svar").fill(next_day.strftime("%Y-%m-%d"))
    interim.get_by_label("Klokkeslett for neste svar").fill("14:00")
    jonas.check(jonas_page, "with the interim reply form open")
    interim.get_by_role("button", name="Send midlertidig svar").click()
    expect(jonas_page.get_by_role("status")).to_contain_text("Det midlertidige svaret er sendt")
    jonas.check(jonas_page)
    jonas_page.locator("#action-reply > summary").click()
    reply = jonas_page.locator("form[action$='/reply']")
    reply.get_by_label("Melding").fill(FINAL)
    reply.get_by_role("button", name="Send svar").click()
    expect(jonas_page.get_by_role("status")).to_contain_text("Svaret er sendt")
    jonas.check(jonas_page)
    jonas_page.locator("#action-close > summary").click()
    jonas.check(jonas_page, "asked to confirm the close")
    jonas_page.get_by_role("button", name="Ja, avslutt tråden").click()
    expect(jonas_page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    expect(jonas_page.locator("#queue").filter(has_text=SUBJECT)).to_have_count(0)
    jonas.check(jonas_page)
    jonas_page.context.close()

    # Kari reads the whole thread, and never the internal note.
    kari_page = new_page(browser, server, device)
    kari = A11y()
    log_in_resident(kari_page, kari, "Kari Nordmann")
    kari.check(kari_page)
    kari_page.get_by_role("link", name=SUBJECT).click()
    expect(
        kari_page.get_by_text("Skrevet av Ola Nordmann på vegne av Kari Nordmann")
    ).to_be_visible()
    expect(kari_page.get_by_text("Midlertidig svar", exact=True)).to_be_visible()
    expect(kari_page.get_by_text("Neste svar kommer innen")).to_be_visible()
    expect(kari_page.get_by_text("Jonas Lie, Hjemmesykepleien sone Nord").first).to_be_visible()
    expect(kari_page.get_by_text(FINAL)).to_be_visible()
    expect(kari_page.get_by_text("Denne samtalen er avsluttet.")).to_be_visible()
    assert NOTE not in kari_page.content()
    kari.check(kari_page)
    kari_page.context.close()

    # Eva, with fullmakt for Timeavtaler og behandlere, sees the same thread.
    eva_page = new_page(browser, server, device)
    eva = A11y()
    log_in_resident(eva_page, eva, "Eva Nordmann")
    eva.check(eva_page)
    act_for(eva_page, eva, "Eva Nordmann", "Kari Nordmann")
    eva.check(eva_page, "acting for Kari")
    eva_page.get_by_role("link", name=SUBJECT).click()
    expect(eva_page.get_by_text(FINAL)).to_be_visible()
    expect(
        eva_page.get_by_text("Skrevet av Ola Nordmann på vegne av Kari Nordmann")
    ).to_be_visible()
    assert NOTE not in eva_page.content()
    eva.check(eva_page)
    eva_page.context.close()
    for other in (siri, jonas, kari, eva):
        assert not other.unchecked()


def test_replying_in_place_keeps_the_page(page: Page, a11y: A11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.get_by_role("link", name="Ny pakke med smertestillende").click()
    a11y.check(page)
    url = page.url
    page.get_by_label("Melding").fill("Jeg har to tabletter igjen.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message").last).to_contain_text("Jeg har to tabletter igjen.")
    assert page.url == url
    expect(page.get_by_label("Melding")).to_have_value("")
    a11y.check(page, "after replying in place")
    # An empty reply is explained in place, and nothing is lost.
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Skriv en melding.")).to_be_visible()
    a11y.check(page, "with the error")


def test_nils_cannot_write_before_consenting(page: Page, a11y: A11y):
    log_in_resident(page, a11y, "Nils Hansen")
    expect(page.get_by_role("heading", level=1)).to_have_text("Før du begynner")
    a11y.check(page)
    page.goto("/messages/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Før du begynner")
    a11y.check(page)


def test_smaby_staff_cannot_open_an_andeby_thread(page: Page, a11y: A11y, server):
    thread_id = server.scalar("SELECT min(id) FROM thread")
    log_in_staff(page, a11y, "lars")
    a11y.check(page)
    response = page.goto(f"/staff/threads/{thread_id}")
    assert response.status == 404
    a11y.check(page)


def test_staff_of_another_andeby_unit_cannot_open_the_thread(page: Page, a11y: A11y, server):
    thread_id = server.scalar("SELECT min(id) FROM thread")
    log_in_staff(page, a11y, "tone")
    a11y.check(page)
    response = page.goto(f"/staff/threads/{thread_id}")
    assert response.status == 404
    a11y.check(page)
