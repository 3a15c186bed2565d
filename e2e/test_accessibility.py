"""Every page and state, for every role, checked by axe-core (docs/quality.md R7).

The pages come from the app's url map and the route table of tests/web/test_route_access.py
(which says what each role may open), not from a list kept here: a new GET route a role may
open is crawled, or the crawl fails. A route with URL parameters is filled from the demo data
through the links the role is shown (the first thread, appointment, ... it can see); a route
the crawl cannot reach fails the test, unless EXCLUDED or FLOWS below say why.

On every page: the menus (person menu, "Mer"), every expand/collapse panel, "Vis flere", the
offline banner, and every form submitted empty (its error state checked). Posting is safe:
a form is only submitted when a required field is left empty, so the server refuses it and
writes nothing; a form without required fields (a confirm-style action) is only opened.

The full state set runs in bokmål at 390 px and 1280 px; the page set (with menus and
panels) in nynorsk at 390 px and in English at 1280 px.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.exceptions import HTTPException

from e2e.conftest import AXE_TAGS, DEVICES, ONCE, A11y, LiveServer
from e2e.journeys import act_for, log_in_resident, log_in_staff
from tests.web.test_route_access import ROUTES

pytestmark = ONCE  # the crawl checks pages, not the database

# GET routes the crawl does not open, and why.
EXCLUDED = {
    # Not HTML pages.
    "static": "files",
    "healthz": "health check (text)",
    "readyz": "readiness check (text)",
    "pwa.manifest": "JSON",
    "pwa.service_worker": "JavaScript",
    "dev_idp.discovery": "JSON",
    "dev_idp.jwks": "JSON",
    # The record-system API: JSON for systems with a token (e2e/test_record_system.py).
    "api.jwks": "JSON (the record-system API)",
    "api.metadata": "FHIR JSON (the record-system API)",
    "api.smart_configuration": "JSON (the record-system API)",
    "api.patient_read": "FHIR JSON (the record-system API)",
    "api.patient_search": "FHIR JSON (the record-system API)",
    "api.appointment_read": "FHIR JSON (the record-system API)",
    "api.appointment_search": "FHIR JSON (the record-system API)",
    "api.communication_read": "FHIR JSON (the record-system API)",
    "api.communication_search": "FHIR JSON (the record-system API)",
    "api.subscription_read": "FHIR JSON (the record-system API)",
    "api.subscription_search": "FHIR JSON (the record-system API)",
    "staff.oversikt_csv": "CSV downloads: e2e/test_oversikt.py",
    # Redirects only, never a page of their own.
    "auth.login": "redirects to the identity provider",
    "auth.callback": "the OIDC callback: redirects after log-in (every log-in passes it)",
    "dev_idp.end_session": "redirects back after log-out",
    # Ends a session: the provider's hidden iframe calls it at log-out.
    "auth.frontchannel_logout": "ends the named session; an empty page in a hidden iframe",
}
# Pages shown only inside a flow, and where the crawl (or a journey) checks them.
FLOWS = {
    "dev_idp.authorize": "the test identity provider's page: every resident log-in here",
    "auth.consent": "shown once, at a first log-in without consent: e2e/test_log_in.py",
    "citizen.fullmakt_details": "step two of giving a fullmakt: e2e/test_fullmakt.py",
    "citizen.cancellation": "the receipt after cancelling: e2e/test_appointments.py",
    "auth.staff_new_password": "only after a one-time password: e2e/test_admin_staff.py",
}


@dataclass(frozen=True)
class Role:
    table_role: str  # the role of tests/web/test_route_access.py this one is
    log_in: Callable[[Page, A11y], None]


def _resident(name: str) -> Callable[[Page, A11y], None]:
    def log_in(page: Page, a11y: A11y) -> None:
        log_in_resident(page, a11y, name)

    return log_in


def _ola_for_kari(page: Page, a11y: A11y) -> None:
    log_in_resident(page, a11y, "Ola Nordmann")
    a11y.check(page)
    act_for(page, a11y, "Ola Nordmann", "Kari Nordmann")


def _staff(username: str) -> Callable[[Page, A11y], None]:
    def log_in(page: Page, a11y: A11y) -> None:
        log_in_staff(page, a11y, username)
        if urlsplit(page.url).path == "/staff/unit":  # more than one unit: choose the first
            a11y.check(page)
            with page.expect_navigation():
                page.locator("main button[name=unit_id]").first.click()

    return log_in


def _anonymous(page: Page, a11y: A11y) -> None:
    page.goto("/")


ROLES = {
    "anonymous": Role("anonymous", _anonymous),
    "kari": Role("resident", _resident("Kari Nordmann")),
    "ola-for-kari": Role("proxy_in_scope", _ola_for_kari),
    "siri": Role("staff_of_unit", _staff("siri")),  # meldingsansvarlig
    "jonas": Role("staff_of_unit", _staff("jonas")),  # ansatt
    "anne": Role("leader", _staff("anne")),
    "admin": Role("admin", _staff("admin")),
}
# An error page per kind of user (the page a wrong link gives), status expected.
ERROR_PAGES = {
    "anonymous": [("/no-such-page", 404)],
    "kari": [("/messages/999999999", 404), ("/staff/", 403)],
    "siri": [("/staff/threads/999999999", 404), ("/messages", 403)],
}
# States a crawl must have checked, so a changed page cannot drop them unnoticed.
MUST_SEE = {
    ("ola-for-kari", "nb"): {"menu person-menu open"},
    **{(who, "phone", "nb"): {"menu more-menu open"} for who in ("siri", "jonas", "anne")},
    **{(who, "nb"): {"offline", "panel"} for who in ("siri", "jonas", "anne")},
    ("kari", "nb"): {"form submitted empty: errors"},
}
# Different query values (view=week, view=month) are different pages; ids, dates and
# cursors are not.
WORD = re.compile(r"^[a-z_]+$")
# How many other instances of pages seen the crawl opens to find an unreached page.
SPARE_LIMIT = 20
# A refused form: errors on the form, or (after a redirect) an error message at the top.
SUBMITTED_ERROR = ".error-summary, [aria-invalid='true'], .flash-error"


class FastA11y(A11y):
    """The conftest check, quicker for a crawl: axe-core is injected once per document and
    returns only the violations (the same rules and tags)."""

    OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}

    def check(self, page: Page, state: str = "") -> None:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.axe.axe_script)
        violations = page.evaluate("(options) => axe.run(document, options)", self.OPTIONS)[
            "violations"
        ]
        report = "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']}\n"
            + "\n".join(f"    {n['target']} {n['failureSummary']}" for n in v["nodes"])
            for v in violations
        )
        assert not violations, f"axe-core violations on {page.url} {state}:\n{report}"
        self.checked.add(self._key(page.url))


def _get_endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}


def _may_open(endpoint: str, table_role: str) -> bool:
    return 200 in ROUTES[(endpoint, "GET")][1][table_role]


@pytest.fixture(scope="module")
def device() -> str:
    """One server for the whole module; each crawl sets its own width."""
    return "desktop"


@pytest.fixture(scope="module")
def app(server: LiveServer) -> Flask:
    """The app's url map, to tell which route a link opens (no request is served here)."""
    from app import create_app

    env = {"APP_ENV": "development", "DATABASE_URL": server.database_url, "SECRET_KEY": "crawl"}
    with mock.patch.dict(os.environ, env):
        return create_app()


