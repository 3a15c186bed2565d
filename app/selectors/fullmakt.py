"""Reads for fullmakt pages: a person's fullmakter both ways, and their family."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.models import (
    Consent,
    FamilyRelation,
    Fullmakt,
    FullmaktArea,
    FullmaktKind,
    Person,
    ServiceRecipient,
)


@dataclass(frozen=True)
class FullmaktLists:
    given: list[Fullmakt]
    received: list[Fullmakt]
    pending: list[Fullmakt]  # assigned, waiting for a second person's approval, both ways
    history: list[Fullmakt]  # ended, rejected or expired, both ways, newest first


def fullmakt_lists(session: Session, person_id: int, now: datetime) -> FullmaktLists:
    """Everything the person has given or received, in force or not (one statement)."""
    rows = (
        session.scalars(
            sa.select(Fullmakt)
            .where(sa.or_(Fullmakt.grantor_id == person_id, Fullmakt.grantee_id == person_id))
            .options(
                joinedload(Fullmakt.grantor),
                joinedload(Fullmakt.grantee),
                joinedload(Fullmakt.areas),
            )
            .order_by(Fullmakt.created_at.desc(), Fullmakt.id.desc())
        )
        .unique()
        .all()
    )
    current = [f for f in rows if f.ended_at is None and (f.valid_to is None or f.valid_to > now)]
    in_force = [f for f in current if f.approved_at is not None]
    return FullmaktLists(
        given=[f for f in in_force if f.grantor_id == person_id],
        received=[f for f in in_force if f.grantee_id == person_id],
        pending=[f for f in current if f.approved_at is None],
        history=[f for f in rows if f not in current],
    )


def ordinary_in_force(
    grantor_id: int, grantee_id: int, now: datetime
) -> sa.Select[tuple[Fullmakt]]:
    """The ordinary fullmakt the grantor has given the grantee that is in force now, if any."""
    return sa.select(Fullmakt).where(
        Fullmakt.grantor_id == grantor_id,
        Fullmakt.grantee_id == grantee_id,
        Fullmakt.kind == FullmaktKind.ORDINARY,
        Fullmakt.is_valid_at(now),
    )


def fullmakt_by_id(fullmakt_id: int) -> sa.Select[tuple[Fullmakt]]:
    return (
        sa.select(Fullmakt)
        .where(Fullmakt.id == fullmakt_id)
        .options(
            joinedload(Fullmakt.grantor), joinedload(Fullmakt.grantee), joinedload(Fullmakt.areas)
        )
    )


def family_of(person_id: int) -> sa.Select[tuple[Person]]:
    """Parents, children, spouses and siblings in the register (either direction)."""
    forward = sa.select(FamilyRelation.related_person_id).where(
        FamilyRelation.person_id == person_id
    )
    backward = sa.select(FamilyRelation.person_id).where(
        FamilyRelation.related_person_id == person_id
    )
    return (
        sa.select(Person)
        .where(sa.or_(Person.id.in_(forward), Person.id.in_(backward)), Person.id != person_id)
        .order_by(Person.family_name, Person.given_name, Person.id)
    )


def areas() -> sa.Select[tuple[FullmaktArea]]:
    return sa.select(FullmaktArea).order_by(FullmaktArea.sort_order, FullmaktArea.code)


def _assigned() -> sa.Select[tuple[Fullmakt]]:
    return (
        sa.select(Fullmakt)
        .where(Fullmakt.kind == FullmaktKind.ASSIGNED)
        .options(
            joinedload(Fullmakt.grantor),
            joinedload(Fullmakt.grantee),
            joinedload(Fullmakt.registered_by),
            joinedload(Fullmakt.approved_by),
        )
    )


def assigned_in_municipality(municipality_id: int) -> sa.Select[tuple[Fullmakt]]:
    """Assigned fullmakter for people living in the municipality, newest first."""
    return (
        _assigned()
        .join(Person, Person.id == Fullmakt.grantor_id)
        .where(Person.municipality_id == municipality_id)
        .order_by(Fullmakt.created_at.desc(), Fullmakt.id.desc())
    )


def pending_for_unit(unit_id: int, today: date) -> sa.Select[tuple[Fullmakt]]:
    """Assigned fullmakter waiting for approval, for people the unit serves now, oldest first."""
    served = sa.select(ServiceRecipient.person_id).where(
        ServiceRecipient.unit_id == unit_id, ServiceRecipient.is_current(today)
    )
    return (
        _assigned()
        .where(
            Fullmakt.approved_at.is_(None),
            Fullmakt.ended_at.is_(None),
            Fullmakt.grantor_id.in_(served),
        )
        .order_by(Fullmakt.created_at, Fullmakt.id)
    )


def digitally_active_among(person_ids: list[int], terms_version: str) -> sa.Select[tuple[int]]:
    """Which of the people use Hjemmedialog themselves (consented to the current terms): the
    one deciding on an assigned fullmakt should know that the person gave consent."""
    return sa.select(Consent.person_id).where(
        Consent.person_id.in_(person_ids),
        Consent.terms_version == terms_version,
        Consent.withdrawn_at.is_(None),
    )
