"""The notice outbox: written in the same transaction as the event, delivered by a worker."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, IdMixin, str_enum
from app.models.people import NoticeChannel

if TYPE_CHECKING:
    from app.models.people import Person


class NoticeEvent(enum.StrEnum):
    NEW_MESSAGE = "new_message"
    VISIT_COMPLETED = "visit_completed"
    NEW_FULLMAKT = "new_fullmakt"  # someone may now act for the person (assigned, approved)


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # permanently, after the last try
    DROPPED = "dropped"  # not sent, with a reason (e.g. the recipient lost access)


class Notice(IdMixin, Base):
    __tablename__ = "notice"

    recipient_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    # Whose event it is: the recipient, or a person the recipient represents.
    subject_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    event: Mapped[NoticeEvent] = mapped_column(str_enum(NoticeEvent, "notice_event"))
    # Identifies the event (e.g. "message:42"); one notice per recipient per event.
    event_key: Mapped[str] = mapped_column(sa.String(100))
    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"))
    channel: Mapped[NoticeChannel] = mapped_column(str_enum(NoticeChannel, "notice_channel"))
    address: Mapped[str] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(5), default="nb")
    status: Mapped[NoticeStatus] = mapped_column(
        str_enum(NoticeStatus, "notice_status"), default=NoticeStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    provider_id: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("recipient_person_id", "event_key"),
        sa.Index("ix_notice_due", "status", "next_attempt_at"),
    )

    recipient: Mapped[Person] = relationship(
        foreign_keys=[recipient_person_id], lazy="raise_on_sql"
    )
    subject: Mapped[Person] = relationship(foreign_keys=[subject_person_id], lazy="raise_on_sql")


class DevOutboxMessage(IdMixin, Base):
    """What would have been sent, kept by the development sink (never in production)."""

    __tablename__ = "dev_outbox_message"

    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notice.id"), index=True)
    channel: Mapped[NoticeChannel] = mapped_column(str_enum(NoticeChannel, "notice_channel"))
    address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str | None] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
