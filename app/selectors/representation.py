"""What the access rules need to know about whom a person may act for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.models import FamilyRelation, Fullmakt, Person, RelationKind


@dataclass(frozen=True)
class ActingFor:
    """Whom a person may act for, as stored: the fullmakter in force they hold (each with
    its grantor and areas) and the children in their care."""

    fullmakter: list[Fullmakt]
    children: list[Person]


def _held_in_force(
    grantee: sa.ColumnElement[int], now: sa.ColumnElement[datetime]
) -> sa.ColumnElement[bool]:
    """Fullmakter in force at `now` that `grantee` holds (a condition on Fullmakt)."""
    return sa.and_(Fullmakt.grantee_id == grantee, Fullmakt.is_valid_at(now))


def _children_in_care(parent: sa.ColumnElement[int]) -> sa.Select[tuple[int]]:
    return sa.select(FamilyRelation.related_person_id).where(
        FamilyRelation.person_id == parent,
        FamilyRelation.kind == RelationKind.PARENT,
        FamilyRelation.parental_responsibility.is_(True),
    )


def may_act_for_others(
    person_id: sa.ColumnElement[int], now: sa.ColumnElement[datetime]
) -> sa.ColumnElement[bool]:
    """Whether `acting_for` would find anyone: a fullmakt in force held, or a child in care.

    Most residents act only for themselves; asked with the log-in session, this spares
    them `acting_for`'s statement on every request."""
    return sa.or_(
        sa.exists().where(_held_in_force(person_id, now)),
        _children_in_care(person_id).exists(),
    )


@cache
def _acting_for_statement() -> sa.Select:
    # Asked on every request of a resident who may act for others: one statement, built once
    # with the parameters person_id and now. Each row is a person the resident may act for,
    # with a fullmakt in force from them (or none) and whether they are a child in their care.
    me = sa.bindparam("person_id")
    in_force = _held_in_force(me, sa.bindparam("now"))
    grantors = sa.select(Fullmakt.grantor_id).where(in_force)
    children = _children_in_care(me)
    return (
        sa.select(Person, Fullmakt, Person.id.in_(children).label("in_care"))
        .outerjoin(Fullmakt, sa.and_(Fullmakt.grantor_id == Person.id, in_force))
        .where(sa.or_(Person.id.in_(grantors), Person.id.in_(children)))
        .options(joinedload(Fullmakt.areas))
        .order_by(Person.id)
    )


def acting_for(session: Session, person_id: int, now: datetime) -> ActingFor:
    """The fullmakter in force that the person holds, and the children in their care."""
    fullmakter: list[Fullmakt] = []
    children: dict[int, Person] = {}
    rows = session.execute(_acting_for_statement(), {"person_id": person_id, "now": now})
    for subject, fullmakt, in_care in rows.unique():
        if fullmakt is not None:
            set_committed_value(fullmakt, "grantor", subject)  # the row's person is its grantor
            fullmakter.append(fullmakt)
        if in_care:
            children[subject.id] = subject
    return ActingFor(fullmakter, list(children.values()))


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
