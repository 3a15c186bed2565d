"""Reads for message threads: the inbox, a thread, the unit's queue, triage choices."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, load_only

from app.models import (
    Consent,
    Message,
    MessageKind,
    Person,
    Service,
    ServiceRecipient,
    StaffAccount,
    Thread,
    ThreadEvent,
    ThreadEventKind,
    ThreadRead,
    ThreadStatus,
    Unit,
)
from app.selectors import paging

INBOX_PAGE = 20
QUEUE_PAGE = 25
THREADS_PAGE = 25
OPEN_STATUSES = (ThreadStatus.AWAITING_SERVICE, ThreadStatus.INTERIM_REPLIED)


# --- residents -------------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    thread: Thread
    service_name: str
    excerpt: str
    unread: bool


INBOX_KEY = (datetime, int)


def _last_body() -> sa.ScalarSelect[str]:
    return (
        sa.select(Message.body)
        .where(Message.thread_id == Thread.id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
        .correlate(Thread)
        .scalar_subquery()
    )


@cache
def _inbox_statement() -> sa.Select:
    # The inbox is the resident's first page: built once, with the person and the reader as
    # bind parameters (building it cost more than running it).
    return (
        sa.select(Thread, Service.name, _last_body(), ThreadRead.read_at)
        .join(Service, Service.id == Thread.service_id)
        .outerjoin(
            ThreadRead,
            sa.and_(
                ThreadRead.thread_id == Thread.id,
                ThreadRead.person_id == sa.bindparam("reader_id"),
            ),
        )
        .where(Thread.person_id == sa.bindparam("person_id"))
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
        .limit(INBOX_PAGE + 1)
        # What the inbox shows of a thread; anything else raises rather than loading per row.
        .options(
            load_only(
                Thread.subject,
                Thread.status,
                Thread.reply_deadline,
                Thread.last_activity_at,
                raiseload=True,
            )
        )
    )


def inbox(
    session: Session, person_id: int, reader_id: int, *, cursor: str | None = None
) -> paging.Page[InboxRow]:
    """The person's threads, newest activity first, one statement per page."""
    keys = ((Thread.last_activity_at, True), (Thread.id, True))
    statement = _inbox_statement()
    position = paging.decode(cursor, INBOX_KEY)
    if position is not None:
        statement = statement.where(paging.after(keys, position))
    rows = [
        InboxRow(
            thread=thread,
            service_name=service_name,
            excerpt=body or "",
            unread=read_at is None or read_at < thread.last_activity_at,
        )
        for thread, service_name, body, read_at in session.execute(
            statement, {"person_id": person_id, "reader_id": reader_id}
        )
    ]
    return paging.paginate(rows, INBOX_PAGE, lambda r: (r.thread.last_activity_at, r.thread.id))


def thread_with_context(thread_id: int) -> sa.Select[tuple[Thread]]:
    return (
        sa.select(Thread)
        .where(Thread.id == thread_id)
        .options(
            joinedload(Thread.service),
            joinedload(Thread.unit),
            joinedload(Thread.person),
            joinedload(Thread.assignee),
        )
    )


def thread_messages(thread_id: int) -> sa.Select[tuple[Message]]:
    return (
        sa.select(Message)
        .where(Message.thread_id == thread_id)
        .options(
            joinedload(Message.author_person),
            joinedload(Message.on_behalf_of),
            joinedload(Message.author_staff),
            joinedload(Message.author_unit),
            joinedload(Message.journaled_by_api_client),
        )
        .order_by(Message.sent_at, Message.id)
    )


# --- staff -------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    thread: Thread
    person_name: str
    service_name: str
    assignee_name: str | None
    earlier_participants: tuple[str, ...]


QUEUE_KEY = (bool, bool, datetime, int)


def unit_queue(
    session: Session, unit_id: int, *, cursor: str | None = None
) -> paging.Page[QueueRow]:
    """New and unhandled threads of a unit: urgent first, then new, then by deadline.

    Two statements per page whatever its size: the threads, and who took part in the
    earlier threads that some of them continue.
    """
    person_name = (Person.given_name + " " + Person.family_name).label("person_name")
    assignee = sa.orm.aliased(StaffAccount)
    keys = (
        (Thread.urgent, True),
        (Thread.unread_by_staff, True),
        (Thread.reply_deadline, False),
        (Thread.id, False),
    )
    statement = (
        sa.select(Thread, person_name, Service.name, assignee.full_name)
        .join(Person, Person.id == Thread.person_id)
        .join(Service, Service.id == Thread.service_id)
        .outerjoin(assignee, assignee.id == Thread.assignee_staff_id)
        .where(Thread.unit_id == unit_id, Thread.status.in_(OPEN_STATUSES))
        .order_by(
            Thread.urgent.desc(),
            Thread.unread_by_staff.desc(),
            Thread.reply_deadline.asc(),
            Thread.id.asc(),
        )
        .limit(QUEUE_PAGE + 1)
    )
    position = paging.decode(cursor, QUEUE_KEY)
    if position is not None:
        statement = statement.where(paging.after(keys, position))
    fetched = session.execute(statement).all()
    earlier_ids = {t.continues_thread_id for t, *_ in fetched if t.continues_thread_id}
    participants = earlier_participants(session, earlier_ids)
    rows = [
        QueueRow(
            thread=thread,
            person_name=name,
            service_name=service_name,
            assignee_name=assignee_name,
            earlier_participants=participants.get(thread.continues_thread_id, ()),
        )
        for thread, name, service_name, assignee_name in fetched
    ]
    return paging.paginate(
        rows,
        QUEUE_PAGE,
        lambda r: (r.thread.urgent, r.thread.unread_by_staff, r.thread.reply_deadline, r.thread.id),
    )


