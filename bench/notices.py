"""Notice delivery speed (docs/quality.md P6), measured with the worker as `make run` starts it.

Throughput: notices per second through `flask notices work` into a local SMTP server
(aiosmtpd, in this process), on SQLite with one worker and on PostgreSQL with one and two;
counted from the first message to arrive to the last, so start-up is left out.

Latency: a visit registered through the service (as the handheld's request does), then
the time until its notice is at the SMTP server, with one worker running its normal poll.
The registration has no undo window here (the service's default): in the app the notice
is due only when Angre is no longer possible (VISIT_UNDO_SECONDS), and is measured from then.

Each figure is the median of several rounds; latency also gives p95.

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
                for n in range(samples):
                    time.sleep(rng.uniform(0.1, 0.6))  # not in step with the worker's poll
                    times.append(_one_visit(app, smtp, ids, n))
            finally:
                stop_worker(worker)
            return times
    finally:
        smtp.stop()


def _one_visit(app, smtp: SmtpServer, ids: tuple[int, int, int, int], n: int) -> float:
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
        started = time.monotonic()
        visit_register(
            session,
            actor,
            appointment_id=visit.id,
            idempotency_key=uuid.uuid4().hex,
            registered_at=None,
            now=utcnow(),
        )
        session.commit()
        notice_id = session.scalar(
            sa.select(Notice.id).where(Notice.event_key == f"visit:{visit.id}")
        )
        flask_db.session.remove()
    if not wait_for(lambda: notice_id in smtp.recorder.by_notice(), 30, 0.005):
        raise RuntimeError(f"the notice for visit {visit.id} did not arrive")
    arrived = next(m.at for m in smtp.recorder.messages if m.notice_id == notice_id)
    return arrived - started


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=2000, help="notices per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=40, help="visits for the latency")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    kind = "postgresql" if postgres_url() else "sqlite"
    results: dict[str, object] = {"database": kind, "notices_per_round": args.notices}
    print(f"Notice delivery on {kind}: {args.rounds} rounds of {args.notices} notices")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for workers in (1, 2) if kind == "postgresql" else (1,):
            rates = [throughput(workers, args.notices, tmp) for _ in range(args.rounds)]
            median = statistics.median(rates)
            results[f"notices_per_second_{workers}_workers"] = round(median, 1)
            print(
                f"  {workers} worker(s): median {median:7.1f} notices/s "
                f"(rounds: {', '.join(f'{r:.0f}' for r in rates)})"
            )
        times = latency(args.samples, tmp)
        results["visit_to_smtp_median_s"] = round(statistics.median(times), 3)
        results["visit_to_smtp_p95_s"] = round(p95(times), 3)
        print(
            f"  registered visit -> SMTP server: median {statistics.median(times):.3f} s, "
            f"p95 {p95(times):.3f} s ({len(times)} visits, worker poll 0.5 s)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
