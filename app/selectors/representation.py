"""What the access rules need to know about whom a person may act for."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.models import FamilyRelation, Fullmakt, Person, RelationKind

# Asked on every request of a resident (whom they may act for): built once, with bind
# parameters, since building a statement costs more than running it.


@cache
def received_statement() -> sa.Select[tuple[Fullmakt]]:
    """`fullmakter_received` with the parameters `person_id` and `now`."""
    return (
        sa.select(Fullmakt)
        .where(
            Fullmakt.grantee_id == sa.bindparam("person_id"),
            Fullmakt.is_valid_at(sa.bindparam("now")),
        )
        .options(joinedload(Fullmakt.grantor), joinedload(Fullmakt.areas))
    )


@cache
def children_statement() -> sa.Select[tuple[Person]]:
    """`children_in_care` with the parameter `person_id`."""
    return (
        sa.select(Person)
        .join(FamilyRelation, FamilyRelation.related_person_id == Person.id)
        .where(
            FamilyRelation.person_id == sa.bindparam("person_id"),
            FamilyRelation.kind == RelationKind.PARENT,
            FamilyRelation.parental_responsibility.is_(True),
        )
    )


def fullmakter_received(person_id: int, now: datetime) -> sa.Select[tuple[Fullmakt]]:
    """Fullmakter held by the person that are in force at `now`.

    Areas are joined, not selected separately: run with `.unique()`.
    """
    return received_statement().params(person_id=person_id, now=now)


def children_in_care(person_id: int) -> sa.Select[tuple[Person]]:
    """Children the person has parental responsibility for (any age; rules decide)."""
    return children_statement().params(person_id=person_id)


def fullmakter_given(person_id: int, now: datetime) -> sa.Select[tuple[Fullmakt]]:
    """Fullmakter the person has given that are in force at `now` (run with `.unique()`)."""
    return (
        sa.select(Fullmakt)
        .where(
            Fullmakt.grantor_id == person_id,
            Fullmakt.is_valid_at(now),
        )
        .options(joinedload(Fullmakt.grantee), joinedload(Fullmakt.areas))
    )


def parents_in_care(person_id: int) -> sa.Select[tuple[Person]]:
    """The person's parents with parental responsibility."""
    return (
        sa.select(Person)
        .join(FamilyRelation, FamilyRelation.person_id == Person.id)
        .where(
            FamilyRelation.related_person_id == person_id,
            FamilyRelation.kind == RelationKind.PARENT,
            FamilyRelation.parental_responsibility.is_(True),
        )
    )
