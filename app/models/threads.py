"""Message threads between a resident and a service, their messages and timeline."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, IdMixin, str_enum

if TYPE_CHECKING:
    from app.models.api import ApiClient
    from app.models.people import Person
    from app.models.services import Municipality, Service, Unit
    from app.models.staff import StaffAccount


class ThreadStatus(enum.StrEnum):
    AWAITING_SERVICE = "awaiting_service"  # the service owes a reply
    INTERIM_REPLIED = "interim_replied"  # only an interim reply so far
    ANSWERED = "answered"
    CLOSED = "closed"


class Thread(IdMixin, Base):
    """A samtaletråd: one resident, one service, a subject."""

    __tablename__ = "thread"

    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    subject: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[ThreadStatus] = mapped_column(str_enum(ThreadStatus, "thread_status"))
    reply_deadline: Mapped[datetime | None]  # svarfrist while the service owes a reply
    urgent: Mapped[bool] = mapped_column(default=False)
    assignee_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    started_by_staff: Mapped[bool] = mapped_column(default=False)
    # New from the resident's side and not yet opened by the unit's staff.
    unread_by_staff: Mapped[bool] = mapped_column(default=False)
    continues_thread_id: Mapped[int | None] = mapped_column(sa.ForeignKey("thread.id"))
    created_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        # Inbox: a person's threads, newest activity first (keyset on activity, id).
        sa.Index("ix_thread_person_activity", "person_id", "last_activity_at", "id"),
        # Alle tråder: a unit's threads, newest activity first (keyset on activity, id).
        sa.Index("ix_thread_unit_activity", "unit_id", "last_activity_at", "id"),
        # Queue: a unit's open threads by deadline.
        sa.Index("ix_thread_unit_status_deadline", "unit_id", "status", "reply_deadline", "id"),
    )

    municipality: Mapped[Municipality] = relationship(lazy="raise_on_sql")
    person: Mapped[Person] = relationship(lazy="raise_on_sql")
    service: Mapped[Service] = relationship(lazy="raise_on_sql")
    unit: Mapped[Unit] = relationship(lazy="raise_on_sql")
    assignee: Mapped[StaffAccount | None] = relationship(lazy="raise_on_sql")
    continues: Mapped[Thread | None] = relationship(remote_side="Thread.id", lazy="raise_on_sql")
    messages: Mapped[list[Message]] = relationship(
        back_populates="thread", lazy="raise_on_sql", order_by="Message.sent_at, Message.id"
    )
    events: Mapped[list[ThreadEvent]] = relationship(
        back_populates="thread", lazy="raise_on_sql", order_by="ThreadEvent.at, ThreadEvent.id"
    )


class MessageKind(enum.StrEnum):
    ORDINARY = "ordinary"
    INTERIM = "interim"  # midlertidig svar: says when the next answer comes
    WELCOME = "welcome"


class Message(IdMixin, Base):
    __tablename__ = "message"

    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("thread.id"))
    kind: Mapped[MessageKind] = mapped_column(
        str_enum(MessageKind, "message_kind"), default=MessageKind.ORDINARY
    )
    body: Mapped[str] = mapped_column(sa.Text)
    # A resident, or a proxy writing on behalf of the thread's resident ...
    author_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    on_behalf_of_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    # ... or a staff member of a unit.
    author_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    author_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    sent_at: Mapped[datetime]
    next_answer_at: Mapped[datetime | None]  # for interim replies
    read_by_staff_at: Mapped[datetime | None]
    journaled_at: Mapped[datetime | None]
    journaled_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    # Or journaled by the record system, through the API, under its own reference.
    journaled_by_api_client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_client.id"))
    journal_reference: Mapped[str | None] = mapped_column(sa.String(200))
    # One message per submitted form, even when it is sent twice. A key belongs to its
    # author: another person's message with the same key is a different message.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64))

    __table_args__ = (
        sa.UniqueConstraint("author_person_id", "submission_key"),
        sa.UniqueConstraint("author_staff_id", "submission_key"),
        sa.CheckConstraint(
            "(author_person_id IS NULL) <> (author_staff_id IS NULL)", name="one_author"
        ),
        sa.CheckConstraint(
            "author_staff_id IS NULL OR author_unit_id IS NOT NULL", name="staff_has_unit"
        ),
        sa.CheckConstraint(
            "kind <> 'interim' OR next_answer_at IS NOT NULL", name="interim_says_when"
        ),
        sa.Index("ix_message_thread_sent", "thread_id", "sent_at", "id"),
    )

    thread: Mapped[Thread] = relationship(back_populates="messages", lazy="raise_on_sql")
    author_person: Mapped[Person | None] = relationship(
        foreign_keys=[author_person_id], lazy="raise_on_sql"
    )
    on_behalf_of: Mapped[Person | None] = relationship(
        foreign_keys=[on_behalf_of_person_id], lazy="raise_on_sql"
    )
    author_staff: Mapped[StaffAccount | None] = relationship(
        foreign_keys=[author_staff_id], lazy="raise_on_sql"
    )
    author_unit: Mapped[Unit | None] = relationship(lazy="raise_on_sql")
    journaled_by_api_client: Mapped[ApiClient | None] = relationship(lazy="raise_on_sql")


class ThreadEventKind(enum.StrEnum):
    CREATED = "created"
    MESSAGE = "message"
    INTERIM_REPLY = "interim_reply"
    REPLIED = "replied"
    MARKED_URGENT = "marked_urgent"
    ASSIGNED = "assigned"
    FORWARDED = "forwarded"
    PASSED_ON = "passed_on"
    CLOSED = "closed"
    REOPENED = "reopened"
    JOURNALED = "journaled"


class PassOnMethod(enum.StrEnum):
    PLO = "plo"  # PLO message to the GP or nursing home
    PHONE = "phone"
    OTHER = "other"


class ThreadEvent(IdMixin, Base):
    """The thread's timeline. Internal notes live here and are never shown to residents."""

    __tablename__ = "thread_event"

    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("thread.id"), index=True)
    kind: Mapped[ThreadEventKind] = mapped_column(str_enum(ThreadEventKind, "thread_event_kind"))
    at: Mapped[datetime]
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("message.id"))
    from_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    to_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    assignee_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    pass_on_method: Mapped[PassOnMethod | None] = mapped_column(
        str_enum(PassOnMethod, "pass_on_method")
    )
    pass_on_recipient: Mapped[str | None] = mapped_column(sa.String(200))
    # For PASSED_ON: whether the service will relay the answer to the resident.
    answer_relayed: Mapped[bool | None]
    internal_note: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        # "Venter på svar utenfra": the few pass-ons with a promise to relay, found without
        # reading every event of every thread.
        sa.Index(
            "ix_thread_event_relay",
            "thread_id",
            "at",
            "id",
            sqlite_where=sa.text("kind = 'passed_on' AND answer_relayed IS TRUE"),
            postgresql_where=sa.text("kind = 'passed_on' AND answer_relayed IS TRUE"),
        ),
    )

    thread: Mapped[Thread] = relationship(back_populates="events", lazy="raise_on_sql")
    staff: Mapped[StaffAccount | None] = relationship(foreign_keys=[staff_id], lazy="raise_on_sql")
    assignee: Mapped[StaffAccount | None] = relationship(
        foreign_keys=[assignee_staff_id], lazy="raise_on_sql"
    )
    person: Mapped[Person | None] = relationship(foreign_keys=[person_id], lazy="raise_on_sql")
    from_unit: Mapped[Unit | None] = relationship(foreign_keys=[from_unit_id], lazy="raise_on_sql")
    to_unit: Mapped[Unit | None] = relationship(foreign_keys=[to_unit_id], lazy="raise_on_sql")


class ThreadRead(Base):
    """When a resident or proxy last read a thread (the resident side's read state)."""

    __tablename__ = "thread_read"

    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("thread.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), primary_key=True)
    read_at: Mapped[datetime]
