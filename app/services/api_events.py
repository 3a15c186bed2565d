"""Events for record systems (docs/api.md, Events): the subscriptions clients make, and the
events queued for them in the same transaction as what happened. The notice worker
delivers them (app/notices/hooks.py), so an event exists exactly when what it tells of does.

What a client is told of happens in Hjemmedialog: a resident or the service cancels a visit,
staff register a visit as done, a resident or relative writes. What a client changes
through the API it knows already and is not told back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import (
    ApiClient,
    ApiEvent,
    ApiEventKind,
    ApiEventStatus,
    ApiSubscription,
    ApiSubscriptionStatus,
)
from app.security import access
from app.security.api_auth import ApiPrincipal, registered_principal
from app.services.api_refusals import RecordRefused
from app.services.notices import wake_workers

# Subscriptions a client may hold at once (ended ones not counted).
SUBSCRIPTIONS_MAX = 20
# How a subscription's header reads back: its name, never its value.
MASK = "***"


@dataclass(frozen=True)
class SubscriptionInput:
    """What a Subscription sent by a client asks for, in this app's terms."""

    criteria: ApiEventKind
    active: bool
    reason: str
    endpoint: str
    header: str | None
    with_resource: bool


def masked(header: str | None) -> str | None:
    """A header as a client reads it back: `Authorization: ***`."""
    if header is None:
        return None
    return f"{header.partition(':')[0]}: {MASK}"


def _check_endpoint(endpoint: str, *, allow_http: bool) -> None:
    parts = urlsplit(endpoint)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise RecordRefused(422, "channel.endpoint must be an https address", code="business-rule")


def _own(
    session: Session, principal: ApiPrincipal, subscription_id: int, *, deleted: bool = False
) -> ApiSubscription:
    """The client's own subscription; one it deleted only with `deleted` (else 410)."""
    subscription = session.get(ApiSubscription, subscription_id)
    if subscription is None or not access.api_owns_subscription(
        principal, subscription.api_client_id
    ):
        raise RecordRefused(404, f"Subscription/{subscription_id} is not known to this client")
    if subscription.deleted_at is not None and not deleted:
        raise RecordRefused(410, f"Subscription/{subscription_id} was deleted", code="deleted")
    return subscription


def subscription_for_client(
    session: Session, principal: ApiPrincipal, subscription_id: int
) -> ApiSubscription:
    access.require_api_permission(principal, "Subscription", "r")
    return _own(session, principal, subscription_id)


def subscription_create(
    session: Session,
    principal: ApiPrincipal,
    given: SubscriptionInput,
    *,
    allow_http: bool,
    now: datetime,
) -> ApiSubscription:
    """A new subscription, active at once."""
    access.require_api_permission(principal, "Subscription", "c")
    access.require_api_events(principal, given.criteria.resource_type)
    _check_endpoint(given.endpoint, allow_http=allow_http)
    held = session.scalar(
        sa.select(sa.func.count())
        .select_from(ApiSubscription)
        .where(
            ApiSubscription.api_client_id == principal.client_pk,
            ApiSubscription.deleted_at.is_(None),
        )
    )
    if held >= SUBSCRIPTIONS_MAX:
        raise RecordRefused(
            422,
            f"a client holds at most {SUBSCRIPTIONS_MAX} subscriptions; delete one first",
            code="business-rule",
        )
    subscription = ApiSubscription(
        api_client_id=principal.client_pk,
        criteria=given.criteria,
        status=ApiSubscriptionStatus.ACTIVE if given.active else ApiSubscriptionStatus.OFF,
        reason=given.reason,
        endpoint=given.endpoint,
        header=given.header,
        with_resource=given.with_resource,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription


def subscription_update(
    session: Session,
    principal: ApiPrincipal,
    subscription_id: int,
    given: SubscriptionInput,
    *,
    allow_http: bool,
    now: datetime,
) -> ApiSubscription:
    """Change what a subscription asks for; `off` stops its events (those waiting are
    dropped when their turn comes). A header sent back as it was read (masked) is kept."""
    access.require_api_permission(principal, "Subscription", "u")
    subscription = _own(session, principal, subscription_id)
    access.require_api_events(principal, given.criteria.resource_type)
    _check_endpoint(given.endpoint, allow_http=allow_http)
    if given.header is None or given.header != masked(subscription.header):
        subscription.header = given.header
    subscription.criteria = given.criteria
    subscription.status = (
        ApiSubscriptionStatus.ACTIVE if given.active else ApiSubscriptionStatus.OFF
    )
    subscription.reason = given.reason
    subscription.endpoint = given.endpoint
    subscription.with_resource = given.with_resource
    subscription.updated_at = now
    session.flush()
    return subscription


def subscription_delete(
    session: Session, principal: ApiPrincipal, subscription_id: int, now: datetime
) -> None:
    """End a subscription: its waiting events are dropped, and it reads as deleted (410).
    Deleting it again changes nothing."""
    access.require_api_permission(principal, "Subscription", "d")
    subscription = _own(session, principal, subscription_id, deleted=True)
    if subscription.deleted_at is not None:
        return
    subscription.status = ApiSubscriptionStatus.OFF
    subscription.deleted_at = now
    subscription.updated_at = now
    session.execute(
        sa.update(ApiEvent)
        .where(
            ApiEvent.subscription_id == subscription.id,
            ApiEvent.status == ApiEventStatus.PENDING,
        )
        .values(status=ApiEventStatus.DROPPED, last_error="the subscription was deleted")
        .execution_options(synchronize_session=False)
    )
    session.flush()


def events_queue(
    session: Session,
    kind: ApiEventKind,
    happened: Iterable[tuple[int, int]],
    *,
    now: datetime,
    due_at: datetime | None = None,
) -> int:
    """Queue an event for each (resource id, municipality id) that happened, for every
    active subscription to `kind` of a record system of that municipality which
    receives it (`access.api_receives_events`). Due at once, or at `due_at` (something
    that can still be undone until then). Returns how many were queued."""
    by_municipality: dict[int, list[int]] = {}
    for resource_id, municipality_id in happened:
        by_municipality.setdefault(municipality_id, []).append(resource_id)
    if not by_municipality:
        return 0
    subscriptions = session.execute(
        sa.select(ApiSubscription.id, ApiClient)
        .join(ApiClient, ApiClient.id == ApiSubscription.api_client_id)
        .where(
            ApiSubscription.criteria == kind,
            ApiSubscription.status == ApiSubscriptionStatus.ACTIVE,
            ApiSubscription.deleted_at.is_(None),
            ApiClient.revoked_at.is_(None),
            ApiClient.municipality_id.in_(by_municipality),
        )
        .order_by(ApiSubscription.id)
    ).all()
    due = max(due_at or now, now)
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "subscription_id": subscription_id,
            "kind": kind,
            "resource_id": resource_id,
            "status": ApiEventStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": due,
            "created_at": now,
        }
        for subscription_id, client in subscriptions
        if access.api_receives_events(registered_principal(client), kind.resource_type)
        for resource_id in by_municipality[client.municipality_id]
    ]
    if events:
        session.execute(sa.insert(ApiEvent), events)
        wake_workers(session)
    return len(events)


def events_withdraw(session: Session, kind: ApiEventKind, resource_id: int) -> None:
    """What was undone before its events were due is not told (a visit registered as done
    by mistake, and undone)."""
    session.execute(
        sa.delete(ApiEvent)
        .where(
            ApiEvent.resource_id == resource_id,
            ApiEvent.kind == kind,
            ApiEvent.status == ApiEventStatus.PENDING,
        )
        .execution_options(synchronize_session=False)
    )
