"""Municipalities, their services and units, and who receives which service."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, IdMixin

if TYPE_CHECKING:
    from app.models.people import Person
    from app.models.staff import StaffAccount


class Municipality(IdMixin, Base):
    __tablename__ = "municipality"

    number: Mapped[str] = mapped_column(sa.String(4), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Sender name in notices, e.g. "Andeby kommune".
    notice_sender_name: Mapped[str] = mapped_column(sa.String(100))
    reply_deadline_working_days: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        sa.CheckConstraint(
            "reply_deadline_working_days BETWEEN 1 AND 10", name="reply_deadline_range"
        ),
    )

    districts: Mapped[list[District]] = relationship(
        back_populates="municipality", lazy="raise_on_sql", order_by="District.name"
    )
    services: Mapped[list[Service]] = relationship(
        back_populates="municipality", lazy="raise_on_sql", order_by="Service.name"
    )


class District(IdMixin, Base):
    """A bydel; optional subdivision of a municipality."""

    __tablename__ = "district"

    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))

    __table_args__ = (sa.UniqueConstraint("municipality_id", "name"),)

    municipality: Mapped[Municipality] = relationship(
        back_populates="districts", lazy="raise_on_sql"
    )


class Service(IdMixin, Base):
    """A service of a municipality (Hjemmesykepleie, Praktisk bistand ...)."""

    __tablename__ = "service"

    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    open_for_dialog: Mapped[bool] = mapped_column(default=False)
    shows_appointments: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (sa.UniqueConstraint("municipality_id", "name"),)

    municipality: Mapped[Municipality] = relationship(
        back_populates="services", lazy="raise_on_sql"
    )
    units: Mapped[list[Unit]] = relationship(
        back_populates="service", lazy="raise_on_sql", order_by="Unit.name"
    )


class Unit(IdMixin, Base):
    """A tjenestested: who delivers a service, and whose queue receives its messages."""

    __tablename__ = "unit"

    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("district.id"))
    name: Mapped[str] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    opening_hours: Mapped[str | None] = mapped_column(sa.String(200))
    # Journal every message automatically (docs/product.md 5.5).
    auto_journal: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (sa.UniqueConstraint("municipality_id", "name"),)

    municipality: Mapped[Municipality] = relationship(lazy="raise_on_sql")
    service: Mapped[Service] = relationship(back_populates="units", lazy="raise_on_sql")
    district: Mapped[District | None] = relationship(lazy="raise_on_sql")


class ServiceRecipient(IdMixin, Base):
    """A person's registration (vedtak) for a service, served by one unit, for a period."""

    __tablename__ = "service_recipient"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    primary_contact_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    created_at: Mapped[datetime]

    __table_args__ = (
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period_order"),
        sa.Index("ix_service_recipient_unit_person", "unit_id", "person_id"),
    )

    person: Mapped[Person] = relationship(lazy="raise_on_sql")
    service: Mapped[Service] = relationship(lazy="raise_on_sql")
    unit: Mapped[Unit] = relationship(lazy="raise_on_sql")
    primary_contact: Mapped[StaffAccount | None] = relationship(lazy="raise_on_sql")

    @hybrid_method
    def is_current(self, on: date) -> bool:
        """The person receives the service on that day (usable in Python and in SQL)."""
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    @is_current.inplace.expression
    @classmethod
    def _is_current_expression(cls, on: date) -> sa.ColumnElement[bool]:
        return sa.and_(cls.valid_from <= on, sa.or_(cls.valid_to.is_(None), cls.valid_to >= on))