@dataclass
class Crawl:
    page: Page
    a11y: A11y
    app: Flask
    role: str
    states: bool
    visited: dict[str, str] = field(default_factory=dict)  # signature: url
    values: dict[str, object] = field(default_factory=dict)  # first value of each URL argument
    endpoints: set[str] = field(default_factory=set)
    checks: int = 0
    menus_seen: set[str] = field(default_factory=set)
    seen: set[object] = field(default_factory=set)  # panels and forms checked
    states_seen: set[str] = field(default_factory=set)
    axe_seconds: float = 0.0

    def check(self, state: str = "") -> None:
        self.states_seen.add(state.split(" (")[0].split(" '")[0])
        t = time.monotonic()
        self.a11y.check(self.page, f"[{self.role}] {state}")
        self.axe_seconds += time.monotonic() - t
        self.checks += 1

    def endpoint(self, path: str, method: str) -> str:
        try:
            return self.app.url_map.bind("localhost").match(path, method=method)[0]
        except HTTPException:
            return path

    def match(self, url: str) -> tuple[str, str] | None:
        """(endpoint, signature) of a same-origin GET link, or None."""
        parts = urlsplit(url)
        if parts.netloc != urlsplit(self.page.url).netloc:
            return None
        try:
            endpoint, args = self.app.url_map.bind("localhost").match(parts.path, method="GET")
        except HTTPException:
            return None
        for name, value in args.items():
            self.values.setdefault(name, value)
        query = sorted(
            (k, v if WORD.match(v) else "*")
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        )
        return endpoint, f"{endpoint} {sorted(args)} {query}"

    def links(self) -> list[str]:
        return self.page.eval_on_selector_all("a[href]", "els => els.map((e) => e.href)")

    def open(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, (
            f"[{self.role}] {url}: {response and response.status}"
        )
        self.check()

    # --- states ----------------------------------------------------------------------

    def menus(self) -> None:
        """The person menu and the staff "Mer" menu: open, check, close with Escape."""
        for button in self.page.locator("button[popovertarget]").all():
            name = button.get_attribute("popovertarget")
            if name in self.menus_seen or not button.is_visible():
                continue  # a menu of the layout is the same on every page: once
            self.menus_seen.add(name)
            button.click()
            menu = self.page.locator(f"#{button.get_attribute('popovertarget')}")
            expect(menu).to_be_visible()
            expect(button).to_have_attribute("aria-expanded", "true")
            self.check(f"menu {name} open")
            self.page.keyboard.press("Escape")
            expect(menu).to_be_hidden()

    def panels(self) -> None:
        """Every expand/collapse panel (details), open, then closed again."""
        summaries = self.page.locator("details > summary")
        for i in range(summaries.count()):
            summary = summaries.nth(i)
            key = (self.page.url.split("?")[0], summary.inner_text())
            if key in self.seen or not summary.is_visible():
                continue  # the same panel on each row of a list (a visit to plan): once
            self.seen.add(key)
            summary.click()
            details = summary.locator("xpath=..")
            expect(details).to_have_attribute("open", "")
            self.check(f"panel {summary.inner_text()!r} open")
            summary.click()

    def more(self) -> None:
        """ "Vis flere": the next rows swapped in by htmx."""
        more = self.page.locator("a[hx-get]")
        if more.count() and more.first.is_visible():
            before = self.page.locator("li").count()
            more.first.click()
            expect(self.page.locator("li")).not_to_have_count(before)
            self.check("after Vis flere")

    def offline(self) -> None:
        note = self.page.locator("#offline-note")
        if not note.count():
            return
        self.page.context.set_offline(True)
        try:
            expect(note).to_be_visible()
            self.check("offline")
        finally:
            self.page.context.set_offline(False)
        expect(note).to_be_hidden()

    def forms(self, url: str) -> None:
        """Every form submitted empty; a POST form only when a required field is empty."""
        count = self.page.locator("form").count()
        for i in range(count):
            form = self.page.locator("form").nth(i)
            kind, action, names = form.evaluate(
                """(form) => {
                    const action = new URL(form.getAttribute('hx-post') || form.action,
                                           location.href).pathname;
                    const fields = [...form.elements].filter((e) =>
                        !['hidden', 'submit', 'button'].includes(e.type) && !e.disabled);
                    const names = fields.map((e) => e.name).join(' ');
                    if (action === '/language' || form.hasAttribute('data-logout'))
                        return ['skip', action, names];
                    // Passkey forms are run by script (WebAuthn), which answers in the form.
                    if (form.matches('[data-passkey-register], [data-passkey-login]'))
                        return ['script', action, names];
                    const post = (form.getAttribute('hx-post') || form.method === 'post');
                    if (!post) return [fields.length ? 'get' : 'skip', action, names];
                    return [fields.some((e) => e.required) ? 'post' : 'skip', action, names];
                }"""
            )
            # The same form on each row of a list (assign a visit): once.
            key = (self.endpoint(action, "GET" if kind == "get" else "POST"), names)
            if kind == "skip" or key in self.seen:
                continue
            self.seen.add(key)
            script = """(form) => {
                    for (let d = form.closest('details'); d; d = d.parentElement.closest('details'))
                        d.open = true;
                    for (const e of form.elements) {
                        if (['hidden', 'submit', 'button'].includes(e.type)) continue;
                        if (e.type === 'checkbox' || e.type === 'radio') e.checked = false;
                        else if (e.tagName === 'SELECT') e.selectedIndex = -1;
                        else e.value = '';
                    }
                    form.noValidate = true;
                    const submitter = form.querySelector('button[type=submit], button:not([type])');
                    form.requestSubmit(submitter);
                }"""
            if kind == "script":
                form.evaluate(script)
                expect(form.locator("[data-passkey-message]")).to_be_visible()
                self.check(f"form submitted empty: script's message ({action})")
                self.page.goto(url)
                continue
            if form.get_attribute("hx-post") is not None:
                form.evaluate(script)  # htmx swaps the answer in
            else:
                with self.page.expect_navigation():
                    form.evaluate(script)
            if kind == "post":
                expect(self.page.locator(SUBMITTED_ERROR).first).to_be_visible()
                self.check(f"form submitted empty: errors ({action})")
            else:
                self.check(f"form submitted empty ({action})")
            self.page.goto(url)

    def states_of(self, url: str) -> None:
        self.menus()
        if self.states:
            self.panels()
            self.more()
            self.offline()
            self.forms(url)

    # --- the crawl -------------------------------------------------------------------

    def run(self, start_urls: list[str], wanted: set[str]) -> None:
        """Breadth first; each kind of page once, with its states. A wanted page no link led
        to is then built from the ids seen (the full page of an htmx panel); if one is still
        unreached, other instances of pages seen (another appointment) are opened, at most
        SPARE_LIMIT, until it is found."""
        queue = list(start_urls)
        spare: list[str] = []
        opened: set[str] = set()
        filled = False
        while True:
            if not queue:
                missing = wanted - self.endpoints
                if not missing:
                    return
                if not filled:
                    filled = True
                    queue = self.fill(missing)
                    continue
                if not spare or len(opened) - len(self.visited) >= SPARE_LIMIT:
                    return
                url = spare.pop(0)
                if url not in opened:
                    opened.add(url)
                    self.open(url)  # its states were checked on the first of its kind
                    self.follow(queue, spare, opened)
                continue
            url = queue.pop(0)
            found = self.match(url)
            if found is None or url in opened:
                continue
            endpoint, signature = found
            if signature in self.visited:
                if self.app.url_map._rules_by_endpoint[endpoint][0].arguments:
                    spare.append(url)  # another thread, appointment: maybe other pages
                continue
            opened.add(url)
            self.visited[signature] = url
            self.open(url)
            self.endpoints.add(endpoint)
            links = self.links()
            self.states_of(url)
            self.follow(queue, spare, opened, links)

    def follow(
        self, queue: list[str], spare: list[str], opened: set[str], links: list[str] | None = None
    ) -> None:
        for link in self.links() if links is None else links:
            found = self.match(link)
            if found and link not in opened and self._may_open(found[0]):
                queue.append(link)

    def fill(self, endpoints: set[str]) -> list[str]:
        """URLs of routes no link led to (the full-page form of an htmx panel), with the
        arguments of the pages the role was shown (the first thread it saw)."""
        urls = self.app.url_map.bind("localhost")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.page.url))
        found = []
        for rule in self.app.url_map.iter_rules():
            if rule.endpoint in endpoints and rule.arguments <= self.values.keys():
                args = {name: self.values[name] for name in rule.arguments}
                found.append(origin + urls.build(rule.endpoint, args))
        return found

    def _may_open(self, endpoint: str) -> bool:
        return endpoint not in EXCLUDED and _may_open(endpoint, ROLES[self.role].table_role)


