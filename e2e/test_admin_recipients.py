"""Service recipients from a CSV file (docs/product.md 5.9): a file with a bad line is refused with
that line named and nothing stored; the corrected file registers everyone; the same file
again changes nothing."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Page, expect
from stdnum.no import fodselsnummer

from e2e.conftest import A11y
from e2e.journeys import log_in_staff


def number(born: date) -> str:
    """A valid ordinary fødselsnummer for a birth date."""
    for serial in range(499):
        base = f"{born:%d%m%y}{serial:03d}"
        first = fodselsnummer.calc_check_digit1(base)
        second = fodselsnummer.calc_check_digit2(base + first) if len(first) == 1 else "10"
        if len(first) == 1 and len(second) == 1:
            return base + first + second
    raise RuntimeError("no number")


def upload(page: Page, a11y: A11y, content: str) -> None:
    page.get_by_label("CSV-fil").set_input_files(
        {"name": "mottakere.csv", "mimeType": "text/csv", "buffer": content.encode("utf-8-sig")}
    )
    page.get_by_role("button", name="Importer", exact=True).click()
    expect(page.locator("#import-report")).to_be_visible()
    a11y.check(page)


def test_a_recipients_file_is_refused_by_line_then_imported_once(page: Page, a11y: A11y, device):
    day = 3 if device == "phone" else 4
    gunn, ulf = number(date(1944, 5, day)), number(date(1946, 7, day))
    header = "fodselsnummer;fornavn;etternavn;tjeneste;fra;til\n"
    good = f"{gunn};Gunn;Grønnli{day};Avlastning;2026-01-01;\n"
    wrong = f"{ulf[:-1]}{(int(ulf[-1]) + 1) % 10};Ulf;Urdal{day};Avlastning;01.02.2026;31.12.2026\n"
    right = f"{ulf};Ulf;Urdal{day};Avlastning;01.02.2026;31.12.2026\n"

    log_in_staff(page, a11y, "admin")
    page.goto("/admin/")
    a11y.check(page)
    page.get_by_role("link", name="Tjenestemottakere").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tjenestemottakere")
    a11y.check(page)
    page.get_by_role("link", name="Importer fra fil").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Importer tjenestemottakere")
    a11y.check(page)

    upload(page, a11y, header + good + wrong)
    report = page.locator("#import-report")
    expect(report).to_contain_text("Ingenting ble importert")
    expect(report).to_contain_text("Linje 3: fødselsnummeret er ikke gyldig.")
    expect(report).not_to_contain_text("Linje 2")

    page.goto("/admin/recipients")
    a11y.check(page)
    page.get_by_label("Tjeneste", exact=True).select_option(label="Avlastning")
    page.get_by_label("Navn eller fødselsnummer").fill(f"Grønnli{day}")
    page.get_by_role("button", name="Søk").click()
    expect(
        page.get_by_text(f"Ingen mottaker av Avlastning passer med Grønnli{day}.")
    ).to_be_visible()
    a11y.check(page)

    page.goto("/admin/recipients/import")
    upload(page, a11y, header + good + right)
    expect(report).to_contain_text("Filen er importert")
    expect(report).to_contain_text("2 registreringer lagt til")

    page.goto("/admin/recipients/import")
    upload(page, a11y, header + good + right)
    expect(report).to_contain_text("0 registreringer lagt til")
    expect(report).to_contain_text("0 registreringer endret")
    expect(report).to_contain_text("2 linjer var allerede registrert")

    page.goto("/admin/recipients")
    a11y.check(page)
    page.get_by_label("Tjeneste", exact=True).select_option(label="Avlastning")
    page.get_by_label("Navn eller fødselsnummer").fill(f"Urdal{day}")
    page.get_by_role("button", name="Søk").click()
    rows = page.locator("#recipient-list li.row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Ulf Urdal{day}")
    a11y.check(page)
