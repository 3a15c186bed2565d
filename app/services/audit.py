"""Writing the usage log (logg over bruk). Entries are only ever added."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.database import after_reads, durable_write
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
) -> None:
    """One entry; in a read request, written once the reads are done (app/database.py)."""
    row = {
        "at": at or utcnow(),
        "subject_person_id": subject_person_id,
        "action": action,
        "actor_person_id": actor_person_id,
        "actor_staff_id": actor_staff_id,
        "actor_unit_id": actor_unit_id,
        "object_type": object_type,
        "object_id": object_id,
        "detail": detail,
    }
    after_reads(session, lambda s: usage_log_add_many(s, [row]))


# Entries that stay even when the request's other writes are rolled back (session.info).
def usage_log_add_durable(
    session: Session,
    *,
    subject_person_id: int,
    action: UsageAction,
    at: datetime,
    **values: object,
) -> None:
    """An entry that is kept whatever the response: a refused request (422) rolls back its
    writes, and the web layer then makes durable writes again (app/database.py)."""
    row = {"subject_person_id": subject_person_id, "action": action, "at": at, **values}
    durable_write(session, lambda s: usage_log_add_many(s, [row]))


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


def _staff_reads(session: Session, entries: list[dict[str, object]]) -> None:
    """Staff reads stay in the log even when the request fails (a refused form, 422): the
    page still showed the data."""
    durable_write(session, lambda s: usage_log_add_many(s, entries))


def _staff_entry(
    actor: Actor,
    person_id: int,
    action: UsageAction,
    now: datetime,
    *,
    object_type: str,
    object_id: int | None = None,
    unit_id: int | None = None,
) -> dict[str, object]:
    return {
        "at": now,
        "subject_person_id": person_id,
        "action": action,
        "actor_staff_id": actor.staff.id,
        "actor_unit_id": unit_id if unit_id is not None else actor.active_unit_id,
        "object_type": object_type,
        "object_id": object_id,
    }


def staff_viewed_person(
    session: Session, actor: Actor, person_id: int, now: datetime, *, where: str = "person"
) -> None:
    """A staff member opened a resident's page (`where`: the page, e.g. "series")."""
    _staff_reads(
        session,
        [
            _staff_entry(
                actor,
                person_id,
                UsageAction.STAFF_VIEWED_PERSON,
                now,
                object_type=where,
                object_id=person_id,
            )
        ],
    )


def staff_viewed_thread(
    session: Session, actor: Actor, *, person_id: int, thread_id: int, unit_id: int, now: datetime
) -> None:
    _staff_reads(
        session,
        [
            _staff_entry(
                actor,
                person_id,
                UsageAction.STAFF_VIEWED_THREAD,
                now,
                object_type="thread",
                object_id=thread_id,
                unit_id=unit_id,
            )
        ],
    )


def staff_viewed_pending_fullmakter(
    session: Session, actor: Actor, fullmakter: Iterable[Fullmakt], now: datetime
) -> None:
    """A staff member deciding on assigned fullmakter saw each grantor's assessment and
    document: every grantor gets an entry (one statement), kept whatever the response (the
    page also answers a refused form, 422). The grantees it names get a list entry."""
    fullmakter = list(fullmakter)
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
    # The grantees are named too: they see that in their own log.
    rows += [
        _staff_entry(
            actor, grantee_id, UsageAction.STAFF_VIEWED_PERSON, now, object_type="fullmakter"
        )
        for grantee_id in sorted({f.grantee_id for f in fullmakter})
    ]
    _staff_reads(session, rows)


def staff_viewed_appointments(
    session: Session, actor: Actor, person_ids: Iterable[int], now: datetime
) -> None:
    """Every resident whose appointments a staff page shows gets an entry (one statement)."""
    _staff_reads(
        session,
        [
            _staff_entry(
                actor,
                person_id,
                UsageAction.STAFF_VIEWED_APPOINTMENTS,
                now,
                object_type="appointments",
            )
            for person_id in sorted(set(person_ids))
        ],
    )


# Lists where staff see residents' names (and what they wrote about): `where` names the list.
LIST_PAGES = ("queue", "threads", "recipients", "compose", "welcome", "notices", "fullmakter")


def staff_viewed_in_list(
    session: Session, actor: Actor, person_ids: Iterable[int], now: datetime, *, where: str
) -> None:
    """Every resident a staff list shows gets an entry naming the list (one statement)."""
    assert where in LIST_PAGES, where
    _staff_reads(
        session,
        [
            _staff_entry(actor, person_id, UsageAction.STAFF_VIEWED_PERSON, now, object_type=where)
            for person_id in sorted(set(person_ids))
        ],
    )
