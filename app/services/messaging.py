"""Message threads between residents and a service: writing, replying, triage, journal.

Every function takes the session and the acting user first, checks access through
`app.security.access`, flushes and never commits. A message from the service to a
resident puts its notices in the outbox in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.clock import oslo_today
from app.database import after_reads
from app.models import (
    ApiEventKind,
    Message,
    MessageKind,
    Municipality,
    NoticeEvent,
    PassOnMethod,
    Person,
    ServiceRecipient,
    StaffAccount,
    StaffRoleKind,
    Thread,
    ThreadEvent,
    ThreadEventKind,
    ThreadRead,
    ThreadStatus,
    Unit,
    UsageAction,
)
from app.security import access
from app.security.access import Scope
from app.security.actor import Actor
from app.selectors.people import dialog_services
from app.selectors.threads import welcome_recipients
from app.services.api_events import events_queue
from app.services.audit import (
    staff_viewed_thread,
    usage_log_if_acting_for_other,
)
from app.services.consent import is_digitally_active
from app.services.notices import notices_for_event
from app.services.people import recipient_for_staff
from app.text import is_blank, without_bidi_controls
from app.workdays import reply_deadline

SUBJECT_MAX = 80
BODY_MAX = 4000
NOTE_MAX = 1000
RECIPIENT_MAX = 200
SUBMISSION_KEY_MAX = 64


class MessagingError(Exception):
    """A request refused for a reason the user can act on; `code` picks the text shown."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- checks shared by the writers ----------------------------------------------------


def _text(value: str | None, *, maximum: int, code: str) -> str:
    text = (value or "").strip()
    if not text:
        raise MessagingError(f"{code}_empty")
    if is_blank(text):
        raise MessagingError(f"{code}_invisible")
    if len(text) > maximum:
        raise MessagingError(f"{code}_too_long")
    return text


def _subject(value: str | None) -> str:
    """A subject as stored: no characters that reorder how it reads."""
    return _text(without_bidi_controls(value or ""), maximum=SUBJECT_MAX, code="subject")


def _key(value: str | None) -> str | None:
    """A form's submission key; an empty key is no key."""
    key = (value or "").strip() or None
    if key is not None and len(key) > SUBMISSION_KEY_MAX:
        raise MessagingError("submission_key_invalid")
    return key


def _earlier(
    session: Session, key: str | None, *, person_id: int | None = None, staff_id: int | None = None
) -> Message | None:
    """The author's own message sent with this key. Keys belong to their author: another
    person's message with the same key is neither found nor in the way."""
    if key is None:
        return None
    author = (
        Message.author_person_id == person_id
        if person_id is not None
        else Message.author_staff_id == staff_id
    )
    return session.scalars(sa.select(Message).where(Message.submission_key == key, author)).first()


def _insert(
    session: Session,
    *rows: object,
    key: str | None,
    person_id: int | None = None,
    staff_id: int | None = None,
) -> Message | None:
    """Add rows in a savepoint; if the author's key was taken meanwhile, the earlier message."""
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except IntegrityError:
        existing = _earlier(session, key, person_id=person_id, staff_id=staff_id)
        if existing is None:
            raise
        return existing
    return None


def _event(session: Session, thread: Thread, kind: ThreadEventKind, now: datetime, **kw) -> None:
    session.add(ThreadEvent(thread_id=thread.id, kind=kind, at=now, **kw))


def _municipality(session: Session, municipality_id: int) -> Municipality:
    return session.get(Municipality, municipality_id)  # type: ignore[return-value]


def _mark_read(session: Session, thread_id: int, person_id: int, now: datetime) -> None:
    """Read up to `now`; on opening a thread, written once the page's reads are done."""

    def mark(s: Session) -> None:
        row = s.get(ThreadRead, (thread_id, person_id))
        if row is None:
            s.add(ThreadRead(thread_id=thread_id, person_id=person_id, read_at=now))
        elif row.read_at < now:
            row.read_at = now
        s.flush()

    after_reads(session, mark)


def _on_behalf(actor: Actor, subject: Person) -> int | None:
    return subject.id if subject.id != actor.person.id else None


def _log_for_subject(
    session: Session, actor: Actor, subject_id: int, action: UsageAction, thread: Thread, now
) -> None:
    usage_log_if_acting_for_other(
        session,
        actor,
        subject_person_id=subject_id,
        action=action,
        object_type="thread",
        object_id=thread.id,
        at=now,
    )


