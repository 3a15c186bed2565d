"""Notice delivery speed (docs/quality.md P6), measured with the worker as `make run` starts it.

Throughput: notices per second through `flask notices work` into a local SMTP server
(aiosmtpd, in this process), with one worker and with two, on the run's database;
counted from the first message to arrive to the last, so start-up is left out.

Latency: a visit registered through the service (as the handheld's request does), from
its commit until its notice is at the SMTP server, with one worker at its default poll
(on PostgreSQL it is woken by NOTIFY, on SQLite it polls). A first visit, not counted,
waits for the worker to be up. The registration has no undo window here (the service's
default): in the app the notice is due only when Angre is no longer possible
(VISIT_UNDO_SECONDS), and the worker wakes then.

Each figure is the median over rounds (a fresh database and fresh workers each round);
the latency's is the median of each round's p95. Prints each target with its value and
PASS or FAIL, writes bench/results/notices-<database>.md, and exits 1 when one fails.

    .venv/bin/python -m bench.notices                      # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.notices
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.clock import local_to_utc, oslo_today, utcnow
from app.extensions import db as flask_db
from app.models import (
    Appointment,
    AppointmentStatus,
    ContactSettings,
    Notice,
    NoticeLevel,
    NoticeStatus,
    StaffAccount,
)
from app.services.appointments import visit_register
from bench import stamp
from tests import factories
from tests.databases import migrated_app, postgres_url, scratch_database
from tests.notices.outbox import (
    fill_outbox,
    start_worker,
    status_counts,
    stop_worker,
    worker_env,
)
from tests.notices.servers import SmtpServer
from tests.support import actor_for, wait_for

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATE = 500.0  # notices/s on PostgreSQL with two workers
TARGET_P95 = 0.5  # seconds from a registered visit to the SMTP server


def throughput(workers: int, notices: int, tmp: Path) -> float:
    """Notices per second for one round: a fresh database, `notices` e-mails due."""
    smtp = SmtpServer().start()
    try:
        with scratch_database(tmp) as uri, migrated_app(uri, tmp) as app:
            fill_outbox(app, notices, sms_every=0)
            env = worker_env(uri, tmp, smtp_port=smtp.port, sms_url="", poll_seconds=0.05)
            running = [start_worker(env, tmp / f"worker-{n}.log") for n in range(workers)]
            done = wait_for(lambda: smtp.recorder.total() >= notices, 600, 0.02)
            for worker in running:
                stop_worker(worker)
            if not done or status_counts(app) != {NoticeStatus.SENT: notices}:
                raise RuntimeError(f"not all notices were delivered: {status_counts(app)}")
            arrivals = sorted(m.at for m in smtp.recorder.messages)
            return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    finally:
        smtp.stop()


def latency(samples: int, tmp: Path) -> list[float]:
    """Seconds from a registered visit to its notice at the SMTP server, per visit."""
    smtp = SmtpServer().start()
    rng = random.Random(6)
    try:
        with scratch_database(tmp) as uri, migrated_app(uri, tmp) as app:
            with app.app_context():
                session = flask_db.session
                world = factories.build_world(session)
                session.add(
                    ContactSettings(
                        person_id=world.resident.id,
                        email="rita@bench.example",
                        level=NoticeLevel.ALL,  # completed visits are notified at this level
                        updated_at=utcnow(),
                    )
                )
                session.commit()
                ids = world.resident.id, world.nursing.id, world.unit.id, world.employee.id
            env = worker_env(uri, tmp, smtp_port=smtp.port, sms_url="")  # the default poll
            worker = start_worker(env, tmp / "latency-worker.log")
            times = []
            try:
                _one_visit(app, smtp, ids, 0, timeout=60)  # waits for the worker to be up
                for n in range(1, samples + 1):
                    time.sleep(rng.uniform(0.05, 0.3))  # not in step with the worker's poll
                    times.append(_one_visit(app, smtp, ids, n))
            finally:
                stop_worker(worker)
            return times
    finally:
        smtp.stop()


def _one_visit(
    app, smtp: SmtpServer, ids: tuple[int, int, int, int], n: int, timeout: float = 30
) -> float:
    resident, nursing, unit, employee = ids
    with app.app_context():
        session = flask_db.session
        day = oslo_today() + timedelta(days=n % 30)
        visit = Appointment(
            person_id=resident,
            service_id=nursing,
            unit_id=unit,
            status=AppointmentStatus.ASSIGNED,
            window_start=local_to_utc(day, clock_time(8)),
            window_end=local_to_utc(day, clock_time(10)),
            start_at=local_to_utc(day, clock_time(8)),
            employee_staff_id=employee,
            description="Morgenstell",
            created_at=utcnow(),
        )
        session.add(visit)
        session.commit()
        staff = session.scalars(
            sa.select(StaffAccount)
            .where(StaffAccount.id == employee)
            .options(selectinload(StaffAccount.roles))
        ).one()
        actor = actor_for(session, staff)
        session.commit()
        visit_register(
            session,
            actor,
            appointment_id=visit.id,
            idempotency_key=uuid.uuid4().hex,
            registered_at=None,
            now=utcnow(),
        )
        session.flush()
        started = time.monotonic()
        session.commit()
        notice_id = session.scalar(
            sa.select(Notice.id).where(Notice.event_key == f"visit:{visit.id}")
        )
        flask_db.session.remove()
    if not wait_for(lambda: notice_id in smtp.recorder.by_notice(), timeout, 0.002):
        raise RuntimeError(f"the notice for visit {visit.id} did not arrive")
    arrived = next(m.at for m in smtp.recorder.messages if m.notice_id == notice_id)
    return arrived - started


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=1000, help="notices per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20, help="visits per latency round")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument(
        "--results", type=Path, help="the Markdown file (default bench/results/notices-<db>.md)"
    )
    args = parser.parse_args()

    kind = "postgresql" if postgres_url() else "sqlite"
    results: dict[str, object] = {"database": kind, "notices_per_round": args.notices}
    lines = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    began = time.monotonic()
    say(
        f"Notice delivery on {kind}: {args.rounds} rounds of {args.notices} notices, "
        f"{args.rounds} of {args.samples} visits"
    )
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for workers in (1, 2):
            rates = [throughput(workers, args.notices, tmp) for _ in range(args.rounds)]
            median = statistics.median(rates)
            results[f"notices_per_second_{workers}_workers"] = round(median, 1)
            say(
                f"- {workers} worker(s): median {median:.0f} notices/s "
                f"(rounds: {', '.join(f'{r:.0f}' for r in rates)})"
            )
        rounds = [latency(args.samples, tmp) for _ in range(args.rounds)]
        medians = [statistics.median(times) for times in rounds]
        p95s = [p95(times) for times in rounds]
        results["visit_to_smtp_median_s"] = round(statistics.median(medians), 3)
        results["visit_to_smtp_p95_s"] = round(statistics.median(p95s), 3)
        say(
            f"- registered visit -> SMTP server: median {statistics.median(medians):.3f} s, "
            f"p95 {statistics.median(p95s):.3f} s (p95 per round: "
            f"{', '.join(f'{v:.3f}' for v in p95s)}; {args.samples} visits a round)"
        )
    rate = results["notices_per_second_2_workers"]
    latency_p95 = results["visit_to_smtp_p95_s"]
    checks = [
        (
            f"at least {TARGET_RATE:.0f} notices/s on PostgreSQL with two workers",
            f"{rate:.0f}/s",
            rate >= TARGET_RATE if kind == "postgresql" else None,
        ),
        (
            f"a registered visit at the SMTP server in under {TARGET_P95} s (p95)",
            f"{latency_p95:.3f} s",
            latency_p95 < TARGET_P95,
        ),
    ]
    say("")
    say("Targets (docs/quality.md P6):")
    for target, value, met in checks:
        verdict = {True: "PASS", False: "FAIL", None: "n/a (a PostgreSQL target)"}[met]
        say(f"- {target}: {value} {verdict}")
    results["pass"] = all(met is not False for _, _, met in checks)
    path = args.results or RESULTS / f"notices-{kind}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "\n".join(
            [
                f"# Notice delivery on {kind} (docs/quality.md P6)",
                "",
                "Written by `make bench` (`.venv/bin/python -m bench.notices`, see its text for"
                " how it measures).",
                "",
                *stamp(),
                f"- The whole bench took {time.monotonic() - began:.0f} s",
                "",
                *lines,
                "",
            ]
        )
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
