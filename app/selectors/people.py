"""Reads about people in the register."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.models import Person, Service, ServiceRecipient, Unit


def person_by_fodselsnummer(number: str) -> sa.Select[tuple[Person]]:
    return sa.select(Person).where(Person.fodselsnummer == number)


def person_by_id(person_id: int) -> sa.Select[tuple[Person]]:
    return sa.select(Person).where(Person.id == person_id).options(joinedload(Person.municipality))


def services_received(person_id: int, today: date) -> sa.Select[tuple[ServiceRecipient]]:
    """The person's current service registrations, with service and unit."""
    return (
        sa.select(ServiceRecipient)
        .join(ServiceRecipient.service)
        .where(
            ServiceRecipient.person_id == person_id,
            ServiceRecipient.is_current(today),
        )
        .options(
            joinedload(ServiceRecipient.service),
            joinedload(ServiceRecipient.unit).joinedload(Unit.municipality),
        )
        .order_by(Service.name)
    )


def dialog_services(person_id: int, today: date) -> sa.Select[tuple[ServiceRecipient]]:
    """Current registrations whose service is open for digital dialog (write, cancel)."""
    return services_received(person_id, today).where(Service.open_for_dialog.is_(True))


def register_people(limit: int = 200) -> sa.Select[tuple[Person]]:
    """People in the register by name (for the test identity provider's list)."""
    return sa.select(Person).order_by(Person.family_name, Person.given_name, Person.id).limit(limit)
