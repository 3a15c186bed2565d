"""Reads of the usage log (logg over bruk), newest first, by keyset."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.models import UsageLogEntry
from app.selectors import paging

LOG_PAGE = 30
LOG_KEY = (datetime, int)


def usage_log(
    session: Session,
    person_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    cursor: str | None = None,
) -> paging.Page[UsageLogEntry]:
    """Entries about the person's data in [start, end), newest first; one statement a page."""
    statement = (
        sa.select(UsageLogEntry)
        .where(UsageLogEntry.subject_person_id == person_id)
        .options(
            joinedload(UsageLogEntry.actor_person),
            joinedload(UsageLogEntry.actor_staff),
            joinedload(UsageLogEntry.actor_unit),
        )
        .order_by(UsageLogEntry.at.desc(), UsageLogEntry.id.desc())
        .limit(LOG_PAGE + 1)
    )
    if start is not None:
        statement = statement.where(UsageLogEntry.at >= start)
    if end is not None:
        statement = statement.where(UsageLogEntry.at < end)
    position = paging.decode(cursor, LOG_KEY)
    if position is not None:
        keys = ((UsageLogEntry.at, True), (UsageLogEntry.id, True))
        statement = statement.where(paging.after(keys, position))
    rows = list(session.scalars(statement))
    return paging.paginate(rows, LOG_PAGE, lambda e: (e.at, e.id))
