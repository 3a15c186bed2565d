"""Log-in sessions, passkey credentials and the test identity provider's codes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, IdMixin

if TYPE_CHECKING:
    from app.models.people import Person
    from app.models.services import Unit
    from app.models.staff import StaffAccount


class LoginSession(IdMixin, Base):
    """The server side of a log-in; the browser holds only a random token for it."""

    __tablename__ = "login_session"

    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"), index=True)
    acting_for_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    active_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    auth_method: Mapped[str] = mapped_column(sa.String(20))  # oidc, password, passkey
    acr: Mapped[str | None] = mapped_column(sa.String(50))
    id_token: Mapped[str | None] = mapped_column(sa.Text)  # for RP-initiated log-out
    # Who vouched for a resident's log-in and which of its sessions it was: the provider
    # ends the session by (issuer, sid) or every session of a subject by (issuer, sub).
    oidc_issuer: Mapped[str | None] = mapped_column(sa.String(300))
    oidc_sid: Mapped[str | None] = mapped_column(sa.String(255))
    oidc_sub: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))

    __table_args__ = (
        sa.CheckConstraint("(person_id IS NULL) <> (staff_id IS NULL)", name="one_principal"),
        sa.Index("ix_login_session_oidc_sid", "oidc_issuer", "oidc_sid"),
        sa.Index("ix_login_session_oidc_sub", "oidc_issuer", "oidc_sub"),
    )

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id], lazy="raise_on_sql")
    acting_for: Mapped[Person | None] = relationship(
        foreign_keys=[acting_for_person_id], lazy="raise_on_sql"
    )
    staff: Mapped[StaffAccount | None] = relationship(lazy="raise_on_sql")
    active_unit: Mapped[Unit | None] = relationship(lazy="raise_on_sql")


class PasskeyCredential(IdMixin, Base):
    """A WebAuthn credential of a staff member or of a resident."""

    __tablename__ = "passkey_credential"

    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(sa.LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    transports: Mapped[str | None] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]

    __table_args__ = (
        sa.CheckConstraint("(person_id IS NULL) <> (staff_id IS NULL)", name="one_owner"),
    )


class PasskeyChallenge(IdMixin, Base):
    """A WebAuthn challenge the server issued: used once, and only until it expires.

    Only a digest of the challenge is kept; the answer carries the challenge itself.
    """

    __tablename__ = "passkey_challenge"

    challenge_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))  # register, login
    # Registration: whose passkey it will be; log-in: nobody yet (discoverable credential).
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class DevIdpGrant(IdMixin, Base):
    """An authorization code issued by the test identity provider; used once."""

    __tablename__ = "dev_idp_grant"

    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[str] = mapped_column(sa.String(100))
    redirect_uri: Mapped[str] = mapped_column(sa.String(500))
    code_challenge: Mapped[str] = mapped_column(sa.String(128))
    nonce: Mapped[str | None] = mapped_column(sa.String(200))
    pid: Mapped[str] = mapped_column(sa.String(11))
    acr: Mapped[str] = mapped_column(sa.String(50))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed log-ins counted per key (an address, an account, a known device).

    Kept in the app's database so every process and machine shares the count. When a key
    reaches its limit it is blocked; each new block lasts twice as long as the one before.
    """

    __tablename__ = "login_throttle"

    # A digest of the key ("address:203.0.113.9", "account:siri"), so no address is stored.
    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
    # Blocks in a row, for the back-off; forgotten a day after the last block ended.
    strikes: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(index=True)
