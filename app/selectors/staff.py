"""Reads for the staff side."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import (
    Municipality,
    Person,
    Service,
    ServiceRecipient,
    StaffAccount,
    StaffRole,
)
from app.selectors import paging


def unit_recipients(unit_id: int, today: date) -> sa.Select[tuple[ServiceRecipient]]:
    """The unit's current service recipients, by name."""
    return (
        sa.select(ServiceRecipient)
        .join(ServiceRecipient.person)
        .where(ServiceRecipient.unit_id == unit_id, ServiceRecipient.is_current(today))
        .options(joinedload(ServiceRecipient.person), joinedload(ServiceRecipient.service))
        .order_by(Person.family_name, Person.given_name, Person.id)
    )


def registrations_of(person_id: int) -> sa.Select[tuple[ServiceRecipient]]:
    """All of a person's registrations, with units (for the access rule and the page)."""
    return (
        sa.select(ServiceRecipient)
        .where(ServiceRecipient.person_id == person_id)
        .options(
            joinedload(ServiceRecipient.unit),
            joinedload(ServiceRecipient.service),
            joinedload(ServiceRecipient.person),
            joinedload(ServiceRecipient.primary_contact),
        )
    )


def municipality_with_services(municipality_id: int) -> sa.Select[tuple[Municipality]]:
    return (
        sa.select(Municipality)
        .where(Municipality.id == municipality_id)
        .options(selectinload(Municipality.services).selectinload(Service.units))
    )


def unit_colleagues(unit_id: int) -> sa.Select[tuple[StaffAccount]]:
    """Active staff with a role in the unit (to assign a thread or a visit to)."""
    return (
        sa.select(StaffAccount)
        .join(StaffRole, StaffRole.staff_id == StaffAccount.id)
        .where(StaffRole.unit_id == unit_id, StaffAccount.active.is_(True))
        .distinct()
        .order_by(StaffAccount.full_name)
    )


STAFF_PAGE = 25
STAFF_KEY = (str, int)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def staff_list(
    session: Session, municipality_id: int, *, search: str | None, cursor: str | None
) -> paging.Page[StaffAccount]:
    """The municipality's staff by name (then id), STAFF_PAGE at a time, with roles and
    units; `search` matches a part of the name or the username."""
    statement = sa.select(StaffAccount).where(StaffAccount.municipality_id == municipality_id)
    words = (search or "").split()
    for word in words:
        pattern = _like(word)
        statement = statement.where(
            sa.or_(
                sa.func.lower(StaffAccount.full_name).like(pattern, escape="\\"),
                StaffAccount.username.like(pattern, escape="\\"),
            )
        )
    after = paging.decode(cursor, STAFF_KEY)
    keys = ((StaffAccount.full_name, False), (StaffAccount.id, False))
    if after is not None:
        statement = statement.where(paging.after(keys, after))
    rows = session.scalars(
        statement.options(selectinload(StaffAccount.roles).joinedload(StaffRole.unit))
        .order_by(StaffAccount.full_name, StaffAccount.id)
        .limit(STAFF_PAGE + 1)
    ).all()
    return paging.paginate(list(rows), STAFF_PAGE, lambda s: (s.full_name, s.id))
