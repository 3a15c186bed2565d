"""Oversikt: Anne, the leader, looks at her units' figures, a chart and its numbers, chooses
a period, is told when it is reversed, and downloads the numbers as CSV."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import A11y
from e2e.journeys import log_in_staff, staff_nav


def test_anne_reads_the_overview(page: Page, a11y: A11y):
    log_in_staff(page, a11y, "anne")
    a11y.check(page)
    page.get_by_role("button", name="Hjemmesykepleien sone Nord").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    a11y.check(page)
    staff_nav(page, "Oversikt")
    expect(page.get_by_role("heading", level=1)).to_have_text("Oversikt")
    a11y.check(page)

    # Thread counts per unit, the active unit's linking to Alle tråder with the filter.
    counts = page.locator("#thread-counts")
    expect(counts).to_contain_text("Hjemmesykepleien sone Nord")
    expect(counts).to_contain_text("Praktisk bistand Andeby")
    expect(counts.locator("a[href$='/staff/threads?status=open']")).to_have_count(1)

    # Kari's completed visits are drawn, and the chart's numbers are in a table.
    chart = page.get_by_role("img", name="Utførte besøk per dag", exact=False)
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.naturalWidth") > 0  # the SVG renders
    numbers = page.locator("details").filter(has=page.locator("#completed-table"))
    numbers.get_by_text("Vis tallene").click()
    expect(page.locator("#completed-table")).to_be_visible()
    expect(page.locator("#completed-table tbody tr")).to_have_count(28)
    a11y.check(page, "with the numbers of completed visits open")

    # A reversed period is refused with a message; the last 4 weeks stay shown.
    page.get_by_label("Periode").select_option(label="Valgte datoer (fra og til)")
    page.get_by_label("Fra", exact=True).fill("2026-03-10")
    page.get_by_label("Til", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Vis", exact=True).click()
    expect(page.locator(".error-summary")).to_contain_text(
        "Fra-datoen må være samme dag som eller før til-datoen."
    )
    a11y.check(page, "with a reversed period")

    # The numbers of a table download as CSV.
    link = page.locator("a[href*='oversikt.csv?table=days']")
    expect(link).to_contain_text("Last ned tallene (CSV)")
    response = page.request.get(link.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="oversikt-days-' in response.headers["content-disposition"]
    assert response.text().lstrip("\ufeff").startswith("Dag,Utførte besøk")
