"""Lighthouse on the key pages (docs/quality.md P5): mobile, with the demo data, logged in.

Starts the app under gunicorn with the demo data on SQLite in a temporary directory, logs
in as each page's user (the development ID provider for residents, the password form for
staff), and runs Lighthouse 12.8.2 (bench/lighthouse/package.json, installed with `npm ci`)
with its mobile form factor and default simulated throttling, in bokmål, the session cookie
sent as an extra header. Each score is the median of --runs runs; a run Lighthouse gives up
on (NO_NAVSTART on a busy machine) is tried again. Writes bench/results/lighthouse.md,
prints the table, and exits 1 when a page misses a target: accessibility 100, best
practices 95, performance 95.

    make lighthouse
    .venv/bin/python -m bench.lighthouse --runs 1 --reports /tmp/lh   # also keep the reports
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import requests

from bench import machine
from bench.lighthouse.report import (
    CATEGORIES,
    PageScores,
    category_scores,
    failing_audits,
    markdown,
    median_scores,
    metric_values,
    misses,
)
from e2e.conftest import _base_env, _flask, live_server
from e2e.journeys import DEMO_PASSWORD
from tests.support import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
RESULTS = ROOT / "bench" / "results" / "lighthouse.md"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync"
)
ACCEPT_LANGUAGE = "nb-NO,nb;q=0.9"
KARI = "12833810241"  # the demo's resident Kari Nordmann


@dataclass(frozen=True)
class Page:
    name: str
    user: str  # "" for no one; a staff username; or "kari"
    path: str  # may hold {thread}, found once logged in


PAGES = (
    Page("Front page", "", "/"),
    Page("Meldinger", "kari", "/messages"),
    Page("A thread", "kari", "/messages/{thread}"),
    Page("Timeavtaler, month", "kari", "/appointments?view=month"),
    Page("Staff queue", "siri", "/staff/"),
    Page("Mine besøk i dag", "jonas", "/staff/visits"),
)


def _hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden inputs of the first form posting to `action`."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    if form is None:
        raise RuntimeError(f"no form posting to {action}")
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", form.group(1)):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = unescape(attrs.get("value", ""))
    return fields


def _log_in_resident(base: str, pid: str) -> requests.Session:
    """Through the development ID provider, as the e2e journeys do, but without a browser."""
    http = requests.Session()
    page = http.get(f"{base}/auth/login", timeout=30)
    page.raise_for_status()
    fields = _hidden_fields(page.text, "/dev-idp/authorize")
    done = http.post(f"{base}/dev-idp/authorize", data=fields | {"pid": pid}, timeout=30)
    if not done.ok or "/auth/" in done.url:
        raise RuntimeError(f"the resident log-in ended at {done.url} ({done.status_code})")
    return http


def _log_in_staff(base: str, username: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{base}/staff/login", timeout=30)
    fields = _hidden_fields(page.text, "/staff/login")
    done = http.post(
        f"{base}/staff/login",
        data=fields | {"username": username, "password": DEMO_PASSWORD},
        timeout=30,
    )
    if not done.ok or "/staff/login" in done.url:
        raise RuntimeError(f"{username}'s log-in ended at {done.url} ({done.status_code})")
    return http


def _first_thread(base: str, http: requests.Session) -> int:
    inbox = http.get(f"{base}/messages", timeout=30)
    found = re.search(r'href="/messages/(\d+)"', inbox.text)
    if found is None:
        raise RuntimeError("Kari's inbox lists no thread")
    return int(found.group(1))


class LighthouseFailed(RuntimeError):
    """Lighthouse gave no report, or a report with a runtime error (NO_NAVSTART, ...)."""


def _lighthouse_once(url: str, headers: Path, report_path: Path) -> dict:
    report_path.unlink(missing_ok=True)
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report_path}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROMIUM_FLAGS}",
        f"--extra-headers={headers}",
        "--quiet",
    ]
    env = os.environ | {"CHROME_PATH": CHROMIUM}
    # A fixed command: the locked Lighthouse, on our own server's URL.
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)  # noqa: S603
    if not report_path.exists():
        raise LighthouseFailed(f"Lighthouse failed on {url}:\n{done.stderr[-3000:]}")
    report = json.loads(report_path.read_text())
    report["configSettings"].pop("extraHeaders", None)  # the session cookie
    report_path.write_text(json.dumps(report))
    if done.returncode != 0 or report.get("runtimeError"):
        error = report.get("runtimeError") or {"message": done.stderr[-3000:]}
        raise LighthouseFailed(f"Lighthouse on {url}: {error.get('message')}")
    return report


def _lighthouse(url: str, cookie: str, tmp: Path, report_path: Path, attempts: int = 3) -> dict:
    """One Lighthouse report; a run Lighthouse itself gives up on is tried again."""
    headers = tmp / "headers.json"  # a file, so the session is not on a command line
    # In bokmål, as the demo's users read it (Chromium would ask for English).
    sent = {"Accept-Language": ACCEPT_LANGUAGE} | ({"Cookie": cookie} if cookie else {})
    headers.write_text(json.dumps(sent))
    try:
        for attempt in range(1, attempts + 1):
            try:
                return _lighthouse_once(url, headers, report_path)
            except LighthouseFailed as failure:
                if attempt == attempts:
                    raise
                print(f"    run {attempt} gave no scores, trying again: {failure}", flush=True)
        raise AssertionError("unreachable")
    finally:
        headers.unlink()


def _chromium_version() -> str:
    """What `chromium --version` says (the report's user agent hides the minor numbers)."""
    done = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60)  # noqa: S603
    return done.stdout.strip() or CHROMIUM


