"""What record systems do through the API (docs/api.md): publish visits, change them and
cancel them. The API's views parse FHIR into `VisitInput`; everything the app decides about
a visit is decided here, as for a visit planned in Planlegging."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.clock import oslo_today
from app.models import (
    Appointment,
    AppointmentIdentifier,
    AppointmentSource,
    AppointmentStatus,
    Message,
    NoticeEvent,
    ServiceRecipient,
    StaffAccount,
)
from app.security import access
from app.security.api_auth import ApiPrincipal
from app.selectors import api as api_reads
from app.services import messaging
from app.services.api_refusals import RecordRefused
from app.services.appointments import visit_event_key
from app.services.notices import notices_for_event

OPEN = (AppointmentStatus.PLANNED, AppointmentStatus.ASSIGNED)


@dataclass(frozen=True)
class VisitInput:
    """What an Appointment sent by a record system says, in this app's terms."""

    identifier: tuple[str, str] | None
    status: AppointmentStatus
    patient_id: int | None
    patient_fodselsnummer: str | None
    employee_username: str | None
    service_name: str | None
    window_start: datetime
    window_end: datetime
    start_at: datetime | None
    description: str
    cancel_reason: str | None


@dataclass(frozen=True)
class Saved:
    appointment: Appointment
    identifier: AppointmentIdentifier | None
    created: bool


def _person_and_registrations(
    session: Session, principal: ApiPrincipal, visit: VisitInput
) -> tuple[int, list[ServiceRecipient]]:
    found = api_reads.people_with_registrations(
        session,
        ids=[visit.patient_id] if visit.patient_id is not None else [],
        fodselsnumre=[visit.patient_fodselsnummer] if visit.patient_fodselsnummer else [],
    )
    today = oslo_today()
    reachable = [
        (person, registrations)
        for person, registrations in found
        if access.api_reaches_person(principal, registrations, today)
    ]
    if len(reachable) != 1:
        raise RecordRefused(
            422,
            "the patient is not known to this client: it must receive a service of the "
            "municipality",
            code="not-found",
        )
    person, registrations = reachable[0]
    current = [
        reg
        for reg in registrations
        if reg.is_current(today) and reg.unit.municipality_id == principal.municipality_id
    ]
    return person.id, current


def _registration(current: list[ServiceRecipient], service_name: str | None) -> ServiceRecipient:
    """The registration the visit belongs to: the service named, or the only one."""
    if service_name is None and len({reg.service_id for reg in current}) == 1:
        return current[0]
    named = [
        reg for reg in current if reg.service.name.casefold() == (service_name or "").casefold()
    ]
    if named:
        return named[0]
    names = ", ".join(sorted({reg.service.name for reg in current}))
    raise RecordRefused(
        422, f"serviceType must name a service the patient receives: {names}", code="processable"
    )


def _staff_named(session: Session, principal: ApiPrincipal, username: str) -> StaffAccount | None:
    """The client's municipality's staff account with that username, roles loaded."""
    return (
        session.scalars(
            sa.select(StaffAccount)
            .where(
                StaffAccount.username == username,
                StaffAccount.municipality_id == principal.municipality_id,
            )
            .options(joinedload(StaffAccount.roles))
        )
        .unique()
        .one_or_none()
    )


def _employee(
    session: Session, principal: ApiPrincipal, username: str | None, unit_id: int | None
) -> StaffAccount | None:
    if username is None:
        return None
    employee = _staff_named(session, principal, username)
    if (
        employee is None
        or not employee.active
        or unit_id not in {r.unit_id for r in employee.roles}
    ):
        raise RecordRefused(
            422, f"no active employee {username!r} works in the visit's unit", code="processable"
        )
    return employee