def _auto_journal(session: Session, message: Message, unit_id: int, now: datetime) -> None:
    unit = session.get(Unit, unit_id)
    if unit is not None and unit.auto_journal:
        message.journaled_at = now


# --- residents -------------------------------------------------------------------


def writable_registration(
    session: Session, subject_id: int, service_id: int, today
) -> ServiceRecipient:
    """The subject's current registration for a service open for digital dialog."""
    registration = session.scalars(
        dialog_services(subject_id, today).where(ServiceRecipient.service_id == service_id)
    ).first()
    if registration is None:
        raise MessagingError("service_not_open")
    return registration


def thread_start(
    session: Session,
    actor: Actor,
    *,
    service_id: int,
    subject: str,
    body: str,
    submission_key: str | None,
    now: datetime,
    continues_thread_id: int | None = None,
) -> Thread:
    """A resident (or someone acting for them) writes to a service: a new thread."""
    rep = access.require_scope(actor, Scope.MESSAGES)
    key = _key(submission_key)
    earlier = _earlier(session, key, person_id=actor.person.id)
    if earlier is not None:
        return session.get(Thread, earlier.thread_id)  # the same form, sent twice
    registration = writable_registration(session, rep.subject.id, service_id, oslo_today(now))
    subject_text = _subject(subject)
    body_text = _text(body, maximum=BODY_MAX, code="body")
    continues = None
    if continues_thread_id is not None:
        continues = session.get(Thread, continues_thread_id)
        if continues is None or continues.person_id != rep.subject.id:
            continues = None
    municipality = _municipality(session, registration.unit.municipality_id)
    thread = Thread(
        municipality_id=municipality.id,
        person_id=rep.subject.id,
        service_id=registration.service_id,
        unit_id=registration.unit_id,
        subject=subject_text,
        status=ThreadStatus.AWAITING_SERVICE,
        reply_deadline=reply_deadline(now, municipality.reply_deadline_working_days),
        unread_by_staff=True,
        continues_thread_id=continues.id if continues else None,
        created_at=now,
        last_activity_at=now,
    )
    message = Message(
        thread=thread,
        body=body_text,
        author_person_id=actor.person.id,
        on_behalf_of_person_id=_on_behalf(actor, rep.subject),
        sent_at=now,
        submission_key=key,
    )
    earlier = _insert(session, thread, message, key=key, person_id=actor.person.id)
    if earlier is not None:
        return session.get(Thread, earlier.thread_id)
    _auto_journal(session, message, thread.unit_id, now)
    _event(
        session,
        thread,
        ThreadEventKind.CREATED,
        now,
        person_id=actor.person.id,
        message_id=message.id,
    )
    _mark_read(session, thread.id, actor.person.id, now)
    _log_for_subject(session, actor, rep.subject.id, UsageAction.MESSAGE_SENT, thread, now)
    events_queue(
        session,
        ApiEventKind.MESSAGE_FROM_RESIDENT,
        [(message.id, thread.municipality_id)],
        now=now,
    )
    session.flush()
    return thread


def thread_reply_resident(
    session: Session,
    actor: Actor,
    *,
    thread: Thread,
    body: str,
    submission_key: str | None,
    now: datetime,
) -> Message:
    """The resident's side continues a thread; the service owes a reply again."""
    rep = access.require_resident_thread(actor, thread)
    key = _key(submission_key)
    earlier = _earlier(session, key, person_id=actor.person.id)
    if earlier is not None:
        return earlier
    if thread.status is ThreadStatus.CLOSED:
        raise MessagingError("thread_closed")
    message = Message(
        thread_id=thread.id,
        body=_text(body, maximum=BODY_MAX, code="body"),
        author_person_id=actor.person.id,
        on_behalf_of_person_id=_on_behalf(actor, rep.subject),
        sent_at=now,
        submission_key=key,
    )
    earlier = _insert(session, message, key=key, person_id=actor.person.id)
    if earlier is not None:
        return earlier
    if thread.status is ThreadStatus.ANSWERED:
        thread.status = ThreadStatus.AWAITING_SERVICE
    if thread.reply_deadline is None:
        municipality = _municipality(session, thread.municipality_id)
        thread.reply_deadline = reply_deadline(now, municipality.reply_deadline_working_days)
    thread.unread_by_staff = True
    thread.last_activity_at = now
    _auto_journal(session, message, thread.unit_id, now)
    _event(
        session,
        thread,
        ThreadEventKind.MESSAGE,
        now,
        person_id=actor.person.id,
        message_id=message.id,
    )
    _mark_read(session, thread.id, actor.person.id, now)
    _log_for_subject(session, actor, rep.subject.id, UsageAction.MESSAGE_SENT, thread, now)
    events_queue(
        session,
        ApiEventKind.MESSAGE_FROM_RESIDENT,
        [(message.id, thread.municipality_id)],
        now=now,
    )
    session.flush()
    return message


