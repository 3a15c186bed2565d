"""The scale data: a municipality the size of the national target (docs/quality.md P1), bulk loaded.

At scale 1.0: 20 000 residents in 100 home-nursing units of 200 each; per resident 10 threads of
5 messages (200 000 threads, 1 000 000 messages), one visit a day for 250 days (5 000 000
appointments, 200 a day per unit) and 20 usage-log entries. Scale 0.01 is one unit of 200.
Every unit looks alike, so a page of unit 1 or of its first resident shows the same amount at
every scale while the tables around it grow: what P1 compares.

    python -m bench.scale --scale 0.01 [DATABASE_URL]

SQLite takes rows through SQLAlchemy Core in batches; PostgreSQL through COPY. Ids are given
here (PostgreSQL sequences are moved past them afterwards), so no row needs a round trip.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import sqlalchemy as sa
from stdnum.no import fodselsnummer

from app.clock import OSLO

RESIDENTS_PER_UNIT = 200
NURSES_PER_UNIT = 10  # 20 visits a day each
RESIDENTS_FULL = 20_000
THREADS_PER_RESIDENT = 10
MESSAGES_PER_THREAD = 5
DAYS_BACK, DAYS_AHEAD = 120, 130  # one visit a day: 250 per resident
LOG_PER_RESIDENT = 20
TERMS = "2026-1"
BATCH = 20_000

GIVEN = ["Kari", "Ola", "Ingrid", "Per", "Anne", "Nils", "Solveig", "Arne", "Astrid", "Knut"]
FAMILY = ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg"]
SUBJECTS = ["Ny resept", "Endring i besøkstid", "Spørsmål om medisiner", "Sårstell", "Ferie"]


@dataclass(frozen=True)
class Plan:
    """What a scale means in rows."""

    scale: float

    @property
    def units(self) -> int:
        return max(1, round(RESIDENTS_FULL * self.scale / RESIDENTS_PER_UNIT))

    @property
    def residents(self) -> int:
        return self.units * RESIDENTS_PER_UNIT


def _utc(day: date, at: clock) -> datetime:
    return datetime.combine(day, at, tzinfo=OSLO).astimezone(UTC)


def _fodselsnumre(count: int) -> list[str]:
    """`count` valid, distinct fødselsnumre (born 1930-1949, individual numbers 100-499)."""
    found: list[str] = []
    for individual in range(100, 500):
        for day in range(7300):
            birth = date(1930, 1, 1) + timedelta(days=day)
            base = f"{birth:%d%m%y}{individual:03d}"
            first = fodselsnummer.calc_check_digit1(base)
            second = fodselsnummer.calc_check_digit2(base + first) if len(first) == 1 else "10"
            if len(second) == 1:  # a check digit of 10 makes the number invalid: skip it
                found.append(base + first + second)
                if len(found) == count:
                    return found
    raise ValueError("not that many fødselsnumre in the range")


class Loader:
    """Rows in, table by table, on either database."""

    def __init__(self, engine: sa.Engine) -> None:
        from app.models import Base

        self.engine = engine
        self.tables = Base.metadata.tables
        self.postgres = engine.dialect.name == "postgresql"

    def next_id(self, table: str) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(sa.func.max(self.tables[table].c.id))).scalar()
            return (found or 0) + 1

    def load(self, table: str, rows: Iterable[dict]) -> int:
        count = 0
        for batch in _batches(rows, BATCH):
            if self.postgres:
                self._copy(table, batch)
            else:
                self._insert(table, batch)
            count += len(batch)
        return count

    def _insert(self, table: str, batch: list[dict]) -> None:
        """SQLite: plain executemany, values stored as SQLAlchemy stores them."""
        columns = list(batch[0])
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN")
            cursor.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})',  # noqa: S608 - our names
                [[_sqlite(row[c]) for c in columns] for row in batch],
            )
            cursor.execute("COMMIT")
        finally:
            raw.close()

    def _copy(self, table: str, batch: list[dict]) -> None:
        columns = list(batch[0])
        names = ", ".join(f'"{c}"' for c in columns)
        raw = self.engine.raw_connection()
        try:
            with (
                raw.cursor() as cursor,
                cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
            ):
                for row in batch:
                    copy.write_row([_pg(row[c]) for c in columns])
            raw.commit()
        finally:
            raw.close()

    def finish(self) -> None:
        """Move PostgreSQL's id sequences past the ids given here."""
        if not self.postgres:
            return
        with self.engine.begin() as conn:
            for name, table in self.tables.items():
                if "id" in table.c and table.c.id.primary_key:
                    conn.execute(
                        sa.text(
                            # names from the app's own metadata, not from input
                            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # noqa: S608
                            f'coalesce((SELECT max(id) FROM "{name}"), 0) + 1, false)'
                        )
                    )
            conn.execute(sa.text("ANALYZE"))


