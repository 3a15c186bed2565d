"""Writing notices to the outbox, in the same transaction as the event they announce.

Who gets one follows the contact settings (docs/product.md 4.6 and 4.9): the person the event
concerns, at their own level, and everyone who represents them with the notices scope and
chose "samme varsler for andre du representerer", at their own level. One notice per
person per event. Delivery is the outbox worker's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.clock import oslo_today
from app.models import (
    ContactSettings,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeLevel,
    NoticeStatus,
    Person,
)
from app.security import access
from app.security.access import AccessDenied
from app.security.actor import Actor
from app.selectors.representation import fullmakter_given, parents_in_care
from app.selectors.staff import registrations_of

LEVELS_FOR_EVENT = {
    NoticeEvent.NEW_MESSAGE: {NoticeLevel.NORMAL, NoticeLevel.ALL},
    NoticeEvent.VISIT_COMPLETED: {NoticeLevel.ALL},
    NoticeEvent.NEW_FULLMAKT: set(NoticeLevel),
}
# Who may act for a person concerns everyone who already does: they are told whatever they
# chose for the person's other events, so that a fullmakt that should not be is noticed.
TOLD_TO_EVERY_REPRESENTATIVE = {NoticeEvent.NEW_FULLMAKT}


def wants_notice(settings: ContactSettings, event: NoticeEvent, *, for_someone_else: bool) -> bool:
    if (
        for_someone_else
        and not settings.same_for_represented
        and event not in TOLD_TO_EVERY_REPRESENTATIVE
    ):
        return False
    return settings.level in LEVELS_FOR_EVENT[event]


def notice_address(settings: ContactSettings) -> tuple[NoticeChannel, str] | None:
    """The preferred channel if it has an address, else the other one, else none."""
    by_channel = {NoticeChannel.SMS: settings.mobile, NoticeChannel.EMAIL: settings.email}
    preferred = settings.channel
    other = NoticeChannel.EMAIL if preferred is NoticeChannel.SMS else NoticeChannel.SMS
    for channel in (preferred, other):
        if by_channel[channel]:
            return channel, by_channel[channel]
    return None


def notices_for_event(
    session: Session,
    *,
    subject: Person,
    event: NoticeEvent,
    event_key: str,
    municipality_id: int,
    now: datetime,
    representing: Sequence[Person] | None = None,
    due_at: datetime | None = None,
) -> list[Notice]:
    """Add the notices an event gives to the outbox; returns them.

    Besides the subject, the people `representing` them are told (by default everyone who
    represents the subject with the notices scope now). They are due at once, or at
    `due_at` (an event that can still be undone until then)."""
    if representing is None:
        representing = representatives(session, subject, now)
    candidates: list[tuple[Person, bool]] = [(subject, False)]
    candidates += [(person, True) for person in representing]
    settings = _settings_of(session, (person.id for person, _ in candidates))
    notices = []
    addresses: set[tuple[NoticeChannel, str]] = set()
    for person, for_someone_else in candidates:
        mine = settings.get(person.id)
        if mine is None or not wants_notice(mine, event, for_someone_else=for_someone_else):
            continue
        address = notice_address(mine)
        if address is None:
            continue
        channel, to = address
        # Two people sharing a number or an address: each has a notice, one is sent.
        shared = (channel, to.lower())
        duplicate = shared in addresses
        addresses.add(shared)
        notice = Notice(
            recipient_person_id=person.id,
            subject_person_id=subject.id,
            event=event,
            event_key=event_key,
            municipality_id=municipality_id,
            channel=channel,
            address=to,
            language=mine.language or "nb",
            next_attempt_at=max(due_at or now, now),
            created_at=now,
        )
        if duplicate:
            notice.status = NoticeStatus.DROPPED
            notice.last_error = "same address as another notice for this event"
        session.add(notice)
        notices.append(notice)
    session.flush()
    if any(n.status is NoticeStatus.PENDING for n in notices):
        wake_workers(session)
    return notices


# PostgreSQL: the channel the outbox workers LISTEN on (app/notices/worker.py).
NOTICE_CHANNEL = "notice_queued"


def wake_workers(session: Session) -> None:
    """On PostgreSQL, tell waiting workers that a notice was queued. NOTIFY is delivered
    when this transaction commits (never if it rolls back), and the same notification
    twice in a transaction is delivered once. On SQLite the workers poll."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_notify(NOTICE_CHANNEL, "")))


def representatives(session: Session, subject: Person, now: datetime) -> list[Person]:
    """Who is told about events of `subject` besides the person: proxies and parents, now."""
    return access.notice_representatives(
        subject,
        fullmakter_given=session.scalars(fullmakter_given(subject.id, now)).unique().all(),
        parents=session.scalars(parents_in_care(subject.id)).all(),
        now=now,
    )


def _settings_of(session: Session, person_ids: Iterable[int]) -> dict[int, ContactSettings]:
    ids = list(person_ids)
    rows = session.scalars(sa.select(ContactSettings).where(ContactSettings.person_id.in_(ids)))
    return {row.person_id: row for row in rows}


def notice_retry(session: Session, actor: Actor, *, notice_id: int, now: datetime) -> Notice:
    """Try a failed notice again: staff of a unit serving the person, or the administrator."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.status is not NoticeStatus.FAILED:
        raise AccessDenied("no such failed notice", hide_existence=True)
    access.require_notice_follow_up(
        actor,
        municipality_id=notice.municipality_id,
        person=session.get(Person, notice.subject_person_id),
        registrations=session.scalars(registrations_of(notice.subject_person_id)).all(),
        today=oslo_today(now),
    )
    notice.status = NoticeStatus.PENDING
    notice.attempts = 0
    notice.next_attempt_at = now
    notice.claimed_until = None
    session.flush()
    wake_workers(session)
    return notice
