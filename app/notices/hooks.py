"""Delivering record-system events (FHIR R4 Subscription, rest-hook; docs/api.md, Events).

The notice worker runs this in a thread beside the notices (app/notices/worker.py), so a
record system that answers slowly never holds up a resident's notice, with the same claim,
lease and back-off: a claim is committed before anything is sent and the outcomes after,
so an event is delivered at least once, and every try of it carries the same `X-Event-Id`
for the record system to know a repeat. With payload, the resource as it is now is PUT to
`<endpoint>/<type>/<id>`; without, an empty POST goes to the endpoint. Any answer but 2xx,
and no answer, is tried again with growing pauses until API_EVENT_MAX_ATTEMPTS; the
administrator sees the failures on the client's page.

Whether the client is still told is decided again at each try (app/security/access.py): an
event of a subscription ended, of a client revoked, or of a visit no longer done is dropped.
A delivered event with the resource is a read of the person's data, in their Logg over bruk.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app import fhir
from app.clock import utcnow
from app.extensions import db as flask_db
from app.models import (
    ApiClient,
    ApiEvent,
    ApiEventKind,
    ApiEventStatus,
    ApiSubscription,
    ApiSubscriptionStatus,
    AppointmentStatus,
    UsageAction,
)
from app.notices.outbox import (
    LEASE_MARGIN,
    Settings,
    backoff_delay,
    claim_due,
    due_in,
    still_held,
)
from app.security import access
from app.security.api_auth import ApiPrincipal, registered_principal
from app.selectors import api as api_reads
from app.services.audit import usage_log_add_many

log = logging.getLogger("hjemmedialog.events")

ERROR_MAX = 500
STOP_CHECK = 0.5  # an idle thread notices the worker stopping within this long
USER_AGENT = "Hjemmedialog-events/1"


@dataclass(frozen=True)
class HookSettings:
    """The outbox settings with the events' own number of tries, poll and HTTP timeout."""

    outbox: Settings
    timeout: float

    @classmethod
    def from_app(cls, app: Flask) -> HookSettings:
        c = app.config
        outbox = replace(
            Settings.from_app(app),
            max_attempts=c["API_EVENT_MAX_ATTEMPTS"],
            poll=c["API_EVENT_POLL_SECONDS"],
        )
        return cls(outbox, c["API_EVENT_TIMEOUT"])


@dataclass(frozen=True)
class Hook:
    """One claimed event with what its delivery needs, read as values (the claim's commit
    leaves no loaded object to rely on)."""

    id: int
    event_id: str
    kind: ApiEventKind
    resource_id: int
    status: ApiEventStatus
    claimed_until: datetime | None
    attempts: int
    subscription_on: bool
    endpoint: str
    header: str | None
    with_resource: bool
    client_pk: int
    principal: ApiPrincipal  # the client with its registered scopes
    receives: bool  # access.api_receives_events, as the client is registered now


@dataclass(frozen=True)
class Call:
    """The HTTP request an event becomes."""

    hook: Hook
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]
    person_id: int | None  # whose data the body carries


@dataclass(frozen=True)
class Result:
    hook: Hook
    outcome: str  # delivered, dropped, failed or retry
    values: dict[str, object]
    person_id: int | None = None


def _load(session: Session, ids: list[int]) -> list[Hook]:
    if not ids:
        return []
    rows = session.execute(
        sa.select(ApiEvent, ApiSubscription, ApiClient)
        .join(ApiSubscription, ApiSubscription.id == ApiEvent.subscription_id)
        .join(ApiClient, ApiClient.id == ApiSubscription.api_client_id)
        .where(ApiEvent.id.in_(ids))
        .order_by(ApiEvent.id)
        .execution_options(populate_existing=True)
    ).all()
    hooks = []
    for event, subscription, client in rows:
        principal = registered_principal(client)
        hooks.append(
            Hook(
                id=event.id,
                event_id=event.event_id,
                kind=event.kind,
                resource_id=event.resource_id,
                status=event.status,
                claimed_until=event.claimed_until,
                attempts=event.attempts,
                subscription_on=subscription.deleted_at is None
                and subscription.status is ApiSubscriptionStatus.ACTIVE,
                endpoint=subscription.endpoint,
                header=subscription.header,
                with_resource=subscription.with_resource,
                client_pk=client.id,
                principal=principal,
                receives=access.api_receives_events(principal, event.kind.resource_type),
            )
        )
    return hooks


def _dropped(hook: Hook, reason: str) -> Result:
    return Result(hook, "dropped", {"status": ApiEventStatus.DROPPED, "last_error": reason})


def _resource(session: Session, hook: Hook) -> tuple[dict[str, Any], int] | str:
    """The resource as the client may read it now, with whose it is; or why not."""
    principal = hook.principal
    if hook.kind.resource_type == "Appointment":
        found = api_reads.appointment_with_identifier(session, hook.resource_id)
        if found is None or not access.api_reaches_appointment(
            principal,
            found[0],
            unit_municipality_id=found[0].unit.municipality_id if found[0].unit else None,
            publisher=found[0].published_by,
        ):
            return "the visit is not known to the client"
        if (
            hook.kind is ApiEventKind.APPOINTMENT_FULFILLED
            and found[0].status is not AppointmentStatus.COMPLETED
        ):
            return "the visit is no longer registered as done"
        return fhir.appointment(*found), found[0].person_id
    message = api_reads.message_with_thread(session, hook.resource_id)
    if message is None or not access.api_reaches_thread(principal, message.thread):
        return "the message is not known to the client"
    return fhir.communication(message, message.thread), message.thread.person_id