def _sqlite(value: object) -> object:
    """As SQLAlchemy's SQLite types store it: UTC timestamps without offset, ISO dates."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _pg(value: object) -> object:
    return value.value if hasattr(value, "value") and not isinstance(value, str) else value


def _batches(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def generate(engine: sa.Engine, scale: float, *, now: datetime | None = None) -> dict[str, int]:
    """Load the scale data into a migrated, empty-enough database; returns rows per table."""
    now = now or datetime.now(UTC)
    today = now.astimezone(OSLO).date()
    plan = Plan(scale)
    rng = random.Random(20261201)
    loader = Loader(engine)
    counts: dict[str, int] = {}

    municipality_id = loader.next_id("municipality")
    counts["municipality"] = loader.load(
        "municipality",
        [
            {
                "id": municipality_id,
                "number": "9901",
                "name": "Storby kommune",
                "notice_sender_name": "Storby kommune",
                "reply_deadline_working_days": 1,
            }
        ],
    )
    service_id = loader.next_id("service")
    counts["service"] = loader.load(
        "service",
        [
            {
                "id": service_id,
                "municipality_id": municipality_id,
                "name": "Hjemmesykepleie",
                "open_for_dialog": True,
                "shows_appointments": True,
            }
        ],
    )
    first_unit = loader.next_id("unit")
    units = [first_unit + i for i in range(plan.units)]
    counts["unit"] = loader.load(
        "unit",
        (
            {
                "id": unit,
                "municipality_id": municipality_id,
                "service_id": service_id,
                "name": f"Hjemmesykepleien sone {i + 1}",
                "phone": "+4722000000",
                "auto_journal": False,
            }
            for i, unit in enumerate(units)
        ),
    )

    # Staff: per unit a message coordinator and ten nurses; one leader of unit 1.
    first_staff = loader.next_id("staff_account")
    staff_rows, role_rows = [], []
    nurses: dict[int, list[int]] = {}
    coordinators: dict[int, int] = {}
    staff_id = first_staff
    for i, unit in enumerate(units, start=1):
        for kind, title in (("meldingsansvarlig", "Koordinator"),) + (
            ("ansatt", "Sykepleier"),
        ) * NURSES_PER_UNIT:
            staff_rows.append(
                {
                    "id": staff_id,
                    "municipality_id": municipality_id,
                    "username": f"{'ma' if kind == 'meldingsansvarlig' else 'sp'}{i}-{staff_id}",
                    "full_name": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
                    "title": title,
                    "active": True,
                    "created_at": now - timedelta(days=400),
                    "password_must_change": False,
                }
            )
            role_rows.append({"staff_id": staff_id, "role": kind, "unit_id": unit})
            if kind == "ansatt":
                nurses.setdefault(unit, []).append(staff_id)
            else:
                coordinators[unit] = staff_id
            staff_id += 1
    leader = staff_id
    staff_rows.append(
        {
            "id": leader,
            "municipality_id": municipality_id,
            "username": f"leder-{leader}",
            "full_name": "Lene Leder",
            "title": "Avdelingsleder",
            "active": True,
            "created_at": now - timedelta(days=400),
            "password_must_change": False,
        }
    )
    role_rows.append({"staff_id": leader, "role": "leder", "unit_id": units[0]})
    counts["staff_account"] = loader.load("staff_account", staff_rows)
    first_role = loader.next_id("staff_role")
    counts["staff_role"] = loader.load(
        "staff_role", ({"id": first_role + i, **row} for i, row in enumerate(role_rows))
    )

    first_person = loader.next_id("person")
    residents = [first_person + i for i in range(plan.residents)]
    numbers = _fodselsnumre(plan.residents)
    unit_of = {p: units[i // RESIDENTS_PER_UNIT] for i, p in enumerate(residents)}
    counts["person"] = loader.load(
        "person",
        (
            {
                "id": p,
                "fodselsnummer": numbers[i],
                "given_name": GIVEN[i % len(GIVEN)],
                "family_name": f"{FAMILY[i % len(FAMILY)]} {i}",
                "birth_date": fodselsnummer.get_birth_date(numbers[i]),
                "address_protection": "none",
                "street_address": f"Storgata {i % 200 + 1}",
                "postal_code": "0150",
                "postal_town": "Oslo",
                "municipality_id": municipality_id,
            }
            for i, p in enumerate(residents)
        ),
    )
    first = loader.next_id("consent")
    counts["consent"] = loader.load(
        "consent",
        (
            {"id": first + i, "person_id": p, "terms_version": TERMS, "accepted_at": now}
            for i, p in enumerate(residents)
        ),
    )
    first = loader.next_id("service_recipient")
    counts["service_recipient"] = loader.load(
        "service_recipient",
        (
            {
                "id": first + i,
                "person_id": p,
                "service_id": service_id,
                "unit_id": unit_of[p],
                "valid_from": today - timedelta(days=400),
                "primary_contact_staff_id": nurses[unit_of[p]][0],
                "created_at": now - timedelta(days=400),
            }
            for i, p in enumerate(residents)
        ),
    )

    counts |= _threads(
        loader, rng, residents, unit_of, coordinators, municipality_id, service_id, now
    )
    cancelled, more = _cancellations(loader, residents, unit_of, service_id, now, today)
    counts |= more
    counts |= _appointments(loader, residents, unit_of, nurses, service_id, now, today, cancelled)
    counts |= _usage_log(loader, residents, unit_of, coordinators, now)
    loader.finish()
    return counts


def _threads(
    loader: Loader,
    rng: random.Random,
    residents: list[int],
    unit_of: dict[int, int],
    coordinators: dict[int, int],
    municipality_id: int,
    service_id: int,
    now: datetime,
) -> dict[str, int]:
    """10 threads a resident over the past year, 5 messages each; the newest may be open."""
    first_thread = loader.next_id("thread")
    first_message = loader.next_id("message")
    first_event = loader.next_id("thread_event")
    threads, messages, events = [], [], []
    thread_id, message_id, event_id = first_thread, first_message, first_event
    for p in residents:
        unit = unit_of[p]
        for t in range(THREADS_PER_RESIDENT):
            started = now - timedelta(days=36 * (THREADS_PER_RESIDENT - t), hours=rng.random() * 8)
            newest = t == THREADS_PER_RESIDENT - 1
            roll = rng.random()
            if newest and roll < 0.15:
                status, count = "awaiting_service", 1
            elif newest and roll < 0.2:
                status, count = "interim_replied", 2
            else:
                status, count = ("closed" if roll < 0.6 else "answered"), MESSAGES_PER_THREAD
            if status != "closed" and not newest:
                status = "answered"
            at = started
            for m in range(count):
                from_resident = m % 2 == 0
                kind = "interim" if status == "interim_replied" and m == 1 else "ordinary"
                messages.append(
                    {
                        "id": message_id,
                        "thread_id": thread_id,
                        "kind": kind,
                        "body": "Hei! Kan dere komme litt tidligere i morgen? Mvh"
                        if from_resident
                        else "Hei, det går fint. Vi kommer mellom 08 og 09.",
                        "author_person_id": p if from_resident else None,
                        "author_staff_id": None if from_resident else coordinators[unit],
                        "author_unit_id": None if from_resident else unit,
                        "sent_at": at,
                        "next_answer_at": at + timedelta(days=2) if kind == "interim" else None,
                        "read_by_staff_at": None if newest and status == "awaiting_service" else at,
                    }
                )
                events.append(
                    {
                        "id": event_id,
                        "thread_id": thread_id,
                        "kind": "message"
                        if from_resident
                        else ("interim_reply" if kind == "interim" else "replied"),
                        "at": at,
                        "person_id": p if from_resident else None,
                        "staff_id": None if from_resident else coordinators[unit],
                        "message_id": message_id,
                    }
                )
                message_id += 1
                event_id += 1
                at += timedelta(hours=3 + rng.random() * 20)
            threads.append(
                {
                    "id": thread_id,
                    "municipality_id": municipality_id,
                    "person_id": p,
                    "service_id": service_id,
                    "unit_id": unit,
                    "subject": SUBJECTS[(p + t) % len(SUBJECTS)],
                    "status": status,
                    "reply_deadline": started + timedelta(days=1) if status != "closed" else None,
                    "urgent": False,
                    "started_by_staff": False,
                    "unread_by_staff": status == "awaiting_service",
                    "created_at": started,
                    "last_activity_at": at,
                    "closed_at": at if status == "closed" else None,
                }
            )
            thread_id += 1
        if len(messages) >= BATCH:
            _flush(loader, threads, messages, events)
    _flush(loader, threads, messages, events)
    return {
        "thread": thread_id - first_thread,
        "message": message_id - first_message,
        "thread_event": event_id - first_event,
    }


def _flush(loader: Loader, threads: list, messages: list, events: list) -> None:
    loader.load("thread", threads)
    loader.load("message", messages)
    loader.load("thread_event", events)
    threads.clear()
    messages.clear()
    events.clear()


# Each resident cancelled one visit 10 days ago and a period of three, 20 days ahead.
CANCELLED_DAYS = {-10: 0, 20: 1, 21: 1, 22: 1}


def _cancellations(
    loader: Loader,
    residents: list[int],
    unit_of: dict[int, int],
    service_id: int,
    now: datetime,
    today: date,
) -> tuple[dict[tuple[int, int], int], dict[str, int]]:
    """The residents' cancellations; returns {(person, day offset): cancellation id}."""
    first = loader.next_id("cancellation")
    cancellations, acks, services = [], [], []
    cancelled: dict[tuple[int, int], int] = {}
    for n, p in enumerate(residents):
        single, period = first + 2 * n, first + 2 * n + 1
        for cancellation, kind, days, made in (
            (single, "single", (-10, -10), -12),
            (period, "period", (20, 22), 5),
        ):
            cancellations.append(
                {
                    "id": cancellation,
                    "person_id": p,
                    "made_by_person_id": p,
                    "kind": kind,
                    "period_start": _utc(today + timedelta(days=days[0]), clock(0)),
                    "period_end": _utc(today + timedelta(days=days[1] + 1), clock(0)),
                    "created_at": now + timedelta(days=made) - timedelta(days=7),
                }
            )
            done = made < 0
            acks.append(
                {
                    "cancellation_id": cancellation,
                    "unit_id": unit_of[p],
                    "created_at": cancellations[-1]["created_at"],
                    "acknowledged_at": now + timedelta(days=made) if done else None,
                }
            )
            services.append({"cancellation_id": cancellation, "service_id": service_id})
        for day, which in CANCELLED_DAYS.items():
            cancelled[(p, day)] = (single, period)[which]
    counts = {
        "cancellation": loader.load("cancellation", cancellations),
        "cancellation_acknowledgement": loader.load("cancellation_acknowledgement", acks),
    }
    loader.load("cancellation_service", services)
    return cancelled, counts


