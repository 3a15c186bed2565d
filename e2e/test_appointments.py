"""Appointments across both sides (issue: appointments), and the visit list offline.

Kari's week shows her visits with the right labels; Eva, acting for Kari, cancels a
period covering two services; Siri acknowledges it; Jonas registers a visit as done and
Kari sees it as Utført; the outbox holds the notice for Ola and none for Kari, and the
worker delivers it (to the development sink) without names or services.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from app.clock import oslo_day_bounds, oslo_today
from app.models.base import UTCDateTime
from e2e.conftest import DEVICES, A11y
from e2e.journeys import act_for, log_in_resident, log_in_staff, staff_nav

KARI = "12833810241"
OLA = "05896820194"


def new_page(browser: Browser, server, device: str) -> Page:
    context = browser.new_context(
        base_url=server.url, locale="nb-NO", timezone_id="Europe/Oslo", **DEVICES[device]
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def person_id(server, number: str) -> int:
    return server.scalar("SELECT id FROM person WHERE fodselsnummer = :n", n=number)


def todays_visit(server) -> int:
    """Kari's first assigned home-nursing visit from today on (Oslo): the demo is loaded
    once per run, which may have begun the day before."""
    statement = sa.text(
        "SELECT a.id FROM appointment a JOIN service s ON s.id = a.service_id "
        "JOIN person p ON p.id = a.person_id "
        "WHERE p.fodselsnummer = :n AND s.name = 'Hjemmesykepleie' AND a.status = 'assigned' "
        "AND a.window_start >= :today ORDER BY a.window_start LIMIT 1"
    ).bindparams(sa.bindparam("today", type_=UTCDateTime()))
    return server.scalar(statement, n=KARI, today=oslo_day_bounds(oslo_today())[0])


def notices_for(server, number: str, event: str) -> int:
    return server.scalar(
        "SELECT count(*) FROM notice n JOIN person p ON p.id = n.recipient_person_id "
        "WHERE p.fodselsnummer = :n AND n.event = :e",
        n=number,
        e=event,
    )


def test_week_cancellation_acknowledgement_and_a_visit_done(
    page: Page, a11y: A11y, browser, server, device
):
    # Kari's week: today's visit is assigned to Jonas; last week's are done; later ones planned.
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Timeavtaler").click()
    a11y.check(page)
    page.get_by_role("link", name="Kalender").click()
    today = page.locator(".week-day.is-today")
    expect(today.locator(".appt").first).to_contain_text("Tildelt")
    expect(today.locator(".appt").first).to_contain_text("Jonas Lie")
    a11y.check(page, "week")
    page.get_by_role("link", name="Forrige uke").click()
    expect(page.locator(".appt").filter(has_text="Utført").first).to_contain_text("Jonas Lie")
    a11y.check(page, "last week")
    page.get_by_role("link", name="Neste uke").click()
    expect(page.locator(".week-day.is-today")).to_have_count(1)
    a11y.check(page, "this week again")
    page.get_by_role("link", name="Neste uke").click()
    planned = page.locator(".appt").filter(has_text="Planlagt").first
    expect(planned).to_contain_text("08:00–10:00")
    expect(planned).not_to_contain_text("Jonas Lie")
    a11y.check(page, "next week")
    page.get_by_role("link", name="Måned").click()
    expect(page.locator("table.month")).to_be_visible()
    a11y.check(page, "month")
    page.get_by_role("link", name="Liste").click()
    expect(page.locator(".appt").first).to_be_visible()
    a11y.check(page, "list")
    page.context.close()

    # Eva, acting for Kari, cancels a week a week from now, for both services.
    eva_page = new_page(browser, server, device)
    eva = A11y()
    log_in_resident(eva_page, eva, "Eva Nordmann")
    eva.check(eva_page)
    act_for(eva_page, eva, "Eva Nordmann", "Kari Nordmann")
    eva.check(eva_page, "acting for Kari")
    start = oslo_today() + timedelta(days=7)
    end = start + timedelta(days=6)
    eva_page.goto(f"/appointments?view=week&date={start.isoformat()}")
    eva.check(eva_page)
    eva_page.locator(".week-day").filter(has_text=f"{start.day}.").locator(
        ".appt-link"
    ).first.click()
    eva.check(eva_page)
    eva_page.get_by_role("link", name="Avbestill").click()
    expect(eva_page.get_by_role("heading", level=1)).to_have_text("Avbestill")
    eva.check(eva_page)
    eva_page.get_by_label("Periode", exact=True).check()
    eva_page.get_by_label("Fra dato").fill(start.isoformat())
    eva_page.get_by_label("Fra klokkeslett").fill("00:00")
    eva_page.get_by_label("Til dato").fill(end.isoformat())
    eva_page.get_by_label("Til klokkeslett").fill("23:59")
    expect(eva_page.get_by_label("Hjemmesykepleie")).to_be_checked()
    eva_page.get_by_label("Praktisk bistand").check()
    eva_page.get_by_label("Beskjed til tjenesten (valgfritt)").fill("Mamma er hos meg denne uka.")
    eva.check(eva_page, "with the form filled in")
    eva_page.get_by_role("button", name="Avbestill").click()
    # She sees what it will cancel, and nothing is cancelled until she confirms.
    expect(eva_page.get_by_role("heading", level=1)).to_have_text("Bekreft avbestillingen")
    expect(eva_page.locator(".rows .row")).to_have_count(9)
    eva.check(eva_page, "asked to confirm")
    eva_page.get_by_role("button", name="Bekreft avbestilling").click()
    expect(eva_page.get_by_role("heading", level=1)).to_have_text("Avbestillingen er registrert")
    cancelled = eva_page.locator(".rows .row")
    expect(cancelled.filter(has_text="Hjemmesykepleie")).to_have_count(7)
    expect(cancelled.filter(has_text="Praktisk bistand")).to_have_count(2)
    eva.check(eva_page)
    eva_page.context.close()

    # Siri finds the cancellation in Avbestillinger and acknowledges it.
    siri_page = new_page(browser, server, device)
    siri = A11y()
    log_in_staff(siri_page, siri, "siri")
    siri.check(siri_page)
    staff_nav(siri_page, "Avbestillinger")
    card = siri_page.locator(".cancellation-card").first
    expect(card).to_contain_text("Kari Nordmann")
    expect(card).to_contain_text("Avbestilt av Eva Nordmann på vegne av Kari Nordmann")
    expect(card).to_contain_text("Mamma er hos meg denne uka.")
    siri.check(siri_page)
    card.get_by_role("button", name="Kvitter ut").click()
    expect(siri_page.locator(".cancellation-card").first).to_contain_text("Kvittert ut")
    siri.check(siri_page)
    siri_page.context.close()

    # Jonas registers Kari's visit as done on Mine besøk i dag.
    jonas_page = new_page(browser, server, device)
    jonas = A11y()
    log_in_staff(jonas_page, jonas, "jonas")
    jonas.check(jonas_page)
    jonas_page.get_by_role("link", name="Mine besøk i dag").click()
    kari_card = jonas_page.locator(".visit-card").filter(has_text="Kari Nordmann")
    expect(kari_card).to_contain_text("Solsikkeveien 4")
    jonas.check(jonas_page)
    kari_card.get_by_role("button", name="Registrer utført").click()
    expect(kari_card.locator(".visit-done")).to_have_text(re.compile(r"^Utført kl\. \d\d:\d\d$"))
    jonas.check(jonas_page, "after registering")
    jonas_page.context.close()

    # Kari's calendar shows it done, with Jonas's name and the time.
    kari_page = new_page(browser, server, device)
    kari = A11y()
    log_in_resident(kari_page, kari, "Kari Nordmann")
    kari.check(kari_page)
    kari_page.goto("/appointments?view=week")
    first_today = kari_page.locator(".week-day.is-today .appt").first
    expect(first_today).to_contain_text("Utført")
    expect(first_today).to_contain_text("Jonas Lie")
    expect(first_today).to_contain_text("kl. ")
    kari.check(kari_page)
    kari_page.context.close()

    # The outbox: a completed-visit notice for Ola (Alle varsler), none for Kari (Normal).
    assert notices_for(server, OLA, "visit_completed") == 1
    assert notices_for(server, KARI, "visit_completed") == 0

    # The worker sends it; here the development sink keeps the e-mail Ola gets.
    outbox_page = new_page(browser, server, device)
    outbox = A11y()
    to_ola = outbox_page.locator("li").filter(has_text="ola@andeby.example")
    done = to_ola.filter(has_text="Et hjemmebesøk er utført")
    deadline = time.monotonic() + 20
    while True:  # the page shows what has been sent so far: look again until it is there
        outbox_page.goto("/dev/outbox")
        if done.count() or time.monotonic() > deadline:
            break
        outbox_page.wait_for_timeout(300)
    expect(done).to_have_count(1)
    expect(to_ola.first).to_contain_text(
        "Et hjemmebesøk fra Andeby kommune til en du representerer, ble registrert som utført kl."
    )
    expect(to_ola.first).not_to_contain_text("Kari")  # no names, no service, no diagnosis
    expect(to_ola.first).not_to_contain_text("Hjemmesykepleie")
    assert outbox_page.locator("li").filter(has_text="kari@andeby.example").count() == 0
    outbox.check(outbox_page)
    outbox_page.context.close()
    for other in (eva, siri, jonas, kari):
        assert not other.unchecked()
