"""The usage log (logg over bruk): who did what with whose data. Append-only.

Database triggers (see the migration) refuse UPDATE and DELETE; the ORM guard below
refuses them earlier with a clear error.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, IdMixin, str_enum

if TYPE_CHECKING:
    from app.models.api import ApiClient
    from app.models.people import Person
    from app.models.services import Unit
    from app.models.staff import StaffAccount


class UsageAction(enum.StrEnum):
    LOGGED_IN = "logged_in"
    CONSENT_GIVEN = "consent_given"
    ACTING_STARTED = "acting_started"  # a proxy or parent started acting for the subject
    STAFF_VIEWED_PERSON = "staff_viewed_person"
    STAFF_VIEWED_THREAD = "staff_viewed_thread"
    STAFF_VIEWED_APPOINTMENTS = "staff_viewed_appointments"
    MESSAGE_SENT = "message_sent"
    THREAD_READ = "thread_read"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    FULLMAKT_GIVEN = "fullmakt_given"
    FULLMAKT_ENDED = "fullmakt_ended"
    SETTINGS_CHANGED = "settings_changed"
    NOTICE_SENT = "notice_sent"
    REGISTER_SEARCHED = "register_searched"  # Gi ny fullmakt: a search by fødselsnummer
    FULLMAKT_REGISTERED = "fullmakt_registered"  # assigned, waiting for a second person
    FULLMAKT_APPROVED = "fullmakt_approved"  # assigned, approved: in force from now
    FULLMAKT_REJECTED = "fullmakt_rejected"  # assigned, rejected: never in force
    FULLMAKT_CHANGED = "fullmakt_changed"  # ordinary, changed: a new one replaces it
    RECORD_SYSTEM_READ = "record_system_read"  # an API client read the person's data


class UsageLogEntry(IdMixin, Base):
    __tablename__ = "usage_log_entry"

    at: Mapped[datetime]
    # Whose data it concerns; the entry appears in this person's Logg over bruk.
    subject_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    action: Mapped[UsageAction] = mapped_column(str_enum(UsageAction, "usage_action"))
    # Who: a person (the subject, a proxy or a parent) or a staff member of a unit.
    actor_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    actor_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    actor_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    # Or a record system, through the API.
    actor_api_client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_client.id"))
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (sa.Index("ix_usage_log_subject_at", "subject_person_id", "at", "id"),)

    subject: Mapped[Person] = relationship(foreign_keys=[subject_person_id], lazy="raise_on_sql")
    actor_person: Mapped[Person | None] = relationship(
        foreign_keys=[actor_person_id], lazy="raise_on_sql"
    )
    actor_staff: Mapped[StaffAccount | None] = relationship(lazy="raise_on_sql")
    actor_unit: Mapped[Unit | None] = relationship(lazy="raise_on_sql")
    actor_api_client: Mapped[ApiClient | None] = relationship(lazy="raise_on_sql")


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(UsageLogEntry, "before_update")
@event.listens_for(UsageLogEntry, "before_delete")
def _refuse_change(mapper: Any, connection: Any, target: UsageLogEntry) -> None:
    raise AppendOnlyError("the usage log is append-only")


class AdminChange(IdMixin, Base):
    """The audit trail of administrative changes (Endringslogg): one row per changed value,
    who, what, before and after, when. Append-only like the usage log."""

    __tablename__ = "admin_change"

    at: Mapped[datetime]
    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"))
    actor_staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_account.id"))
    # What was changed: "municipality", "service" or "unit", and which; a change to a
    # service or unit names it, so a leader sees the changes that concern their units.
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int]
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    object_name: Mapped[str] = mapped_column(sa.String(120))
    field: Mapped[str] = mapped_column(sa.String(40))
    before: Mapped[str | None] = mapped_column(sa.String(500))
    after: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (sa.Index("ix_admin_change_municipality_at", "municipality_id", "at", "id"),)

    actor_staff: Mapped[StaffAccount] = relationship(lazy="raise_on_sql")


@event.listens_for(AdminChange, "before_update")
@event.listens_for(AdminChange, "before_delete")
def _refuse_admin_change(mapper: Any, connection: Any, target: AdminChange) -> None:
    raise AppendOnlyError("the audit trail is append-only")
