"""Changes to a person's own settings: language, contact information and notices."""

from __future__ import annotations

from datetime import date, datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberFormat
from sqlalchemy.orm import Session

from app.models import (
    ContactSettings,
    NoticeChannel,
    NoticeLevel,
    Person,
    ServiceRecipient,
    UsageAction,
)
from app.security import access
from app.security.access import Scope
from app.security.actor import Actor
from app.selectors.staff import registrations_of
from app.services.audit import usage_log_add


class SettingsRefused(Exception):
    """A field refused for a reason the user is told; `field` says which."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def recipient_for_staff(
    session: Session, actor: Actor, person_id: int, today: date
) -> tuple[Person, list[ServiceRecipient]] | None:
    """The person and their current registrations with the actor's unit; None if unknown.

    Denied (as if unknown) when the unit does not serve the person now.
    """
    registrations = session.scalars(registrations_of(person_id)).all()
    person = registrations[0].person if registrations else session.get(Person, person_id)
    if person is None:
        return None
    return person, access.recipient_registrations_for_staff(actor, person, registrations, today)


def norwegian_mobile(value: str) -> str:
    """A Norwegian mobile number in E.164 (+4791234567), or SettingsRefused."""
    try:
        number = phonenumbers.parse(value, "NO")
    except phonenumbers.NumberParseException:
        raise SettingsRefused("mobile", "invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise SettingsRefused("mobile", "invalid")
    if phonenumbers.region_code_for_number(number) != "NO":
        raise SettingsRefused("mobile", "not_norwegian")
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise SettingsRefused("mobile", "not_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Norwegian mobile numbers are written 3-2-3 ("912 34 567", as the form's hint shows);
# libphonenumber's national format for Norway groups them 2-2-2-2 ("91 23 45 67").
MOBILE_FORMAT = NumberFormat(pattern=r"(\d{3})(\d{2})(\d{3})", format=r"\1 \2 \3")


def mobile_for_display(value: str | None) -> str:
    """A stored number as people write it, without the country code: "912 34 567"."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "NO")
    except phonenumbers.NumberParseException:
        return value
    if phonenumbers.region_code_for_number(number) != "NO":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if phonenumbers.number_type(number) is phonenumbers.PhoneNumberType.MOBILE:
        return phonenumbers.format_by_pattern(
            number, phonenumbers.PhoneNumberFormat.NATIONAL, [MOBILE_FORMAT]
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def email_address(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise SettingsRefused("email", "invalid") from None


def _settings(session: Session, person_id: int, now: datetime) -> ContactSettings:
    settings = session.get(ContactSettings, person_id)
    if settings is None:
        settings = ContactSettings(person_id=person_id, updated_at=now)
        session.add(settings)
    return settings


def contact_language_set(
    session: Session, *, person: Person, language: str, now: datetime
) -> ContactSettings:
    """Remember the person's language, also for the notices they receive."""
    settings = _settings(session, person.id, now)
    settings.language = language
    settings.updated_at = now
    session.flush()
    return settings


def contact_settings_update(
    session: Session,
    actor: Actor,
    *,
    mobile: str | None,
    email: str | None,
    channel: NoticeChannel,
    level: NoticeLevel,
    same_for_represented: bool,
    now: datetime,
) -> ContactSettings:
    """Kontaktinformasjon og varseloppsett for whom the resident acts for (self or a child)."""
    rep = access.require_scope(actor, Scope.PROFILE)
    mobile_e164 = norwegian_mobile(mobile) if mobile and mobile.strip() else None
    email_normal = email_address(email.strip()) if email and email.strip() else None
    if channel is NoticeChannel.SMS and not mobile_e164:
        raise SettingsRefused("mobile", "needed_for_sms")
    if channel is NoticeChannel.EMAIL and not email_normal:
        raise SettingsRefused("email", "needed_for_email")
    settings = _settings(session, rep.subject.id, now)
    settings.mobile = mobile_e164
    settings.email = email_normal
    settings.channel = channel
    settings.level = level
    settings.same_for_represented = same_for_represented
    settings.updated_at = now
    session.flush()
    usage_log_add(
        session,
        subject_person_id=rep.subject.id,
        action=UsageAction.SETTINGS_CHANGED,
        actor_person_id=actor.person.id,
        at=now,
    )
    return settings
