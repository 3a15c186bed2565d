"""Changes to a person's own settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import ContactSettings, Person


def contact_language_set(
    session: Session, *, person: Person, language: str, now: datetime
) -> ContactSettings:
    """Remember the person's language, also for the notices they receive."""
    settings = session.get(ContactSettings, person.id)
    if settings is None:
        settings = ContactSettings(person_id=person.id, updated_at=now)
        session.add(settings)
    settings.language = language
    settings.updated_at = now
    session.flush()
    return settings
