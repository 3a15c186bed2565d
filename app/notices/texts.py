"""The words of a notice, in the recipient's language, never with health content.

A notice says that something has happened and asks the reader to log in; it never names
a service, a diagnosis or what a message says (docs/product.md 4.6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _

from app.clock import OSLO
from app.config import LANGUAGES
from app.models import NoticeChannel, NoticeEvent


@dataclass(frozen=True)
class NoticeText:
    subject: str | None  # e-mail only
    body: str


def notice_text(
    *,
    event: NoticeEvent,
    channel: NoticeChannel,
    language: str,
    sender: str,
    for_someone_else: bool,
    completed_at: datetime | None = None,
) -> NoticeText:
    with force_locale(language if language in LANGUAGES else LANGUAGES[0]):
        if event is NoticeEvent.NEW_MESSAGE:
            subject = _("New message from %(sender)s", sender=sender)
            if for_someone_else:
                body = _(
                    "Someone you represent has received a new message from %(sender)s. "
                    "Log in to read the message.",
                    sender=sender,
                )
            else:
                body = _(
                    "You have received a new message from %(sender)s. Log in to read the message.",
                    sender=sender,
                )
        elif event is NoticeEvent.NEW_FULLMAKT:
            subject = _("New fullmakt registered by %(sender)s", sender=sender)
            if for_someone_else:
                body = _(
                    "%(sender)s has registered a fullmakt that lets another person act on "
                    "behalf of someone you represent in Hjemmedialog. If it is wrong, "
                    "contact %(sender)s.",
                    sender=sender,
                )
            else:
                body = _(
                    "%(sender)s has registered a fullmakt that lets another person act on "
                    "your behalf in Hjemmedialog. Log in to see it. If it is wrong, "
                    "contact %(sender)s.",
                    sender=sender,
                )
        else:
            at = completed_at.astimezone(OSLO).strftime("%H:%M") if completed_at else ""
            subject = _("A home visit is done")
            if for_someone_else:
                body = _(
                    "A home visit from %(sender)s to someone you represent was registered as "
                    "done at %(time)s. Log in to see the appointments.",
                    sender=sender,
                    time=at,
                )
            else:
                body = _(
                    "A home visit from %(sender)s was registered as done at %(time)s. "
                    "Log in to see your appointments.",
                    sender=sender,
                    time=at,
                )
        if channel is NoticeChannel.SMS:
            return NoticeText(None, body + " " + _("This text message cannot be answered."))
        return NoticeText(
            subject,
            body + "\n\n" + _("This e-mail cannot be answered.") + "\n\n" + _("Hjemmedialog"),
        )
