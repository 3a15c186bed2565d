"""The record-system API's clients (docs/product.md 5.11): who they are, the keys they sign
with, what they may do, and every call they made."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, IdMixin

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
