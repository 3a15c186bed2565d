"""What residents are told about fullmakt refusals, settings and their usage log."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.clock import OSLO
from app.models import UsageAction, UsageLogEntry

FULLMAKT_REFUSALS = {
    "self": _l("You cannot give a fullmakt to yourself."),
    "grantee_too_young": _l("A fullmakt can only be given to someone who is 18 or older."),
    "grantee_protected": _l(
        "This person cannot receive a fullmakt through Hjemmedialog. Contact the municipality."
    ),
    "grantor_too_young": _l("You must be 16 or older to give a fullmakt."),
    "grantor_not_active": _l("You must accept the terms of use before you give a fullmakt."),
    "grantor_protected": _l(
        "You cannot give a fullmakt through Hjemmedialog. Contact the municipality for help."
    ),
    "acting_for_other": _l(
        "While you act on behalf of someone else, you cannot give a fullmakt for them. Go back "
        "to yourself first."
    ),
    "not_resident": _l("Only residents give a fullmakt."),
    "not_found": _l("We found no person with that fødselsnummer."),
    # Gi ny fullmakt, someone else: one answer for every refusal about the person searched
    # for, so that nobody learns from it who is in the register (R11).
    "no_match": _l(
        "We found nobody who can receive a fullmakt from you with that fødselsnummer and "
        "family name. Check both, or contact the municipality."
    ),
    "family_name_missing": _l("Give the family name."),
    "invalid_number": _l("That is not a valid fødselsnummer. It has 11 digits."),
    "valid_to_past": _l("The last day cannot be in the past."),
    "no_areas": _l("Choose at least one area."),
    "other_municipality": _l("The person giving the fullmakt must live in your municipality."),
    "document_missing": _l("Give the reference to the decision document."),
    "document_too_long": _l("The document reference is too long."),
    "period_order": _l("The last day is before the first day."),
    "choose_someone": _l("Choose a family member, or search with a fødselsnummer."),
    "staff_party": _l(
        "You are yourself the grantor or the grantee of this fullmakt. Someone else must "
        "register and approve it."
    ),
    "assessment_unconfirmed": _l(
        "Confirm that the person has been assessed to lack consent competence. Without that "
        "assessment the municipality cannot register a fullmakt for them."
    ),
    "assessment_missing": _l("Say who assessed the consent competence, and on what basis."),
    "assessment_too_long": _l("The assessment is too long."),
    "own_registration": _l(
        "You registered this fullmakt yourself. A second person must approve it."
    ),
    "not_pending": _l("This fullmakt is no longer waiting for approval."),
    "already_given": _l(
        "This person already has a fullmakt from you. Change it under Fullmakter instead."
    ),
}

SETTINGS_REFUSALS = {
    "invalid": _l("That is not a valid number."),
    "not_norwegian": _l("Give a Norwegian mobile number."),
    "not_mobile": _l("That is not a mobile number. Text messages need a mobile number."),
    "needed_for_sms": _l("Give a mobile number to get notices by text message."),
    "needed_for_email": _l("Give an e-mail address to get notices by e-mail."),
    "invalid_email": _l("That is not a valid e-mail address."),
}


# Refusals shown at a form field rather than in the summary above the form.
FULLMAKT_REFUSAL_FIELDS = {
    "invalid_number": "fodselsnummer",
    "family_name_missing": "family_name",
    "document_missing": "document_reference",
    "document_too_long": "document_reference",
    "assessment_unconfirmed": "lacks_consent_competence",
    "assessment_missing": "assessment",
    "assessment_too_long": "assessment",
    "period_order": "valid_to",
    "valid_to_past": "valid_to",
}


def fullmakt_refusal(code: str) -> str:
    return str(FULLMAKT_REFUSALS.get(code, FULLMAKT_REFUSALS["not_found"]))


def fullmakt_refusal_to_form(form, code: str) -> str | None:
    """Put the refusal at its form field; otherwise return it for the summary."""
    field = FULLMAKT_REFUSAL_FIELDS.get(code)
    if field is not None and hasattr(form, field):
        getattr(form, field).errors.append(fullmakt_refusal(code))
        return None
    return fullmakt_refusal(code)


def search_limited(retry_at: datetime, limit: int) -> str:
    """Gi ny fullmakt after too many searches: when the next one is possible."""
    return _(
        "You have searched %(limit)d times in the last hour. To protect everyone's "
        "information, you can search again at %(time)s.",
        limit=limit,
        time=retry_at.astimezone(OSLO).strftime("%H:%M"),
    )


def settings_refusal(field: str, code: str) -> str:
    key = "invalid_email" if field == "email" and code == "invalid" else code
    return str(SETTINGS_REFUSALS.get(key, SETTINGS_REFUSALS["invalid"]))


# The staff lists that name residents (object_type of the usage-log entry).
STAFF_LISTS = {
    "queue": _l("the message queue"),
    "threads": _l("the list of all threads"),
    "recipients": _l("the list of service recipients"),
    "compose": _l("the list of recipients for a new message"),
    "welcome": _l("the list for the welcome message"),
    "notices": _l("the list of notices that could not be sent"),
    "fullmakter": _l("the list of assigned fullmakter"),
}


# What a record system read through the API (object_type: the FHIR resource type).
RECORD_SYSTEM_READS = {
    "Patient": _l("your information"),
    "Appointment": _l("your appointments"),
    "Communication": _l("your messages"),
}


def usage_text(entry: UsageLogEntry) -> str:
    """One line of Logg over bruk in plain words, in the reader's language."""
    staff = entry.actor_staff.full_name if entry.actor_staff else None
    unit = entry.actor_unit.name if entry.actor_unit else None
    person = entry.actor_person
    you = person is not None and person.id == entry.subject_person_id
    who = person.full_name if person else staff or _("The municipality")
    action = entry.action
    if action is UsageAction.LOGGED_IN:
        return _("Logged in")
    if action is UsageAction.CONSENT_GIVEN:
        return _("The terms of use were accepted")
    if action is UsageAction.ACTING_STARTED:
        return _("%(name)s started acting on your behalf", name=who)
    if action is UsageAction.STAFF_VIEWED_PERSON and entry.object_type in STAFF_LISTS:
        where = STAFF_LISTS[entry.object_type]
        if unit is None:
            return _("%(name)s saw your name in %(where)s", name=staff or "?", where=where)
        return _(
            "%(name)s, %(unit)s, saw your name in %(where)s",
            name=staff or "?",
            unit=unit,
            where=where,
        )
    if action in (
        UsageAction.STAFF_VIEWED_PERSON,
        UsageAction.STAFF_VIEWED_THREAD,
        UsageAction.STAFF_VIEWED_APPOINTMENTS,
    ):
        what = {
            UsageAction.STAFF_VIEWED_PERSON: _("your planned visits")
            if entry.object_type == "series"
            else _("your information"),
            UsageAction.STAFF_VIEWED_THREAD: _("a message thread"),
            UsageAction.STAFF_VIEWED_APPOINTMENTS: _("your appointments"),
        }[action]
        return _(
            "%(name)s, %(unit)s, opened %(what)s", name=staff or "?", unit=unit or "?", what=what
        )
    if action is UsageAction.RECORD_SYSTEM_READ:
        system = entry.actor_api_client.name if entry.actor_api_client else "?"
        what = RECORD_SYSTEM_READS.get(entry.object_type or "", _("your information"))
        return _("The record system %(system)s read %(what)s", system=system, what=what)
    if action is UsageAction.MESSAGE_SENT:
        return _("%(name)s sent a message on your behalf", name=who)
    if action is UsageAction.THREAD_READ:
        return _("%(name)s read a message thread on your behalf", name=who)
    if action is UsageAction.APPOINTMENT_CANCELLED:
        return _("%(name)s cancelled appointments on your behalf", name=who)
    if action is UsageAction.FULLMAKT_GIVEN:
        if you:
            return _("You gave a fullmakt to %(grantee)s", grantee=entry.detail or "?")
        return _(
            "%(name)s registered a fullmakt for %(grantee)s", name=who, grantee=entry.detail or "?"
        )
    if action is UsageAction.FULLMAKT_ENDED:
        return _(
            "The fullmakt to %(grantee)s was ended by %(name)s",
            grantee=entry.detail or "?",
            name=_("you") if you else who,
        )
    if action is UsageAction.FULLMAKT_CHANGED:
        return _("You changed the fullmakt to %(grantee)s", grantee=entry.detail or "?")
    if action is UsageAction.FULLMAKT_REGISTERED:
        return _(
            "%(name)s registered a fullmakt for %(grantee)s. It takes effect only when a "
            "second person approves it.",
            name=who,
            grantee=entry.detail or "?",
        )
    if action is UsageAction.FULLMAKT_APPROVED:
        return _(
            "%(name)s approved the fullmakt for %(grantee)s. It is in force from now.",
            name=who,
            grantee=entry.detail or "?",
        )
    if action is UsageAction.FULLMAKT_REJECTED:
        return _(
            "%(name)s rejected the fullmakt registered for %(grantee)s. It never took effect.",
            name=who,
            grantee=entry.detail or "?",
        )
    if action is UsageAction.REGISTER_SEARCHED:
        if entry.detail:
            return _(
                "You searched for a person to give a fullmakt to, and found %(name)s",
                name=entry.detail,
            )
        return _("You searched for a person to give a fullmakt to, and found nobody")
    if action is UsageAction.SETTINGS_CHANGED:
        if you:
            return _("You changed your contact information and notices")
        return _("%(name)s changed your contact information and notices", name=who)
    if action is UsageAction.NOTICE_SENT:
        channel = {"sms": _("text message"), "email": _("e-mail")}.get(entry.detail or "", "")
        if you:
            return _("A notice was sent to you (%(channel)s)", channel=channel)
        return _("A notice was sent to %(name)s (%(channel)s)", name=who, channel=channel)
    return str(action)
