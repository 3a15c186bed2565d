"""Helpers for tests that act as a logged-in user."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.models import LoginSession, Person, StaffAccount
from app.security.access import load_representations
from app.security.actor import Actor
from app.services.sessions import session_by_token, session_start
from tests.factories import TERMS


def actor_for(
    db: Session,
    who: Person | StaffAccount,
    *,
    acting_for: Person | None = None,
    unit_id: int | None = None,
) -> Actor:
    """An Actor for calling services directly, loaded as a request would load it."""
    now = utcnow()
    if isinstance(who, Person):
        login, token = session_start(db, now=now, person=who, auth_method="oidc")
        if acting_for is not None:
            login.acting_for_person_id = acting_for.id
    else:
        units = sorted({r.unit_id for r in who.roles if r.unit_id is not None})
        login, token = session_start(
            db,
            now=now,
            staff=who,
            auth_method="password",
            active_unit_id=unit_id or (units[0] if units else None),
        )
    db.flush()
    login, active, others = db.execute(session_by_token(token, TERMS, now)).unique().one()
    actor = Actor(login, token, digitally_active=active, acts_for_others=others)
    if isinstance(who, Person):
        actor.__dict__["representations"] = load_representations(db, who, now)
    return actor


class LoginHelper:
    """Log the test client in as a resident or a staff member, without the log-in pages."""

    def __init__(self, client: FlaskClient, db: Session) -> None:
        self.client = client
        self.db = db

    def _attach(self, token: str) -> None:
        with self.client.session_transaction() as flask_session:
            flask_session.clear()
            flask_session["_user_id"] = token
            flask_session["_fresh"] = True

    def resident(self, person: Person, *, acting_for: Person | None = None) -> LoginSession:
        login, token = session_start(
            self.db, now=utcnow(), person=person, auth_method="oidc", acr="idporten-loa-high"
        )
        if acting_for is not None:
            login.acting_for_person_id = acting_for.id
        self.db.flush()
        self._attach(token)
        return login

    def staff(self, account: StaffAccount, *, unit_id: int | None = None) -> LoginSession:
        units = sorted({r.unit_id for r in account.roles if r.unit_id is not None})
        if unit_id is None and units:
            unit_id = units[0]
        login, token = session_start(
            self.db, now=utcnow(), staff=account, auth_method="password", active_unit_id=unit_id
        )
        self._attach(token)
        return login


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """A CSRF token for the client's session, read from a page's hidden field."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class StatementCounter:
    """Counts SQL statements sent to the database while active (docs/quality.md P2)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        from sqlalchemy import event

        self.statements.clear()
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def count(self) -> int:
        return len(self.statements)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def gunicorn(
    env: dict[str, str], port: int, log: Path, *, workers: int = 2, threads: int = 4
) -> Iterator[subprocess.Popen]:
    """The app under gunicorn on 127.0.0.1:port with `env`, as `make run` serves it, until the
    block ends; it has answered /healthz before the block begins (else: its log, raised)."""
    out = log.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "app:create_app()",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )

    def answering() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return process.poll() is not None  # stop waiting: it has exited

    try:
        if not wait_for(answering, 30, 0.2) or process.poll() is not None:
            raise RuntimeError(log.read_text())
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()


def scalar_at(database_url: str, statement: str | sa.TextClause, **params: object) -> object:
    """One value read from a database that another process serves (its own short engine)."""
    engine = sa.create_engine(database_url)
    clause = statement if isinstance(statement, sa.TextClause) else sa.text(statement)
    try:
        with engine.connect() as conn:
            return conn.execute(clause, params).scalar()
    finally:
        engine.dispose()


class RecordSystem:
    """A record system as the API sees it: its own key pair, a registered client, and the
    signed assertions and tokens of OAuth 2.0 client credentials with private_key_jwt."""

    def __init__(self, client_id: str | None = None, *, alg: str = "ES384") -> None:
        from joserfc.jwk import ECKey, RSAKey

        self.alg = alg
        if alg.startswith("ES"):
            curve = {"ES256": "P-256", "ES384": "P-384"}[alg]
            self.key = ECKey.generate_key(curve, parameters={"alg": alg}, auto_kid=True)
        else:
            self.key = RSAKey.generate_key(2048, parameters={"alg": alg}, auto_kid=True)
        self.client_id = client_id

    @property
    def public_jwks(self) -> dict:
        from joserfc.jwk import KeySet

        return KeySet([self.key]).as_dict(private=False)

    def assertion(
        self,
        token_url: str,
        *,
        jti: str | None = None,
        lifetime: int = 60,
        now: float | None = None,
        **claims: object,
    ) -> str:
        import uuid

        from joserfc import jwt

        issued = int(now if now is not None else time.time())
        body = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "iat": issued,
            "exp": issued + lifetime,
            "jti": jti or uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(
            {"alg": self.alg, "kid": self.key.kid}, body, self.key, algorithms=[self.alg]
        )

    def token_form(self, token_url: str, *, scope: str | None = None, **claims: object) -> dict:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(token_url, **claims),
        }
        if scope is not None:
            form["scope"] = scope
        return form

    def dpop_proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        key=None,
        header: dict | None = None,
        **claims: object,
    ) -> str:
        """A DPoP proof (RFC 9449) of this system's DPoP key (made on first use) for one
        request; `claims` and `header` change or add to what a correct proof has."""
        import base64
        import hashlib
        import uuid

        from joserfc import jwt
        from joserfc.jwk import ECKey

        if getattr(self, "dpop_key", None) is None:
            self.dpop_key = ECKey.generate_key("P-256")
        signer = key or self.dpop_key
        body: dict[str, object] = {
            "jti": uuid.uuid4().hex,
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()
            body["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        body.update(claims)
        fields = {"typ": "dpop+jwt", "alg": "ES256", "jwk": signer.as_dict(private=False)}
        fields.update(header or {})
        return jwt.encode(fields, {k: v for k, v in body.items() if v is not None}, signer)

    def token(self, client: FlaskClient, *, scope: str | None = None) -> str:
        """An access token from the app's token endpoint (Flask's test client)."""
        response = client.post("/oauth/token", data=self.token_form(API_TOKEN_URL, scope=scope))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["access_token"]


# The test client's host: the token endpoint and the FHIR base as the app names them.
API_TOKEN_URL = "http://localhost/oauth/token"
FHIR_BASE = "http://localhost/fhir/R4"


def fhir_validated(document: dict):
    """The resource as the `fhir.resources` model of its type (R4B, whose Patient,
    Appointment, Communication, Subscription, Bundle and OperationOutcome are R4's); a
    resource that breaks the specification fails the test here."""
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class(document["resourceType"])
    resource = model.model_validate(document)
    if document["resourceType"] == "Bundle":
        for entry in document.get("entry", []):
            fhir_validated(entry["resource"])
    return resource
