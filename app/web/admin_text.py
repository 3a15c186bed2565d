"""What the administration pages say: audit trail lines and refusals."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import AdminChange, ApiEventKind
from app.services.recipients import HEADER

FIELD_LABELS = {
    "open_for_dialog": _l("Digital dialog"),
    "shows_appointments": _l("Shows appointments"),
    "reply_deadline_working_days": _l("Reply deadline in working days"),
    "notice_sender_name": _l("Sender name in notices"),
    "phone": _l("Phone"),
    "email": _l("E-mail"),
    "address": _l("Address"),
    "opening_hours": _l("Opening hours"),
    "auto_journal": _l("Automatic journaling"),
    "full_name": _l("Full name"),
    "roles": _l("Roles"),
    "active": _l("Can log in"),
    "valid_to": _l("Last day"),
    "unit": _l("Unit"),
}
# Staff account events, said as a whole (no password is ever written down).
EVENTS = {
    "account": _l("%(object)s: account created with username %(after)s"),
    "one_time_password": _l("%(object)s: given a one-time password"),
    "passkey": _l("%(object)s: passkey %(before)s revoked"),
    "receipt": _l("%(object)s: registered as recipient, %(after)s"),
    "api_client": _l("%(object)s: registered as API client with client ID %(after)s"),
    "api_client_revoked": _l("%(object)s: API access revoked"),
}

REFUSALS = {
    "phone": _l("Write a valid phone number, such as 22 33 44 55."),
    "email": _l("Write a valid e-mail address, such as post@kommune.no."),
    "address": _l("The address is too long."),
    "opening_hours": _l("The opening hours are too long."),
    "reply_deadline": _l("The reply deadline is from 1 to 10 working days."),
    "sender_name": _l("Give the sender name."),
}


def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


def change_value(value: str | None) -> str:
    if value is None:
        return _("(empty)")
    if value == "yes":
        return _("Yes")
    if value == "no":
        return _("No")
    return value


def change_text(change: AdminChange) -> str:
    if change.field in EVENTS:
        return str(EVENTS[change.field]) % {
            "object": change.object_name,
            "before": change.before or "",
            "after": change.after or "",
        }
    return _(
        "%(object)s: %(field)s changed from %(before)s to %(after)s",
        object=change.object_name,
        field=field_label(change.field),
        before=change_value(change.before),
        after=change_value(change.after),
    )


def admin_refusal(code: str) -> str:
    return str(REFUSALS.get(code, REFUSALS["sender_name"]))


STAFF_REFUSALS = {
    "not_found": _l("There is no such staff account."),
    "self": _l("You cannot deactivate your own account."),
    "name": _l("Give the full name."),
    "name_long": _l("The name is too long."),
    "username": _l(
        "The username must have from 2 to 64 characters: letters a–z, digits, dot, hyphen "
        "or underscore, starting with a letter or digit."
    ),
    "username_taken": _l("That username is taken. Choose another."),
    "roles": _l("Choose roles in units of your municipality."),
    "no_roles": _l("Choose at least one role."),
    "own_admin_role": _l(
        "You cannot remove your own administrator role. Ask another administrator to do it."
    ),
    "own_password": _l(
        "Change your own password yourself; you cannot give yourself a one-time password."
    ),
    "password_short": _l("The password must have from 12 to 200 characters."),
    "password_long": _l("The password must have from 12 to 200 characters."),
    "password_username": _l("The password cannot be the username."),
    "password_same": _l("Choose a password other than the one-time password."),
}
STAFF_REFUSAL_FIELDS = {
    "name": "full_name",
    "name_long": "full_name",
    "username": "username",
    "username_taken": "username",
    "roles": "roles",
    "no_roles": "roles",
    "own_admin_role": "roles",
    "password_short": "password",
    "password_long": "password",
    "password_username": "password",
    "password_same": "password",
}


def staff_refusal(code: str) -> str:
    return str(STAFF_REFUSALS.get(code, STAFF_REFUSALS["not_found"]))


RECIPIENT_REFUSALS = {
    "not_found": _l("There is no such registration."),
    "unit": _l("Choose a service of your municipality."),
    "fodselsnummer": _l("The fødselsnummer is not valid. Check the 11 digits."),
    "names": _l("This person is not yet known here: give the given name and the family name."),
    "name_long": _l("The name is too long."),
    "period": _l("The last day cannot be before the first day."),
    "end_before_start": _l("The last day cannot be before the first day."),
    "overlap": _l("The person already receives this service in part of that period."),
}
RECIPIENT_REFUSAL_FIELDS = {
    "unit": "unit",
    "fodselsnummer": "fodselsnummer",
    "names": "given_name",
    "name_long": "given_name",
    "period": "valid_to",
    "end_before_start": "last_day",
}
# What is wrong with one line of an import file.
LINE_PROBLEMS = {
    "columns": _l("it must have 6 columns"),
    "fodselsnummer": _l("the fødselsnummer is not valid"),
    "names": _l("the person is not yet known: give %(names)s"),
    "name_long": _l("a name is too long"),
    "service": _l("there is no such service or unit"),
    "service_units": _l("the service has several units: write the unit instead"),
    "from": _l("%(start)s must be a date such as 2026-05-17 or 17.05.2026"),
    "to": _l("%(end)s must be empty or a date such as 2026-05-17 or 17.05.2026"),
    "period": _l("%(end)s is before %(start)s"),
    "overlap": _l("the person already receives this service in part of that period"),
}
# Why a whole import file is refused.
FILE_PROBLEMS = {
    "missing": _l("Choose a CSV file."),
    "too_large": _l("The file is larger than 1 MB. Split it into smaller files."),
    "too_many_rows": _l("The file has more than 10,000 lines. Split it into smaller files."),
    "encoding": _l("The file is not UTF-8 text. Save it as CSV UTF-8 and try again."),
    "unreadable": _l("The file could not be read as CSV. Save it as CSV UTF-8 and try again."),
    "header": _l("The first line must be the header: %(header)s."),
    "empty": _l("The file has no lines after the header."),
}


def recipient_refusal(code: str) -> str:
    return str(RECIPIENT_REFUSALS.get(code, RECIPIENT_REFUSALS["not_found"]))


# The file's column names are the same in every language.
COLUMNS = {"names": "fornavn, etternavn", "start": "fra", "end": "til", "header": ", ".join(HEADER)}


def line_problems(codes: list[str]) -> str:
    return "; ".join(str(LINE_PROBLEMS[code]) % COLUMNS for code in codes)


def file_problem(code: str) -> str:
    return str(FILE_PROBLEMS[code]) % COLUMNS


API_CLIENT_REFUSALS = {
    "name": _l("Give the name of the system."),
    "provider": _l("The provider's name is too long."),
    "keys": _l(
        "The public key could not be read. Paste a JSON Web Key or Key Set with public RSA or "
        "EC keys, without the private parts."
    ),
    "scopes": _l("Choose at least one kind of access."),
}
# The form field each refusal belongs to.
API_CLIENT_REFUSAL_FIELDS = {
    "name": "name",
    "provider": "provider",
    "keys": "jwks",
    "scopes": "scopes",
}


# The kinds of access an API client can be given (docs/api.md), as SMART system scopes.
API_ACCESS = (
    ("system/Patient.rs", _l("Find and read service recipients (Patient)")),
    ("system/Appointment.crus", _l("Publish and change visits (Appointment)")),
    ("system/Communication.crus", _l("Read and journal messages, and reply (Communication)")),
    ("system/Subscription.cruds", _l("Receive events (Subscription)")),
)


def api_client_access(scopes: str) -> list[str]:
    """What a client may do, in the administrator's words (from its registered scopes)."""
    granted = set(scopes.split())
    return [str(label) for scope, label in API_ACCESS if scope in granted]


def api_client_key_ids(jwks: str) -> list[str]:
    """The ids of a client's registered keys (as the system names them in its assertions)."""
    try:
        return [str(key.get("kid", "?")) for key in json.loads(jwks).get("keys", [])]
    except (ValueError, AttributeError):
        return []


# What a record system's subscription is told of, in the administrator's words.
API_EVENT_KINDS = {
    ApiEventKind.APPOINTMENT_CANCELLED: _l("Cancelled visits"),
    ApiEventKind.APPOINTMENT_FULFILLED: _l("Visits registered as done"),
    ApiEventKind.MESSAGE_FROM_RESIDENT: _l("New messages from residents and relatives"),
}


def api_event_kind(kind: ApiEventKind) -> str:
    return str(API_EVENT_KINDS[kind])
