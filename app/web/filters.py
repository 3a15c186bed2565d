"""Template filters and globals for display: phone numbers, fødselsnummer, role names."""

from __future__ import annotations

import phonenumbers
from flask import Flask
from flask_babel import lazy_gettext as _l
from stdnum.no import fodselsnummer

from app.models import StaffRoleKind

ROLE_LABELS = {
    StaffRoleKind.MESSAGE_COORDINATOR: _l("message coordinator"),
    StaffRoleKind.EMPLOYEE: _l("staff member"),
    StaffRoleKind.LEADER: _l("manager"),
    StaffRoleKind.MUNICIPAL_ADMIN: _l("municipal administrator"),
}


def phone(value: str | None) -> str:
    """A stored E.164 number as Norwegians write it (national format)."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "NO")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def fnr(value: str) -> str:
    return fodselsnummer.format(value)


def role_label(role: StaffRoleKind) -> str:
    return str(ROLE_LABELS[role])


def init_app(app: Flask) -> None:
    app.add_template_filter(phone)
    app.add_template_filter(fnr)
    app.add_template_global(role_label)
