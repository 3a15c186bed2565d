"""Administrative changes by the municipal administrator (docs/product.md 5.9): services open or
closed, municipality settings, units. Every change writes the audit trail (AdminChange),
one row per changed value, in the same transaction."""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from app.models import AdminChange, Municipality, Service, ServiceRecipient, StaffAccount, Unit
from app.security import access
from app.security.actor import Actor
from app.text import is_blank, without_bidi_controls

REPLY_DEADLINE_MIN = 1
REPLY_DEADLINE_MAX = 10
SENDER_NAME_MAX = 100
UNIT_FIELDS = {"phone": 20, "email": 254, "address": 200, "opening_hours": 200}


class AdminRefused(Exception):
    """Refused with a reason the administrator is told; `code` picks the text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _line(value: str | None) -> str | None:
    """One line as stored: no reordering characters, runs of spaces as one; None when it
    shows nothing (empty, or only invisible characters)."""
    text = " ".join(without_bidi_controls(value or "").split())
    return None if is_blank(text) else text


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)[:500]


def _apply(
    session: Session,
    actor: Actor,
    target: Municipality | Service | Unit,
    changes: dict[str, object],
    *,
    now: datetime,
    municipality_id: int,
    service_id: int | None = None,
    unit_id: int | None = None,
) -> int:
    """Set the values that differ and write one audit row for each; returns how many."""
    count = 0
    for field, value in changes.items():
        before = getattr(target, field)
        if before == value:
            continue
        setattr(target, field, value)
        record(
            session,
            actor,
            target,
            field,
            before,
            value,
            now=now,
            municipality_id=municipality_id,
            service_id=service_id,
            unit_id=unit_id,
        )
        count += 1
    session.flush()
    return count


def record(
    session: Session,
    actor: Actor,
    target: Municipality | Service | Unit | StaffAccount | ServiceRecipient,
    field: str,
    before: object,
    after: object,
    *,
    now: datetime,
    municipality_id: int,
    service_id: int | None = None,
    unit_id: int | None = None,
    name: str | None = None,
) -> None:
    """One audit row (who, what, before, after), in the caller's transaction; `name`
    names the object when it has no name of its own."""
    if name is None:
        name = target.full_name if isinstance(target, StaffAccount) else target.name
    session.add(
        AdminChange(
            at=now,
            municipality_id=municipality_id,
            actor_staff_id=actor.staff.id,
            object_type=target.__tablename__,
            object_id=target.id,
            service_id=service_id,
            unit_id=unit_id,
            object_name=name[:120],
            field=field,
            before=_text(before),
            after=_text(after),
        )
    )


def _phone(value: str) -> str:
    """A Norwegian phone number in E.164 (+4799900100)."""
    try:
        number = phonenumbers.parse(value, "NO")
    except phonenumbers.NumberParseException:
        raise AdminRefused("phone") from None
    if not phonenumbers.is_valid_number(number):
        raise AdminRefused("phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise AdminRefused("email") from None


def _in_municipality(actor: Actor, municipality_id: int) -> None:
    access.require_municipal_admin(actor)
    if municipality_id != actor.staff.municipality_id:
        raise AdminRefused("not_found")


def service_for_admin(session: Session, actor: Actor, service_id: int) -> Service:
    service = session.get(Service, service_id)
    if service is None:
        raise AdminRefused("not_found")
    _in_municipality(actor, service.municipality_id)
    return service


def unit_for_admin(session: Session, actor: Actor, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise AdminRefused("not_found")
    _in_municipality(actor, unit.municipality_id)
    return unit


def service_update(
    session: Session,
    actor: Actor,
    *,
    service_id: int,
    open_for_dialog: bool,
    shows_appointments: bool,
    now: datetime,
) -> int:
    """Open or close a service for digital dialog and for appointments. Closing stops new
    threads; existing threads stay readable and answerable."""
    service = service_for_admin(session, actor, service_id)
    return _apply(
        session,
        actor,
        service,
        {"open_for_dialog": bool(open_for_dialog), "shows_appointments": bool(shows_appointments)},
        now=now,
        municipality_id=service.municipality_id,
        service_id=service.id,
    )


def municipality_update(
    session: Session,
    actor: Actor,
    *,
    reply_deadline_working_days: int,
    notice_sender_name: str,
    now: datetime,
) -> int:
    """The municipality's settings; a new reply deadline applies to new messages at once."""
    access.require_municipal_admin(actor)
    if not REPLY_DEADLINE_MIN <= reply_deadline_working_days <= REPLY_DEADLINE_MAX:
        raise AdminRefused("reply_deadline")
    sender = _line(notice_sender_name)
    if sender is None or len(sender) > SENDER_NAME_MAX:
        raise AdminRefused("sender_name")
    municipality = session.get(Municipality, actor.staff.municipality_id)
    return _apply(
        session,
        actor,
        municipality,
        {"reply_deadline_working_days": reply_deadline_working_days, "notice_sender_name": sender},
        now=now,
        municipality_id=municipality.id,
    )


def unit_update(
    session: Session,
    actor: Actor,
    *,
    unit_id: int,
    phone: str | None,
    email: str | None,
    address: str | None,
    opening_hours: str | None,
    auto_journal: bool,
    now: datetime,
) -> int:
    """A unit's contact details (shown on Helsekontakter) and automatic journaling."""
    unit = unit_for_admin(session, actor, unit_id)
    values: dict[str, object] = {}
    for field, value in (
        ("phone", phone),
        ("email", email),
        ("address", address),
        ("opening_hours", opening_hours),
    ):
        cleaned = _line(value)
        if cleaned is not None and len(cleaned) > UNIT_FIELDS[field]:
            raise AdminRefused(field)
        if cleaned is not None and field == "phone":
            cleaned = _phone(cleaned)
        elif cleaned is not None and field == "email":
            cleaned = _email(cleaned)
        values[field] = cleaned
    values["auto_journal"] = bool(auto_journal)
    return _apply(
        session,
        actor,
        unit,
        values,
        now=now,
        municipality_id=unit.municipality_id,
        service_id=unit.service_id,
        unit_id=unit.id,
    )