def _appointments(
    loader: Loader,
    residents: list[int],
    unit_of: dict[int, int],
    nurses: dict[int, list[int]],
    service_id: int,
    now: datetime,
    today: date,
    by_resident: dict[tuple[int, int], int],
) -> dict[str, int]:
    """One visit a day per resident; past ones done (a few cancelled by the service, some by
    the resident), coming ones assigned."""
    first = loader.next_id("appointment")

    def rows() -> Iterator[dict]:
        appointment_id = first
        for i, p in enumerate(residents):
            unit = unit_of[p]
            nurse = nurses[unit][i % NURSES_PER_UNIT]
            hour = 8 + i % 8
            for d in range(-DAYS_BACK, DAYS_AHEAD):
                day = today + timedelta(days=d)
                start = _utc(day, clock(hour))
                cancellation = by_resident.get((p, d))
                cancelled = cancellation is not None or (i + d) % 40 == 0
                done = start < now and not cancelled
                created = now - timedelta(days=DAYS_BACK + 10)
                changed = (
                    start - timedelta(days=2)
                    if cancelled
                    else start + timedelta(minutes=20)
                    if done
                    else created
                )
                yield {
                    "id": appointment_id,
                    "person_id": p,
                    "service_id": service_id,
                    "unit_id": unit,
                    "source": "municipality",
                    "status": "cancelled" if cancelled else "completed" if done else "assigned",
                    "window_start": start,
                    "window_end": start + timedelta(hours=1),
                    "start_at": None if cancelled else start,
                    "description": "Medisiner og tilsyn",
                    "employee_staff_id": nurse,
                    "completed_at": start + timedelta(minutes=20) if done else None,
                    "completed_by_staff_id": nurse if done else None,
                    "cancelled_at": start - timedelta(days=2) if cancelled else None,
                    "cancelled_by_staff_id": nurse if cancelled and not cancellation else None,
                    "cancelled_by_person_id": p if cancellation else None,
                    "cancellation_id": cancellation,
                    "created_at": created,
                    "cancel_reason_shared": False,
                    "version": 1,
                    "updated_at": changed,
                }
                appointment_id += 1

    return {"appointment": loader.load("appointment", rows())}


