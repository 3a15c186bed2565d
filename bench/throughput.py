"""Pages under concurrent load (docs/quality.md P3): the inbox beside a trivial endpoint.

gunicorn serves the app as `make run` does (2 workers, 4 threads each) on the demo data.
Clients are threads, each with its own keep-alive connection and its own session as Kari;
each asks for one page, again and again, for a few seconds. Every round measures /readyz
(the trivial endpoint: one small query, as every page makes at least one) and /messages
(the inbox) at 1 and at 8 clients, back to back, so their ratio is taken in one run on one
machine; the verdict on PostgreSQL is the median of the rounds' ratios at 8 clients.

    python -m bench.throughput [--rounds 7] [--seconds 2]

On PostgreSQL when DATABASE_URL names a server. Writes bench/results/throughput-<db>.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import requests

from app import create_app
from app.clock import utcnow
from app.config import PROJECT_ROOT, config_from_env
from app.extensions import db
from app.models import Person
from app.services.demo import demo_load
from app.services.sessions import session_start
from bench import stamp
from tests.databases import postgres_url, scratch_database
from tests.support import free_port, gunicorn

RESULTS = Path(__file__).parent / "results"
CLIENTS = (1, 8)
PATHS = {"trivial (/readyz)": "/readyz", "inbox (/messages)": "/messages"}
RATIO_MIN = 0.5  # PostgreSQL: the inbox at 8 clients, per second, against /readyz
P99_MAX_MS = 150.0  # SQLite: the inbox at 8 clients


def _environment(tmp: Path, uri: str, port: int) -> dict[str, str]:
    skip = ("OIDC_", "PYTEST_", "SMTP_", "SMS_", "NOTICE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        APP_ENV="development",
        FLASK_APP="app:create_app",
        SECRET_KEY="bench-" + uuid.uuid4().hex,
        DATABASE_URL=uri,
        DEV_IDP_KEY_PATH=str(tmp / "dev-idp-key.pem"),
        PORT=str(port),
        OIDC_ISSUER=f"http://127.0.0.1:{port}/dev-idp",
    )
    return env


def _prepare(env: dict[str, str], clients: int) -> list[dict[str, str]]:
    """Migrate, load the demo, and make one signed session cookie per client (as Kari)."""
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with mock.patch.dict(os.environ, env, clear=True):
        app = create_app(config_from_env())
    cookies = []
    with app.app_context():
        demo_load(
            db.session,
            now=utcnow(),
            allow_synthetic=True,
            terms_version=app.config["TERMS_VERSION"],
        )
        kari = db.session.query(Person).filter_by(given_name="Kari").one()
        tokens = [
            session_start(db.session, now=utcnow(), person=kari, auth_method="oidc")[1]
            for _ in range(clients)
        ]
        db.session.commit()
        db.engine.dispose()
    name = app.config["SESSION_COOKIE_NAME"]
    for token in tokens:
        client = app.test_client()
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = token
            flask_session["_fresh"] = True
        cookies.append({name: client.get_cookie(name).value})
    return cookies


@contextmanager
def _served(env: dict[str, str], tmp: Path):
    with gunicorn(env, int(env["PORT"]), tmp / "gunicorn.log"):
        yield f"http://127.0.0.1:{env['PORT']}"


def load(url: str, path: str, cookies: list[dict[str, str]], seconds: float) -> list[float]:
    """Each client asks for `path` until the time is up; returns every answer's ms."""
    times: list[list[float]] = [[] for _ in cookies]
    failures: list[str] = []
    start = threading.Barrier(len(cookies) + 1)

    def client(n: int) -> None:
        with requests.Session() as http:
            http.cookies.update(cookies[n])
            http.get(url + path, timeout=10)  # connected and warm
            start.wait()
            until = time.perf_counter() + seconds
            while (began := time.perf_counter()) < until:
                response = http.get(url + path, timeout=10, allow_redirects=False)
                times[n].append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    failures.append(f"{path}: {response.status_code}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(cookies))]
    for t in threads:
        t.start()
    start.wait()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[0]}")
    return [ms for per_client in times for ms in per_client]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    database = "PostgreSQL" if postgres_url() else "SQLite"
    rates: dict[tuple[str, int], list[float]] = {}
    samples: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name, scratch_database(Path(tmp_name)) as uri:
        tmp = Path(tmp_name)
        env = _environment(tmp, uri, free_port())
        cookies = _prepare(env, max(CLIENTS))
        with _served(env, tmp) as url:
            for round_ in range(args.rounds):
                for clients in CLIENTS:
                    # The two pages back to back, first one then the other in turn, so a
                    # round's ratio is not tilted by the machine's load drifting.
                    order = list(PATHS.items())
                    for name, path in order if round_ % 2 == 0 else reversed(order):
                        ms = load(url, path, cookies[:clients], args.seconds)
                        rates.setdefault((name, clients), []).append(len(ms) / args.seconds)
                        samples.setdefault((name, clients), []).extend(ms)
    lines = [
        f"# Throughput ({database})",
        "",
        f"gunicorn, 2 workers with 4 threads, on the demo data; {args.rounds} rounds of "
        f"{args.seconds:g} s per page and number of clients, in one run, the two pages back to "
        "back in each round. Requests per second are medians of the rounds.",
        "",
        *stamp(),
        "",
        "| page | clients | requests/s | p50 ms | p99 ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (name, clients), per_round in rates.items():
        ms = sorted(samples[(name, clients)])
        p99 = statistics.quantiles(ms, n=100, method="inclusive")[98]
        lines.append(
            f"| {name} | {clients} | {statistics.median(per_round):.0f} | "
            f"{statistics.median(ms):.1f} | {p99:.1f} |"
        )
    many = max(CLIENTS)
    inbox, trivial = list(PATHS)[1], list(PATHS)[0]
    # Each round's ratio from its own pair of measurements; the verdict is their median.
    ratios = [i / t for i, t in zip(rates[(inbox, many)], rates[(trivial, many)], strict=True)]
    ratio = statistics.median(ratios)
    p99 = statistics.quantiles(sorted(samples[(inbox, many)]), n=100, method="inclusive")[98]
    if database == "PostgreSQL":
        passed = ratio >= RATIO_MIN
        spread = f"{min(ratios):.2f} to {max(ratios):.2f}"
        verdict = (
            f"inbox/trivial at {many} clients, median of the rounds' ratios: {ratio:.2f} "
            f"(rounds: {spread}; target ≥ {RATIO_MIN})"
        )
    else:
        passed = p99 < P99_MAX_MS
        verdict = f"inbox p99 at {many} clients: {p99:.0f} ms (target < {P99_MAX_MS:g} ms)"
    lines += ["", f"P3: {verdict}: {'PASS' if passed else 'FAIL'}", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"throughput-{database.lower()}.md").write_text(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
