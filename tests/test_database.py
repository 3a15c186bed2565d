"""SQLite with several processes: the web app and the notice worker write to one file.

A request that reads and then writes must not fail because another process committed in
between; it waits for the lock instead (docs/quality.md R5 on the default database). Pages
read in transactions that take no lock, so reads never wait for each other or for a writer
(docs/quality.md P3); what they write (usage log, last seen) follows their reads.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db as flask_db
from tests.databases import make_config, postgres_url


@pytest.fixture
def sqlite_engine(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path))
    with app.app_context():
        engine = flask_db.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    yield engine
    engine.dispose()


def test_read_then_write_waits_for_another_writer_instead_of_failing(sqlite_engine):
    other_done = threading.Event()
    errors: list[Exception] = []

    def other_process() -> None:  # e.g. the worker recording a sent notice
        try:
            with sqlite_engine.begin() as conn:
                conn.exec_driver_sql("UPDATE counter SET n = n + 1")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        other_done.set()

    with sqlite_engine.begin() as conn:  # a request: read, then write
        before = conn.exec_driver_sql("SELECT n FROM counter").scalar()
        writer = threading.Thread(target=other_process)
        writer.start()
        other_done.wait(0.5)  # it commits now if it can, between our read and our write
        conn.exec_driver_sql("UPDATE counter SET n = n + 10")
    writer.join(15)
    assert not errors
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT n FROM counter")).scalar() == before + 11


# --- reads never wait (docs/quality.md P3) --------------------------------------------------


@pytest.fixture
def demo_app(tmp_path):
    """The app on a SQLite file of its own with the demo, and how to log a client in."""
    from app.clock import utcnow
    from app.services.demo import demo_load
    from tests.databases import migrated_app

    if postgres_url():
        pytest.skip("SQLite's locking; PostgreSQL readers never wait")
    with migrated_app(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path) as app:
        with app.app_context():
            demo_load(
                flask_db.session,
                now=utcnow(),
                allow_synthetic=True,
                terms_version=app.config["TERMS_VERSION"],
            )
            flask_db.session.commit()
        yield app


def _client(app, who: str):
    """A test client logged in as a demo resident (given name) or staff member (username)."""
    from app.clock import utcnow
    from app.models import Person, StaffAccount, StaffRole
    from app.services.sessions import session_start

    with app.app_context():
        s = flask_db.session
        staff = s.scalar(sa.select(StaffAccount).where(StaffAccount.username == who))
        if staff is not None:
            unit = s.scalar(
                sa.select(sa.func.min(StaffRole.unit_id)).where(StaffRole.staff_id == staff.id)
            )
            _login, token = session_start(
                s, now=utcnow(), staff=staff, auth_method="password", active_unit_id=unit
            )
        else:
            person = s.scalar(sa.select(Person).where(Person.given_name == who))
            _login, token = session_start(s, now=utcnow(), person=person, auth_method="oidc")
        s.commit()
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = token
        flask_session["_fresh"] = True
    return client


def _held_write(app):
    """Another process's write transaction, held open: BEGIN IMMEDIATE and a write."""
    with app.app_context():
        engine = flask_db.engine
    conn = engine.raw_connection()
    conn.driver_connection.execute("BEGIN IMMEDIATE")
    conn.driver_connection.execute("UPDATE municipality SET name = name")
    return conn


def test_a_page_reads_while_another_process_holds_the_write_lock(demo_app):
    kari = _client(demo_app, "Kari")
    held = _held_write(demo_app)
    try:
        started = time.monotonic()
        response = kari.get("/messages")
        elapsed = time.monotonic() - started
    finally:
        held.driver_connection.execute("COMMIT")
        held.close()
    assert response.status_code == 200
    assert "Meldinger" in response.get_data(as_text=True)
    assert elapsed < 2, f"the read waited {elapsed:.1f} s for the writer"


