"""Staff accounts in Administrasjon (docs/product.md 5.9): the administrator creates an account with
a unit and a role; the new person logs in with the one-time password, must choose a new one,
and sees the unit's queue; deactivated, the open session is refused on the next request."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import A11y
from e2e.journeys import log_in_staff
from e2e.test_admin import new_page

UNIT = "Hjemmesykepleien sone Nord"
ONE_TIME = "engangs passord 42"
OWN = "mitt eget gode passord"


def test_a_new_account_logs_in_changes_its_password_and_is_deactivated(
    page: Page, a11y: A11y, browser: Browser, server, device
):
    username = f"nina.{device}"
    log_in_staff(page, a11y, "admin")
    a11y.check(page)
    page.goto("/admin/")
    page.get_by_role("link", name="Ansattkontoer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ansattkontoer")
    a11y.check(page)
    page.get_by_role("link", name="Ny ansattkonto").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ny ansattkonto")
    a11y.check(page)
    page.get_by_label("Fullt navn").fill(f"Nina Ny {device}")
    page.get_by_label("Brukernavn").fill(username)
    page.get_by_role("group", name=UNIT).get_by_label("meldingsansvarlig").check()
    page.get_by_label("Engangspassord", exact=True).fill(ONE_TIME)
    page.get_by_label("Det samme passordet en gang til").fill(ONE_TIME)
    page.get_by_role("button", name="Opprett konto").click()
    expect(page.get_by_role("status")).to_contain_text(f"kan nå logge inn som {username}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Nina Ny {device}")
    a11y.check(page)

    # The new person, in a browser of their own.
    nina_page = new_page(browser, server, device)
    nina = A11y()
    log_in_staff(nina_page, nina, username, ONE_TIME)
    expect(nina_page.get_by_role("heading", level=1)).to_have_text("Velg nytt passord")
    nina.check(nina_page)
    nina_page.goto("/staff/")  # nothing else until the password is changed
    expect(nina_page.get_by_role("heading", level=1)).to_have_text("Velg nytt passord")
    nina_page.get_by_label("Nytt passord", exact=True).fill(OWN)
    nina_page.get_by_label("Det samme passordet en gang til").fill(OWN)
    nina_page.get_by_role("button", name="Lagre passord").click()
    expect(nina_page.get_by_role("heading", level=1)).to_have_text("Meldingskø")
    expect(nina_page.get_by_text(f"Nye og ubehandlede meldinger til {UNIT}")).to_be_visible()
    nina.check(nina_page)

    # The administrator deactivates the account; Nina's open session ends at once.
    page.get_by_role("link", name="Deaktiver").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Deaktiver Nina Ny {device}")
    a11y.check(page)
    page.get_by_role("button", name="Deaktiver").click()
    expect(page.get_by_role("status")).to_contain_text("er deaktivert og logget ut overalt")
    a11y.check(page)

    nina_page.reload()
    expect(nina_page.get_by_role("heading", level=1)).to_have_text("Logg inn for ansatte")
    expect(nina_page.get_by_text("Kontoen din er deaktivert")).to_be_visible()
    nina.check(nina_page)

    # Endringslogg says who did what.
    page.goto("/admin/changes")
    log = page.locator("#change-log")
    expect(log).to_contain_text(f"Nina Ny {device}: konto opprettet med brukernavn {username}")
    expect(log).to_contain_text(f"Nina Ny {device}: Kan logge inn endret fra Ja til Nei")
    a11y.check(page)