class ThreadFilter(enum.StrEnum):
    """The status filters of Alle tråder."""

    OPEN = "open"  # not closed
    WAITING = "waiting"  # answered: waiting for the resident
    RELAY = "relay"  # passed on outside, and the service promised to relay the answer
    INTERIM = "interim"  # only an interim reply so far
    CLOSED = "closed"


def relay_pending() -> sa.ColumnElement[bool]:
    """Passed on outside digital dialog with the promise to relay the answer, and since
    then neither replied to nor closed (a later pass-on decides anew)."""
    passed = sa.orm.aliased(ThreadEvent)
    later = sa.orm.aliased(ThreadEvent)
    settled = (
        sa.select(later.id)
        .where(
            later.thread_id == passed.thread_id,
            later.kind.in_((ThreadEventKind.REPLIED, ThreadEventKind.PASSED_ON)),
            sa.or_(later.at > passed.at, sa.and_(later.at == passed.at, later.id > passed.id)),
        )
        .exists()
    )
    promised = (
        sa.select(passed.id)
        .where(
            passed.thread_id == Thread.id,
            passed.kind == ThreadEventKind.PASSED_ON,
            passed.answer_relayed.is_(True),
            ~settled,
        )
        .exists()
    )
    return sa.and_(Thread.status != ThreadStatus.CLOSED, promised)


def relay_pending_in(thread: Thread, events: Sequence[ThreadEvent]) -> bool:
    """`relay_pending` for a thread whose events are loaded (in order of time, id)."""
    settling = (ThreadEventKind.REPLIED, ThreadEventKind.PASSED_ON)
    last = next((e for e in reversed(events) if e.kind in settling), None)
    return (
        thread.status is not ThreadStatus.CLOSED
        and last is not None
        and last.kind is ThreadEventKind.PASSED_ON
        and last.answer_relayed is True
    )