def thread_opened_by_resident(session: Session, actor: Actor, *, thread: Thread, now) -> None:
    """Reading marks the thread read for that reader (and a proxy's read is logged)."""
    rep = access.require_resident_thread(actor, thread)
    _mark_read(session, thread.id, actor.person.id, now)
    _log_for_subject(session, actor, rep.subject.id, UsageAction.THREAD_READ, thread, now)
    session.flush()


# --- staff -----------------------------------------------------------------------


def _staff_message(
    session: Session,
    staff_id: int,
    thread: Thread,
    *,
    body: str,
    kind: MessageKind,
    now: datetime,
    submission_key: str | None,
    next_answer_at: datetime | None = None,
) -> Message:
    message = Message(
        thread_id=thread.id,
        kind=kind,
        body=_text(body, maximum=BODY_MAX, code="body"),
        author_staff_id=staff_id,
        author_unit_id=thread.unit_id,
        sent_at=now,
        next_answer_at=next_answer_at,
        submission_key=submission_key,
    )
    earlier = _insert(session, message, key=submission_key, staff_id=staff_id)
    if earlier is not None:
        raise _AlreadySent(earlier)
    _auto_journal(session, message, thread.unit_id, now)
    _staff_has_read(session, thread, now)
    thread.last_activity_at = now
    person = session.get(Person, thread.person_id)
    notices_for_event(
        session,
        subject=person,
        event=NoticeEvent.NEW_MESSAGE,
        event_key=f"message:{message.id}",
        municipality_id=thread.municipality_id,
        now=now,
    )
    return message


class _AlreadySent(Exception):
    def __init__(self, message: Message) -> None:
        self.message = message


def _staff_has_read(session: Session, thread: Thread, now: datetime) -> None:
    """The thread and its residents' messages read by staff; on opening the thread, written
    once the page's reads are done (the page shows them as read already)."""
    thread_id = thread.id
    set_committed_value(thread, "unread_by_staff", False)

    def mark(s: Session) -> None:
        s.execute(
            sa.update(Thread)
            .where(Thread.id == thread_id, Thread.unread_by_staff.is_(True))
            .values(unread_by_staff=False)
            .execution_options(synchronize_session=False)
        )
        s.execute(
            sa.update(Message)
            .where(
                Message.thread_id == thread_id,
                Message.author_person_id.is_not(None),
                Message.read_by_staff_at.is_(None),
            )
            .values(read_by_staff_at=now)
            .execution_options(synchronize_session=False)
        )

    after_reads(session, mark)


def thread_opened_by_staff(session: Session, actor: Actor, *, thread: Thread, now) -> None:
    """Every staff read of a thread is in the resident's usage log."""
    access.require_staff_thread(actor, thread)
    _staff_has_read(session, thread, now)
    staff_viewed_thread(
        session,
        actor,
        person_id=thread.person_id,
        thread_id=thread.id,
        unit_id=thread.unit_id,
        now=now,
    )


def _open_thread(thread: Thread) -> None:
    if thread.status is ThreadStatus.CLOSED:
        raise MessagingError("thread_closed")


def thread_reply_staff(
    session: Session,
    actor: Actor,
    *,
    thread: Thread,
    body: str,
    submission_key: str | None,
    now: datetime,
    next_answer_at: datetime | None = None,
) -> Message:
    """Svar, or with `next_answer_at` a midlertidig svar that says when the answer comes."""
    access.require_staff_thread(actor, thread)
    return _reply(
        session,
        actor.staff.id,
        thread,
        body=body,
        key=_key(submission_key),
        now=now,
        next_answer_at=next_answer_at,
    )


def thread_reply_from_record_system(
    session: Session,
    *,
    staff: StaffAccount,
    thread: Thread,
    body: str,
    key: str,
    now: datetime,
) -> Message:
    """A reply a staff member wrote in the record system (docs/api.md, Communication): the
    same as one written here, notice included. The API decided who may send it."""
    return _reply(session, staff.id, thread, body=body, key=key, now=now, next_answer_at=None)


