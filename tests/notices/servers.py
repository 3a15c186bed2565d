"""Local stand-ins for the providers: a real SMTP server (aiosmtpd) and an SMS HTTP API.

Both count what arrives by notice id. The SMS server honours the idempotency key as a
provider does: a repeat returns the first id and is not delivered again. The SMTP server
takes every message it gets; repeats (same Message-ID) are counted separately.
"""

from __future__ import annotations

import asyncio
import email
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol

from tests.support import free_port


@dataclass
class Received:
    notice_id: int
    to: str
    subject: str | None
    body: str
    message_id: str | None = None
    language: str | None = None
    at: float = field(default_factory=time.monotonic)  # when it arrived


class ReceivedEmail:
    """An e-mail as it arrived; headers read at once, the rest parsed when a test asks."""

    def __init__(self, raw: bytes, to: str, peer: object = None) -> None:
        self.at = time.monotonic()
        self.raw, self.to, self.peer = raw, to, peer
        headers = _HEADERS.parsebytes(raw, headersonly=True)
        self.notice_id = int(headers["X-Hjemmedialog-Notice"])
        self.message_id = headers["Message-ID"]

    @cached_property
    def _parsed(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)

    @property
    def subject(self) -> str | None:
        return self._parsed["Subject"]

    @property
    def body(self) -> str:
        return self._parsed.get_content()

    @property
    def language(self) -> str | None:
        return self._parsed["Content-Language"]


_HEADERS = BytesParser(policy=policy.compat32)


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: records messages and the connections that sent them; can refuse
    recipients, or drop the connection (at the nth MAIL command, or after the nth message
    is accepted), counting MAIL commands and messages from 1."""

    messages: list[ReceivedEmail] = field(default_factory=list)
    refuse_with: str | None = None  # e.g. "550 No such user"
    drop_at_mail: set[int] = field(default_factory=set)  # closed with no answer
    closing_at_mail: set[int] = field(default_factory=set)  # "421 closing", then closed
    drop_after_message: set[int] = field(default_factory=set)  # closed after its 250
    mails: int = 0
    peers: set = field(default_factory=set)  # (host, port) of each connection that sent MAIL
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        with self.lock:
            self.mails += 1
            self.peers.add(session.peer)
            drop = self.mails in self.drop_at_mail
            closing = self.mails in self.closing_at_mail
        if drop:
            server.transport.close()
            return "421 4.3.2 Closing"  # written to a closed transport: the client sees none
        if closing:
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down, closing the connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse_with:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        received = ReceivedEmail(envelope.content, ",".join(envelope.rcpt_tos), session.peer)
        with self.lock:
            self.messages.append(received)
            drop = len(self.messages) in self.drop_after_message
        if drop:  # once the 250 below is written: close() sends what is buffered first
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted"

    def connections(self) -> int:
        """Connections that sent at least one MAIL command."""
        with self.lock:
            return len(self.peers)

    def by_notice(self) -> Counter:
        """Every SMTP transaction, repeats included."""
        with self.lock:
            return Counter(m.notice_id for m in self.messages)

    def in_mailboxes(self) -> Counter:
        """What recipients see: a mailbox keeps one message per Message-ID."""
        with self.lock:
            return Counter(
                n for n, _, _ in {(m.notice_id, m.to, m.message_id) for m in self.messages}
            )

    def total(self) -> int:
        with self.lock:
            return len(self.messages)


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.recorder = SmtpRecorder()
        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, ready_timeout=10
        )

    def start(self) -> SmtpServer:
        SMTPProtocol.line_length_limit = 10_000
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class SmsRecorder:
    deliveries: dict[str, Received] = field(default_factory=dict)  # by idempotency key
    attempts: Counter = field(default_factory=Counter)
    fail_with: list[int] = field(default_factory=list)  # status codes to answer first
    retry_after: str | None = None
    token: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_notice(self) -> Counter:
        """Delivered messages: a repeated idempotency key is not delivered again."""
        with self.lock:
            return Counter(r.notice_id for r in self.deliveries.values())

    def total(self) -> int:
        with self.lock:
            return sum(self.attempts.values())


class SmsServer:
    """An SMS provider's HTTP API: POST JSON {to, text, reference}, answers {id}."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = SmsRecorder()
        recorder = self.recorder

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                with recorder.lock:
                    recorder.attempts[key] += 1
                    if recorder.token and self.headers.get("Authorization") != (
                        f"Bearer {recorder.token}"
                    ):
                        status, answer = 401, {"error": "unauthorized"}
                    elif recorder.fail_with:
                        status, answer = recorder.fail_with.pop(0), {"error": "failure"}
                    else:
                        if key not in recorder.deliveries:
                            recorder.deliveries[key] = Received(
                                notice_id=int(body["reference"]),
                                to=body["to"],
                                subject=None,
                                body=body["text"],
                            )
                        status, answer = 200, {"id": f"sms-{key}"}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                if status == 429 and recorder.retry_after:
                    self.send_header("Retry-After", recorder.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/messages"

    def start(self) -> SmsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Hooked:
    """One call a record system's endpoint received."""

    method: str
    path: str
    event_id: str | None
    headers: dict[str, str]
    body: dict | None


@dataclass
class HookRecorder:
    calls: list[Hooked] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)  # status codes to answer first
    delay: float = 0.0  # seconds each answer takes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Hooked]:
        with self.lock:
            return list(self.calls)

    def events(self) -> set[str]:
        """The distinct events the endpoint took (a repeat has the same X-Event-Id)."""
        with self.lock:
            return {call.event_id for call in self.calls if call.event_id}


class HookReceiver:
    """A record system's rest-hook endpoint: takes PUT <base>/<type>/<id> with a FHIR
    resource and an empty POST to <base>; answers 200, or first the codes in `fail_with`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = HookRecorder()
        recorder = self.recorder

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _take(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length) if length else b""
                call = Hooked(
                    method=self.command,
                    path=self.path,
                    event_id=self.headers.get("X-Event-Id"),
                    headers=dict(self.headers.items()),
                    body=json.loads(raw) if raw else None,
                )
                with recorder.lock:
                    recorder.calls.append(call)
                    status = recorder.fail_with.pop(0) if recorder.fail_with else 200
                time.sleep(recorder.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = _take  # noqa: N815
            do_POST = _take  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/epj/hooks"

    def start(self) -> HookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