def _usage_log(
    loader: Loader,
    residents: list[int],
    unit_of: dict[int, int],
    coordinators: dict[int, int],
    now: datetime,
) -> dict[str, int]:
    first = loader.next_id("usage_log_entry")

    def rows() -> Iterator[dict]:
        entry = first
        for p in residents:
            for n in range(LOG_PER_RESIDENT):
                by_staff = n % 2 == 1
                yield {
                    "id": entry,
                    "at": now - timedelta(days=18 * (LOG_PER_RESIDENT - n)),
                    "subject_person_id": p,
                    "action": "staff_viewed_thread" if by_staff else "logged_in",
                    "actor_person_id": None if by_staff else p,
                    "actor_staff_id": coordinators[unit_of[p]] if by_staff else None,
                    "actor_unit_id": unit_of[p] if by_staff else None,
                }
                entry += 1

    return {"usage_log_entry": loader.load("usage_log_entry", rows())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url", nargs="?", default="sqlite:///instance/scale.db")
    parser.add_argument("--scale", type=float, default=0.01)
    args = parser.parse_args(argv)
    from app.config import database_url
    from app.extensions import db
    from tests.databases import migrated_app

    with (
        tempfile.TemporaryDirectory() as tmp,
        migrated_app(database_url(args.database_url), Path(tmp)) as app,
        app.app_context(),
    ):
        started = time.perf_counter()
        counts = generate(db.engine, args.scale)
        seconds = time.perf_counter() - started
    for table, count in counts.items():
        print(f"{table:20} {count:>10,}".replace(",", " "))
    print(f"loaded in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
