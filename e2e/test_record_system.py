"""The municipality's record system and Hjemmedialog (docs/api.md), as a record system
drives it: a real FHIR client library (fhirpy) with a private_key_jwt token from the demo's
"Andeby EPJ (demo)" key, against the app under gunicorn, with Kari and Ola in Chromium.

The record system subscribes to cancellations (with the resource) and to residents'
messages (without), at an endpoint of its own (a local HTTP server). It publishes a series of
visits for Kari and books one with Jonas; Kari sees them in Timeavtaler and cancels one; the
record system sees the cancelled Appointment in a search, and the notice worker PUTs it to
the endpoint. Ola, acting for Kari, writes to Hjemmesykepleie; the endpoint is told; the
record system reads the message (Ola named on her behalf), journals it and replies as Jonas;
staff see where it was journaled, Kari reads the reply, and Ola gets his notice.
"""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, time, timedelta

import pytest
import requests
from fhirpy import SyncFHIRClient
from playwright.sync_api import Page, expect

from app.clock import local_to_utc, oslo_today
from app.config import PROJECT_ROOT
from e2e.conftest import A11y
from e2e.journeys import act_for, log_in_resident, log_in_staff
from e2e.test_appointments import OLA, new_page, notices_for
from scripts.api_token import token_request
from tests.notices.servers import Hooked, HookReceiver
from tests.support import fhir_validated

KARI = "12833810241"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
STAFF = "urn:hjemmedialog:staff-username"
VISITS = "urn:andeby-epj:besok"
KEY = PROJECT_ROOT / "docs" / "api-demo" / "andeby-epj.private.jwk.json"
SUBJECT = "Spørsmål om sårstellet"
BODY = "Mamma lurer på om dere kan komme litt senere på torsdag."
REPLY = "Det går fint, vi kommer etter klokka 14."


def record_system(base_url: str) -> SyncFHIRClient:
    token_url = f"{base_url}/oauth/token"
    form = token_request(str(KEY), "andeby-epj-demo", token_url, None)
    answer = requests.post(token_url, data=form, timeout=10)
    assert answer.status_code == 200, answer.text
    return SyncFHIRClient(
        f"{base_url}/fhir/R4", authorization=f"Bearer {answer.json()['access_token']}"
    )


def visit(kari_id: str, number: int, day) -> dict:
    return {
        "identifier": [{"system": VISITS, "value": f"SAAR-{number}"}],
        "status": "proposed",
        "description": "Sårstell fra journalsystemet",
        "serviceType": [{"text": "Hjemmesykepleie"}],
        "requestedPeriod": [
            {
                "start": local_to_utc(day, time(13)).isoformat(),
                "end": local_to_utc(day, time(14)).isoformat(),
            }
        ],
        "participant": [{"actor": {"reference": f"Patient/{kari_id}"}, "status": "accepted"}],
    }


@pytest.fixture
def endpoint():
    receiver = HookReceiver().start()
    yield receiver
    receiver.stop()


def subscribe(epj: SyncFHIRClient, url: str, criteria: str, *, with_resource: bool) -> None:
    channel = {"type": "rest-hook", "endpoint": url, "header": ["Authorization: Bearer epj"]}
    if with_resource:
        channel["payload"] = "application/fhir+json"
    subscription = epj.resource(
        "Subscription", status="requested", reason="Til journalen", criteria=criteria
    )
    subscription["channel"] = channel
    subscription.save()
    assert subscription["status"] == "active"


def hooked(endpoint: HookReceiver, method: str, path: str, seconds: float = 15) -> Hooked:
    """The call the endpoint got, once the notice worker has made it."""
    deadline = clock.monotonic() + seconds
    while clock.monotonic() < deadline:
        for call in endpoint.recorder.received():
            if (call.method, call.path) == (method, path):
                return call
        clock.sleep(0.2)
    raise AssertionError(f"no {method} {path}: {endpoint.recorder.received()}")


