"""Reads for the record-system API (docs/api.md): the people a search names, with what they
receive, so the access module can decide; the clients and their calls for Administrasjon."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.models import ApiCall, ApiClient, Person, ServiceRecipient

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
        .options(joinedload(ServiceRecipient.unit))
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
