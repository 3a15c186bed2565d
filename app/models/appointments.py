"""Appointments (home visits), recurring series, and cancellations by residents."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from app.clock import utcnow
from app.models.base import Base, IdMixin, str_enum

if TYPE_CHECKING:
    from app.models.api import ApiClient
    from app.models.people import Person
    from app.models.services import Service, Unit
    from app.models.staff import StaffAccount


class AppointmentSeries(IdMixin, Base):
    """A recurring visit: an RFC 5545 rule (python-dateutil) and a local time window."""

    __tablename__ = "appointment_series"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    rrule: Mapped[str] = mapped_column(sa.String(500))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    window_start: Mapped[time] = mapped_column(sa.Time)  # Europe/Oslo wall clock
    window_end: Mapped[time] = mapped_column(sa.Time)
    description: Mapped[str] = mapped_column(sa.String(500))
    generated_until: Mapped[date | None] = mapped_column(sa.Date)
    created_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    __table_args__ = (
        sa.CheckConstraint("window_end > window_start", name="window_order"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period_order"),
    )

    person: Mapped[Person] = relationship(lazy="raise_on_sql")
    service: Mapped[Service] = relationship(lazy="raise_on_sql")
    unit: Mapped[Unit] = relationship(lazy="raise_on_sql")


class AppointmentStatus(enum.StrEnum):
    PLANNED = "planned"  # Planlagt
    ASSIGNED = "assigned"  # Tildelt
    COMPLETED = "completed"  # Utført
    CANCELLED = "cancelled"  # Avlyst


class AppointmentSource(enum.StrEnum):
    MUNICIPALITY = "municipality"
    EXTERNAL = "external"  # GP, hospital: read-only here


class Appointment(IdMixin, Base):
    __tablename__ = "appointment"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment_series.id"))
    source: Mapped[AppointmentSource] = mapped_column(
        str_enum(AppointmentSource, "appointment_source"), default=AppointmentSource.MUNICIPALITY
    )
    source_name: Mapped[str | None] = mapped_column(sa.String(200))  # "Andeby legekontor"
    status: Mapped[AppointmentStatus] = mapped_column(
        str_enum(AppointmentStatus, "appointment_status"), default=AppointmentStatus.PLANNED
    )
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    start_at: Mapped[datetime | None]  # exact time once assigned
    description: Mapped[str] = mapped_column(sa.String(500))
    employee_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    completed_at: Mapped[datetime | None]
    completed_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    # Until when the employee who registered it may still undo it (Angre); its notice waits.
    undo_until: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    cancelled_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    cancellation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cancellation.id"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # The service chose to show its reason to the resident (reasons can hold internal notes).
    cancel_reason_shared: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime]
    # Every change counts up the version and sets updated_at (the record system's API reads
    # both: ETag and If-Match, and _lastUpdated). ORM changes get them from the listener
    # below; an UPDATE statement sets them itself (`touched`).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    updated_at: Mapped[datetime]
    # The API client that published it (a record system, or another provider's system).
    published_by_api_client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_client.id"))

    __table_args__ = (
        sa.CheckConstraint("window_end >= window_start", name="window_order"),
        sa.CheckConstraint(
            "source = 'external' OR (service_id IS NOT NULL AND unit_id IS NOT NULL)",
            name="municipal_has_service",
        ),
        sa.CheckConstraint(
            "status NOT IN ('assigned', 'completed') OR employee_staff_id IS NOT NULL",
            name="employee_when_assigned",
        ),
        sa.CheckConstraint(
            "status <> 'completed' OR completed_at IS NOT NULL", name="completed_has_time"
        ),
        sa.CheckConstraint(
            "status <> 'cancelled' OR cancelled_at IS NOT NULL", name="cancelled_has_time"
        ),
        sa.UniqueConstraint("series_id", "window_start"),
        sa.Index("ix_appointment_person_start", "person_id", "window_start", "id"),
        sa.Index("ix_appointment_employee_start", "employee_staff_id", "window_start"),
        sa.Index("ix_appointment_unit_start", "unit_id", "window_start"),
        # Oversikt: completed visits per day, and the visits a cancellation covered.
        sa.Index("ix_appointment_unit_completed", "unit_id", "completed_at"),
        # The record system's API: what changed since a moment (the newest changes are few).
        # Not led by unit_id: SQLite would take it for the unit's other ranges (Oversikt).
        sa.Index("ix_appointment_updated", "updated_at", "id"),
        # With the unit: Oversikt counts, per cancellation, the visits of the leader's units
        # it covered, and an index that matches both terms is the one SQLite takes.
        sa.Index(
            "ix_appointment_cancellation",
            "cancellation_id",
            "unit_id",
            sqlite_where=sa.text("cancellation_id IS NOT NULL"),
            postgresql_where=sa.text("cancellation_id IS NOT NULL"),
        ),
    )

    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="raise_on_sql")
    service: Mapped[Service | None] = relationship(lazy="raise_on_sql")
    unit: Mapped[Unit | None] = relationship(lazy="raise_on_sql")
    series: Mapped[AppointmentSeries | None] = relationship(lazy="raise_on_sql")
    employee: Mapped[StaffAccount | None] = relationship(
        foreign_keys=[employee_staff_id], lazy="raise_on_sql"
    )
    completed_by: Mapped[StaffAccount | None] = relationship(
        foreign_keys=[completed_by_staff_id], lazy="raise_on_sql"
    )
    cancellation: Mapped[Cancellation | None] = relationship(
        back_populates="appointments", lazy="raise_on_sql"
    )
    published_by: Mapped[ApiClient | None] = relationship(lazy="raise_on_sql")


def touched(now: datetime) -> dict[str, object]:
    """The values an UPDATE statement of appointments sets besides its own."""
    return {"updated_at": now, "version": Appointment.version + 1}


@event.listens_for(Appointment, "before_insert")
def _first_version(mapper: object, connection: object, target: Appointment) -> None:
    if target.updated_at is None:
        target.updated_at = target.created_at
    target.version = target.version or 1


@event.listens_for(Appointment, "before_update")
def _next_version(mapper: object, connection: object, target: Appointment) -> None:
    if object_session(target) is not None and object_session(target).is_modified(
        target, include_collections=False
    ):
        target.version = (target.version or 0) + 1
        target.updated_at = utcnow()


class AppointmentIdentifier(IdMixin, Base):
    """The record system's own identifier of a visit (FHIR Appointment.identifier): a
    create or update sent again with it finds the same visit."""

    __tablename__ = "appointment_identifier"

    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id"), unique=True)
    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"))
    system: Mapped[str] = mapped_column(sa.String(200))
    value: Mapped[str] = mapped_column(sa.String(200))

    __table_args__ = (sa.UniqueConstraint("municipality_id", "system", "value"),)

    appointment: Mapped[Appointment] = relationship(lazy="raise_on_sql")


class CancellationKind(enum.StrEnum):
    SINGLE = "single"  # Enkeltavtale
    PERIOD = "period"  # Periode


cancellation_service = sa.Table(
    "cancellation_service",
    Base.metadata,
    sa.Column("cancellation_id", sa.ForeignKey("cancellation.id"), primary_key=True),
    sa.Column("service_id", sa.ForeignKey("service.id"), primary_key=True),
)


class Cancellation(IdMixin, Base):
    """An avbestilling made by a resident or a proxy."""

    __tablename__ = "cancellation"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    made_by_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    kind: Mapped[CancellationKind] = mapped_column(str_enum(CancellationKind, "cancellation_kind"))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime]
    # One cancellation per submitted form; a key belongs to the person who made it.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64))

    __table_args__ = (
        sa.CheckConstraint("period_end >= period_start", name="period_order"),
        sa.UniqueConstraint("made_by_person_id", "submission_key"),
    )

    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="raise_on_sql")
    made_by: Mapped[Person] = relationship(foreign_keys=[made_by_person_id], lazy="raise_on_sql")
    services: Mapped[list[Service]] = relationship(
        secondary=cancellation_service, lazy="raise_on_sql"
    )
    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="cancellation", lazy="raise_on_sql"
    )
    acknowledgements: Mapped[list[CancellationAcknowledgement]] = relationship(
        back_populates="cancellation", lazy="raise_on_sql"
    )


class CancellationAcknowledgement(Base):
    """One row per unit concerned; the unit's Avbestillinger queue until acknowledged."""

    __tablename__ = "cancellation_acknowledgement"

    cancellation_id: Mapped[int] = mapped_column(sa.ForeignKey("cancellation.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), primary_key=True)
    # When the cancellation was made (its created_at), so Oversikt finds a unit's
    # cancellations in a period by one index range.
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))

    __table_args__ = (
        sa.Index("ix_cancellation_ack_unit_open", "unit_id", "acknowledged_at"),
        sa.Index("ix_cancellation_ack_unit_created", "unit_id", "created_at"),
    )

    cancellation: Mapped[Cancellation] = relationship(
        back_populates="acknowledgements", lazy="raise_on_sql"
    )
    unit: Mapped[Unit] = relationship(lazy="raise_on_sql")


class VisitRegistration(Base):
    """An idempotent "Registrer utført": the first answer to a key is the answer to it.

    The request is remembered by a hash, never by its text: a repeat with the same key and
    the same body gets the first result; the same key with another body is refused.
    """

    __tablename__ = "visit_registration"

    # A key belongs to the employee whose device made it.
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_account.id"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id"), index=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(20))  # completed, already_completed
    created_at: Mapped[datetime]
