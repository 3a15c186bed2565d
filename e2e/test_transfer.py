"""What a first load and an htmx swap cost on the wire (docs/quality.md P4).

A first load is with an empty cache: the browser's HTTP cache cleared and the service worker
and its cache removed, so the page, its files and the service worker's own downloads
(sw.js and what it keeps for offline use) are all fetched again; Chromium fetches the
manifest only when it needs it. "Transferred" is
each response's body as sent (compressed) plus its headers. Chromium asks for brotli here
(it takes 127.0.0.1 for a secure origin), as browsers do over HTTPS; the report names each
response's encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import Page, Response, expect

from e2e.conftest import ONCE, A11y
from e2e.journeys import log_in_resident, log_in_staff

KB = 1024
FIRST_LOAD_BYTES = 60 * KB
FIRST_LOAD_REQUESTS = 15
SWAP_BYTES = 10 * KB

pytestmark = ONCE


@dataclass
class Transfer:
    """Responses that came over the network (not from the service worker or a cache)."""

    responses: list[Response] = field(default_factory=list)

    def record(self, response: Response) -> None:
        if not response.from_service_worker:
            self.responses.append(response)

    def sizes(self) -> list[tuple[str, int, int, str]]:
        """(url, body, headers, encoding) of each response that was not in the HTTP cache."""
        rows = []
        for response in self.responses:
            sizes = response.request.sizes()
            body, headers = sizes["responseBodySize"], sizes["responseHeadersSize"]
            if body + headers <= 0:
                continue  # from the HTTP cache (the service worker asking for the page's files)
            # Chromium gives no body size for the service worker's script: its header then.
            body = max(body, int(response.header_value("content-length") or 0))
            encoding = response.header_value("content-encoding") or "-"
            rows.append((response.url, body, headers, encoding))
        return rows

    @property
    def requests(self) -> int:
        return len(self.sizes())

    @property
    def bytes(self) -> int:
        return sum(body + headers for _, body, headers, _ in self.sizes())

    def report(self) -> str:
        lines = [f"{b:>7} + {h:>4} {e:>4}  {url}" for url, b, h, e in self.sizes()]
        return "\n".join([*lines, f"{self.bytes} bytes in {self.requests} requests"])


def empty_cache(page: Page) -> None:
    if not page.url.startswith("http"):
        return  # a new page in a new context: nothing cached yet
    page.evaluate(
        """async () => {
            for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
            for (const key of await caches.keys()) await caches.delete(key);
        }"""
    )
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")


def first_load(page: Page, a11y: A11y, path: str) -> Transfer:
    empty_cache(page)
    transfer = Transfer()
    page.context.on("response", transfer.record)
    page.goto(path)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # its downloads done
    page.wait_for_load_state("networkidle")
    page.context.remove_listener("response", transfer.record)
    a11y.check(page)
    print(f"\nFirst load of {path}:\n{transfer.report()}")
    return transfer


def assert_first_load(transfer: Transfer) -> None:
    assert transfer.bytes <= FIRST_LOAD_BYTES, transfer.report()
    assert transfer.requests <= FIRST_LOAD_REQUESTS, transfer.report()
    for response in transfer.responses:  # every text large enough is compressed
        kind = response.header_value("content-type") or ""
        if kind.startswith("text/") and int(response.header_value("content-length") or 0) > 1000:
            assert response.header_value("content-encoding") in ("gzip", "br"), response.url


def test_first_loads_of_the_resident_pages(page: Page, a11y: A11y):
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    for path in ("/messages", "/appointments"):
        assert_first_load(first_load(page, a11y, path))

    # "Vis flere" on the appointment list: only the next rows.
    swap = Transfer()
    page.context.on("response", swap.record)
    before = page.locator(".appt").count()
    page.locator(".more a", has_text="Vis flere").click()
    expect(page.locator(".appt")).not_to_have_count(before)
    page.wait_for_load_state("networkidle")
    page.context.remove_listener("response", swap.record)
    a11y.check(page, "after Vis flere")
    print(f"\nVis flere:\n{swap.report()}")
    assert swap.requests == 1 and swap.bytes <= SWAP_BYTES, swap.report()


def test_first_load_of_the_staff_queue(page: Page, a11y: A11y):
    log_in_staff(page, a11y, "siri")
    a11y.check(page)
    assert_first_load(first_load(page, a11y, "/staff/"))


def test_first_load_of_the_front_page(page: Page, a11y: A11y):
    """A new visitor: nothing cached, the service worker installed for the first time."""
    assert_first_load(first_load(page, a11y, "/"))
