"""Staff accounts of a municipality and their roles in units."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.base import Base, IdMixin, str_enum
from app.text import without_bidi_controls

if TYPE_CHECKING:
    from app.models.services import Municipality, Unit


class StaffRoleKind(enum.StrEnum):
    MESSAGE_COORDINATOR = "meldingsansvarlig"
    EMPLOYEE = "ansatt"
    LEADER = "leder"
    MUNICIPAL_ADMIN = "kommuneadministrator"


class StaffAccount(IdMixin, Base):
    __tablename__ = "staff_account"

    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str | None] = mapped_column(sa.String(100))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # A one-time password from the administrator: the first log-in must choose a new one.
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime]
    # The staff member's own entry in the population register, when known: nobody registers
    # or approves a fullmakt in which they are the grantor or the grantee.
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    # WebAuthn user handle: random, given with the first passkey, never shown.
    passkey_user_handle: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary(64), unique=True, index=True
    )

    municipality: Mapped[Municipality] = relationship(lazy="raise_on_sql")
    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", lazy="raise_on_sql", cascade="all, delete-orphan"
    )

    @validates("full_name")
    def _plain_name(self, _key: str, value: str) -> str:
        return without_bidi_controls(value)


class StaffRole(IdMixin, Base):
    """A role in a unit; the municipal administrator role has no unit."""

    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_account.id"), index=True)
    role: Mapped[StaffRoleKind] = mapped_column(str_enum(StaffRoleKind, "staff_role_kind"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)

    __table_args__ = (
        sa.UniqueConstraint("staff_id", "role", "unit_id"),
        sa.CheckConstraint(
            "(role = 'kommuneadministrator') = (unit_id IS NULL)", name="unit_matches_role"
        ),
    )

    staff: Mapped[StaffAccount] = relationship(back_populates="roles", lazy="raise_on_sql")
    unit: Mapped[Unit | None] = relationship(lazy="raise_on_sql")
