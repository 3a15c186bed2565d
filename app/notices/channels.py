"""Where notices go: e-mail through SMTP, SMS through an HTTP provider, or the development sink.

Each channel answers with an outcome: delivered (with the provider's id), a temporary
failure (try again later) or a permanent one (do not try again).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import Protocol

import requests
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.models import DevOutboxMessage, NoticeChannel
from app.notices.texts import NoticeText

log = logging.getLogger("hjemmedialog.notices")


@dataclass(frozen=True)
class Delivered:
    provider_id: str


@dataclass(frozen=True)
class Temporary:
    error: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Permanent:
    error: str


Outcome = Delivered | Temporary | Permanent


class Addressed(Protocol):
    """The part of a notice a channel needs."""

    id: int
    channel: NoticeChannel
    address: str
    language: str


class Channel(Protocol):
    def send(self, notice: Addressed, text: NoticeText) -> Outcome: ...

    def close(self) -> None: ...


def message_id(notice: Addressed, sender: str) -> str:
    """Stable per notice: a repeat after a crash is recognisable as the same message."""
    return f"<notice-{notice.id}@{_domain(sender)}>"


@functools.lru_cache(maxsize=16)
def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "hjemmedialog.invalid"


class SmtpChannel:
    """E-mail through a real SMTP server: one connection (one connect, TLS and login) serves
    every message of a batch, and the next batches, until the server drops it or a send
    fails; smtplib sends each message as its own MAIL/RCPT/DATA transaction on it."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        sender: str,
        timeout: float = 10,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError("SMTP_SECURITY must be none, starttls or tls")
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.sender, self.timeout = sender, timeout
        self._from = formataddr(parseaddr(sender), "utf-8")  # a display name may be non-ASCII
        self._envelope_from = parseaddr(sender)[1]
        self._parts: dict[tuple[str | None, str, str], bytes] = {}
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            context = ssl.create_default_context()
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            self._smtp = smtp
        return self._smtp

    def send(self, notice: Addressed, text: NoticeText) -> Outcome:
        try:
            refused = self._send(notice, text)
        except smtplib.SMTPRecipientsRefused as error:
            code, answer = min(error.recipients.values())
            return _by_code(code, answer.decode(errors="replace"))
        except smtplib.SMTPResponseException as error:
            self.close()
            return _by_code(error.smtp_code, error.smtp_error.decode(errors="replace"))
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            self.close()  # connection trouble: try again later
            return Temporary(f"{type(error).__name__}: {error}")
        if refused:
            return Permanent(str(refused))
        return Delivered(message_id(notice, self.sender))

    def _send(self, notice: Addressed, text: NoticeText) -> dict:
        reused = self._smtp is not None
        try:
            return self._transaction(notice, text)
        except (smtplib.SMTPServerDisconnected, ConnectionError) as error:
            if not reused:
                raise
            dropped = error
        except smtplib.SMTPResponseException as error:
            if not reused or error.smtp_code != 421:  # 421: the server is closing the connection
                raise
            dropped = error
        # The server dropped a connection that had served earlier messages (an idle timeout,
        # a restart, a limit per connection). This message got no 250 for its data, so it
        # was not accepted: send it once more on a new connection. (A reply lost after the
        # server took the data makes a repeat with the same Message-ID, as after a crash.)
        log.info("SMTP connection dropped (%s); reconnecting", dropped)
        self.close()
        return self._transaction(notice, text)

    def _transaction(self, notice: Addressed, text: NoticeText) -> dict:
        smtp = self._connect()
        to = notice.address
        if not to.isascii() or "\r" in to or "\n" in to:
            # An international address: the email package picks SMTPUTF8 and encodes it.
            return smtp.send_message(self._email(notice, text))
        head = (
            f"To: {to}\r\n"
            f"Date: {formatdate(localtime=False)}\r\n"
            f"Message-ID: {message_id(notice, self.sender)}\r\n"
            f"X-Hjemmedialog-Notice: {notice.id}\r\n"
        )
        return smtp.sendmail(self._envelope_from, [to], head.encode() + self._part(notice, text))

    def _email(self, notice: Addressed, text: NoticeText) -> MIMEText:
        email = self._shared(text, notice.language)
        email["To"] = notice.address
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message_id(notice, self.sender)
        email["X-Hjemmedialog-Notice"] = str(notice.id)
        return email

    def _shared(self, text: NoticeText, language: str) -> MIMEText:
        """The headers and body every notice with this text has."""
        # compat32 MIMEText: the same message as EmailMessage, ten times cheaper to build.
        email = MIMEText(text.body, "plain", "utf-8")
        email["From"] = self._from
        email["Subject"] = Header(text.subject or "", "utf-8")
        email["Content-Language"] = language
        email["Auto-Submitted"] = "auto-generated"
        return email

    def _part(self, notice: Addressed, text: NoticeText) -> bytes:
        """The shared part as sent, built once per text: building and flattening a message
        took most of the worker's time per e-mail."""
        key = (text.subject, text.body, notice.language)
        part = self._parts.get(key)
        if part is None:
            if len(self._parts) >= 256:
                self._parts.clear()
            out = io.BytesIO()
            BytesGenerator(out).flatten(self._shared(text, notice.language), linesep="\r\n")
            part = self._parts[key] = out.getvalue()
        return part

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp.close()  # quit() leaves the socket open when the server is gone
            self._smtp = None


def _by_code(code: int, error: str) -> Outcome:
    return Permanent(f"{code} {error}") if 500 <= code < 600 else Temporary(f"{code} {error}")


class SmsHttpChannel:
    """SMS through a provider's HTTP API, with the notice id as its idempotency key."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 10) -> None:
        self.url, self.token, self.timeout = url, token, timeout
        self._http = requests.Session()

    def send(self, notice: Addressed, text: NoticeText) -> Outcome:
        headers = {"Idempotency-Key": f"notice-{notice.id}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._http.post(
                self.url,
                json={"to": notice.address, "text": text.body, "reference": str(notice.id)},
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            return Temporary(f"{type(error).__name__}: {error}")
        if response.ok:
            try:
                provider_id = str(response.json().get("id") or f"notice-{notice.id}")
            except ValueError:
                provider_id = f"notice-{notice.id}"
            return Delivered(provider_id)
        error = f"{response.status_code} {response.text[:200]}"
        if response.status_code == 429 or response.status_code >= 500:
            retry = response.headers.get("Retry-After")
            return Temporary(error, float(retry) if retry and retry.isdigit() else None)
        return Permanent(error)

    def close(self) -> None:
        self._http.close()


class DevSinkChannel:
    """Development only: keeps what would be sent, shown at /dev/outbox."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def send(self, notice: Addressed, text: NoticeText) -> Outcome:
        row = DevOutboxMessage(
            notice_id=notice.id,
            channel=notice.channel,
            address=notice.address,
            subject=text.subject,
            body=text.body,
            created_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return Delivered(f"dev-{row.id}")

    def close(self) -> None:
        pass
