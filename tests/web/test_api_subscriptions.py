"""Events for the record system (docs/api.md, Events): it subscribes through FHIR (R4
rest-hook), and what residents and staff do in Hjemmedialog reaches its endpoint through the
event outbox, at least once, with a stable event id, even when the endpoint is down a while.
The endpoint is a real local HTTP server; the events go through the worker's own code."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.clock import local_to_utc, oslo_today, utcnow
from app.models import (
    ApiEvent,
    ApiEventKind,
    ApiEventStatus,
    ApiSubscription,
    Appointment,
    AppointmentStatus,
    CancellationKind,
    UsageAction,
    UsageLogEntry,
)
from app.notices import hooks
from app.notices.outbox import Settings, claim_due
from app.services import appointments as appointment_service
from app.services import messaging
from tests import factories
from tests.notices.servers import HookReceiver
from tests.support import RecordSystem, actor_for, csrf_token, fhir_validated

FAST = hooks.HookSettings(
    Settings(
        batch_size=50,
        lease=timedelta(seconds=30),
        max_attempts=3,
        backoff=30,
        backoff_max=600,
        poll=0.1,
    ),
    timeout=5,
)
CANCELLED = "Appointment?status=cancelled"
FULFILLED = "Appointment?status=fulfilled"
MESSAGES = "Communication?category=from-resident"


def _epj(db: Session, client: FlaskClient, municipality, **kw) -> RecordSystem:
    system = RecordSystem()
    row = factories.api_client(db, municipality, system.public_jwks, **kw)
    system.client_id = row.client_id
    system.row = row
    system.headers = {"Authorization": f"Bearer {system.token(client)}"}
    return system


@pytest.fixture
def epj(db: Session, world: factories.World, client: FlaskClient) -> RecordSystem:
    return _epj(db, client, world.municipality, name="Testby EPJ")


@pytest.fixture
def endpoint():
    server = HookReceiver().start()
    yield server
    server.stop()


def subscription(endpoint_url: str, criteria: str = CANCELLED, **channel) -> dict:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Avlysninger til journalen",
        "criteria": criteria,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint_url,
            "payload": "application/fhir+json",
            "header": ["Authorization: Bearer hemmelig-til-epj"],
        }
        | channel,
    }


def _subscribe(client, epj, document) -> dict:
    made = client.post("/fhir/R4/Subscription", json=document, headers=epj.headers)
    assert made.status_code == 201, made.get_json()
    fhir_validated(made.get_json())
    return made.get_json()


def _outcome(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    fhir_validated(body)
    return body["issue"][0]["diagnostics"]


def _visit(db, world, *, days: int = 3, status=AppointmentStatus.PLANNED) -> Appointment:
    day: date = oslo_today() + timedelta(days=days)
    assigned = status is AppointmentStatus.ASSIGNED
    appointment = Appointment(
        person_id=world.resident.id,
        service_id=world.nursing.id,
        unit_id=world.unit.id,
        status=status,
        window_start=local_to_utc(day, time(8)),
        window_end=local_to_utc(day, time(10)),
        start_at=local_to_utc(day, time(8)) if assigned else None,
        employee_staff_id=world.employee.id if assigned else None,
        description="Morgenstell",
        created_at=utcnow(),
    )
    db.add(appointment)
    db.flush()
    return appointment


def _cancel_by_resident(db, world, appointment: Appointment) -> None:
    appointment_service.appointments_cancel(
        db,
        actor_for(db, world.resident),
        appointment_id=appointment.id,
        kind=CancellationKind.SINGLE,
        period_start=None,
        period_end=None,
        service_ids=[],
        note=None,
        submission_key=None,
        now=utcnow(),
    )


def _deliver(db: Session) -> dict[str, int]:
    with requests.Session() as http:
        return hooks.run_batch(db, http, FAST)


def _due_now(db: Session) -> None:
    """The pause before the next try has passed."""
    db.execute(sa.update(ApiEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.flush()


def _events(db: Session) -> list[ApiEvent]:
    return list(db.scalars(sa.select(ApiEvent).order_by(ApiEvent.id)))


# --- the subscription itself -------------------------------------------------------------------


def test_a_record_system_subscribes_and_reads_it_back_without_the_secret(
    client: FlaskClient, epj: RecordSystem, endpoint: HookReceiver
):
    made = client.post(
        "/fhir/R4/Subscription", json=subscription(endpoint.url), headers=epj.headers
    )
    assert made.status_code == 201
    body = made.get_json()
    assert made.headers["Location"].endswith(f"/fhir/R4/Subscription/{body['id']}")
    assert body["status"] == "active"
    assert body["criteria"] == CANCELLED
    assert body["channel"]["header"] == ["Authorization: ***"]
    read = client.get(f"/fhir/R4/Subscription/{body['id']}", headers=epj.headers)
    assert read.status_code == 200
    assert fhir_validated(read.get_json()).channel.endpoint == endpoint.url
    listed = client.get("/fhir/R4/Subscription", headers=epj.headers).get_json()
    fhir_validated(listed)
    assert [entry["resource"]["id"] for entry in listed["entry"]] == [body["id"]]


def test_a_subscription_read_back_and_sent_again_keeps_its_header(
    client: FlaskClient, db: Session, epj: RecordSystem, endpoint: HookReceiver, world
):
    made = _subscribe(client, epj, subscription(endpoint.url))
    made["status"] = "off"
    changed = client.put(f"/fhir/R4/Subscription/{made['id']}", json=made, headers=epj.headers)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["status"] == "off"
    made["status"] = "active"
    client.put(f"/fhir/R4/Subscription/{made['id']}", json=made, headers=epj.headers)
    _cancel_by_resident(db, world, _visit(db, world))
    assert _deliver(db) == {"delivered": 1}
    (call,) = endpoint.recorder.received()
    assert call.headers["Authorization"] == "Bearer hemmelig-til-epj"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"criteria": "Appointment?status=booked"}, "criteria must be one of"),
        ({"criteria": "Patient?name=Rita"}, "criteria must be one of"),
        ({"channel": {"type": "websocket"}}, "rest-hook"),
        ({"channel": {"type": "rest-hook"}}, "channel.endpoint must be an address"),
        ({"criteria": 7}, "not a valid Subscription"),
        ({"channel": {"type": "email", "endpoint": "mailto:epj@x.no"}}, "rest-hook"),
        ({"channel": {"type": "rest-hook", "endpoint": "ftp://epj/x"}}, "http(s) address"),
        (
            {"channel": {"type": "rest-hook", "endpoint": "https://user:pw@epj.example/x"}},
            "without credentials",
        ),
        ({"channel": {"type": "rest-hook", "endpoint": "https://epj.example/x#y"}}, "http(s)"),
        (
            {
                "channel": {
                    "type": "rest-hook",
                    "endpoint": "https://epj.example/x",
                    "header": ["X-A: 1", "X-B: 2"],
                }
            },
            "one header",
        ),
        (
            {
                "channel": {
                    "type": "rest-hook",
                    "endpoint": "https://epj.example/x",
                    "header": ["no colon here"],
                }
            },
            "Name: value",
        ),
        (
            {
                "channel": {
                    "type": "rest-hook",
                    "endpoint": "https://epj.example/x",
                    "payload": "text/plain",
                }
            },
            "channel.payload",
        ),
        ({"status": "error"}, "status must be"),
        ({"reason": " "}, "reason"),
        ({"end": "2027-01-01T00:00:00Z"}, "end is not supported"),
        ({"resourceType": "Appointment"}, "must be a FHIR Subscription"),
    ],
)
def test_a_malformed_subscription_is_refused_and_nothing_is_made(
    client: FlaskClient, db: Session, epj: RecordSystem, change: dict, expected: str
):
    document = subscription("https://epj.example/hooks") | change
    refused = client.post("/fhir/R4/Subscription", json=document, headers=epj.headers)
    assert expected in _outcome(refused, 400)
    listed = client.get("/fhir/R4/Subscription", headers=epj.headers).get_json()
    assert listed.get("entry", []) == []


def test_plain_http_endpoints_only_where_allowed(
    app: Flask, client: FlaskClient, epj: RecordSystem
):
    app.config["API_EVENT_HTTP_ALLOWED"] = False
    try:
        refused = client.post(
            "/fhir/R4/Subscription",
            json=subscription("http://epj.example/hooks"),
            headers=epj.headers,
        )
        assert "https" in _outcome(refused, 422)
    finally:
        app.config["API_EVENT_HTTP_ALLOWED"] = True


def test_who_may_subscribe_to_what(
    client: FlaskClient, db: Session, world: factories.World, epj: RecordSystem
):
    gp = _epj(
        db,
        client,
        world.municipality,
        name="Legekontoret",
        provider="Testby legekontor",
        scopes="system/Appointment.crus system/Subscription.cruds",
    )
    refused = client.post(
        "/fhir/R4/Subscription", json=subscription("https://gp.example/h"), headers=gp.headers
    )
    assert "another provider" in _outcome(refused, 403)
    appointments_only = _epj(
        db,
        client,
        world.municipality,
        name="Avtaler",
        scopes="system/Appointment.crus system/Subscription.cruds",
    )
    refused = client.post(
        "/fhir/R4/Subscription",
        json=subscription("https://epj.example/h", MESSAGES),
        headers=appointments_only.headers,
    )
    assert "system/Communication.r" in _outcome(refused, 403)
    without = _epj(db, client, world.municipality, name="Uten", scopes="system/Appointment.crus")
    refused = client.post(
        "/fhir/R4/Subscription", json=subscription("https://epj.example/h"), headers=without.headers
    )
    assert "system/Subscription.c" in _outcome(refused, 403)


def test_a_client_sees_and_changes_only_its_own_subscriptions(
    client: FlaskClient, db: Session, world: factories.World, epj: RecordSystem
):
    theirs = _subscribe(client, epj, subscription("https://epj.example/h"))
    smaby = _epj(db, client, world.other_municipality, name="Småby EPJ")
    path = f"/fhir/R4/Subscription/{theirs['id']}"
    _outcome(client.get(path, headers=smaby.headers), 404)
    _outcome(client.put(path, json=theirs, headers=smaby.headers), 404)
    _outcome(client.delete(path, headers=smaby.headers), 404)
    listed = client.get("/fhir/R4/Subscription", headers=smaby.headers).get_json()
    assert listed.get("entry", []) == []


def test_a_deleted_subscription_is_gone_and_its_waiting_events_are_dropped(
    client: FlaskClient, db: Session, world, epj: RecordSystem, endpoint: HookReceiver
):
    made = _subscribe(client, epj, subscription(endpoint.url))
    _cancel_by_resident(db, world, _visit(db, world))
    path = f"/fhir/R4/Subscription/{made['id']}"
    for _ in range(2):  # deleting it again changes nothing
        deleted = client.delete(path, headers=epj.headers)
        assert deleted.status_code == 200
        assert fhir_validated(deleted.get_json()).issue[0].severity == "information"
    _outcome(client.get(path, headers=epj.headers), 410)
    (event,) = _events(db)
    assert event.status is ApiEventStatus.DROPPED
    assert _deliver(db) == {}
    assert endpoint.recorder.received() == []


# --- events ------------------------------------------------------------------------------------


def test_a_residents_cancellation_reaches_the_endpoint_even_after_it_was_down(
    client: FlaskClient, db: Session, world, epj: RecordSystem, endpoint: HookReceiver
):
    _subscribe(client, epj, subscription(endpoint.url))
    appointment = _visit(db, world)
    _cancel_by_resident(db, world, appointment)
    (event,) = _events(db)
    assert (event.kind, event.resource_id) == (ApiEventKind.APPOINTMENT_CANCELLED, appointment.id)

    # The record system is down: answers 503, then does not answer at all.
    endpoint.recorder.fail_with = [503]
    assert _deliver(db) == {"retry": 1}
    db.refresh(event)
    assert event.status is ApiEventStatus.PENDING
    assert event.next_attempt_at > utcnow()
    assert "HTTP 503" in event.last_error
    assert _deliver(db) == {}  # not due yet: the back-off holds

    _due_now(db)
    assert _deliver(db) == {"delivered": 1}
    first, second = endpoint.recorder.received()
    assert first.event_id == second.event_id == event.event_id
    assert second.method == "PUT"
    assert second.path == f"/epj/hooks/Appointment/{appointment.id}"
    assert second.headers["Content-Type"] == "application/fhir+json"
    resource = fhir_validated(second.body)
    assert resource.status == "cancelled"
    assert second.body["cancelationReason"]["coding"][0]["code"] == "pat"
    db.refresh(event)
    assert event.status is ApiEventStatus.DELIVERED

    # Sending the resource is a read by the record system, in Rita's Logg over bruk.
    read = db.scalars(
        sa.select(UsageLogEntry).where(
            UsageLogEntry.subject_person_id == world.resident.id,
            UsageLogEntry.action == UsageAction.RECORD_SYSTEM_READ,
            UsageLogEntry.object_type == "Appointment",
        )
    ).all()
    assert [entry.actor_api_client_id for entry in read] == [epj.row.id]


def test_an_event_that_fails_every_try_is_failed_and_the_administrator_retries_it(
    client: FlaskClient,
    db: Session,
    world,
    epj: RecordSystem,
    endpoint: HookReceiver,
    login,
):
    login.staff(world.admin)  # before the worker's commits leave `world` unloaded
    _subscribe(client, epj, subscription(endpoint.url))
    _cancel_by_resident(db, world, _visit(db, world))
    endpoint.recorder.fail_with = [500, 500, 500]
    outcomes = []
    for _ in range(FAST.outbox.max_attempts):
        _due_now(db)
        outcomes += list(_deliver(db))
    assert outcomes == ["retry", "retry", "failed"]
    (event,) = _events(db)
    assert event.status is ApiEventStatus.FAILED

    page = client.get(f"/admin/api-clients/{epj.row.id}").get_data(as_text=True)
    assert "Hendelser som ikke kom fram" in page
    assert f"Appointment/{event.resource_id}" in page
    assert "HTTP 500" in page
    retried = client.post(
        f"/admin/api-clients/{epj.row.id}/events/{event.id}/retry",
        data={"csrf_token": csrf_token(client, f"/admin/api-clients/{epj.row.id}")},
    )
    assert retried.status_code == 303
    assert _deliver(db) == {"delivered": 1}
    assert len(endpoint.recorder.events()) == 1  # four tries of one event


def test_a_new_message_from_a_relative_is_told_without_the_resource_when_asked(
    client: FlaskClient, db: Session, world, epj: RecordSystem, endpoint: HookReceiver
):
    document = subscription(endpoint.url, MESSAGES)
    del document["channel"]["payload"]
    _subscribe(client, epj, document)
    thread = messaging.thread_start(
        db,
        actor_for(db, world.proxy, acting_for=world.resident),
        service_id=world.nursing.id,
        subject="Medisiner",
        body="Kan dere ta med nye medisiner?",
        submission_key=None,
        now=utcnow(),
    )
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.employee),
        thread=thread,
        body="Ja, vi tar dem med.",
        submission_key=None,
        now=utcnow(),
    )
    assert _deliver(db) == {"delivered": 1}  # the staff's reply is not from a resident
    (call,) = endpoint.recorder.received()
    assert (call.method, call.path, call.body) == ("POST", "/epj/hooks", None)
    # No resource sent, nothing read: the log has no record-system read.
    assert not db.scalar(
        sa.select(sa.func.count())
        .select_from(UsageLogEntry)
        .where(UsageLogEntry.action == UsageAction.RECORD_SYSTEM_READ)
    )


def test_a_visit_registered_as_done_is_told_when_it_can_no_longer_be_undone(
    client: FlaskClient, db: Session, world, epj: RecordSystem, endpoint: HookReceiver
):
    _subscribe(client, epj, subscription(endpoint.url, FULFILLED))
    undone = _visit(db, world, days=0, status=AppointmentStatus.ASSIGNED)
    done = _visit(db, world, days=0, status=AppointmentStatus.ASSIGNED)
    employee = actor_for(db, world.employee)
    for appointment, key in ((undone, "key-undone"), (done, "key-done")):
        appointment_service.visit_register(
            db,
            employee,
            appointment_id=appointment.id,
            idempotency_key=key,
            registered_at=None,
            now=utcnow(),
            undo_window=timedelta(minutes=2),
        )
    appointment_service.visit_undo(db, employee, appointment_id=undone.id, now=utcnow())
    (event,) = _events(db)
    assert event.resource_id == done.id
    assert _deliver(db) == {}  # due when the undo window has passed
    _due_now(db)
    assert _deliver(db) == {"delivered": 1}
    (call,) = endpoint.recorder.received()
    assert fhir_validated(call.body).status == "fulfilled"


def test_what_the_record_system_does_itself_is_not_told_back(
    client: FlaskClient, db: Session, world, epj: RecordSystem, endpoint: HookReceiver
):
    _subscribe(client, epj, subscription(endpoint.url))
    day = oslo_today() + timedelta(days=3)
    resource = {
        "resourceType": "Appointment",
        "status": "proposed",
        "description": "Morgenstell",
        "serviceType": [{"text": world.nursing.name}],
        "requestedPeriod": [
            {
                "start": local_to_utc(day, time(8)).isoformat(),
                "end": local_to_utc(day, time(10)).isoformat(),
            }
        ],
        "participant": [
            {"actor": {"reference": f"Patient/{world.resident.id}"}, "status": "accepted"}
        ],
    }
    made = client.post("/fhir/R4/Appointment", json=resource, headers=epj.headers).get_json()
    cancelled = client.put(
        f"/fhir/R4/Appointment/{made['id']}",
        json=resource | {"status": "cancelled"},
        headers=epj.headers,
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    assert _events(db) == []


def test_events_stay_in_their_municipality_and_stop_with_the_client(
    client: FlaskClient, db: Session, world, epj: RecordSystem, endpoint: HookReceiver
):
    smaby = _epj(db, client, world.other_municipality, name="Småby EPJ")
    _subscribe(client, smaby, subscription(endpoint.url))
    _subscribe(client, epj, subscription(endpoint.url))
    _cancel_by_resident(db, world, _visit(db, world))
    (event,) = _events(db)  # Rita is Testby's: Småby's record system is not told
    assert db.get(ApiSubscription, event.subscription_id).api_client_id == epj.row.id
    epj.row.revoked_at = utcnow()
    db.flush()
    assert _deliver(db) == {"dropped": 1}
    db.refresh(event)
    assert event.status is ApiEventStatus.DROPPED
    assert endpoint.recorder.received() == []
    _cancel_by_resident(db, world, _visit(db, world, days=4))
    assert len(_events(db)) == 1  # a revoked client is not queued for


def test_a_worker_that_dies_after_sending_leaves_the_event_to_go_again_with_its_id(
    client: FlaskClient, db: Session, world, epj: RecordSystem, endpoint: HookReceiver
):
    _subscribe(client, epj, subscription(endpoint.url))
    _cancel_by_resident(db, world, _visit(db, world))
    # A worker claims and sends, and dies before it records anything.
    ids, lease_until = claim_due(
        db, ApiEvent, now=utcnow(), batch_size=10, lease=timedelta(seconds=30)
    )
    (hook,) = hooks._load(db, ids)
    db.commit()
    call = hooks._prepare(db, hook, lease_until)
    with requests.Session() as http:
        assert hooks._send(http, call, FAST).outcome == "delivered"
    assert _deliver(db) == {}  # its lease holds: nobody else takes it yet
    db.execute(sa.update(ApiEvent).values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert _deliver(db) == {"delivered": 1}
    first, again = endpoint.recorder.received()
    assert first.event_id == again.event_id
    assert first.body == again.body
