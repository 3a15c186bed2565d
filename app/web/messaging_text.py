"""What users are told when the messaging service refuses something."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.services.messaging import BODY_MAX, SUBJECT_MAX
from app.web.forms import DAMAGED_FORM

REFUSALS = {
    "service_not_open": _l(
        "You cannot write to that service here. Choose one of the services in the list."
    ),
    "subject_empty": _l("Write a subject."),
    "subject_invisible": _l(
        "The subject has only invisible characters, such as spaces. Write a subject."
    ),
    "subject_too_long": _l("The subject can be at most %(max)d characters.", max=SUBJECT_MAX),
    "body_empty": _l("Write a message."),
    "body_invisible": _l(
        "The message has only invisible characters, such as spaces. Write a message."
    ),
    "body_too_long": _l("The message can be at most %(max)d characters.", max=BODY_MAX),
    "thread_closed": _l("This conversation is closed. Write a new message instead."),
    "next_answer_in_past": _l("The time of the next answer must be in the future."),
    "unknown_colleague": _l("Choose a colleague from the list."),
    "unknown_unit": _l("Choose a unit from the list."),
    "recipient_empty": _l("Write whom the enquiry was passed on to."),
    "recipient_invisible": _l("Write whom the enquiry was passed on to."),
    "recipient_too_long": _l("Shorten the name of whom it was passed on to."),
    "note_too_long": _l("The internal note is too long."),
    "unknown_person": _l("Choose a recipient from the list."),
    "submission_key_invalid": DAMAGED_FORM,
    "not_digitally_active": _l(
        "This person has not started using Hjemmedialog and cannot read messages here yet."
    ),
}


def refusal(code: str) -> str:
    return str(REFUSALS.get(code, REFUSALS["service_not_open"]))
