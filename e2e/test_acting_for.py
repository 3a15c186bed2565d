"""Acting for someone else: Ola for his mother Kari, Lise for her son Emil."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.journeys import act_for, log_in_resident, person_menu

BANNER = "Du bruker nå Hjemmedialog på vegne av Kari Nordmann."


def test_ola_switches_to_kari_sees_the_banner_and_switches_back(page: Page, a11y):
    log_in_resident(page, a11y, "Ola Nordmann")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldinger")
    a11y.check(page)

    menu_button = person_menu(page, "Ola Nordmann")
    menu_button.click()
    menu = page.locator("#person-menu")
    expect(menu).to_be_visible()
    expect(
        page.get_by_role("button", name="Ola Nordmann", exact=True, expanded=True)
    ).to_be_visible()
    expect(menu.get_by_role("button", name="Ola Nordmann deg selv")).to_be_visible()
    a11y.check(page, "with the person menu open")
    menu.get_by_role("button", name="Kari Nordmann fullmakt").click()

    expect(page.get_by_text(BANNER)).to_be_visible()
    expect(person_menu(page, "Kari Nordmann")).to_be_visible()
    a11y.check(page, "acting for Kari")

    page.get_by_role("navigation", name="Hovedmeny").get_by_role(
        "link", name="Helsekontakter"
    ).click()
    expect(page.get_by_text(BANNER)).to_be_visible()
    expect(page.get_by_role("heading", name="Hjemmesykepleie")).to_be_visible()
    a11y.check(page, "acting for Kari")

    page.get_by_role("button", name="Tilbake til deg selv").click()
    expect(page.get_by_text(BANNER)).to_have_count(0)
    expect(person_menu(page, "Ola Nordmann")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Helsekontakter")
    a11y.check(page)


def test_while_acting_for_kari_her_profile_is_not_open_to_ola(page: Page, a11y):
    log_in_resident(page, a11y, "Ola Nordmann")
    a11y.check(page)
    person_menu(page, "Ola Nordmann").click()
    page.locator("#person-menu").get_by_role("button", name="Kari Nordmann fullmakt").click()
    expect(page.get_by_text(BANNER)).to_be_visible()
    a11y.check(page)
    page.goto("/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("Du har ikke tilgang til denne siden")
    # Still in the app: the top bar, the banner and the navigation, and a way back.
    expect(person_menu(page, "Kari Nordmann")).to_be_visible()
    expect(page.get_by_role("navigation", name="Hovedmeny")).to_be_visible()
    expect(page.get_by_role("link", name="Gå tilbake til sidene til Kari Nordmann")).to_be_visible()
    a11y.check(page)
    page.get_by_role("button", name="Tilbake til deg selv").click()
    expect(person_menu(page, "Ola Nordmann")).to_be_visible()
    a11y.check(page)


def test_while_acting_for_kari_the_menu_leads_ola_to_his_own_profile(page: Page, a11y):
    log_in_resident(page, a11y, "Ola Nordmann")
    a11y.check(page)
    act_for(page, a11y, "Ola Nordmann", "Kari Nordmann")
    a11y.check(page, "acting for Kari")
    person_menu(page, "Kari Nordmann").click()
    entry = page.locator("#person-menu").get_by_role("button", name=re.compile("^Din profil"))
    expect(entry).to_contain_text("som deg selv, Ola Nordmann")
    a11y.check(page, "with the person menu open")
    entry.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Profil og innstillinger")
    expect(person_menu(page, "Ola Nordmann")).to_be_visible()
    expect(page.get_by_text(BANNER)).to_have_count(0)
    a11y.check(page)


def test_lise_acts_for_her_son_emil_as_a_parent(page: Page, a11y):
    log_in_resident(page, a11y, "Lise Berg")
    a11y.check(page)
    person_menu(page, "Lise Berg").click()
    page.locator("#person-menu").get_by_role("button", name="Emil Berg barnet ditt").click()
    expect(page.get_by_text("Du bruker nå Hjemmedialog på vegne av Emil Berg.")).to_be_visible()
    a11y.check(page)
    page.get_by_role("navigation", name="Hovedmeny").get_by_role(
        "link", name="Helsekontakter"
    ).click()
    expect(page.get_by_role("heading", name="Avlastning")).to_be_visible()
    a11y.check(page)


def test_kari_represents_nobody_else(page: Page, a11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    person_menu(page, "Kari Nordmann").click()
    expect(page.locator("#person-menu").get_by_role("listitem")).to_have_count(
        3
    )  # herself + 2 links
    a11y.check(page, "with the person menu open")
