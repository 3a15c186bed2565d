"""The record-system API's clients (docs/product.md 5.11): who they are, the keys they sign
with, what they may do, and every call they made."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, IdMixin, str_enum

if TYPE_CHECKING:
    from app.models.services import Municipality


class ApiClient(IdMixin, Base):
    """A record system (or another provider's system) registered by the municipality.

    It logs in with OAuth 2.0 client credentials, signing its assertion with a private key
    whose public half is kept here (`jwks`, a JSON Web Key Set). A client bound to a
    provider ("Andeby legekontor") publishes that provider's appointments only.
    """

    __tablename__ = "api_client"

    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    provider_name: Mapped[str | None] = mapped_column(sa.String(100))
    jwks: Mapped[str] = mapped_column(sa.Text)
    scopes: Mapped[str] = mapped_column(sa.String(500))  # space-separated SMART system scopes
    created_at: Mapped[datetime]
    created_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))

    municipality: Mapped[Municipality] = relationship(lazy="raise_on_sql")


class ApiAssertion(Base):
    """A client assertion's `jti`, kept until the assertion expires: each is used once."""

    __tablename__ = "api_assertion"

    api_client_id: Mapped[int] = mapped_column(sa.ForeignKey("api_client.id"), primary_key=True)
    jti: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiCall(IdMixin, Base):
    """The audit trail of the API: one row per call by a known client, refused ones too."""

    __tablename__ = "api_call"

    api_client_id: Mapped[int] = mapped_column(sa.ForeignKey("api_client.id"))
    at: Mapped[datetime]
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[int]
    # What went wrong, in the OperationOutcome's own words (cut short).
    outcome: Mapped[str | None] = mapped_column(sa.String(300))

    __table_args__ = (sa.Index("ix_api_call_client_at", "api_client_id", "at", "id"),)


class ApiEventKind(enum.StrEnum):
    """What a subscription is told about, as its FHIR criteria say it."""

    APPOINTMENT_CANCELLED = "Appointment?status=cancelled"
    APPOINTMENT_FULFILLED = "Appointment?status=fulfilled"
    MESSAGE_FROM_RESIDENT = "Communication?category=from-resident"

    @property
    def resource_type(self) -> str:
        return self.value.partition("?")[0]


class ApiSubscriptionStatus(enum.StrEnum):
    """FHIR R4's subscription statuses this server uses (never `requested`: a subscription
    is active as soon as it is made)."""

    ACTIVE = "active"
    OFF = "off"


class ApiSubscription(IdMixin, Base):
    """A client's FHIR Subscription (R4 rest-hook): where to call when something happens."""

    __tablename__ = "api_subscription"

    api_client_id: Mapped[int] = mapped_column(sa.ForeignKey("api_client.id"))
    criteria: Mapped[ApiEventKind] = mapped_column(str_enum(ApiEventKind, "api_event_kind"))
    status: Mapped[ApiSubscriptionStatus] = mapped_column(
        str_enum(ApiSubscriptionStatus, "api_subscription_status"),
        default=ApiSubscriptionStatus.ACTIVE,
    )
    reason: Mapped[str] = mapped_column(sa.String(200))
    endpoint: Mapped[str] = mapped_column(sa.String(500))
    # One "Name: value" header sent with every call (e.g. the endpoint's own credentials).
    header: Mapped[str | None] = mapped_column(sa.String(1000))
    # With the resource (PUT <endpoint>/<type>/<id>), or an empty POST to the endpoint.
    with_resource: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        sa.Index("ix_api_subscription_client", "api_client_id", "id"),
        sa.Index("ix_api_subscription_criteria", "criteria", "status"),
    )

    client: Mapped[ApiClient] = relationship(lazy="raise_on_sql")


class ApiEventStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # after the last try
    DROPPED = "dropped"  # not delivered, with a reason (e.g. the subscription was ended)


class ApiEvent(IdMixin, Base):
    """The event outbox: one row per event per subscription, written in the same
    transaction as what happened, delivered by the notice worker (app/notices/hooks.py)."""

    __tablename__ = "api_event"

    # Sent as X-Event-Id with every try: the receiver knows a repeat.
    event_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("api_subscription.id"))
    kind: Mapped[ApiEventKind] = mapped_column(str_enum(ApiEventKind, "api_event_kind"))
    resource_id: Mapped[int]
    status: Mapped[ApiEventStatus] = mapped_column(
        str_enum(ApiEventStatus, "api_event_status"), default=ApiEventStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        sa.Index("ix_api_event_due", "status", "next_attempt_at"),
        sa.Index("ix_api_event_subscription", "subscription_id", "status", "id"),
        sa.Index("ix_api_event_resource", "resource_id", "kind"),
    )

    subscription: Mapped[ApiSubscription] = relationship(lazy="raise_on_sql")
