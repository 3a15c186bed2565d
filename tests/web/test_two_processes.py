"""Two app processes on one database, as behind a load balancer (docs/quality.md R10).

Log-in limits count across both processes, the nurse's known device still gets in while an
attacker is blocked, and a deactivated account's sessions end on both at once. Runs on the
suite's database kind: a SQLite file shared by both, or a fresh PostgreSQL database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from app.config import PROJECT_ROOT
from tests.databases import scratch_database
from tests.support import free_port, wait_for

PASSWORD = "demo-passord"


def _env(tmp: Path, database_url: str) -> dict[str, str]:
    skip = ("OIDC_", "PYTEST_", "SMTP_", "SMS_", "NOTICE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        APP_ENV="development",
        FLASK_APP="app:create_app",
        SECRET_KEY="two-processes-" + uuid.uuid4().hex,
        DATABASE_URL=database_url,
        DEV_IDP_KEY_PATH=str(tmp / "dev-idp-key.pem"),
        PROXY_COUNT="1",  # the tests say where each request comes from, as a proxy would
    )
    return env


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("two")
    with scratch_database(tmp, prefix="hd_two") as url:
        env = _env(tmp, url)
        for command in (("db", "upgrade"), ("demo",)):
            subprocess.run(
                [sys.executable, "-m", "flask", *command],
                cwd=PROJECT_ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        started = []
        for name in ("a", "b"):
            port = free_port()
            log = (tmp / f"{name}.log").open("wb")
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--threads",
                    "2",
                    "app:create_app()",
                ],
                cwd=PROJECT_ROOT,
                env=env | {"PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            started.append((process, log, f"http://127.0.0.1:{port}"))
        try:
            for process, _log, base in started:

                def answering(base: str = base, process: subprocess.Popen = process) -> bool:
                    try:
                        return requests.get(f"{base}/healthz", timeout=5).status_code == 200
                    except requests.RequestException:
                        return process.poll() is not None

                assert wait_for(answering, 30, 0.2) and process.poll() is None, (
                    tmp / "a.log"
                ).read_text()
            yield started[0][2], started[1][2]
        finally:
            for process, log, _base in started:
                process.terminate()
                process.wait(timeout=10)
                log.close()


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


def test_log_in_limits_count_across_processes_and_spare_the_known_device(processes):
    a, b = processes
    handheld = Browser("10.0.0.7")
    assert handheld.log_in(a, "jonas") == 303
    handheld.log_out(a)

    attacker = Browser("198.51.100.66")
    # Five wrong passwords on each process: ten in all, the limit, wherever they landed.
    answers = [attacker.log_in(a if n % 2 else b, "jonas", "gjett") for n in range(10)]
    assert answers == [422] * 10
    assert attacker.log_in(a, "jonas", "gjett") == 429
    assert attacker.log_in(b, "jonas") == 429  # blocked on both, right password or not

    handheld.address = "10.0.0.8"  # the nurse's handheld, now on the mobile network
    assert handheld.log_in(b, "jonas") == 303
    assert Browser("10.0.0.9").log_in(a, "jonas") == 429  # a browser jonas never used


def test_a_deactivated_account_is_logged_out_on_every_process(processes):
    a, b = processes
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