def _apply(
    session: Session,
    principal: ApiPrincipal,
    appointment: Appointment,
    visit: VisitInput,
    registrations: list[ServiceRecipient],
    now: datetime,
) -> bool:
    """Set the visit's values on the appointment; True when it became completed now."""
    was = appointment.status
    status = visit.status
    if was in (AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED) and status is not was:
        raise RecordRefused(
            409,
            f"the visit is {STATUS_WORD[was]} and cannot become {STATUS_WORD[status]}",
            code="business-rule",
        )
    if was in (AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED):
        return False  # sent again as it is: nothing changes
    if principal.provider_name is not None:
        if status is AppointmentStatus.COMPLETED:
            raise RecordRefused(
                422,
                "another provider's appointments are shown until they take place",
                code="not-supported",
            )
        if status is AppointmentStatus.ASSIGNED:
            status = AppointmentStatus.PLANNED  # at a set time: start_at below
        appointment.source = AppointmentSource.EXTERNAL
        appointment.source_name = principal.provider_name
        appointment.service_id = appointment.unit_id = None
        employee = None
    else:
        registration = _registration(registrations, visit.service_name)
        appointment.service_id = registration.service_id
        appointment.unit_id = registration.unit_id
        employee = _employee(session, principal, visit.employee_username, registration.unit_id)
        if status in (AppointmentStatus.ASSIGNED, AppointmentStatus.COMPLETED) and employee is None:
            raise RecordRefused(
                422,
                "a booked or fulfilled visit needs its employee: a participant with an "
                "identifier of system urn:hjemmedialog:staff-username",
                code="required",
            )
    appointment.window_start = visit.window_start
    appointment.window_end = visit.window_end
    # An exact time once booked (the window's start when none is given); for another
    # provider, a booked appointment is shown as planned at that time.
    booked = visit.status in (AppointmentStatus.ASSIGNED, AppointmentStatus.COMPLETED)
    appointment.start_at = (visit.start_at or visit.window_start) if booked else None
    appointment.description = visit.description
    appointment.employee_staff_id = employee.id if employee is not None else None
    appointment.status = status
    if status is AppointmentStatus.CANCELLED:
        appointment.cancelled_at = now
        appointment.cancel_reason = visit.cancel_reason
    if status is AppointmentStatus.COMPLETED:
        appointment.completed_at = now
        appointment.completed_by_staff_id = employee.id if employee is not None else None
        return True
    return False


STATUS_WORD = {
    AppointmentStatus.PLANNED: "proposed",
    AppointmentStatus.ASSIGNED: "booked",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
}


def _completed(
    session: Session, appointment: Appointment, municipality_id: int, now: datetime
) -> None:
    """The resident's (and their relatives') visit-completed notice, as when staff register it."""
    session.refresh(appointment, ["person"])
    notices_for_event(
        session,
        subject=appointment.person,
        event=NoticeEvent.VISIT_COMPLETED,
        event_key=visit_event_key(appointment.id),
        municipality_id=municipality_id,
        now=now,
    )


def visit_for_client(
    session: Session, principal: ApiPrincipal, appointment_id: int
) -> tuple[Appointment, AppointmentIdentifier | None]:
    """A visit the client reaches, with its identifier; RecordRefused (404) otherwise."""
    return _existing(session, principal, appointment_id)


def _existing(
    session: Session, principal: ApiPrincipal, appointment_id: int
) -> tuple[Appointment, AppointmentIdentifier | None]:
    found = api_reads.appointment_with_identifier(session, appointment_id)
    if found is None or not access.api_reaches_appointment(
        principal,
        found[0],
        unit_municipality_id=found[0].unit.municipality_id if found[0].unit else None,
        publisher=found[0].published_by,
    ):
        raise RecordRefused(404, f"Appointment/{appointment_id} is not known to this client")
    return found


def _identify(
    session: Session, principal: ApiPrincipal, appointment: Appointment, given: tuple[str, str]
) -> AppointmentIdentifier:
    """The record system's identifier of the visit, unique in the municipality."""
    identifier = AppointmentIdentifier(
        appointment_id=appointment.id,
        municipality_id=principal.municipality_id,
        system=given[0],
        value=given[1],
    )
    session.add(identifier)
    return identifier


def visit_create(
    session: Session, principal: ApiPrincipal, visit: VisitInput, now: datetime
) -> Saved:
    """A new visit; one the record system sent before (its identifier) is found, not made
    again (conditional create)."""
    access.require_api_permission(principal, "Appointment", "c")
    if visit.identifier is not None:
        known = api_reads.appointment_by_identifier(
            session, principal.municipality_id, *visit.identifier
        )
        if known is not None:
            appointment, identifier = _existing(session, principal, known)
            return Saved(appointment, identifier, created=False)
    person_id, registrations = _person_and_registrations(session, principal, visit)
    appointment = Appointment(
        person_id=person_id,
        status=AppointmentStatus.PLANNED,
        created_at=now,
        published_by_api_client_id=principal.client_pk,
    )
    completed = _apply(session, principal, appointment, visit, registrations, now)
    try:
        with session.begin_nested():
            session.add(appointment)
            session.flush()
            identifier = None
            if visit.identifier is not None:
                identifier = _identify(session, principal, appointment, visit.identifier)
                session.flush()
    except sa.exc.IntegrityError:
        # The same create at the same moment on another connection: theirs stands.
        known = (
            api_reads.appointment_by_identifier(
                session, principal.municipality_id, *visit.identifier
            )
            if visit.identifier
            else None
        )
        if known is None:
            raise
        appointment, identifier = _existing(session, principal, known)
        return Saved(appointment, identifier, created=False)
    if completed:
        _completed(session, appointment, principal.municipality_id, now)
    found = _existing(session, principal, appointment.id)
    return Saved(found[0], found[1], created=True)


