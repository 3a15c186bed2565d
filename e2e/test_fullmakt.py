"""Acting for others and the resident's own settings (issue: fullmakt, children, settings, log)."""

from __future__ import annotations

import time
from datetime import date, timedelta

from babel.dates import format_date
from playwright.sync_api import Browser, Page, expect

from app.clock import oslo_today
from e2e.conftest import DEVICES, A11y
from e2e.journeys import act_for, log_in_resident, log_in_staff, person_menu, staff_nav

KNUT, MARIT, LISE = "09820960103", "30915032067", "14868540266"


def new_page(browser: Browser, server, device: str) -> Page:
    context = browser.new_context(
        base_url=server.url, locale="nb-NO", timezone_id="Europe/Oslo", **DEVICES[device]
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def open_gi_ny_fullmakt(page: Page, a11y: A11y, me: str) -> None:
    person_menu(page, me).click()
    a11y.check(page, "with the person menu open")
    page.get_by_role("link", name="Profil og innstillinger").click()
    a11y.check(page)
    page.get_by_role("link", name="Fullmakter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fullmakter")
    a11y.check(page)
    page.get_by_role("link", name="Gi ny fullmakt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gi ny fullmakt")
    a11y.check(page)


def search(page: Page, number: str, family_name: str) -> None:
    page.get_by_label("Fødselsnummer").fill(number)
    page.get_by_label("Etternavn").fill(family_name)
    page.get_by_role("button", name="Søk").click()


def weekday(day: date) -> str:
    """As the app writes a day ("onsdag 3. juni", with the year when it is not this year)."""
    pattern = "EEEE d. MMMM" + (" y" if day.year != oslo_today().year else "")
    return format_date(day, pattern, locale="nb")


NO_MATCH = "Vi fant ingen som kan få fullmakt fra deg med det fødselsnummeret og etternavnet"


def test_kari_gives_lise_a_fullmakt_and_ends_it(page: Page, a11y: A11y, browser, server, device):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    open_gi_ny_fullmakt(page, a11y, "Kari Nordmann")

    # Under 18, a protected address, the wrong family name: one and the same answer, no name.
    search(page, KNUT, "Knutsen")
    expect(page.get_by_role("alert")).to_contain_text(NO_MATCH)
    expect(page.get_by_role("alert")).not_to_contain_text("Knut")
    a11y.check(page, "Knut refused")
    search(page, MARIT, "Olsen")
    expect(page.get_by_role("alert")).to_contain_text(NO_MATCH)
    expect(page.get_by_role("alert")).not_to_contain_text("Marit")
    search(page, LISE, "Nordmann")
    expect(page.get_by_role("alert")).to_contain_text(NO_MATCH)
    expect(page.get_by_label("Fødselsnummer")).to_have_value(LISE)  # nothing typed is lost
    a11y.check(page, "Marit and Lise by the wrong name refused")

    search(page, LISE, "berg")
    expect(page.get_by_role("heading", level=1)).to_have_text("Fullmakt til Lise Berg")
    a11y.check(page)
    last_day = oslo_today() + timedelta(days=90)
    page.get_by_label("Til en dato").check()
    page.get_by_label("Siste dag").fill(last_day.isoformat())
    page.get_by_label("Utvalgte områder").check()
    page.get_by_label("Timeavtaler og behandlere").check()
    a11y.check(page, "filled in")
    page.get_by_role("button", name="Gi fullmakt").click()
    expect(page.get_by_role("status")).to_contain_text("Lise Berg har nå fullmakt fra deg")
    given = page.locator(".fullmakt").filter(has_text="Lise Berg")
    expect(given).to_contain_text("Timeavtaler og behandlere")
    expect(given).to_contain_text("Gjelder til og med")
    a11y.check(page)

    # Lise now sees Kari in her menu, and Kari's appointments.
    lise_page = new_page(browser, server, device)
    lise = A11y()
    log_in_resident(lise_page, lise, "Lise Berg")
    lise.check(lise_page)
    act_for(lise_page, lise, "Lise Berg", "Kari Nordmann")
    lise.check(lise_page, "acting for Kari")
    nav = lise_page.get_by_role("navigation", name="Hovedmeny")
    nav.get_by_role("link", name="Timeavtaler").click()
    expect(lise_page.locator(".appt").first).to_contain_text("Hjemmesykepleie")
    lise.check(lise_page)
    appointment_url = lise_page.locator(".appt-link").first.get_attribute("href")

    # Kari ends it; Lise's next request for Kari's data is refused.
    given.get_by_role("button", name="Avslutt fullmakt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Avslutte fullmakten med Lise Berg?")
    a11y.check(page, "asked to confirm")
    page.get_by_role("button", name="Ja, avslutt fullmakten").click()
    expect(page.get_by_role("status")).to_contain_text("Fullmakten med Lise Berg er avsluttet")
    expect(page.locator(".fullmakt").filter(has_text="Lise Berg")).to_have_count(0)
    a11y.check(page)
    lise_page.reload()
    expect(lise_page.get_by_text("Du har ikke lenger tilgang")).to_be_visible()
    expect(lise_page.get_by_text("på vegne av Kari Nordmann")).to_have_count(0)
    lise.check(lise_page, "after the fullmakt ended")
    response = lise_page.goto(appointment_url)
    assert response.status == 404
    lise.check(lise_page)
    lise_page.context.close()
    assert not lise.unchecked()


def test_kari_changes_only_the_last_day_of_evas_fullmakt(page: Page, a11y: A11y):
    """Endre starts from the fullmakt as it is, says what changes, and changes only that."""
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.goto("/profile/fullmakter")
    a11y.check(page)
    eva = page.locator(".fullmakt").filter(has_text="Eva Nordmann")
    expect(eva).to_contain_text("Timeavtaler og behandlere")
    eva.get_by_role("link", name="Endre").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Endre fullmakten til Eva Nordmann")
    expect(page.get_by_label("Til en dato")).to_be_checked()
    expect(page.get_by_label("Utvalgte områder")).to_be_checked()
    expect(page.get_by_label("Timeavtaler og behandlere")).to_be_checked()
    old_last_day = date.fromisoformat(page.get_by_label("Siste dag").input_value())
    a11y.check(page)
    new_last_day = old_last_day + timedelta(days=30)
    page.get_by_label("Siste dag").fill(new_last_day.isoformat())
    page.get_by_role("button", name="Se over endringen").click()
    changes = page.get_by_role("region", name="Dette endres")
    expect(changes).to_contain_text("Siste dag: fra")
    expect(changes).not_to_contain_text("Områder")
    expect(changes).not_to_contain_text("Hvor lenge")
    a11y.check(page)
    page.get_by_role("button", name="Lagre endringen").click()
    expect(page.get_by_role("status")).to_contain_text("Fullmakten til Eva Nordmann er endret")
    eva = page.locator(".fullmakt").filter(has_text="Eva Nordmann")
    expect(eva).to_contain_text("Timeavtaler og behandlere")
    expect(eva).not_to_contain_text("Alle områder")
    expect(eva).to_contain_text(f"Gjelder til og med {weekday(new_last_day)}")
    a11y.check(page)


def test_ola_acting_for_kari_cannot_give_a_fullmakt_for_her(page: Page, a11y: A11y):
    log_in_resident(page, a11y, "Ola Nordmann")
    a11y.check(page)
    act_for(page, a11y, "Ola Nordmann", "Kari Nordmann")
    a11y.check(page, "acting for Kari")
    response = page.goto("/profile/fullmakter/new")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Du har ikke tilgang til denne siden")
    a11y.check(page)


def test_lise_sees_emil_as_a_parent(page: Page, a11y: A11y):
    log_in_resident(page, a11y, "Lise Berg")
    a11y.check(page)
    act_for(page, a11y, "Lise Berg", "Emil Berg", note="barnet ditt")
    a11y.check(page, "acting for Emil")


def test_karis_usage_log_names_ola_and_jonas(page: Page, a11y: A11y, browser, server, device):
    # Ola acts for Kari and writes; Jonas opens Kari's thread.
    ola_page = new_page(browser, server, device)
    ola = A11y()
    log_in_resident(ola_page, ola, "Ola Nordmann")
    ola.check(ola_page)
    act_for(ola_page, ola, "Ola Nordmann", "Kari Nordmann")
    ola.check(ola_page, "acting for Kari")
    ola_page.get_by_role("link", name="Skriv melding").click()
    ola.check(ola_page)
    ola_page.get_by_label("Hjemmesykepleie").check()
    ola_page.get_by_label("Emne").fill("Nøkkelboks")
    ola_page.get_by_label("Melding").fill("Koden til nøkkelboksen er endret. Ring meg. Ola")
    ola_page.get_by_role("button", name="Send").click()
    expect(ola_page.get_by_role("heading", level=1)).to_have_text("Nøkkelboks")
    ola.check(ola_page)
    ola_page.context.close()

    jonas_page = new_page(browser, server, device)
    jonas = A11y()
    log_in_staff(jonas_page, jonas, "jonas")
    jonas.check(jonas_page)
    jonas_page.get_by_role("link", name="Nøkkelboks").click()
    expect(jonas_page.get_by_role("heading", level=1)).to_have_text("Nøkkelboks")
    jonas.check(jonas_page)
    jonas_page.context.close()

    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    person_menu(page, "Kari Nordmann").click()
    a11y.check(page, "with the person menu open")
    page.get_by_role("link", name="Profil og innstillinger").click()
    a11y.check(page)
    page.get_by_role("link", name="Logg over bruk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg over bruk")
    log = page.locator("#usage-log")
    expect(
        log.locator("li").filter(has_text="Ola Nordmann sendte en melding på dine vegne")
    ).to_have_count(2)
    expect(log).to_contain_text("Ola Nordmann begynte å bruke Hjemmedialog på dine vegne")
    a11y.check(page)
    jonas_line = log.locator("li").filter(
        has_text="Jonas Lie, Hjemmesykepleien sone Nord, åpnet en meldingstråd"
    )
    expect(jonas_line).to_have_count(1)
    expect(jonas_line.locator("time")).to_contain_text("kl.")
    expect(log).to_contain_text("Siri Berg, Hjemmesykepleien sone Nord, åpnet en meldingstråd")
    assert not ola.unchecked() and not jonas.unchecked()


def test_contact_settings_are_kept(page: Page, a11y: A11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.goto("/profile/contact")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kontaktinformasjon og varseloppsett")
    a11y.check(page)
    page.get_by_label("Mobilnummer").fill("+46 70 123 45 67")
    page.get_by_label("SMS").check()
    page.get_by_role("button", name="Lagre").click()
    expect(page.get_by_role("alert")).to_contain_text("Oppgi et norsk mobilnummer")
    a11y.check(page, "with the error")
    page.get_by_label("Mobilnummer").fill("912 34 567")
    page.get_by_label("Alle varsler").check()
    page.get_by_role("button", name="Lagre").click()
    expect(page.get_by_role("status")).to_contain_text("er lagret")
    expect(page.get_by_label("Mobilnummer")).to_have_value("912 34 567")  # as people write it
    expect(page.get_by_label("Alle varsler")).to_be_checked()
    a11y.check(page)


def test_an_assigned_fullmakt_takes_effect_when_a_second_person_approves_it(
    page: Page, a11y: A11y, browser, server, device
):
    """The administrator registers a fullmakt from Kari to Lise; it gives Lise nothing until
    Anne, who leads a unit serving Kari, approves it. Then Kari's proxies are told."""
    KARI = "12833810241"
    log_in_staff(page, a11y, "admin")
    a11y.check(page)
    page.get_by_role("link", name="Tildelt fullmakt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tildelt fullmakt")
    a11y.check(page)
    page.get_by_label("Fødselsnummer til den fullmakten gjelder").fill(KARI)
    page.get_by_label("Fødselsnummer til den som får fullmakten").fill(LISE)
    page.get_by_label("Dokumentreferanse").fill("SAK 2026/17")
    page.get_by_role("button", name="Registrer fullmakt").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Bekreft at personen er vurdert til å mangle samtykkekompetanse")
    a11y.check(page, "without the assessment")
    page.get_by_label("Personen er vurdert til å mangle samtykkekompetanse").check()
    page.get_by_label("Hvem vurderte det, og på hvilket grunnlag").fill(
        "Fastlege Hansen, legeerklæring 3. mars"
    )
    page.get_by_role("button", name="Registrer fullmakt").click()
    expect(page.get_by_role("status")).to_contain_text("når en annen person har godkjent den")
    waiting = page.locator(".fullmakt").filter(has_text="Lise Berg for Kari Nordmann")
    expect(waiting).to_contain_text("Du registrerte denne fullmakten selv")
    expect(waiting).to_contain_text("Kari Nordmann bruker Hjemmedialog og har samtykket")
    expect(waiting.get_by_role("button", name="Godkjenn")).to_have_count(0)
    a11y.check(page, "waiting for a second person")

    # Until then Lise cannot act for Kari.
    lise_page = new_page(browser, server, device)
    lise = A11y()
    log_in_resident(lise_page, lise, "Lise Berg")
    lise.check(lise_page)
    person_menu(lise_page, "Lise Berg").click()
    expect(lise_page.locator("#person-menu")).not_to_contain_text("Kari Nordmann")
    lise.check(lise_page, "with the person menu open")

    anne_page = new_page(browser, server, device)
    anne = A11y()
    log_in_staff(anne_page, anne, "anne")
    anne.check(anne_page)
    anne_page.get_by_role("button", name="Hjemmesykepleien sone Nord").click()
    expect(anne_page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    anne.check(anne_page)
    staff_nav(anne_page, "Fullmakter")
    expect(anne_page.get_by_role("heading", level=1)).to_have_text("Fullmakter til godkjenning")
    anne.check(anne_page)
    card = anne_page.locator(".fullmakt").filter(has_text="Lise Berg for Kari Nordmann")
    expect(card).to_contain_text("Fastlege Hansen")
    card.get_by_role("button", name="Godkjenn").click()
    expect(anne_page.get_by_role("status")).to_contain_text("er godkjent og gjelder nå")
    expect(anne_page.get_by_text("Ingen venter på godkjenning.")).to_be_visible()
    anne.check(anne_page)
    anne_page.context.close()

    lise_page.reload()
    lise.check(lise_page)
    act_for(lise_page, lise, "Lise Berg", "Kari Nordmann")
    lise.check(lise_page, "acting for Kari")
    lise_page.context.close()

    # Ola, who already holds a fullmakt from Kari, is told (without names or health content).
    outbox_page = new_page(browser, server, device)
    outbox = A11y()
    to_ola = outbox_page.locator("li").filter(has_text="ola@andeby.example")
    told = to_ola.filter(has_text="Ny fullmakt registrert av Andeby kommune")
    deadline = time.monotonic() + 20
    while True:  # the worker sends it shortly: look again until it is there
        outbox_page.goto("/dev/outbox")
        if told.count() or time.monotonic() > deadline:
            break
        outbox_page.wait_for_timeout(300)
    expect(told).to_have_count(1)
    expect(told).not_to_contain_text("Lise")
    expect(told).not_to_contain_text("Kari")
    outbox.check(outbox_page)
    outbox_page.context.close()
    assert not lise.unchecked() and not anne.unchecked() and not outbox.unchecked()
