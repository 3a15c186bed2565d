"""Writing the usage log (logg over bruk). Entries are only ever added."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.models import UsageAction, UsageLogEntry


def usage_log_add(
    session: Session,
    *,
    subject_person_id: int,
    action: UsageAction,
    actor_person_id: int | None = None,
    actor_staff_id: int | None = None,
    actor_unit_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    detail: str | None = None,
    at: datetime | None = None,
) -> UsageLogEntry:
    entry = UsageLogEntry(
        at=at or utcnow(),
        subject_person_id=subject_person_id,
        action=action,
        actor_person_id=actor_person_id,
        actor_staff_id=actor_staff_id,
        actor_unit_id=actor_unit_id,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
    session.add(entry)
    session.flush()
    return entry


def usage_log_add_many(session: Session, entries: list[dict[str, object]]) -> None:
    """Several entries in one statement (a page that shows many residents' data)."""
    if entries:
        session.execute(sa.insert(UsageLogEntry.__table__), entries)  # Core: no ORM bookkeeping
