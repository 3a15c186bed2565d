"""Many notices due in a scratch database, and the worker as a process of its own.

Used by the crash and two-worker tests and by the benchmark: these commit for real,
unlike the rest of the suite, so each gets a database of its own (tests/databases.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from app.clock import utcnow
from app.config import PROJECT_ROOT
from app.extensions import db as flask_db
from app.models import Notice, NoticeChannel, NoticeEvent, NoticeStatus
from tests import factories


def fill_outbox(app: Flask, count: int, *, sms_every: int = 2) -> dict[int, NoticeChannel]:
    """`count` new-message notices due now for one resident; every `sms_every`th by SMS."""
    with app.app_context():
        session = flask_db.session
        world = factories.build_world(session)
        now = utcnow()
        rows = []
        for n in range(count):
            sms = sms_every and n % sms_every == 0
            rows.append(
                {
                    "recipient_person_id": world.resident.id,
                    "subject_person_id": world.resident.id,
                    "event": NoticeEvent.NEW_MESSAGE,
                    "event_key": f"message:{n + 1}",
                    "municipality_id": world.municipality.id,
                    "channel": NoticeChannel.SMS if sms else NoticeChannel.EMAIL,
                    "address": "+4791234567" if sms else "rita@test.example",
                    "language": "nb",
                    "status": NoticeStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        session.execute(sa.insert(Notice), rows)
        session.commit()
        return {
            notice_id: channel
            for notice_id, channel in session.execute(sa.select(Notice.id, Notice.channel))
        }


def status_counts(app: Flask) -> dict[NoticeStatus, int]:
    with app.app_context():
        rows = flask_db.session.execute(
            sa.select(Notice.status, sa.func.count()).group_by(Notice.status)
        ).all()
        flask_db.session.remove()
    return dict(rows)


def worker_env(uri: str, tmp_dir: Path, *, smtp_port: int, sms_url: str, **settings: object):
    env = {
        **os.environ,
        "APP_ENV": "test",
        "FLASK_APP": "app:create_app",
        "DATABASE_URL": uri,
        "DEV_IDP_KEY_PATH": str(tmp_dir / "dev-idp-key.pem"),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "SMS_URL": sms_url,
        "SMS_TOKEN": "token",
        "NOTICE_DEV_SINK": "false",
    }
    env.update({f"NOTICE_{key.upper()}": str(value) for key, value in settings.items()})
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`flask notices work`, as `make run` starts it, in its own process."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "notices", "work"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_worker(worker: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM, as at shutdown: the worker finishes its notice and exits."""
    worker.send_signal(signal.SIGTERM)
    return worker.wait(timeout)
