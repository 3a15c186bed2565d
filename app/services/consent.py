"""Consent to the terms and to "dialogtjenester og personlig helsearkiv"."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Consent, Person, UsageAction
from app.services.audit import usage_log_add


def current_consent(person_id: int, terms_version: str) -> sa.Select[tuple[Consent]]:
    return sa.select(Consent).where(
        Consent.person_id == person_id,
        Consent.terms_version == terms_version,
        Consent.withdrawn_at.is_(None),
    )


def is_digitally_active(session: Session, person_id: int, terms_version: str) -> bool:
    return session.scalars(current_consent(person_id, terms_version)).first() is not None


def consent_give(session: Session, *, person: Person, terms_version: str, now: datetime) -> Consent:
    """Accept the terms; access starts at once. Giving it twice changes nothing."""
    existing = session.scalars(current_consent(person.id, terms_version)).first()
    if existing is not None:
        return existing
    consent = Consent(person_id=person.id, terms_version=terms_version, accepted_at=now)
    session.add(consent)
    session.flush()
    usage_log_add(
        session,
        subject_person_id=person.id,
        action=UsageAction.CONSENT_GIVEN,
        actor_person_id=person.id,
        detail=terms_version,
        at=now,
    )
    return consent