def _switch_language(page: Page, lang: str) -> None:
    with page.expect_navigation():
        page.locator(f"form.language button[value={lang}]").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


@contextmanager
def _context(browser: Browser, server: LiveServer, width: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=server.url, locale="nb-NO", timezone_id="Europe/Oslo", **DEVICES[width]
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


# Bokmål: every state at both widths; nynorsk and English: every page and menu, one width each.
CRAWLS = [
    *[(role, width, "nb", True) for width in ("phone", "desktop") for role in ROLES],
    *[(role, "phone", "nn", False) for role in ROLES],
    *[(role, "desktop", "en", False) for role in ROLES],
]


@pytest.mark.parametrize(
    ("role", "width", "lang", "states"), CRAWLS, ids=lambda v: v if isinstance(v, str) else None
)
def test_every_page_and_state_passes_axe(
    role: str, width: str, lang: str, states: bool, browser: Browser, server: LiveServer, app
):
    started = time.monotonic()
    a11y = FastA11y()
    with _context(browser, server, width) as page:

        def remember(frame) -> None:
            if frame == page.main_frame and frame.url.startswith("http"):
                a11y.visited.append(frame.url)

        page.on("framenavigated", remember)
        ROLES[role].log_in(page, a11y)
        _switch_language(page, lang)
        crawl = Crawl(page, a11y, app, role, states)
        table_role = ROLES[role].table_role
        expected = {
            e
            for e in _get_endpoints(app)
            if e not in EXCLUDED and e not in FLOWS and _may_open(e, table_role)
        }
        urls = app.url_map.bind("localhost")
        start = [page.url] + [
            server.url + urls.build(rule.endpoint)
            for rule in app.url_map.iter_rules()
            if rule.endpoint in expected and not rule.arguments
        ]
        crawl.run(start, expected)
        for path, status in ERROR_PAGES.get(role, []):
            response = page.goto(path)
            assert response is not None and response.status == status, path
            crawl.check(f"error page {status}")
        if lang != "nb":
            _switch_language(page, "nb")  # a resident's choice is saved: leave it as it was
    missing = expected - crawl.endpoints
    assert not missing, f"[{role}] pages the crawl could not reach: {sorted(missing)}"
    must = {*MUST_SEE.get((role, lang), ()), *MUST_SEE.get((role, width, lang), ())}
    assert must <= crawl.states_seen, f"[{role}] states not reached: {must - crawl.states_seen}"
    assert any("('view', 'month')" in signature for signature in crawl.visited) or (
        not _may_open("citizen.appointments", ROLES[role].table_role)
    ), "the month calendar"
    unchecked = a11y.unchecked()
    assert not unchecked, f"pages visited without an axe-core check: {unchecked}"
    print(
        f"\n{role} {width} {lang}: {len(crawl.visited)} pages, {crawl.checks} checks,"
        f" {time.monotonic() - started:.1f} s (axe {crawl.axe_seconds:.1f} s)"
    )


def test_every_get_route_is_crawled_or_explained(app):
    """A GET route no crawled role may open must be excluded or reached in a flow."""
    roles = {r.table_role for r in ROLES.values()}
    unexplained = {
        e
        for e in _get_endpoints(app)
        if e not in EXCLUDED and e not in FLOWS and not any(_may_open(e, r) for r in roles)
    }
    assert not unexplained, f"GET routes no role of the crawl opens: {sorted(unexplained)}"
