"""Page benchmark (docs/quality.md P1, P2): every list page at 1 % and at full scale, in one run.

Both databases are loaded with bench/scale.py, then each round asks every page of both, in
turn, so the machine's mood is shared between them. Server time only: requests go through
the app in this process (Flask's test client), logged in as unit 1's people, whose pages
hold the same amount at every scale while the tables grow around them.

    python -m bench.pages [--full 1.0] [--rounds 7] [--requests 50]

On PostgreSQL when DATABASE_URL names a server (each scale gets its own fresh database).
Prints each page's p95 at both scales, the ratio and the most statements a request sent,
and writes bench/results/pages-<database>.md.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import (
    Appointment,
    Municipality,
    Person,
    StaffAccount,
    StaffRole,
    StaffRoleKind,
    Thread,
    Unit,
)
from app.services.sessions import session_start
from bench import stamp
from bench.scale import generate
from tests.databases import migrated_app, postgres_url, scratch_database

RESULTS = Path(__file__).parent / "results"
P95_MAX_MS = 50.0
RATIO_MAX = 1.3
STATEMENTS_MAX = 8
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class Scaled:
    """One database at one scale, with the people whose pages are asked for."""

    scale: float
    app: Flask
    rows: dict[str, int]
    engine: sa.Engine | None = None
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)


def _percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def _client(app: Flask, **who: object) -> FlaskClient:
    """A test client holding a fresh server-side session for a resident or staff member."""
    login, token = session_start(db.session, now=datetime.now(UTC), **who)
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = token
        flask_session["_fresh"] = True
    return client


def _people(scaled: Scaled) -> None:
    """Unit 1 of Storby: its first resident, message coordinator, a nurse and the leader."""
    s = db.session
    storby = s.scalar(sa.select(Municipality.id).where(Municipality.number == "9901"))
    unit = s.scalar(sa.select(sa.func.min(Unit.id)).where(Unit.municipality_id == storby))
    resident = s.get(
        Person,
        s.scalar(sa.select(sa.func.min(Person.id)).where(Person.municipality_id == storby)),
    )

    def staff(role: StaffRoleKind) -> StaffAccount:
        staff_id = s.scalar(
            sa.select(sa.func.min(StaffRole.staff_id)).where(
                StaffRole.unit_id == unit, StaffRole.role == role
            )
        )
        return s.get(StaffAccount, staff_id)

    thread = s.scalar(sa.select(sa.func.max(Thread.id)).where(Thread.person_id == resident.id))
    nurse = staff(StaffRoleKind.EMPLOYEE)
    scaled.clients = {
        "resident": _client(
            scaled.app, person=resident, auth_method="oidc", acr="idporten-loa-high"
        ),
        "coordinator": _client(
            scaled.app,
            staff=staff(StaffRoleKind.MESSAGE_COORDINATOR),
            auth_method="password",
            active_unit_id=unit,
        ),
        "nurse": _client(scaled.app, staff=nurse, auth_method="password", active_unit_id=unit),
        "leader": _client(
            scaled.app,
            staff=staff(StaffRoleKind.LEADER),
            auth_method="password",
            active_unit_id=unit,
        ),
    }
    visits = s.scalar(sa.select(sa.func.count()).where(Appointment.employee_staff_id == nurse.id))
    assert visits, "the nurse has visits"
    scaled.paths = {"thread": f"/messages/{thread}", "staff_thread": f"/staff/threads/{thread}"}


# (name, who asks, path); {thread} and {staff_thread} come from the scale's people.
PAGES = [
    ("Innboks (inbox)", "resident", "/messages"),
    ("Samtale (thread)", "resident", "{thread}"),
    ("Timeavtaler, liste", "resident", "/appointments"),
    ("Timeavtaler, måned", "resident", "/appointments?view=month"),
    ("Logg over bruk", "resident", "/profile/log"),
    ("Meldingskø (staff queue)", "coordinator", "/staff/"),
    ("Samtale, ansatt", "coordinator", "{staff_thread}"),
    ("Alle tråder", "coordinator", "/staff/threads"),
    ("Mine besøk i dag (worklist)", "nurse", "/staff/visits"),
    ("Planlegging", "coordinator", "/staff/planning"),
    ("Oversikt", "leader", "/staff/oversikt"),
]


class Statements:
    """The most statements one request sent (docs/quality.md P2)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        # Transaction control is not a query (as tests/support.py's StatementCounter counts).
        if not statement.lstrip().upper().startswith(CONTROL):
            self.count += 1