@contextmanager
def demo_server(tmp: Path) -> Iterator[str]:
    """The app under gunicorn with a fresh demo database, as the e2e tests start it."""
    port = free_port()
    env = _base_env(tmp) | {
        "DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}",
        "PORT": str(port),
        "OIDC_ISSUER": f"http://127.0.0.1:{port}/dev-idp",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "demo")
    with live_server(env, port, tmp) as server:
        yield server.url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file")
    parser.add_argument("--reports", type=Path, help="keep each run's JSON report here")
    parser.add_argument("--only", help="only pages whose name contains this")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        print("Lighthouse is not installed: make lighthouse (npm ci in bench/lighthouse)")
        return 2

    started = time.monotonic()
    pages = [p for p in PAGES if not args.only or args.only.lower() in p.name.lower()]
    measured: list[PageScores] = []
    lighthouse = ""
    benchmark: list[float] = []  # Lighthouse's own measure of the CPU, per run
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        reports = args.reports or tmp / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        with demo_server(tmp) as base:
            sessions: dict[str, requests.Session] = {}
            for page in pages:
                if page.user and page.user not in sessions:
                    sessions[page.user] = (
                        _log_in_resident(base, KARI)
                        if page.user == "kari"
                        else _log_in_staff(base, page.user)
                    )
            thread = _first_thread(base, sessions["kari"]) if "kari" in sessions else 0
            for number, page in enumerate(pages):
                path = page.path.format(thread=thread)
                http = sessions.get(page.user)
                cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies) if http else ""
                runs, failing, metrics = [], [], []
                for run in range(args.runs):
                    report = _lighthouse(
                        base + path, cookie, tmp, reports / f"{number + 1}-{run + 1}.json"
                    )
                    if report["finalDisplayedUrl"] != base + path:  # not logged in?
                        raise RuntimeError(f"{path} ended at {report['finalDisplayedUrl']}")
                    lighthouse = report["lighthouseVersion"]
                    benchmark.append(report["environment"]["benchmarkIndex"])
                    runs.append(category_scores(report))
                    failing.append(failing_audits(report))
                    metrics.append(metric_values(report))
                scores = median_scores(runs)
                middle = [r["performance"] for r in runs].index(scores["performance"])
                measured.append(
                    PageScores(
                        page.name,
                        path,
                        page.user or "-",
                        scores,
                        tuple(failing[middle]),
                        metrics[middle],
                    )
                )
                cost = ", ".join(failing[middle])
                print(f"{page.name}: {scores}" + (f" (under full marks: {cost})" if cost else ""))
    seconds = time.monotonic() - started
    text = markdown(
        measured,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        lighthouse=lighthouse,
        chromium=_chromium_version(),
        machine=f"{machine()}; Lighthouse benchmark index (median of the runs) "
        f"{statistics.median(benchmark) if benchmark else 0:.0f}",
        runs=args.runs,
        seconds=seconds,
    )
    if not args.only:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(text)
    print(text)
    return 1 if misses(measured) else 0


if __name__ == "__main__":
    sys.exit(main())