def visit_update(
    session: Session,
    principal: ApiPrincipal,
    appointment_id: int,
    visit: VisitInput,
    *,
    if_match: int | None,
    now: datetime,
) -> Saved:
    """Change a visit the client reaches; with If-Match only the version it names."""
    access.require_api_permission(principal, "Appointment", "u")
    appointment, identifier = _existing(session, principal, appointment_id)
    if if_match is not None and if_match != appointment.version:
        raise RecordRefused(
            412,
            f"the visit is at version {appointment.version}, not {if_match}: read it again",
            code="conflict",
        )
    if (
        visit.identifier is not None
        and identifier is not None
        and visit.identifier
        != (
            identifier.system,
            identifier.value,
        )
    ):
        raise RecordRefused(422, "the visit's identifier cannot change", code="processable")
    person_id, registrations = _person_and_registrations(session, principal, visit)
    if person_id != appointment.person_id:
        raise RecordRefused(422, "a visit cannot move to another patient", code="processable")
    completed = _apply(session, principal, appointment, visit, registrations, now)
    if visit.identifier is not None and identifier is None:
        identifier = _identify(session, principal, appointment, visit.identifier)
    session.flush()
    if completed:
        _completed(session, appointment, principal.municipality_id, now)
    found = _existing(session, principal, appointment.id)
    return Saved(found[0], found[1], created=False)


def visit_put_by_identifier(
    session: Session,
    principal: ApiPrincipal,
    identifier: tuple[str, str],
    visit: VisitInput,
    *,
    if_match: int | None,
    now: datetime,
) -> Saved:
    """Conditional update (PUT Appointment?identifier=...): the visit with that identifier
    is changed, or made when there is none."""
    if visit.identifier is not None and visit.identifier != identifier:
        raise RecordRefused(422, "the body's identifier differs from the one searched for")
    known = api_reads.appointment_by_identifier(session, principal.municipality_id, *identifier)
    if known is None:
        return visit_create(session, principal, with_identifier(visit, identifier), now)
    return visit_update(
        session, principal, known, with_identifier(visit, identifier), if_match=if_match, now=now
    )


def with_identifier(visit: VisitInput, identifier: tuple[str, str]) -> VisitInput:
    """The visit with the record system's identifier (given in the address or a header)."""
    return replace(visit, identifier=identifier)


# --- messages ----------------------------------------------------------------------------------


def message_journal(
    session: Session, principal: ApiPrincipal, message_id: int, reference: str | None, now: datetime
) -> Message:
    """Journaled in the record system: staff see "Journalført i <system>". Once."""
    access.require_api_permission(principal, "Communication", "u")
    message = _message(session, principal, message_id)
    messaging.message_journal_by_record_system(
        session, message=message, client_pk=principal.client_pk, reference=reference, now=now
    )
    return api_reads.message_with_thread(session, message.id)


def message_reply(
    session: Session,
    principal: ApiPrincipal,
    *,
    in_response_to: int,
    employee_username: str,
    body: str,
    identifier: tuple[str, str] | None,
    now: datetime,
) -> tuple[Message, bool]:
    """A staff member's reply written in the record system, in the thread of the message it
    answers; notifies like any reply. The same identifier sent again gives the same reply.
    Returns the reply and whether it was made now."""
    access.require_api_permission(principal, "Communication", "c")
    answered = _message(session, principal, in_response_to)
    thread = answered.thread
    staff = _staff_named(session, principal, employee_username)
    if not access.api_may_reply_as(principal, thread, staff):
        raise RecordRefused(
            422,
            f"no active employee {employee_username!r} works in the unit of the thread",
            code="processable",
        )
    key = None
    if identifier is not None:
        text = f"{principal.municipality_id}|{identifier[0]}|{identifier[1]}"
        key = hashlib.sha256(text.encode()).hexdigest()
    before = (
        session.scalar(
            sa.select(Message.id).where(
                Message.author_staff_id == staff.id, Message.submission_key == key
            )
        )
        if key
        else None
    )
    try:
        reply = messaging.thread_reply_from_record_system(
            session, staff=staff, thread=thread, body=body, key=key, now=now
        )
    except messaging.MessagingError as error:
        if error.code == "thread_closed":
            raise RecordRefused(
                409, "the thread is closed: it takes no more replies", code="business-rule"
            ) from None
        raise RecordRefused(422, f"the reply was refused: {error.code}") from None
    return api_reads.message_with_thread(session, reply.id), before is None


def _message(session: Session, principal: ApiPrincipal, message_id: int) -> Message:
    message = api_reads.message_with_thread(session, message_id)
    if message is None or not access.api_reaches_thread(principal, message.thread):
        raise RecordRefused(404, f"Communication/{message_id} is not known to this client")
    return message