def _reply(
    session: Session,
    staff_id: int,
    thread: Thread,
    *,
    body: str,
    key: str | None,
    now: datetime,
    next_answer_at: datetime | None,
) -> Message:
    earlier = _earlier(session, key, staff_id=staff_id)
    if earlier is not None:
        return earlier
    _open_thread(thread)
    if next_answer_at is not None and next_answer_at <= now:
        raise MessagingError("next_answer_in_past")
    interim = next_answer_at is not None
    try:
        message = _staff_message(
            session,
            staff_id,
            thread,
            body=body,
            kind=MessageKind.INTERIM if interim else MessageKind.ORDINARY,
            now=now,
            submission_key=key,
            next_answer_at=next_answer_at,
        )
    except _AlreadySent as sent:
        return sent.message
    if interim:
        thread.status = ThreadStatus.INTERIM_REPLIED
        thread.reply_deadline = next_answer_at
        kind = ThreadEventKind.INTERIM_REPLY
    else:
        thread.status = ThreadStatus.ANSWERED
        thread.reply_deadline = None
        kind = ThreadEventKind.REPLIED
    _event(session, thread, kind, now, staff_id=staff_id, message_id=message.id)
    session.flush()
    return message


def thread_set_urgent(session: Session, actor: Actor, *, thread: Thread, urgent: bool, now) -> None:
    access.require_staff_thread(actor, thread)
    if thread.urgent != urgent:
        thread.urgent = urgent
        if urgent:
            _event(session, thread, ThreadEventKind.MARKED_URGENT, now, staff_id=actor.staff.id)
        session.flush()


def thread_assign(
    session: Session, actor: Actor, *, thread: Thread, assignee_id: int, note: str | None, now
) -> None:
    """Tildel to a colleague of the unit, with an internal note residents never see."""
    access.require_staff_thread(actor, thread)
    _open_thread(thread)
    assignee = (
        session.scalars(
            sa.select(StaffAccount)
            .where(StaffAccount.id == assignee_id)
            .options(joinedload(StaffAccount.roles))
        )
        .unique()
        .one_or_none()
    )
    if assignee is None:
        raise MessagingError("unknown_colleague")
    access.may_assign_to(actor, thread, assignee)
    thread.assignee_staff_id = assignee.id
    _event(
        session,
        thread,
        ThreadEventKind.ASSIGNED,
        now,
        staff_id=actor.staff.id,
        assignee_staff_id=assignee.id,
        internal_note=_optional(note, NOTE_MAX),
    )
    session.flush()


def thread_forward(
    session: Session, actor: Actor, *, thread: Thread, unit_id: int, note: str | None, now
) -> None:
    """Videresend: the thread moves to another unit's queue, its history kept."""
    access.require_staff_thread(actor, thread)
    _open_thread(thread)
    target = session.scalars(
        sa.select(Unit).where(Unit.id == unit_id).options(joinedload(Unit.service))
    ).one_or_none()
    if target is None:
        raise MessagingError("unknown_unit")
    access.may_forward_to(actor, thread, target)
    _event(
        session,
        thread,
        ThreadEventKind.FORWARDED,
        now,
        staff_id=actor.staff.id,
        from_unit_id=thread.unit_id,
        to_unit_id=target.id,
        internal_note=_optional(note, NOTE_MAX),
    )
    thread.unit_id = target.id
    thread.service_id = target.service_id
    thread.assignee_staff_id = None
    thread.unread_by_staff = True
    session.flush()


def thread_pass_on(
    session: Session,
    actor: Actor,
    *,
    thread: Thread,
    method: PassOnMethod,
    recipient: str,
    relayed: bool,
    body: str,
    submission_key: str | None,
    now: datetime,
) -> Message:
    """Passed to a service not open for dialog or an actor outside; the resident is told."""
    access.require_staff_thread(actor, thread)
    key = _key(submission_key)
    earlier = _earlier(session, key, staff_id=actor.staff.id)
    if earlier is not None:
        return earlier
    _open_thread(thread)
    passed_to = _text(
        without_bidi_controls(recipient or ""), maximum=RECIPIENT_MAX, code="recipient"
    )
    try:
        message = _staff_message(
            session,
            actor.staff.id,
            thread,
            body=body,
            kind=MessageKind.ORDINARY,
            now=now,
            submission_key=key,
        )
    except _AlreadySent as sent:
        return sent.message
    _event(
        session,
        thread,
        ThreadEventKind.PASSED_ON,
        now,
        staff_id=actor.staff.id,
        pass_on_method=method,
        pass_on_recipient=passed_to,
        answer_relayed=relayed,
        message_id=message.id,
    )
    thread.status = ThreadStatus.ANSWERED
    thread.reply_deadline = None
    session.flush()
    return message


