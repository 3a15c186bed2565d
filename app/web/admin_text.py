"""What the administration pages say: audit trail lines and refusals."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import AdminChange

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
    return _(
        "%(object)s: %(field)s changed from %(before)s to %(after)s",
        object=change.object_name,
        field=field_label(change.field),
        before=change_value(change.before),
        after=change_value(change.after),
    )


def admin_refusal(code: str) -> str:
    return str(REFUSALS.get(code, REFUSALS["sender_name"]))
