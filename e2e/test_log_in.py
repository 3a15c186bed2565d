"""Residents log in through the test identity provider; Nils consents first."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.journeys import log_in_resident, person_menu


def test_kari_logs_in_by_clicking_her_name_and_lands_on_meldinger(page: Page, a11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    expect(page).to_have_url(f"{page.context.pages[0].url.split('/messages')[0]}/messages")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    expect(person_menu(page, "Kari Nordmann")).to_be_visible()
    nav = page.get_by_role("navigation", name="Hovedmeny")
    expect(nav.get_by_role("link", name="Meldinger")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Timeavtaler")).to_be_visible()
    expect(nav.get_by_role("link", name="Helsekontakter")).to_be_visible()
    a11y.check(page)


def test_kari_reaches_every_section_and_logs_out(page: Page, a11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    nav = page.get_by_role("navigation", name="Hovedmeny")
    nav.get_by_role("link", name="Timeavtaler").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Timeavtaler")
    a11y.check(page)
    nav.get_by_role("link", name="Helsekontakter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Helsekontakter")
    expect(page.get_by_text("Ikke åpen for digital dialog")).to_be_visible()
    a11y.check(page)
    person_menu(page, "Kari Nordmann").click()
    page.get_by_role("link", name="Profil og innstillinger").click()
    expect(page.get_by_role("heading", name="Personopplysninger")).to_be_visible()
    a11y.check(page)
    person_menu(page, "Kari Nordmann").click()
    page.get_by_role("button", name="Logg ut").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Du er logget ut")
    a11y.check(page)
    page.goto("/messages")
    expect(page.get_by_role("link", name="Logg inn", exact=True)).to_be_visible()
    a11y.check(page)


def test_nils_sees_only_the_consent_page_until_he_consents(page: Page, a11y):
    log_in_resident(page, a11y, "Nils Hansen")
    expect(page.get_by_role("heading", level=1)).to_have_text("Før du begynner")
    a11y.check(page)
    # Nothing else is open before consent.
    page.goto("/messages")
    expect(page.get_by_role("heading", level=1)).to_have_text("Før du begynner")
    a11y.check(page)
    # Continuing without ticking the box explains what is missing.
    page.get_by_role("button", name="Godta og fortsett").click()
    expect(page.get_by_role("alert")).to_contain_text("Du må godta vilkårene")
    a11y.check(page, "with the error")
    page.get_by_label(
        "Jeg godtar bruksvilkårene og samtykker til dialogtjenester og personlig helsearkiv"
    ).check()
    page.get_by_role("button", name="Godta og fortsett").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    expect(page.get_by_role("status")).to_contain_text("Nå kan du bruke Hjemmedialog")
    a11y.check(page)


def test_the_language_switch_changes_the_whole_page(page: Page, a11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    a11y.check(page, "in English")
    page.get_by_role("button", name="Nynorsk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingar")
    expect(page.locator("html")).to_have_attribute("lang", "nn")
    a11y.check(page, "in nynorsk")
    page.get_by_role("button", name="Bokmål").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    a11y.check(page)
