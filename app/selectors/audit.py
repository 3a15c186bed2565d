"""Reads of the usage log (logg over bruk), newest first, by keyset.

Identical entries close in time (a nurse opening the same thread three times in a few
minutes) are stored one by one and shown as one line that says how many times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.models import AdminChange, Unit, UsageLogEntry
from app.selectors import paging

LOG_PAGE = 30
# Entries read per page: enough for LOG_PAGE lines even when many are grouped.
LOG_FETCH = 200
LOG_KEY = (datetime, int)
# Identical entries this close to the next one are shown as one line.
GROUP_WITHIN = timedelta(minutes=15)


@dataclass(frozen=True)
class LogLine:
    """One line of the log: the newest entry of a run of identical ones, and the run's size."""

    entry: UsageLogEntry
    count: int
    first_at: datetime

    @property
    def at(self) -> datetime:
        return self.entry.at


def _same(a: UsageLogEntry, b: UsageLogEntry) -> bool:
    return (
        a.action,
        a.actor_person_id,
        a.actor_staff_id,
        a.actor_unit_id,
        a.actor_api_client_id,
        a.object_type,
        a.object_id,
        a.detail,
    ) == (
        b.action,
        b.actor_person_id,
        b.actor_staff_id,
        b.actor_unit_id,
        b.actor_api_client_id,
        b.object_type,
        b.object_id,
        b.detail,
    )


def group_entries(entries: list[UsageLogEntry]) -> list[list[UsageLogEntry]]:
    """Runs of identical entries (newest first), each entry within GROUP_WITHIN of the next."""
    runs: list[list[UsageLogEntry]] = []
    for entry in entries:
        if runs and _same(runs[-1][-1], entry) and runs[-1][-1].at - entry.at <= GROUP_WITHIN:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def usage_log(
    session: Session,
    person_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    cursor: str | None = None,
) -> paging.Page[LogLine]:
    """Lines about the person's data in [start, end), newest first; one statement a page."""
    statement = (
        sa.select(UsageLogEntry)
        .where(UsageLogEntry.subject_person_id == person_id)
        .options(
            joinedload(UsageLogEntry.actor_person),
            joinedload(UsageLogEntry.actor_staff),
            joinedload(UsageLogEntry.actor_unit),
            joinedload(UsageLogEntry.actor_api_client),
        )
        .order_by(UsageLogEntry.at.desc(), UsageLogEntry.id.desc())
        .limit(LOG_FETCH + 1)
    )
    if start is not None:
        statement = statement.where(UsageLogEntry.at >= start)
    if end is not None:
        statement = statement.where(UsageLogEntry.at < end)
    position = paging.decode(cursor, LOG_KEY)
    if position is not None:
        keys = ((UsageLogEntry.at, True), (UsageLogEntry.id, True))
        statement = statement.where(paging.after(keys, position))
    entries = list(session.scalars(statement))
    more_entries = len(entries) > LOG_FETCH
    runs = group_entries(entries[:LOG_FETCH])
    more = more_entries or len(runs) > LOG_PAGE
    runs = runs[:LOG_PAGE]
    lines = [LogLine(run[0], len(run), run[-1].at) for run in runs]
    if not more or not runs:
        return paging.Page(lines, None)
    last = runs[-1][-1]
    return paging.Page(lines, paging.encode((last.at, last.id)))


# --- the audit trail of administrative changes (Endringslogg) ------------------------------

CHANGE_PAGE = 30


def admin_changes(
    session: Session,
    municipality_id: int,
    *,
    unit_ids: frozenset[int] | None = None,
    cursor: str | None = None,
) -> paging.Page[AdminChange]:
    """Changes in the municipality, newest first; with `unit_ids` (a leader's units) only
    those that concern them: the units, their services and the municipality's settings
    (not staff accounts, which only the administrator reads)."""
    statement = (
        sa.select(AdminChange)
        .where(AdminChange.municipality_id == municipality_id)
        .options(joinedload(AdminChange.actor_staff))
        .order_by(AdminChange.at.desc(), AdminChange.id.desc())
        .limit(CHANGE_PAGE + 1)
    )
    if unit_ids is not None:
        services = sa.select(Unit.service_id).where(Unit.id.in_(unit_ids)).scalar_subquery()
        statement = statement.where(
            AdminChange.object_type != "staff_account",
            sa.or_(
                AdminChange.unit_id.in_(unit_ids),
                sa.and_(
                    AdminChange.unit_id.is_(None),
                    sa.or_(AdminChange.service_id.is_(None), AdminChange.service_id.in_(services)),
                ),
            ),
        )
    position = paging.decode(cursor, LOG_KEY)
    if position is not None:
        keys = ((AdminChange.at, True), (AdminChange.id, True))
        statement = statement.where(paging.after(keys, position))
    rows = list(session.scalars(statement))
    return paging.paginate(rows, CHANGE_PAGE, lambda c: (c.at, c.id))