def test_one_read_completes_while_another_is_held_open(demo_app, monkeypatch):
    """The appointment list is held in the middle of its reads; the inbox still answers."""
    from app.web.citizen import routes

    kari, ola = _client(demo_app, "Kari"), _client(demo_app, "Ola")
    inside, release = threading.Event(), threading.Event()
    real = routes.render

    def held_render(template, *fragments, **context):
        if template.startswith("citizen/appointments"):
            inside.set()
            release.wait(15)
        return real(template, *fragments, **context)

    monkeypatch.setattr(routes, "render", held_render)
    results: dict[str, int] = {}
    slow = threading.Thread(
        target=lambda: results.setdefault("held", kari.get("/appointments").status_code)
    )
    slow.start()
    try:
        assert inside.wait(10), "the held read never started"
        started = time.monotonic()
        results["other"] = ola.get("/messages").status_code
        elapsed = time.monotonic() - started
    finally:
        release.set()
        slow.join(15)
    assert results == {"held": 200, "other": 200}
    assert elapsed < 2, f"the second read waited {elapsed:.1f} s for the first"


def test_what_a_read_writes_waits_for_the_lock_and_is_kept(demo_app):
    """siri opens Kari's thread while another process writes: the page answers once the
    lock is free, and the usage-log entry is written."""
    from app.models import Person, Thread, UsageAction, UsageLogEntry

    siri = _client(demo_app, "siri")
    with demo_app.app_context():
        kari = flask_db.session.scalar(sa.select(Person).where(Person.given_name == "Kari"))
        thread_id = flask_db.session.scalar(
            sa.select(Thread.id).where(Thread.person_id == kari.id).limit(1)
        )
    held = _held_write(demo_app)
    release = threading.Timer(1.0, lambda: held.driver_connection.execute("COMMIT"))
    release.start()
    try:
        response = siri.get(f"/staff/threads/{thread_id}")
    finally:
        release.join()
        held.close()
    assert response.status_code == 200
    with demo_app.app_context():
        logged = flask_db.session.scalar(
            sa.select(sa.func.count()).where(
                UsageLogEntry.subject_person_id == kari.id,
                UsageLogEntry.action == UsageAction.STAFF_VIEWED_THREAD,
                UsageLogEntry.object_id == thread_id,
            )
        )
    assert logged == 1


def test_many_reads_and_writes_at_once_never_fail_with_database_is_locked(demo_app):
    """Residents read and write, staff read (each read logged) from eight threads at once."""
    from app.models import Person, Thread

    with demo_app.app_context():
        kari = flask_db.session.scalar(sa.select(Person).where(Person.given_name == "Kari"))
        thread_id = flask_db.session.scalar(
            sa.select(Thread.id).where(Thread.person_id == kari.id).limit(1)
        )
    failures: list[str] = []

    def resident(who: str) -> None:
        client = _client(demo_app, who)
        for _ in range(15):
            for path in ("/messages", "/appointments", "/profile/log"):
                if (status := client.get(path).status_code) != 200:
                    failures.append(f"{who} {path} {status}")

    def staff(who: str) -> None:
        client = _client(demo_app, who)
        for _ in range(15):
            for path in ("/staff/", f"/staff/threads/{thread_id}", "/staff/threads"):
                if (status := client.get(path).status_code) != 200:
                    failures.append(f"{who} {path} {status}")

    def writer() -> None:  # the notice worker or another process, committing often
        with demo_app.app_context():
            engine = flask_db.engine
        for _ in range(60):
            with engine.begin() as conn:
                conn.exec_driver_sql("UPDATE municipality SET name = name")

    threads = [
        threading.Thread(target=resident, args=("Kari",)),
        threading.Thread(target=resident, args=("Ola",)),
        threading.Thread(target=resident, args=("Eva",)),
        threading.Thread(target=staff, args=("siri",)),
        threading.Thread(target=staff, args=("jonas",)),
        threading.Thread(target=writer),
        threading.Thread(target=writer),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []


@pytest.mark.skipif(not postgres_url(), reason="a PostgreSQL setting")
def test_on_postgresql_the_app_s_queries_start_no_parallel_workers(app, tmp_path):
    with app.app_context():
        assert flask_db.session.scalar(sa.text("SHOW max_parallel_workers_per_gather")) == "0"
        flask_db.session.remove()
    config = make_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    config.PG_PARALLEL_QUERY = True  # the server's own setting is left alone
    allowed = create_app(config)
    with allowed.app_context():
        assert flask_db.session.scalar(sa.text("SHOW max_parallel_workers_per_gather")) != "0"
        flask_db.session.remove()
        flask_db.engine.dispose()
