"""End-to-end fixtures: the real app under gunicorn with the demo data, driven by Chromium.

Each test module runs once as a phone (390x844) and once as a desktop (1280x800), each
time against a fresh copy of the demo database. Every page a test visits must be checked
by axe-core (`a11y.check(page)`); a page visited but not checked fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.notices.outbox import start_worker
from tests.support import free_port, gunicorn, scalar_at

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
DEVICES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


_DATABASE_URL = os.environ.get("DATABASE_URL", "")
# For journeys that check pages, not data (layout, keyboard, bytes sent): they run once, in
# the SQLite run of CI, and are skipped when the suite runs again on PostgreSQL.
ONCE = pytest.mark.skipif(
    bool(_DATABASE_URL) and not _DATABASE_URL.startswith("sqlite"),
    reason="checks pages, not the database: runs once, in the SQLite run of CI",
)


def _base_env(tmp: Path) -> dict[str, str]:
    skip = ("OIDC_", "PYTEST_", "SMTP_", "SMS_", "NOTICE_", "REDIS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        APP_ENV="development",
        FLASK_APP="app:create_app",
        SECRET_KEY="e2e-" + uuid.uuid4().hex,
        DEV_IDP_KEY_PATH=str(tmp / "dev-idp-key.pem"),
        API_SIGNING_KEY_PATHS=str(tmp / "api-signing-key.pem"),
        RATELIMIT_ENABLED="false",
        NOTICE_DEV_SINK="true",  # notices are read back at /dev/outbox
        NOTICE_POLL_SECONDS="0.2",
        # A registered visit can be undone, and is notified, after a few seconds here; a
        # module that undoes one sets a longer window in its SERVER_ENV.
        VISIT_UNDO_SECONDS="5",
    )
    return env


@dataclass
class DemoDatabase:
    """A migrated database holding the demo, copied for each server."""

    url: str
    kind: str
    tmp: Path
    copies: list[str] = field(default_factory=list)

    def copy(self) -> str:
        if self.kind == "sqlite":
            source = Path(sa.make_url(self.url).database)
            target = self.tmp / f"{uuid.uuid4().hex[:8]}.db"
            shutil.copy(source, target)
            return f"sqlite:///{target}"
        server = sa.make_url(self.url)
        name = f"hd_e2e_{uuid.uuid4().hex[:10]}"
        with _pg_admin(self.url) as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{server.database}"')
        self.copies.append(name)
        return server.set(database=name).render_as_string(hide_password=False)


@contextmanager
def _pg_admin(url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(
        sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoDatabase]:
    from app.config import database_url

    tmp = tmp_path_factory.mktemp("e2e")
    raw = os.environ.get("DATABASE_URL", "")
    if raw and not raw.startswith("sqlite"):
        server = sa.make_url(database_url(raw))
        name = f"hd_e2e_template_{uuid.uuid4().hex[:8]}"
        with _pg_admin(str(server)) as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        db = DemoDatabase(
            server.set(database=name).render_as_string(hide_password=False), "postgresql", tmp
        )
    else:
        db = DemoDatabase(f"sqlite:///{tmp / 'demo.db'}", "sqlite", tmp)
    env = _base_env(tmp) | {"DATABASE_URL": db.url}
    _flask(env, "db", "upgrade")
    _flask(env, "demo")
    yield db
    if db.kind == "postgresql":
        with _pg_admin(db.url) as conn:
            for name in [*db.copies, sa.make_url(db.url).database]:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class LiveServer:
    url: str
    database_url: str
    process: subprocess.Popen

    def scalar(self, statement: str | sa.TextClause, **params: object) -> object:
        return scalar_at(self.database_url, statement, **params)


@pytest.fixture(scope="module", params=list(DEVICES))
def device(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def live_server(
    env: dict[str, str], port: int, tmp: Path, *, workers: int = 2
) -> Iterator[LiveServer]:
    """The app under gunicorn on 127.0.0.1:port with `env`, until the block ends."""
    with gunicorn(env, port, tmp / "gunicorn.log", workers=workers) as process:
        yield LiveServer(f"http://127.0.0.1:{port}", env["DATABASE_URL"], process)


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    device: str,
    demo_database: DemoDatabase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """The module's server; a module's SERVER_ENV adds or overrides settings."""
    tmp = tmp_path_factory.mktemp("server")
    port = free_port()
    env = _base_env(demo_database.tmp) | {
        "DATABASE_URL": demo_database.copy(),
        "PORT": str(port),
        "OIDC_ISSUER": f"http://127.0.0.1:{port}/dev-idp",
        **getattr(request.module, "SERVER_ENV", {}),
    }
    with live_server(env, port, tmp) as running:
        # The notice worker, as `make run` starts it beside the web server.
        worker = start_worker(env, tmp / "worker.log")
        yield running
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class A11y:
    """Runs axe-core on the current page state and remembers which pages were checked."""

    def __init__(self) -> None:
        self.axe = Axe()
        self.visited: list[str] = []
        self.checked: set[str] = set()

    @staticmethod
    def _key(url: str) -> str:
        return url.split("#")[0]

    def check(self, page: Page, state: str = "") -> None:
        results = self.axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
        assert results.violations_count == 0, (
            f"axe-core violations on {page.url} {state}:\n{results.generate_report()}"
        )
        self.checked.add(self._key(page.url))

    def unchecked(self) -> list[str]:
        return [url for url in self.visited if self._key(url) not in self.checked]


@pytest.fixture
def a11y() -> A11y:
    return A11y()


@pytest.fixture
def page(browser: Browser, server: LiveServer, device: str, a11y: A11y) -> Iterator[Page]:
    context = browser.new_context(
        base_url=server.url, locale="nb-NO", timezone_id="Europe/Oslo", **DEVICES[device]
    )
    context.set_default_timeout(10_000)
    page = context.new_page()

    def remember(frame) -> None:
        if frame == page.main_frame and frame.url.startswith("http"):
            a11y.visited.append(frame.url)

    page.on("framenavigated", remember)
    yield page
    context.close()
    missing = a11y.unchecked()
    assert not missing, f"pages visited without an axe-core check: {missing}"
