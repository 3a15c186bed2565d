"""Several machines behind a load balancer: two app processes on different ports and two
notice workers, on one database and one Redis (docs/quality.md R10, P6; the README's
deployment section).

A session made on one process works on the other, log-in limits count across both (the
nurse's known device still gets in while an attacker is blocked), a deactivated account's
sessions end on both, a visit registered offline and replayed to both is one visit with
one notice, and a thousand notices go out once between the two workers. Runs on the
suite's database kind: a SQLite file both share, or a fresh PostgreSQL database; with Redis
where TEST_REDIS_URL names one (CI's PostgreSQL run), else the limits count in the database.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import requests
import sqlalchemy as sa

from app.config import PROJECT_ROOT
from app.models import Notice, NoticeChannel, NoticeEvent, NoticeStatus
from tests.databases import redis_url, scratch_database
from tests.notices.outbox import start_worker, stop_worker
from tests.notices.servers import SmtpServer
from tests.support import free_port, gunicorn, scalar_at, wait_for

PASSWORD = "demo-passord"
NOTICES = 1000


def _env(tmp: Path, database_url: str, smtp_port: int, redis_prefix: str) -> dict[str, str]:
    skip = ("OIDC_", "PYTEST_", "SMTP_", "SMS_", "NOTICE_", "REDIS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        APP_ENV="development",
        FLASK_APP="app:create_app",
        SECRET_KEY="two-processes-" + uuid.uuid4().hex,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url() or "",
        REDIS_KEY_PREFIX=redis_prefix,
        DEV_IDP_KEY_PATH=str(tmp / "dev-idp-key.pem"),
        PROXY_COUNT="1",  # the tests say where each request comes from, as a proxy would
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_SECURITY="none",
        SMS_URL="",
        NOTICE_DEV_SINK="false",
        NOTICE_POLL_SECONDS="0.2",
        VISIT_UNDO_SECONDS="1",  # a registered visit is notified a second later
    )
    return env


@dataclass
class Deployment:
    a: str
    b: str
    database_url: str
    smtp: SmtpServer
    workers: list[subprocess.Popen]
    worker_logs: list[Path]
    redis_url: str
    redis_prefix: str

    def scalar(self, statement: str, **params: object) -> object:
        return scalar_at(self.database_url, statement, **params)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("two")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database(tmp, prefix="hd_two"))
        smtp = SmtpServer().start()
        stack.callback(smtp.stop)
        env = _env(tmp, url, smtp.port, prefix)
        for command in (("db", "upgrade"), ("demo",)):
            subprocess.run(
                [sys.executable, "-m", "flask", *command],
                cwd=PROJECT_ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        bases = []
        for name in ("a", "b"):
            port = free_port()
            stack.enter_context(
                gunicorn(env | {"PORT": str(port)}, port, tmp / f"{name}.log", workers=1, threads=2)
            )
            bases.append(f"http://127.0.0.1:{port}")
        logs = [tmp / "worker-1.log", tmp / "worker-2.log"]
        workers = [start_worker(env, log) for log in logs]
        yield Deployment(bases[0], bases[1], url, smtp, workers, logs, env["REDIS_URL"], prefix)
        for worker in workers:
            if worker.poll() is None:
                stop_worker(worker)
        if env["REDIS_URL"]:
            client = redis.Redis.from_url(env["REDIS_URL"])
            for key in client.scan_iter(f"{prefix}*"):
                client.delete(key)
            client.close()


class Browser:
    """A browser at an address; it may talk to either process (a load balancer's choice)."""

    def __init__(self, address: str) -> None:
        self.http = requests.Session()
        self.address = address

    def get(self, url: str) -> requests.Response:
        return self.http.get(
            url, headers={"X-Forwarded-For": self.address}, allow_redirects=False, timeout=10
        )

    def post(self, url: str, **data: str) -> requests.Response:
        return self.http.post(
            url,
            data=data,
            headers={"X-Forwarded-For": self.address},
            allow_redirects=False,
            timeout=10,
        )

    def token(self, url: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get(url).text)
        assert found, url
        return found.group(1)

    def log_in(self, base: str, username: str, password: str = PASSWORD) -> int:
        token = self.token(f"{base}/staff/login")
        answer = self.post(
            f"{base}/staff/login", csrf_token=token, username=username, password=password
        )
        return answer.status_code

    def log_out(self, base: str) -> None:
        self.post(f"{base}/auth/logout", csrf_token=self.token(f"{base}/auth/logged-out"))


def test_log_in_limits_count_across_processes_and_spare_the_known_device(deployment):
    a, b = deployment.a, deployment.b
    handheld = Browser("10.0.0.7")
    assert handheld.log_in(a, "tone") == 303
    handheld.log_out(a)

    attacker = Browser("198.51.100.66")
    # Five wrong passwords on each process: ten in all, the limit, wherever they landed.
    answers = [attacker.log_in(a if n % 2 else b, "tone", "gjett") for n in range(10)]
    assert answers == [422] * 10
    assert attacker.log_in(a, "tone", "gjett") == 429
    assert attacker.log_in(b, "tone") == 429  # blocked on both, right password or not

    handheld.address = "10.0.0.8"  # the nurse's handheld, now on the mobile network
    assert handheld.log_in(b, "tone") == 303
    assert Browser("10.0.0.9").log_in(a, "tone") == 429  # a browser Tone never used

    # Where Redis is set up, the counts are there, and none in the database.
    counted = deployment.scalar("SELECT count(*) FROM login_throttle")
    if deployment.redis_url:
        client = redis.Redis.from_url(deployment.redis_url)
        assert counted == 0 and any(client.scan_iter(f"{deployment.redis_prefix}throttle:*"))
        client.close()
    else:
        assert counted > 0


def test_a_deactivated_account_is_logged_out_on_every_process(deployment):
    a, b = deployment.a, deployment.b
    nurse = Browser("10.0.0.20")
    assert nurse.log_in(a, "siri") == 303
    assert nurse.get(f"{b}/staff/").status_code == 200  # one session, both processes

    admin = Browser("10.0.0.21")
    assert admin.log_in(b, "admin") == 303
    page = admin.get(f"{a}/admin/staff?q=siri").text
    siri = re.search(r'href="/admin/staff/(\d+)"[^>]*>Siri Berg<', page)
    assert siri, "no Siri Berg among the staff accounts"
    path = f"/admin/staff/{siri.group(1)}/deactivate"
    assert admin.post(f"{a}{path}", csrf_token=admin.token(f"{a}{path}")).status_code == 303

    for base in (a, b):
        answer = nurse.get(f"{base}/staff/")
        assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"]
    assert nurse.log_in(b, "siri") == 422


def test_a_visit_registered_offline_and_replayed_to_both_processes_is_one_visit(deployment):
    a, b = deployment.a, deployment.b
    nurse = Browser("10.0.0.30")
    assert nurse.log_in(a, "jonas") == 303
    page = nurse.get(f"{b}/staff/visits")  # the session made on a, on b
    assert page.status_code == 200 and "Mine besøk i dag" in page.text
    visit = int(re.search(r'data-visit="(\d+)"', page.text).group(1))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    cookies = nurse.http.cookies.get_dict()
    body = json.dumps({"registered_at": datetime.now(UTC).isoformat()})

    def replay(base: str) -> requests.Response:
        # The handheld's queue sends again when unsure; the balancer picks either process.
        return requests.post(
            f"{base}/staff/visits/{visit}/complete",
            data=body,
            cookies=cookies,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Idempotency-Key": "handheld-0001-visit",
                "X-CSRFToken": token,
                "X-Forwarded-For": nurse.address,
            },
            timeout=10,
        )

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(replay, [a, b, a, b]))
    assert [r.status_code for r in answers] == [200] * 4
    assert {r.json()["outcome"] for r in answers} == {"completed"}
    assert deployment.scalar("SELECT status FROM appointment WHERE id = :i", i=visit) == "completed"

    # One notice per recipient of the visit, each delivered once (after the undo second).
    key = f"visit:{visit}"
    recipients = "SELECT count(DISTINCT recipient_person_id) FROM notice WHERE event_key = :k"
    notices = "SELECT count(*) FROM notice WHERE event_key = :k"
    sent = "SELECT count(*) FROM notice WHERE event_key = :k AND status = 'sent'"
    assert wait_for(lambda: deployment.scalar(sent, k=key) == deployment.scalar(notices, k=key), 30)
    assert deployment.scalar(notices, k=key) == deployment.scalar(recipients, k=key) >= 1
    engine = sa.create_engine(deployment.database_url)
    with engine.connect() as conn:
        ids = conn.execute(sa.select(Notice.id).where(Notice.event_key == key)).scalars().all()
    engine.dispose()
    assert [deployment.smtp.recorder.by_notice()[i] for i in ids] == [1] * len(ids)


