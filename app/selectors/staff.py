"""Reads for the staff side."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from app.models import (
    Municipality,
    Person,
    Service,
    ServiceRecipient,
    StaffAccount,
    StaffRole,
)


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


def municipality_staff(municipality_id: int) -> sa.Select[tuple[StaffAccount]]:
    return (
        sa.select(StaffAccount)
        .where(StaffAccount.municipality_id == municipality_id)
        .options(joinedload(StaffAccount.roles).joinedload(StaffRole.unit))
        .order_by(StaffAccount.full_name)
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
