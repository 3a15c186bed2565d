"""Writing the usage log (logg over bruk). Entries are only ever added."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.models import Fullmakt, UsageAction, UsageLogEntry

if TYPE_CHECKING:
    from app.security.actor import Actor


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


# Entries that stay even when the request's other writes are rolled back (session.info).
DURABLE_ENTRIES = "usage_log_durable"


def usage_log_add_durable(
    session: Session,
    *,
    subject_person_id: int,
    action: UsageAction,
    at: datetime,
    **values: object,
) -> UsageLogEntry:
    """An entry that is kept whatever the response: a refused request (422) rolls back its
    writes, and the web layer then writes these again (`usage_log_durable_restore`)."""
    row = {"subject_person_id": subject_person_id, "action": action, "at": at, **values}
    _keep_durable(session, [row])
    return usage_log_add(session, **row)  # type: ignore[arg-type]


def _keep_durable(session: Session, rows: list[dict[str, object]]) -> None:
    session.info.setdefault(DURABLE_ENTRIES, []).extend(rows)


def usage_log_durable_restore(session: Session, *, rolled_back: bool) -> bool:
    """After the request: write the durable entries again if its transaction was rolled
    back (then the caller commits); forget them either way. Whether any were written."""
    rows = session.info.pop(DURABLE_ENTRIES, [])
    if rolled_back and rows:
        usage_log_add_many(session, rows)
        return True
    return False


def usage_log_if_acting_for_other(
    session: Session,
    actor: Actor,
    *,
    subject_person_id: int,
    action: UsageAction,
    object_type: str,
    object_id: int,
    at: datetime,
) -> None:
    """Residents' own actions need no entry; a proxy's or a parent's do."""
    if actor.person.id != subject_person_id:
        usage_log_add(
            session,
            subject_person_id=subject_person_id,
            action=action,
            actor_person_id=actor.person.id,
            object_type=object_type,
            object_id=object_id,
            at=at,
        )


def usage_log_add_many(session: Session, entries: list[dict[str, object]]) -> None:
    """Several entries in one statement (a page that shows many residents' data)."""
    if entries:
        session.execute(sa.insert(UsageLogEntry.__table__), entries)  # Core: no ORM bookkeeping


def staff_viewed_person(session: Session, actor: Actor, person_id: int, now: datetime) -> None:
    """A staff member opened a resident's page."""
    usage_log_add(
        session,
        subject_person_id=person_id,
        action=UsageAction.STAFF_VIEWED_PERSON,
        actor_staff_id=actor.staff.id,
        actor_unit_id=actor.active_unit_id,
        object_type="person",
        object_id=person_id,
        at=now,
    )


def staff_viewed_pending_fullmakter(
    session: Session, actor: Actor, fullmakter: Iterable[Fullmakt], now: datetime
) -> None:
    """A staff member deciding on assigned fullmakter saw each grantor's assessment and
    document: every grantor gets an entry (one statement), kept whatever the response (the
    page also answers a refused form, 422)."""
    rows: list[dict[str, object]] = [
        {
            "at": now,
            "subject_person_id": f.grantor_id,
            "action": UsageAction.STAFF_VIEWED_PERSON,
            "actor_staff_id": actor.staff.id,
            "actor_unit_id": actor.active_unit_id,
            "object_type": "fullmakt",
            "object_id": f.id,
        }
        for f in fullmakter
    ]
    usage_log_add_many(session, rows)
    _keep_durable(session, rows)


def staff_viewed_appointments(
    session: Session, actor: Actor, person_ids: Iterable[int], now: datetime
) -> None:
    """Every resident whose appointments a staff page shows gets an entry (one statement)."""
    usage_log_add_many(
        session,
        [
            {
                "at": now,
                "subject_person_id": person_id,
                "action": UsageAction.STAFF_VIEWED_APPOINTMENTS,
                "actor_staff_id": actor.staff.id,
                "actor_unit_id": actor.active_unit_id,
                "object_type": "appointments",
            }
            for person_id in sorted(set(person_ids))
        ],
    )
