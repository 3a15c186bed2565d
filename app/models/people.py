"""The population register (a stand-in for Folkeregisteret), consent and contact settings."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.base import Base, IdMixin, str_enum
from app.text import without_bidi_controls

if TYPE_CHECKING:
    from app.models.services import Municipality


class AddressProtection(enum.StrEnum):
    NONE = "none"
    FORTROLIG = "fortrolig"
    STRENGT_FORTROLIG = "strengt_fortrolig"


class Person(IdMixin, Base):
    __tablename__ = "person"

    fodselsnummer: Mapped[str] = mapped_column(sa.String(11), unique=True)
    given_name: Mapped[str] = mapped_column(sa.String(100))
    family_name: Mapped[str] = mapped_column(sa.String(100))
    birth_date: Mapped[date] = mapped_column(sa.Date)
    address_protection: Mapped[AddressProtection] = mapped_column(
        str_enum(AddressProtection, "address_protection"), default=AddressProtection.NONE
    )
    street_address: Mapped[str | None] = mapped_column(sa.String(200))
    postal_code: Mapped[str | None] = mapped_column(sa.String(4))
    postal_town: Mapped[str | None] = mapped_column(sa.String(100))
    municipality_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("municipality.id"), index=True
    )

    municipality: Mapped[Municipality | None] = relationship(lazy="raise_on_sql")

    @validates("given_name", "family_name")
    def _plain_name(self, _key: str, value: str) -> str:
        return without_bidi_controls(value)

    @property
    def full_name(self) -> str:
        return self.name_of(self.given_name, self.family_name)

    @staticmethod
    def name_of(given_name: str, family_name: str) -> str:
        """The full name from its parts, for lists that read the parts alone."""
        return without_bidi_controls(f"{given_name} {family_name}")

    @property
    def has_protected_address(self) -> bool:
        return self.address_protection is not AddressProtection.NONE


class RelationKind(enum.StrEnum):
    PARENT = "parent"  # person is the parent of related_person
    SPOUSE = "spouse"
    SIBLING = "sibling"


class FamilyRelation(IdMixin, Base):
    """A register relation; for PARENT, `person` is the parent of `related_person`."""

    __tablename__ = "family_relation"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    related_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    kind: Mapped[RelationKind] = mapped_column(str_enum(RelationKind, "relation_kind"))
    parental_responsibility: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        sa.UniqueConstraint("person_id", "related_person_id", "kind"),
        sa.CheckConstraint("person_id <> related_person_id", name="not_self"),
        sa.CheckConstraint(
            "kind = 'parent' OR parental_responsibility = false", name="responsibility_parent"
        ),
    )

    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="raise_on_sql")
    related_person: Mapped[Person] = relationship(
        foreign_keys=[related_person_id], lazy="raise_on_sql"
    )


class Consent(IdMixin, Base):
    """Acceptance of the terms and consent to "dialogtjenester og personlig helsearkiv"."""

    __tablename__ = "consent"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    terms_version: Mapped[str] = mapped_column(sa.String(20))
    accepted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]

    __table_args__ = (sa.UniqueConstraint("person_id", "terms_version"),)

    person: Mapped[Person] = relationship(lazy="raise_on_sql")


class NoticeChannel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


class NoticeLevel(enum.StrEnum):
    LIMITED = "limited"  # Begrenset varsling
    NORMAL = "normal"  # Normal varsling (default)
    ALL = "all"  # Alle varsler


class ContactSettings(Base):
    """Kontaktinformasjon og varseloppsett for one person."""

    __tablename__ = "contact_settings"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), primary_key=True)
    mobile: Mapped[str | None] = mapped_column(sa.String(16))  # E.164
    email: Mapped[str | None] = mapped_column(sa.String(254))
    channel: Mapped[NoticeChannel] = mapped_column(
        str_enum(NoticeChannel, "notice_channel"), default=NoticeChannel.SMS
    )
    level: Mapped[NoticeLevel] = mapped_column(
        str_enum(NoticeLevel, "notice_level"), default=NoticeLevel.NORMAL
    )
    same_for_represented: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str | None] = mapped_column(sa.String(5))
    updated_at: Mapped[datetime]

    person: Mapped[Person] = relationship(lazy="raise_on_sql")