def test_a_record_system_publishes_visits_reads_messages_and_replies(
    page: Page, a11y: A11y, browser, server, device, endpoint: HookReceiver
):
    epj = record_system(server.url)
    started = datetime.now(UTC) - timedelta(seconds=5)
    subscribe(epj, endpoint.url, "Appointment?status=cancelled", with_resource=True)
    subscribe(epj, endpoint.url, "Communication?category=from-resident", with_resource=False)

    # The record system finds Kari and publishes three visits; it books the first with Jonas.
    (kari,) = epj.resources("Patient").search(identifier=f"{FNR}|{KARI}").fetch()
    first_day = oslo_today() + timedelta(days=20)
    days = [first_day + timedelta(days=i) for i in range(3)]
    published = []
    for number, day in enumerate(days, start=1):
        appointment = epj.resource("Appointment", **visit(kari.id, number, day))
        appointment.save()
        published.append(appointment)
    booked = published[0]
    booked["status"] = "booked"
    booked["start"] = local_to_utc(days[0], time(13, 30)).isoformat()
    booked["end"] = local_to_utc(days[0], time(14)).isoformat()
    booked["participant"].append(
        {"actor": {"identifier": {"system": STAFF, "value": "jonas"}}, "status": "accepted"}
    )
    booked.save()
    assert booked["meta"]["versionId"] == "2"

    # Kari sees them in Timeavtaler: the booked one with Jonas, and cancels the second.
    log_in_resident(page, a11y, "Kari Nordmann")
    a11y.check(page)
    page.goto(f"/appointments?view=week&date={first_day.isoformat()}")
    a11y.check(page)
    visits = page.locator(".appt").filter(has_text="Sårstell fra journalsystemet")
    expect(visits).to_have_count(3)
    expect(visits.filter(has_text="Tildelt")).to_contain_text("Jonas Lie")
    page.goto(f"/appointments/{published[1].id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sårstell fra journalsystemet")
    a11y.check(page)
    page.get_by_role("link", name="Avbestill").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Avbestill")
    a11y.check(page)
    page.get_by_role("button", name="Avbestill").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekreft avbestillingen")
    a11y.check(page)
    page.get_by_role("button", name="Bekreft avbestilling").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Avbestillingen er registrert")
    a11y.check(page)

    # The record system sees what changed since it began: the cancelled visit among them.
    changed = epj.resources("Appointment").search(_lastUpdated=f"gt{started.isoformat()}")
    by_number = {a["identifier"][0]["value"]: a for a in changed.fetch_all() if a.get("identifier")}
    assert by_number["SAAR-2"]["status"] == "cancelled"
    assert by_number["SAAR-2"]["cancelationReason"]["coding"][0]["code"] == "pat"
    assert by_number["SAAR-1"]["status"] == "booked"
    assert by_number["SAAR-3"]["status"] == "proposed"
    # And the event reached its endpoint: the cancelled visit, with a stable event id.
    event = hooked(endpoint, "PUT", f"/epj/hooks/Appointment/{published[1].id}")
    assert fhir_validated(event.body).status == "cancelled"
    assert event.event_id
    assert event.headers["Authorization"] == "Bearer epj"

    # Ola, acting for Kari, writes to Hjemmesykepleie.
    ola_page = new_page(browser, server, device)
    ola = A11y()
    log_in_resident(ola_page, ola, "Ola Nordmann")
    act_for(ola_page, ola, "Ola Nordmann", "Kari Nordmann")
    ola_page.get_by_role("link", name="Skriv melding").click()
    ola_page.get_by_label("Hjemmesykepleie").check()
    ola_page.get_by_label("Emne").fill(SUBJECT)
    ola_page.get_by_label("Melding").fill(BODY)
    ola_page.get_by_role("button", name="Send").click()
    expect(ola_page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    ola.check(ola_page)
    ola_page.context.close()

    # The record system is told that there is a new message, and reads it, with Ola on Kari's
    # behalf; it journals it and replies as Jonas.
    assert hooked(endpoint, "POST", "/epj/hooks").body is None
    waiting = epj.resources("Communication").search(
        category="from-resident", journaled="false", patient=f"Patient/{kari.id}"
    )
    (message,) = [m for m in waiting.fetch_all() if m["topic"]["text"] == SUBJECT]
    assert message["payload"][0]["contentString"] == BODY
    assert message["contained"][0]["name"][0]["text"] == "Ola Nordmann"
    assert message["contained"][0]["relationship"][0]["text"] == "on behalf of"
    journaled = epj.execute(
        f"Communication/{message.id}/$journal",
        method="post",
        data={
            "resourceType": "Parameters",
            "parameter": [{"name": "reference", "valueString": "EPJ-NOTAT-1"}],
        },
    )
    assert journaled["note"][0]["text"] == "Journaled in Andeby EPJ (demo)"
    reply = epj.resource(
        "Communication",
        identifier=[{"system": "urn:andeby-epj:svar", "value": "SVAR-1"}],
        status="completed",
        inResponseTo=[{"reference": f"Communication/{message.id}"}],
        sender={"identifier": {"system": STAFF, "value": "jonas"}},
        payload=[{"contentString": REPLY}],
    )
    reply.save()
    assert reply["sender"]["display"] == "Jonas Lie"

    # Siri sees where the message was journaled; Kari reads the reply; Ola is told.
    siri_page = new_page(browser, server, device)
    siri = A11y()
    log_in_staff(siri_page, siri, "siri")
    siri_page.goto(f"/staff/threads/{message['topic']['coding'][0]['code']}")
    expect(siri_page.get_by_text("Journalført i Andeby EPJ (demo)")).to_be_visible()
    siri.check(siri_page)
    siri_page.context.close()
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Meldinger").click()
    expect(page.get_by_role("link", name=SUBJECT).first).to_be_visible()
    a11y.check(page)
    page.get_by_role("link", name=SUBJECT).first.click()
    expect(page.get_by_text(REPLY)).to_be_visible()
    expect(page.get_by_text("Jonas Lie")).not_to_have_count(0)
    a11y.check(page)
    page.context.close()
    assert notices_for(server, OLA, "new_message") >= 1