def _like(text: str) -> str:
    """A LIKE pattern for `text` anywhere, its wildcards taken literally (escape: \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _mentions(text: str) -> sa.ColumnElement[bool]:
    """The subject or a message of the thread contains `text` (case-insensitive)."""
    pattern = _like(text)
    in_messages = (
        sa.select(Message.id)
        .where(Message.thread_id == Thread.id, Message.body.ilike(pattern, escape="\\"))
        .exists()
    )
    return sa.or_(Thread.subject.ilike(pattern, escape="\\"), in_messages)


def _filtered(shown: ThreadFilter | None) -> sa.ColumnElement[bool]:
    if shown is ThreadFilter.OPEN:
        return Thread.status != ThreadStatus.CLOSED
    if shown is ThreadFilter.WAITING:
        return sa.and_(Thread.status == ThreadStatus.ANSWERED, ~relay_pending())
    if shown is ThreadFilter.RELAY:
        return relay_pending()
    if shown is ThreadFilter.INTERIM:
        return Thread.status == ThreadStatus.INTERIM_REPLIED
    if shown is ThreadFilter.CLOSED:
        return Thread.status == ThreadStatus.CLOSED
    return sa.true()


@dataclass(frozen=True)
class ThreadRow:
    thread: Thread
    person_name: str
    service_name: str
    assignee_name: str | None
    relay_pending: bool


THREADS_KEY = (datetime, int)


@cache
def _unit_threads_statement(shown: ThreadFilter | None) -> sa.Select:
    # Built once per filter, with the unit as a bind parameter: building the relay
    # condition's subqueries cost more than running the statement.
    person_name = (Person.given_name + " " + Person.family_name).label("person_name")
    assignee = sa.orm.aliased(StaffAccount)
    return (
        sa.select(
            Thread, person_name, Service.name, assignee.full_name, relay_pending().label("relay")
        )
        .join(Person, Person.id == Thread.person_id)
        .join(Service, Service.id == Thread.service_id)
        .outerjoin(assignee, assignee.id == Thread.assignee_staff_id)
        .where(Thread.unit_id == sa.bindparam("unit_id"), _filtered(shown))
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
    )


def unit_threads(
    session: Session,
    unit_id: int,
    *,
    shown: ThreadFilter | None = None,
    person_id: int | None = None,
    text: str | None = None,
    cursor: str | None = None,
    limit: int = THREADS_PAGE,
) -> paging.Page[ThreadRow]:
    """Alle tråder: every thread of a unit, newest activity first, one statement a page."""
    keys = ((Thread.last_activity_at, True), (Thread.id, True))
    statement = _unit_threads_statement(shown).limit(limit + 1)
    if person_id is not None:
        statement = statement.where(Thread.person_id == person_id)
    if text:
        statement = statement.where(_mentions(text))
    position = paging.decode(cursor, THREADS_KEY)
    if position is not None:
        statement = statement.where(paging.after(keys, position))
    rows = [
        ThreadRow(
            thread=thread,
            person_name=name,
            service_name=service_name,
            assignee_name=assignee_name,
            relay_pending=bool(relay),
        )
        for thread, name, service_name, assignee_name, relay in session.execute(
            statement, {"unit_id": unit_id}
        )
    ]
    return paging.paginate(rows, limit, lambda r: (r.thread.last_activity_at, r.thread.id))


def unit_thread_people(unit_id: int) -> sa.Select[tuple[int, str, str]]:
    """Everyone who has a thread with the unit, by name (the resident filter's choices):
    id, given name and family name (a list of a unit's hundreds, not their records)."""
    # From the unit's threads to their people (by primary key): the work follows the unit,
    # never the whole person table.
    with_thread = sa.select(Thread.person_id).where(Thread.unit_id == unit_id)
    return (
        sa.select(Person.id, Person.given_name, Person.family_name)
        .where(Person.id.in_(with_thread))
        .order_by(Person.family_name, Person.given_name, Person.id)
    )


def earlier_participants(session: Session, thread_ids: set[int]) -> dict[int, tuple[str, ...]]:
    """Who wrote in each of the given threads: staff and the resident's side, by name."""
    if not thread_ids:
        return {}
    staff_name = StaffAccount.full_name
    person_name = Person.given_name + " " + Person.family_name
    rows = session.execute(
        sa.select(Message.thread_id, sa.func.coalesce(staff_name, person_name))
        .outerjoin(StaffAccount, StaffAccount.id == Message.author_staff_id)
        .outerjoin(Person, Person.id == Message.author_person_id)
        .where(Message.thread_id.in_(thread_ids))
        .distinct()
    ).all()
    found: dict[int, list[str]] = {}
    for thread_id, name in rows:
        found.setdefault(thread_id, []).append(name)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def thread_events(thread_id: int) -> sa.Select[tuple[ThreadEvent]]:
    return (
        sa.select(ThreadEvent)
        .where(ThreadEvent.thread_id == thread_id)
        .options(
            joinedload(ThreadEvent.staff),
            joinedload(ThreadEvent.person),
            joinedload(ThreadEvent.assignee),
            joinedload(ThreadEvent.from_unit),
            joinedload(ThreadEvent.to_unit),
        )
        .order_by(ThreadEvent.at, ThreadEvent.id)
    )


def forward_targets(municipality_id: int, exclude_unit_id: int) -> sa.Select[tuple[Unit]]:
    """Other units of the municipality whose service is open for digital dialog."""
    return (
        sa.select(Unit)
        .join(Service, Service.id == Unit.service_id)
        .where(
            Unit.municipality_id == municipality_id,
            Unit.id != exclude_unit_id,
            Service.open_for_dialog.is_(True),
        )
        .options(joinedload(Unit.service))
        .order_by(Unit.name)
    )


def _consented(terms_version: str) -> sa.ColumnElement[bool]:
    return (
        sa.select(Consent.id)
        .where(
            Consent.person_id == Person.id,
            Consent.terms_version == terms_version,
            Consent.withdrawn_at.is_(None),
        )
        .exists()
    )


def digitally_active_recipients(
    unit_id: int, terms_version: str, today: date
) -> sa.Select[tuple[Person]]:
    """The unit's current recipients who can read messages (for Ny melding)."""
    return (
        sa.select(Person)
        .join(ServiceRecipient, ServiceRecipient.person_id == Person.id)
        .where(
            ServiceRecipient.unit_id == unit_id,
            ServiceRecipient.is_current(today),
            _consented(terms_version),
        )
        .distinct()
        .order_by(Person.family_name, Person.given_name, Person.id)
    )


def welcome_recipients(unit_id: int, terms_version: str, today: date) -> sa.Select[tuple[Person]]:
    """Digitally active current recipients of the unit who have had no welcome message."""
    had_welcome = (
        sa.select(Thread.id)
        .join(Message, Message.thread_id == Thread.id)
        .where(
            Thread.person_id == Person.id,
            Thread.unit_id == unit_id,
            Message.kind == MessageKind.WELCOME,
        )
        .exists()
    )
    return digitally_active_recipients(unit_id, terms_version, today).where(~had_welcome)
