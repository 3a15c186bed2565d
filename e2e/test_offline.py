"""The installable app and the visit list without network (issue: appointments, offline).

A registration made offline is queued on the device, shown as waiting, and sent when the
network returns, exactly once, also when the replay is triggered again and again.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from e2e.conftest import A11y
from e2e.journeys import log_in_resident, log_in_staff
from e2e.test_appointments import OLA, notices_for, todays_visit

STATES = {
    "to do": "form.register-visit",
    "waiting": ".visit-waiting",
    "done": ".visit-done",
    "failed": ".visit-failed",
    "done earlier": ".visit-state > .status:not(.visit-done)",
}


def visible_states(card: Locator) -> list[str]:
    """Which of a visit's states can be seen: exactly one, always."""
    return [name for name, css in STATES.items() if card.locator(css).is_visible()]


def test_a_visit_registered_offline_is_sent_once_when_the_network_returns(
    page: Page, a11y: A11y, server
):
    visit = todays_visit(server)
    log_in_staff(page, a11y, "jonas")
    a11y.check(page)
    page.get_by_role("link", name="Mine besøk i dag").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mine besøk i dag")  # loaded
    a11y.check(page)
    card = page.locator(f".visit-card[data-visit='{visit}']")
    # Before anything is registered, every visit shows one state: to do.
    for each in page.locator(".visit-card").all():
        assert visible_states(each) == ["to do"], each.inner_text()

    page.context.set_offline(True)
    card.get_by_role("button", name="Registrer utført").click()
    expect(card.get_by_text("Venter på nett: sendes automatisk.")).to_be_visible()
    assert visible_states(card) == ["waiting"]
    expect(page.get_by_text("Du er uten nett.")).to_be_visible()
    a11y.check(page, "offline, waiting")
    queued = page.evaluate("JSON.parse(localStorage.getItem('hjemmedialog.visit-queue'))")
    assert len(queued) == 1 and set(queued[0]) == {"key", "visit", "url", "registered_at"}
    assert "Kari" not in str(queued)  # no names or health text on the device
    assert server.scalar("SELECT status FROM appointment WHERE id = :i", i=visit) == "assigned"

    page.context.set_offline(False)
    page.evaluate(
        "Promise.all([window.hjemmedialogVisits.replay(), window.hjemmedialogVisits.replay(),"
        " window.hjemmedialogVisits.replay()])"
    )
    expect(card.locator(".visit-done")).to_have_text(re.compile(r"^Utført kl\. \d\d:\d\d$"))
    assert visible_states(card) == ["done"]
    a11y.check(page, "back online")
    assert page.evaluate("window.hjemmedialogVisits.pending()") == 0

    # The same registration replayed three more times, as a flaky network might: still one.
    item = queued[0]
    statuses = page.evaluate(
        """async (item) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const send = () => fetch(item.url, {method: 'POST', headers: {
                'Content-Type': 'application/json', 'Accept': 'application/json',
                'Idempotency-Key': item.key, 'X-CSRFToken': token},
                body: JSON.stringify({registered_at: item.registered_at})});
            const answers = await Promise.all([send(), send(), send()]);
            return answers.map((r) => r.status);
        }""",
        item,
    )
    assert statuses == [200, 200, 200]
    assert server.scalar("SELECT status FROM appointment WHERE id = :i", i=visit) == "completed"
    page.reload()
    a11y.check(page, "after the registration")
    assert visible_states(page.locator(f".visit-card[data-visit='{visit}']")) == ["done earlier"]
    assert (
        server.scalar("SELECT count(*) FROM notice WHERE event_key = :k", k=f"visit:{visit}") == 1
    )
    assert notices_for(server, OLA, "visit_completed") == 1


def test_the_same_key_with_another_body_is_refused(page: Page, a11y: A11y, server):
    visit = todays_visit(server)
    log_in_staff(page, a11y, "jonas")
    a11y.check(page)
    page.get_by_role("link", name="Mine besøk i dag").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mine besøk i dag")  # loaded
    a11y.check(page)
    statuses = page.evaluate(
        """async (url) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const send = (when) => fetch(url, {method: 'POST', headers: {
                'Content-Type': 'application/json', 'Accept': 'application/json',
                'Idempotency-Key': 'same-key-0001', 'X-CSRFToken': token},
                body: JSON.stringify({registered_at: when})});
            const now = new Date();
            const first = await send(now.toISOString());
            const other = await send(new Date(now - 60000).toISOString());
            return [first.status, other.status];
        }""",
        f"/staff/visits/{visit}/complete",
    )
    assert statuses == [200, 422]


def test_the_device_queue_is_cleared_on_log_out(page: Page, a11y: A11y):
    log_in_staff(page, a11y, "jonas")
    a11y.check(page)
    page.get_by_role("link", name="Mine besøk i dag").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mine besøk i dag")  # loaded
    a11y.check(page)
    page.evaluate(
        "localStorage.setItem('hjemmedialog.visit-queue', JSON.stringify([{key: 'k', visit: '1',"
        " url: '/x', registered_at: new Date().toISOString()}]))"
    )
    page.get_by_role("button", name="Logg ut").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Du er logget ut")
    a11y.check(page)
    assert page.evaluate("localStorage.getItem('hjemmedialog.visit-queue')") is None


def test_offline_navigation_shows_the_offline_page(page: Page, a11y: A11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now controlled by the service worker
    a11y.check(page)
    page.context.set_offline(True)
    page.goto("/appointments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Du er uten nett")
    assert "Kari Nordmann" not in page.content()
    a11y.check(page, "offline")
    page.context.set_offline(False)


def test_the_app_is_installable(page: Page, a11y: A11y):
    page.goto("/")
    a11y.check(page)
    manifest = page.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())"
    )
    assert manifest["display"] == "standalone"
    assert any(icon["sizes"] == "512x512" for icon in manifest["icons"])
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => !!r.active)")
