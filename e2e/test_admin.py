"""Administrasjon (docs/product.md 5.9): the administrator closes and reopens a service for digital
dialog and sets the reply deadline; Kari sees the effect at once."""

from __future__ import annotations

from datetime import timedelta

import holidays
from babel.dates import format_date
from playwright.sync_api import Browser, Page, expect

from app.clock import OSLO, oslo_today, utcnow
from e2e.conftest import DEVICES, A11y
from e2e.journeys import log_in_resident, log_in_staff


def new_page(browser: Browser, server, device: str) -> Page:
    context = browser.new_context(
        base_url=server.url, locale="nb-NO", timezone_id="Europe/Oslo", **DEVICES[device]
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def promised_dates(days: int) -> set[str]:
    """The reply date in the words the page uses (either side of a midnight), counted here
    day by day from the calendar: weekends and Norwegian public holidays are no working days."""
    norway = holidays.country_holidays("NO")
    dates = set()
    for moment in (utcnow(), utcnow() + timedelta(minutes=5)):
        day = moment.astimezone(OSLO).date()
        left = days
        while left:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in norway:
                left -= 1
        pattern = "EEEE d. MMMM" + (" y" if day.year != oslo_today().year else "")
        dates.add(format_date(day, pattern, locale="nb"))
    return dates


def set_dialog(page: Page, a11y: A11y, service: str, *, open_: bool) -> None:
    page.goto("/admin/")
    page.get_by_role("row", name=service).get_by_role("link", name="Endre").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(service)
    expect(page.get_by_text("Eksisterende samtaler kan fortsatt leses og besvares")).to_be_visible()
    a11y.check(page)
    page.get_by_label("Åpen for digital dialog").set_checked(open_)
    page.get_by_role("button", name="Lagre").click()
    expect(page.get_by_role("status")).to_contain_text("Endringene i Praktisk bistand er lagret")
    expect(page.get_by_role("row", name=service)).to_contain_text("Åpen" if open_ else "Stengt")
    a11y.check(page)


def test_closing_praktisk_bistand_takes_it_out_of_skriv_melding_until_reopened(
    page: Page, a11y: A11y, browser: Browser, server, device
):
    log_in_staff(page, a11y, "admin")
    a11y.check(page)
    set_dialog(page, a11y, "Praktisk bistand", open_=False)

    kari_page = new_page(browser, server, device)
    kari = A11y()
    log_in_resident(kari_page, kari, "Kari Nordmann")
    kari.check(kari_page)
    kari_page.goto("/messages/new")
    expect(kari_page.get_by_role("radio", name="Hjemmesykepleie")).to_be_visible()
    expect(kari_page.get_by_role("radio", name="Praktisk bistand")).to_have_count(0)
    closed = kari_page.locator("#closed-services")
    expect(closed).to_contain_text("ikke åpne for digitale meldinger")
    expect(closed).to_contain_text("Praktisk bistand, Praktisk bistand Andeby")
    kari.check(kari_page)

    set_dialog(page, a11y, "Praktisk bistand", open_=True)
    kari_page.reload()
    expect(kari_page.get_by_role("radio", name="Praktisk bistand")).to_be_visible()
    expect(closed).not_to_contain_text("Praktisk bistand")
    kari.check(kari_page)

    # Both changes are in the change log, newest first.
    page.get_by_role("link", name="Endringslogg").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Endringslogg")
    lines = page.locator("#change-log li")
    expect(lines.first).to_contain_text("Praktisk bistand: Digital dialog endret fra Nei til Ja")
    expect(lines.nth(1)).to_contain_text("Praktisk bistand: Digital dialog endret fra Ja til Nei")
    a11y.check(page)
    kari_page.context.close()


def test_a_reply_deadline_of_two_working_days_is_promised_to_kari(
    page: Page, a11y: A11y, browser: Browser, server, device
):
    log_in_staff(page, a11y, "admin")
    a11y.check(page)
    page.get_by_role("link", name="Endre innstillinger").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Innstillinger for kommunen")
    a11y.check(page)
    page.get_by_label("Svarfrist i virkedager").fill("11")
    page.get_by_role("button", name="Lagre").click()
    expect(page.get_by_role("alert")).to_contain_text("fra 1 til 10 virkedager")
    a11y.check(page, "with the refused deadline")
    page.get_by_label("Svarfrist i virkedager").fill("2")
    page.get_by_role("button", name="Lagre").click()
    expect(page.get_by_text("2 virkedager", exact=True)).to_be_visible()
    a11y.check(page)

    kari_page = new_page(browser, server, device)
    kari = A11y()
    log_in_resident(kari_page, kari, "Kari Nordmann")
    kari.check(kari_page)
    kari_page.goto("/messages/new")
    kari.check(kari_page)
    kari_page.get_by_role("radio", name="Hjemmesykepleie").check()
    kari_page.get_by_label("Emne").fill("Ny resept")
    kari_page.get_by_label("Melding").fill("Kan dere hente den nye resepten?")
    kari_page.get_by_role("button", name="Send").click()
    expect(kari_page.get_by_role("heading", level=1)).to_have_text("Ny resept")
    confirmation = kari_page.get_by_role("status").inner_text()
    assert any(f"Svar forventet innen {d}" in confirmation for d in promised_dates(2)), confirmation
    kari.check(kari_page)
    kari_page.context.close()
