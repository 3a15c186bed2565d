"""Reads for the record-system API (docs/api.md): the people a search names, with what they
receive, so the access module can decide; the clients and their calls for Administrasjon."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.models import (
    ApiCall,
    ApiClient,
    ApiEvent,
    ApiEventStatus,
    ApiSubscription,
    Appointment,
    AppointmentIdentifier,
    AppointmentSource,
    AppointmentStatus,
    Message,
    Person,
    ServiceRecipient,
    Thread,
    Unit,
)
from app.security.access import ApiAppointmentScope
from app.selectors import paging

CALLS_SHOWN = 50


def people_with_registrations(
    session: Session, *, ids: Sequence[int] = (), fodselsnumre: Sequence[str] = ()
) -> list[tuple[Person, list[ServiceRecipient]]]:
    """The people named by id or fødselsnummer, each with every registration (unit loaded)."""
    if not ids and not fodselsnumre:
        return []
    people = session.scalars(
        sa.select(Person)
        .where(sa.or_(Person.id.in_(ids), Person.fodselsnummer.in_(fodselsnumre)))
        .order_by(Person.id)
    ).all()
    if not people:
        return []
    registrations = session.scalars(
        sa.select(ServiceRecipient)
        .where(ServiceRecipient.person_id.in_([p.id for p in people]))
        .options(joinedload(ServiceRecipient.unit), joinedload(ServiceRecipient.service))
    ).all()
    by_person: dict[int, list[ServiceRecipient]] = {p.id: [] for p in people}
    for registration in registrations:
        by_person[registration.person_id].append(registration)
    return [(person, by_person[person.id]) for person in people]


def municipality_clients(session: Session, municipality_id: int) -> list[ApiClient]:
    """The municipality's clients, in use first, then by name."""
    return list(
        session.scalars(
            sa.select(ApiClient)
            .where(ApiClient.municipality_id == municipality_id)
            .order_by(ApiClient.revoked_at.is_not(None), ApiClient.name, ApiClient.id)
        )
    )


def client_by_id(session: Session, client_pk: int) -> ApiClient | None:
    return session.get(ApiClient, client_pk)


def recent_calls(session: Session, client_pk: int) -> list[ApiCall]:
    return list(
        session.scalars(
            sa.select(ApiCall)
            .where(ApiCall.api_client_id == client_pk)
            .order_by(ApiCall.at.desc(), ApiCall.id.desc())
            .limit(CALLS_SHOWN)
        )
    )


def subscriptions_of(session: Session, client_pk: int) -> list[ApiSubscription]:
    """A client's subscriptions, oldest first; deleted ones are not listed."""
    return list(
        session.scalars(
            sa.select(ApiSubscription)
            .where(
                ApiSubscription.api_client_id == client_pk,
                ApiSubscription.deleted_at.is_(None),
            )
            .order_by(ApiSubscription.id)
        )
    )


def failed_events(session: Session, client_pk: int) -> list[ApiEvent]:
    """A client's events that were not delivered however often they were tried, newest
    first (with their subscriptions)."""
    return list(
        session.scalars(
            sa.select(ApiEvent)
            .join(ApiSubscription, ApiSubscription.id == ApiEvent.subscription_id)
            .where(
                ApiSubscription.api_client_id == client_pk,
                ApiEvent.status == ApiEventStatus.FAILED,
            )
            .options(joinedload(ApiEvent.subscription))
            .order_by(ApiEvent.id.desc())
            .limit(CALLS_SHOWN)
        )
    )


# --- appointments ----------------------------------------------------------------------------

APPOINTMENT_PAGE = 50
PAGE_MAX = 200  # the most a search's _count may ask for


def _with_details(statement: sa.Select) -> sa.Select:
    return statement.outerjoin(
        AppointmentIdentifier, AppointmentIdentifier.appointment_id == Appointment.id
    ).options(
        joinedload(Appointment.person),
        joinedload(Appointment.service),
        joinedload(Appointment.unit),
        joinedload(Appointment.employee),
        joinedload(Appointment.published_by),
    )


def appointment_with_identifier(
    session: Session, appointment_id: int
) -> tuple[Appointment, AppointmentIdentifier | None] | None:
    # Loaded afresh: a visit just changed through its foreign keys shows its new employee.
    row = session.execute(
        _with_details(
            sa.select(Appointment, AppointmentIdentifier).where(Appointment.id == appointment_id)
        ).execution_options(populate_existing=True)
    ).first()
    return None if row is None else (row[0], row[1])


def appointment_by_identifier(
    session: Session, municipality_id: int, system: str, value: str
) -> int | None:
    return session.scalar(
        sa.select(AppointmentIdentifier.appointment_id).where(
            AppointmentIdentifier.municipality_id == municipality_id,
            AppointmentIdentifier.system == system,
            AppointmentIdentifier.value == value,
        )
    )


def _in_scope(scope: ApiAppointmentScope) -> sa.ColumnElement[bool]:
    """`access.api_appointment_scope` as SQL."""
    if scope.provider_name is None:
        units = sa.select(Unit.id).where(Unit.municipality_id == scope.municipality_id)
        return Appointment.unit_id.in_(units.scalar_subquery())
    publishers = sa.select(ApiClient.id).where(
        ApiClient.municipality_id == scope.municipality_id,
        ApiClient.provider_name == scope.provider_name,
    )
    return sa.and_(
        Appointment.source == AppointmentSource.EXTERNAL,
        Appointment.source_name == scope.provider_name,
        Appointment.published_by_api_client_id.in_(publishers.scalar_subquery()),
    )