def _prepare(session: Session, hook: Hook, lease_until: datetime) -> Call | Result:
    if hook.status is not ApiEventStatus.PENDING or hook.claimed_until != lease_until:
        return Result(hook, "not_mine", {})
    if not hook.subscription_on:
        return _dropped(hook, "the subscription is off")
    if not hook.receives:
        return _dropped(hook, "the client no longer receives these events")
    found = _resource(session, hook)
    if isinstance(found, str):
        return _dropped(hook, found)
    resource, person_id = found
    headers = {"X-Event-Id": hook.event_id, "User-Agent": USER_AGENT}
    if hook.header:
        name, _, value = hook.header.partition(":")
        headers[name] = value.strip()
    if not hook.with_resource:
        return Call(hook, "POST", hook.endpoint, None, headers, None)
    headers["Content-Type"] = fhir.MEDIA_TYPE
    url = f"{hook.endpoint.rstrip('/')}/{resource['resourceType']}/{resource['id']}"
    body = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    return Call(hook, "PUT", url, body, headers, person_id)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _send(http: requests.Session, call: Call, settings: HookSettings) -> Result:
    hook = call.hook
    retry_after = None
    try:
        response = http.request(
            call.method,
            call.url,
            data=call.body,
            headers=call.headers,
            timeout=settings.timeout,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        error_text = f"{type(error).__name__}: {error}"
    else:
        response.close()
        if 200 <= response.status_code < 300:  # noqa: PLR2004 - HTTP's success range
            values = {"status": ApiEventStatus.DELIVERED, "delivered_at": utcnow()}
            return Result(hook, "delivered", values | {"last_error": None}, call.person_id)
        error_text = f"HTTP {response.status_code} from {call.method} {call.url}"
        retry_after = _retry_after(response)
    error_text = error_text[:ERROR_MAX]
    if hook.attempts >= settings.outbox.max_attempts:
        log.warning("event %s failed for good: %s", hook.event_id, error_text)
        return Result(hook, "failed", {"status": ApiEventStatus.FAILED, "last_error": error_text})
    delay = min(retry_after, settings.outbox.backoff_max) if retry_after else None
    delay = delay or backoff_delay(hook.attempts, settings.outbox)
    values = {"next_attempt_at": utcnow() + timedelta(seconds=delay), "last_error": error_text}
    return Result(hook, "retry", values)


def _record(session: Session, lease_until: datetime, results: list[Result]) -> None:
    """The outcomes of the events this worker still holds, in one transaction."""
    recorded = [result for result in results if result.values]
    if not recorded:
        return
    mine = still_held(session, ApiEvent, [result.hook.id for result in recorded], lease_until)
    table = ApiEvent.__table__
    for result in recorded:
        if result.hook.id in mine:
            session.execute(
                sa.update(table)
                .where(table.c.id == result.hook.id)
                .values(claimed_until=None, **result.values)
            )
    usage_log_add_many(
        session,
        [
            {
                "at": result.values["delivered_at"],
                "subject_person_id": result.person_id,
                "action": UsageAction.RECORD_SYSTEM_READ,
                "actor_api_client_id": result.hook.client_pk,
                "object_type": result.hook.kind.resource_type,
            }
            for result in recorded
            if result.outcome == "delivered" and result.person_id is not None
            if result.hook.id in mine
        ],
    )


def run_batch(session: Session, http: requests.Session, settings: HookSettings) -> dict[str, int]:
    """Claim a batch of due events and deliver it; returns how many of each outcome.

    Nothing is recorded between sends: a worker killed in the middle of a batch leaves it
    to be claimed again when the lease runs out, and what it had sent goes again with the
    same X-Event-Id."""
    outbox = settings.outbox
    ids, lease_until = claim_due(
        session, ApiEvent, now=utcnow(), batch_size=outbox.batch_size, lease=outbox.lease
    )
    batch = _load(session, ids)
    session.commit()
    results: list[Result] = []
    calls: list[Call] = []
    for hook in batch:
        prepared = _prepare(session, hook, lease_until)
        (calls if isinstance(prepared, Call) else results).append(prepared)
    session.commit()  # hold no transaction while sending
    for call in calls:
        if utcnow() >= lease_until - LEASE_MARGIN:
            # The lease is (nearly) up: another worker may claim it now; leave it to them.
            results.append(Result(call.hook, "lease_expired", {}))
            continue
        results.append(_send(http, call, settings))
    _record(session, lease_until, results)
    session.commit()
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return counts


def run_beside(app: Flask, stopped: Callable[[], bool], settings: HookSettings) -> None:
    """Deliver events until `stopped()`, in a thread of its own beside the notices, so an
    endpoint that answers slowly (or not at all, until API_EVENT_TIMEOUT) never holds up
    a resident's notice. It looks again when the next event is due, at least every
    API_EVENT_POLL_SECONDS. A failure of its own (the database gone a moment) is logged and
    tried again after a pause; the thread does not end before the worker does."""
    with app.app_context():
        session = flask_db.session  # this thread's own: a session per app context
        http = requests.Session()
        try:
            while not stopped():
                try:
                    counts = run_batch(session, http, settings)
                    wait = (
                        0.0 if counts else due_in(session, ApiEvent, utcnow(), settings.outbox.poll)
                    )
                except Exception:  # noqa: BLE001 - logged; the loop must outlive a hiccup
                    log.exception("event delivery failed; trying again shortly")
                    session.rollback()
                    wait = settings.outbox.poll * 10
                deadline = time.monotonic() + wait
                while not stopped() and time.monotonic() < deadline:
                    time.sleep(min(STOP_CHECK, max(deadline - time.monotonic(), 0)))
        finally:
            http.close()
            flask_db.session.remove()
