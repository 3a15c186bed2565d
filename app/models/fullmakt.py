"""Fullmakt (power of attorney): who may act for whom, in which areas, for how long."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, IdMixin, str_enum

if TYPE_CHECKING:
    from app.models.people import Person
    from app.models.staff import StaffAccount

# The area every function of this product sits under.
APPOINTMENTS_AND_PROVIDERS = "timeavtaler-og-behandlere"


class FullmaktArea(Base):
    """An area a fullmakt can cover; areas are data, named in each language."""

    __tablename__ = "fullmakt_area"

    code: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    name_nb: Mapped[str] = mapped_column(sa.String(100))
    name_nn: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100))
    sort_order: Mapped[int] = mapped_column(default=0)

    def name(self, language: str) -> str:
        return {"nn": self.name_nn, "en": self.name_en}.get(language, self.name_nb)


class FullmaktKind(enum.StrEnum):
    ORDINARY = "ordinary"  # given digitally by the grantor
    ASSIGNED = "assigned"  # registered by staff for a person lacking consent competence


fullmakt_area_link = sa.Table(
    "fullmakt_area_link",
    Base.metadata,
    sa.Column("fullmakt_id", sa.ForeignKey("fullmakt.id"), primary_key=True),
    sa.Column("area_code", sa.ForeignKey("fullmakt_area.code"), primary_key=True),
)


class Fullmakt(IdMixin, Base):
    __tablename__ = "fullmakt"

    grantor_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    grantee_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    kind: Mapped[FullmaktKind] = mapped_column(str_enum(FullmaktKind, "fullmakt_kind"))
    all_areas: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]  # exclusive; None means indefinite
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    ended_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    # Assigned fullmakt: the decision document, the assessment that the grantor lacks
    # consent competence (who assessed it, on what basis), and who registered it.
    document_reference: Mapped[str | None] = mapped_column(sa.String(200))
    assessment: Mapped[str | None] = mapped_column(sa.String(500))
    registered_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    # When it took effect. An ordinary fullmakt is approved as it is given; an assigned one
    # gives no access anywhere until a second person approves it (rejecting ends it).
    approved_at: Mapped[datetime | None]
    approved_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_account.id"))
    # Editing ends a fullmakt and creates a new one that replaces it.
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fullmakt.id"))

    __table_args__ = (
        sa.CheckConstraint("grantor_id <> grantee_id", name="not_self"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period_order"),
        sa.CheckConstraint(
            "kind <> 'assigned' OR (document_reference IS NOT NULL"
            " AND registered_by_staff_id IS NOT NULL)",
            name="assigned_documented",
        ),
        sa.CheckConstraint(
            "kind = 'assigned' OR approved_at IS NOT NULL", name="ordinary_approved"
        ),
        sa.CheckConstraint(
            "approved_by_staff_id IS NULL OR registered_by_staff_id IS NULL"
            " OR approved_by_staff_id <> registered_by_staff_id",
            name="second_person_approves",
        ),
        sa.Index("ix_fullmakt_grantee_valid", "grantee_id", "ended_at", "valid_to"),
    )

    grantor: Mapped[Person] = relationship(foreign_keys=[grantor_id], lazy="raise_on_sql")
    grantee: Mapped[Person] = relationship(foreign_keys=[grantee_id], lazy="raise_on_sql")
    areas: Mapped[list[FullmaktArea]] = relationship(
        secondary=fullmakt_area_link, lazy="raise_on_sql", order_by=FullmaktArea.sort_order
    )
    registered_by: Mapped[StaffAccount | None] = relationship(
        foreign_keys=[registered_by_staff_id], lazy="raise_on_sql"
    )
    approved_by: Mapped[StaffAccount | None] = relationship(
        foreign_keys=[approved_by_staff_id], lazy="raise_on_sql"
    )

    @hybrid_method
    def is_valid_at(self, moment: datetime) -> bool:
        """In force at that moment: approved, not ended, begun, not expired (Python and SQL)."""
        return (
            self.approved_at is not None
            and self.ended_at is None
            and self.valid_from <= moment
            and (self.valid_to is None or moment < self.valid_to)
        )

    @is_valid_at.inplace.expression
    @classmethod
    def _is_valid_at_expression(cls, moment: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(
            cls.approved_at.is_not(None),
            cls.ended_at.is_(None),
            cls.valid_from <= moment,
            sa.or_(cls.valid_to.is_(None), cls.valid_to > moment),
        )

    @property
    def is_pending(self) -> bool:
        """An assigned fullmakt waiting for a second person's approval (no access yet)."""
        return self.approved_at is None and self.ended_at is None

    @property
    def was_rejected(self) -> bool:
        return self.approved_at is None and self.ended_at is not None

    @property
    def area_codes(self) -> frozenset[str]:
        return frozenset(area.code for area in self.areas)