@contextmanager
def scaled_database(scale: float, tmp: Path) -> Iterator[Scaled]:
    prefix = f"hd_bench_{str(scale).replace('.', '_')}"
    with scratch_database(tmp, prefix=prefix) as uri, migrated_app(uri, tmp) as app:
        # Requests must run outside this context: one pushed around them would be reused
        # by each, and with it `g`, where the log-in of the previous request is cached.
        with app.app_context():
            started = time.perf_counter()
            rows = generate(db.engine, scale)
            print(
                f"scale {scale:g}: {rows['person']} residents, {rows['thread']} threads, "
                f"{rows['message']} messages, {rows['appointment']} appointments "
                f"loaded in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            scaled = Scaled(scale, app, rows, engine=db.engine)
            _people(scaled)
            db.session.remove()
        yield scaled


def measure(databases: list[Scaled], rounds: int, requests: int) -> dict:
    """Each page's ms per round and scale, and the most statements a request sent; every
    round asks both scales in turn."""
    samples: dict[str, dict[float, list[list[float]]]] = {}
    statements: dict[str, dict[float, int]] = {}
    for _ in range(rounds):
        for scaled in databases:
            counter = Statements(scaled.engine)
            for name, who, path in PAGES:
                url = path.format(**scaled.paths)
                client = scaled.clients[who]
                client.get(url)  # warm: templates compiled, caches filled
                gc.collect()  # no collection left over from the page before
                times = samples.setdefault(name, {}).setdefault(scaled.scale, [])
                times.append([])
                for _ in range(requests):
                    counter.count = 0
                    started = time.perf_counter()
                    response = client.get(url)
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        raise RuntimeError(f"{url} answered {response.status_code}")
                    times[-1].append(elapsed)
                    most = statements.setdefault(name, {})
                    most[scaled.scale] = max(most.get(scaled.scale, 0), counter.count)
            sa.event.remove(scaled.engine, "before_cursor_execute", counter._one)
    return {"samples": samples, "statements": statements}


def report(databases: list[Scaled], result: dict, database: str) -> tuple[str, bool]:
    small, full = databases[0].scale, databases[-1].scale
    lines = [
        f"# Page benchmark ({database})",
        "",
        f"Scale {small:g}: {databases[0].rows['person']} residents, "
        f"{databases[0].rows['appointment']} appointments; scale {full:g}: "
        f"{databases[-1].rows['person']} residents, {databases[-1].rows['thread']} threads, "
        f"{databases[-1].rows['message']} messages, {databases[-1].rows['appointment']} "
        "appointments. Server time in ms, in one run: p50 over every request, p95 the median "
        "of each round's p95; targets from docs/quality.md.",
        "",
        *stamp(),
        "",
        f"| page | p50 {small:g} | p95 {small:g} | p50 {full:g} | p95 {full:g} | ratio of p95 "
        f"(≤ {RATIO_MAX}) | p95 < {P95_MAX_MS:g} ms | statements (≤ {STATEMENTS_MAX}) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    passed = True
    for name, _who, _path in PAGES:
        by_scale = result["samples"][name]
        p50s = {s: statistics.median([t for r in v for t in r]) for s, v in by_scale.items()}
        p95s = {s: statistics.median(_percentile(r, 95) for r in v) for s, v in by_scale.items()}
        ratio = p95s[full] / p95s[small]
        most = max(result["statements"][name].values())
        ok_ratio = ratio <= RATIO_MAX
        ok_p95 = p95s[full] < P95_MAX_MS
        ok_statements = most <= STATEMENTS_MAX
        passed &= ok_ratio and ok_p95 and ok_statements
        lines.append(
            f"| {name} | {p50s[small]:.1f} | {p95s[small]:.1f} | {p50s[full]:.1f} | "
            f"{p95s[full]:.1f} | {ratio:.2f} {'PASS' if ok_ratio else 'FAIL'} | "
            f"{'PASS' if ok_p95 else 'FAIL'} | {most} {'PASS' if ok_statements else 'FAIL'} |"
        )
    return "\n".join(lines) + "\n", passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=float, default=0.01)
    parser.add_argument("--full", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    database = "PostgreSQL" if postgres_url() else "SQLite"
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        databases = [
            stack.enter_context(scaled_database(scale, Path(tmp)))
            for scale in (args.small, args.full)
        ]
        result = measure(databases, args.rounds, args.requests)
    text, passed = report(databases, result, database)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"pages-{database.lower()}.md").write_text(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