def thread_close(session: Session, actor: Actor, *, thread: Thread, now: datetime) -> None:
    """Avslutt tråd, once the resident has heard the outcome."""
    access.require_staff_thread(actor, thread)
    if thread.status is ThreadStatus.CLOSED:
        return
    thread.status = ThreadStatus.CLOSED
    thread.closed_at = now
    thread.reply_deadline = None
    thread.unread_by_staff = False
    _event(session, thread, ThreadEventKind.CLOSED, now, staff_id=actor.staff.id)
    session.flush()


def message_journal(session: Session, actor: Actor, *, message: Message, now: datetime) -> None:
    """Journalfør: who and when; done once."""
    thread = session.get(Thread, message.thread_id)
    access.require_staff_thread(actor, thread)
    if message.journaled_at is not None:
        return
    message.journaled_at = now
    message.journaled_by_staff_id = actor.staff.id
    _event(
        session,
        thread,
        ThreadEventKind.JOURNALED,
        now,
        staff_id=actor.staff.id,
        message_id=message.id,
    )
    session.flush()


def message_journal_by_record_system(
    session: Session, *, message: Message, client_pk: int, reference: str | None, now: datetime
) -> bool:
    """Journaled in the record system (docs/api.md): staff see "Journalført i <system>".
    Done once; False when the message was journaled before. The API decided who may."""
    if message.journaled_at is not None:
        return False
    message.journaled_at = now
    message.journaled_by_api_client_id = client_pk
    message.journal_reference = reference
    thread = session.get(Thread, message.thread_id)
    _event(session, thread, ThreadEventKind.JOURNALED, now, message_id=message.id)
    session.flush()
    return True


def staff_thread_start(
    session: Session,
    actor: Actor,
    *,
    person_id: int,
    subject: str,
    body: str,
    submission_key: str | None,
    now: datetime,
    terms_version: str,
    kind: MessageKind = MessageKind.ORDINARY,
) -> Thread:
    """Ny melding from the unit to a resident (never to a relative; proxies can read it)."""
    access.require_unit_role(actor)
    key = _key(submission_key)
    earlier = _earlier(session, key, staff_id=actor.staff.id)
    if earlier is not None:
        return session.get(Thread, earlier.thread_id)
    found = recipient_for_staff(session, actor, person_id, oslo_today(now))
    if found is None:
        raise MessagingError("unknown_person")
    person, current = found
    if not is_digitally_active(session, person.id, terms_version):
        raise MessagingError("not_digitally_active")
    thread = Thread(
        municipality_id=current[0].unit.municipality_id,
        person_id=person.id,
        service_id=current[0].service_id,
        unit_id=current[0].unit_id,
        subject=_subject(subject),
        status=ThreadStatus.ANSWERED,
        started_by_staff=True,
        created_at=now,
        last_activity_at=now,
    )
    try:
        with session.begin_nested():  # a repeated submission leaves no empty thread behind
            session.add(thread)
            session.flush()
            message = _staff_message(
                session, actor.staff.id, thread, body=body, kind=kind, now=now, submission_key=key
            )
    except _AlreadySent as sent:
        return session.get(Thread, sent.message.thread_id)
    _event(
        session,
        thread,
        ThreadEventKind.CREATED,
        now,
        staff_id=actor.staff.id,
        message_id=message.id,
    )
    session.flush()
    return thread


def welcome_send(
    session: Session, actor: Actor, *, subject: str, body: str, terms_version: str, now
) -> list[Thread]:
    """Velkomstmelding to every digitally active recipient of the unit who has had none."""
    access.require_unit_role(actor, StaffRoleKind.MESSAGE_COORDINATOR, StaffRoleKind.LEADER)
    subject_text = _subject(subject)
    body_text = _text(body, maximum=BODY_MAX, code="body")
    people = session.scalars(
        welcome_recipients(actor.active_unit_id, terms_version, oslo_today(now))
    ).all()
    return [
        staff_thread_start(
            session,
            actor,
            person_id=person.id,
            subject=subject_text,
            body=body_text,
            submission_key=None,
            now=now,
            terms_version=terms_version,
            kind=MessageKind.WELCOME,
        )
        for person in people
    ]


def _optional(value: str | None, maximum: int) -> str | None:
    text = (value or "").strip()
    if len(text) > maximum:
        raise MessagingError("note_too_long")
    return text or None
