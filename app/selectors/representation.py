"""What the access rules need to know about whom a person may act for."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.models import FamilyRelation, Fullmakt, Person, RelationKind


def fullmakter_received(person_id: int, now: datetime) -> sa.Select[tuple[Fullmakt]]:
    """Fullmakter held by the person that are in force at `now`.

    Areas are joined, not selected separately: run with `.unique()`.
    """
    return (
        sa.select(Fullmakt)
        .where(
            Fullmakt.grantee_id == person_id,
            Fullmakt.is_valid_at(now),
        )
        .options(joinedload(Fullmakt.grantor), joinedload(Fullmakt.areas))
    )


def children_in_care(person_id: int) -> sa.Select[tuple[Person]]:
    """Children the person has parental responsibility for (any age; rules decide)."""
    return (
        sa.select(Person)
        .join(FamilyRelation, FamilyRelation.related_person_id == Person.id)
        .where(
            FamilyRelation.person_id == person_id,
            FamilyRelation.kind == RelationKind.PARENT,
            FamilyRelation.parental_responsibility.is_(True),
        )
    )


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