def test_a_thousand_notices_are_sent_once_between_the_two_workers(deployment):
    """Runs last: it stops the workers to read what each sent."""
    engine = sa.create_engine(deployment.database_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        kari, municipality = conn.execute(
            sa.text("SELECT p.id, p.municipality_id FROM person p WHERE p.fodselsnummer = :n"),
            {"n": "12833810241"},
        ).one()
        first = conn.execute(sa.select(sa.func.coalesce(sa.func.max(Notice.id), 0))).scalar()
        conn.execute(
            sa.insert(Notice),
            [
                {
                    "recipient_person_id": kari,
                    "subject_person_id": kari,
                    "event": NoticeEvent.NEW_MESSAGE,
                    "event_key": f"load:{n}",
                    "municipality_id": municipality,
                    "channel": NoticeChannel.EMAIL,
                    "address": "kari@andeby.example",
                    "language": "nb",
                    "status": NoticeStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for n in range(NOTICES)
            ],
        )
        ids = conn.execute(sa.select(Notice.id).where(Notice.id > first)).scalars().all()
    pending = "SELECT count(*) FROM notice WHERE status = 'pending'"
    try:
        assert len(ids) == NOTICES
        assert wait_for(lambda: deployment.scalar(pending) == 0, 180, 0.2)
    finally:
        engine.dispose()
    assert [stop_worker(w) for w in deployment.workers] == [0, 0]

    by_notice = deployment.smtp.recorder.by_notice()
    assert sorted(by_notice[i] for i in ids) == [1] * NOTICES  # each once, none lost
    said = [re.search(r"(\d+) sent", log.read_text()) for log in deployment.worker_logs]
    sent = [int(found[1]) if found else 0 for found in said]
    delivered = deployment.scalar("SELECT count(*) FROM notice WHERE status = 'sent'")
    assert sum(sent) == delivered and min(sent) > 0, sent  # both workers did their share