@dataclass(frozen=True)
class AppointmentSearch:
    updated_after: datetime | None = None  # _lastUpdated=gt...
    updated_from: datetime | None = None  # _lastUpdated=ge...
    updated_before: datetime | None = None  # _lastUpdated=lt...
    patient_ids: tuple[int, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()
    statuses: tuple[AppointmentStatus, ...] = ()
    count: int = APPOINTMENT_PAGE


APPOINTMENT_KEY = (datetime, int)


def appointments_search(
    session: Session, scope: ApiAppointmentScope, search: AppointmentSearch, cursor: str | None
) -> paging.Page[tuple[Appointment, AppointmentIdentifier | None]]:
    """The appointments in the client's scope that match, oldest change first, by keyset on
    (updated_at, id): a record system that follows `_lastUpdated` misses nothing."""
    statement = _with_details(sa.select(Appointment, AppointmentIdentifier)).where(_in_scope(scope))
    if search.updated_after is not None:
        statement = statement.where(Appointment.updated_at > search.updated_after)
    if search.updated_from is not None:
        statement = statement.where(Appointment.updated_at >= search.updated_from)
    if search.updated_before is not None:
        statement = statement.where(Appointment.updated_at < search.updated_before)
    if search.patient_ids:
        statement = statement.where(Appointment.person_id.in_(search.patient_ids))
    if search.statuses:
        statement = statement.where(Appointment.status.in_(search.statuses))
    if search.identifiers:
        statement = statement.where(
            sa.or_(
                *(
                    sa.and_(
                        AppointmentIdentifier.municipality_id == scope.municipality_id,
                        AppointmentIdentifier.system == system,
                        AppointmentIdentifier.value == value,
                    )
                    for system, value in search.identifiers
                )
            )
        )
    position = paging.decode(cursor, APPOINTMENT_KEY)
    if position is not None:
        keys = ((Appointment.updated_at, False), (Appointment.id, False))
        statement = statement.where(paging.after(keys, position))
    statement = statement.order_by(Appointment.updated_at, Appointment.id).limit(search.count + 1)
    rows = [(row[0], row[1]) for row in session.execute(statement)]
    return paging.paginate(rows, search.count, lambda row: (row[0].updated_at, row[0].id))


# --- messages ----------------------------------------------------------------------------------

MESSAGE_PAGE = 50
MESSAGE_KEY = (datetime, int)


def _message_details(statement: sa.Select) -> sa.Select:
    return statement.options(
        joinedload(Message.author_person),
        joinedload(Message.author_staff),
        joinedload(Message.journaled_by_api_client),
        joinedload(Message.thread).joinedload(Thread.unit),
    )


def message_with_thread(session: Session, message_id: int) -> Message | None:
    return session.scalar(
        _message_details(sa.select(Message).where(Message.id == message_id)).execution_options(
            populate_existing=True
        )
    )


@dataclass(frozen=True)
class MessageSearch:
    sent_after: datetime | None = None
    sent_from: datetime | None = None
    sent_before: datetime | None = None
    patient_ids: tuple[int, ...] = ()
    from_residents: bool | None = None  # category: from-resident (True), from-service (False)
    journaled: bool | None = None
    count: int = MESSAGE_PAGE


def messages_search(
    session: Session, municipality_id: int | None, search: MessageSearch, cursor: str | None
) -> paging.Page[Message]:
    """The messages of the municipality's threads that match, oldest first, by keyset on
    (sent_at, id); nothing for a client that reaches no municipality's messages."""
    if municipality_id is None:
        return paging.Page([], None)
    # Through the threads, by the units' index on their latest activity: a message sent
    # since a moment is in a thread active since then, so "what is new" reads only those.
    units = sa.select(Unit.id).where(Unit.municipality_id == municipality_id)
    statement = _message_details(
        sa.select(Message)
        .join(Thread, Thread.id == Message.thread_id)
        .where(Thread.unit_id.in_(units.scalar_subquery()))
    )
    position = paging.decode(cursor, MESSAGE_KEY)
    earliest = max(
        (m for m in (search.sent_after, search.sent_from, position and position[0]) if m),
        default=None,
    )
    if earliest is not None:
        statement = statement.where(Thread.last_activity_at >= earliest)
    if search.sent_after is not None:
        statement = statement.where(Message.sent_at > search.sent_after)
    if search.sent_from is not None:
        statement = statement.where(Message.sent_at >= search.sent_from)
    if search.sent_before is not None:
        statement = statement.where(Message.sent_at < search.sent_before)
    if search.patient_ids:
        statement = statement.where(Thread.person_id.in_(search.patient_ids))
    if search.from_residents is not None:
        author = Message.author_person_id
        statement = statement.where(
            author.is_not(None) if search.from_residents else author.is_(None)
        )
    if search.journaled is not None:
        journaled = Message.journaled_at
        statement = statement.where(
            journaled.is_not(None) if search.journaled else journaled.is_(None)
        )
    if position is not None:
        keys = ((Message.sent_at, False), (Message.id, False))
        statement = statement.where(paging.after(keys, position))
    statement = statement.order_by(Message.sent_at, Message.id).limit(search.count + 1)
    rows = list(session.scalars(statement).unique())
    return paging.paginate(rows, search.count, lambda m: (m.sent_at, m.id))
