"""Staff log-in, the unit guard, and tenant isolation between municipalities."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.journeys import log_in_resident, log_in_staff, staff_nav


def test_siri_logs_in_with_username_and_password(page: Page, a11y):
    log_in_staff(page, a11y, "siri")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    expect(page.get_by_text("Hjemmesykepleien sone Nord").first).to_be_visible()
    a11y.check(page)
    staff_nav(page, "Tjenestemottakere")
    expect(page.get_by_role("link", name="Kari Nordmann")).to_be_visible()
    a11y.check(page)
    page.get_by_role("link", name="Kari Nordmann").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kari Nordmann")
    a11y.check(page)


def test_a_wrong_password_is_explained_and_nothing_opens(page: Page, a11y):
    log_in_staff(page, a11y, "siri", password="feil-passord")
    expect(page.get_by_role("alert")).to_contain_text("Brukernavnet eller passordet er feil")
    a11y.check(page, "with the error")
    page.goto("/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg inn for ansatte")
    a11y.check(page)


def test_anne_chooses_which_of_her_units_to_work_for(page: Page, a11y):
    log_in_staff(page, a11y, "anne")
    expect(page.get_by_role("heading", level=1)).to_have_text("Velg tjenestested")
    a11y.check(page)
    page.get_by_role("button", name="Praktisk bistand Andeby").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    expect(page.locator(".staff-unit")).to_have_text("Praktisk bistand Andeby")
    a11y.check(page)


def test_the_administrator_reaches_administration(page: Page, a11y):
    log_in_staff(page, a11y, "admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Administrasjon")
    expect(page.get_by_role("row", name="Fysioterapi")).to_contain_text("Stengt")
    a11y.check(page)


def test_a_resident_cannot_open_a_staff_url(page: Page, a11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    for path in ("/staff/", "/staff/recipients", "/admin/"):
        response = page.goto(path)
        assert response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Du har ikke tilgang til denne siden"
        )
        a11y.check(page)


def test_smaby_staff_see_nothing_of_andeby(page: Page, a11y, server):
    kari_id = server.scalar("SELECT id FROM person WHERE fodselsnummer = '12833810241'")
    log_in_staff(page, a11y, "lars")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    expect(page.locator(".staff-unit")).to_have_text("Hjemmetjenesten Småby")
    a11y.check(page)
    staff_nav(page, "Tjenestemottakere")
    expect(page.get_by_role("link", name="Per Pettersen")).to_be_visible()
    expect(page.get_by_text("Kari Nordmann")).to_have_count(0)
    a11y.check(page)
    response = page.goto(f"/staff/recipients/{kari_id}")
    assert response.status == 404
    expect(page.get_by_text("Kari Nordmann")).to_have_count(0)
    a11y.check(page)
    response = page.goto("/admin/")
    assert response.status == 403
    a11y.check(page)
