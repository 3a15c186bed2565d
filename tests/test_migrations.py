"""One Alembic history builds exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db as flask_db
from app.models import Base


def test_migrations_match_the_models(app, db):
    context = MigrationContext.configure(db.connection(), opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []


def test_history_is_linear(app):
    from alembic.script import ScriptDirectory

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        script = ScriptDirectory.from_config(config)
        assert len(script.get_heads()) == 1
        assert script.get_base() == "0001"


def test_fullmakt_areas_are_seeded(db):
    codes = db.scalars(sa.text("SELECT code FROM fullmakt_area ORDER BY sort_order")).all()
    assert codes[0] == "timeavtaler-og-behandlere"
    assert len(codes) >= 2


def test_downgrade_to_nothing_and_upgrade_again(tmp_path):
    """On a scratch SQLite file (the shared test database stays untouched)."""
    from app import create_app
    from tests.databases import make_config

    scratch = create_app(make_config(f"sqlite:///{tmp_path / 'scratch.db'}", tmp_path))
    with scratch.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(sa.inspect(flask_db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "usage_log_entry" in sa.inspect(flask_db.engine).get_table_names()
        flask_db.engine.dispose()


def test_0003_keeps_every_fullmakt_in_force_and_the_log_append_only(tmp_path):
    """Upgrading a database with data (SQLite rebuilds tables other rows refer to): the
    assigned fullmakt already there stays in force, nothing referring to a rebuilt table is
    lost, the new values are accepted, and the usage log still refuses changes."""
    from app import create_app
    from tests.databases import make_config, scratch_database

    with scratch_database(tmp_path, prefix="hd_migrate") as uri:
        scratch = create_app(make_config(uri, tmp_path))
        with scratch.app_context():
            upgrade(revision="0001")
            with flask_db.engine.begin() as conn:
                for statement in _BEFORE_0003:
                    conn.execute(sa.text(statement))
            upgrade()
            with flask_db.engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT id, approved_at, created_at FROM fullmakt ORDER BY id")
                ).all()
                assert [(r.id, r.approved_at == r.created_at) for r in rows] == [
                    (1, True),
                    (2, True),
                ]
                assert conn.scalar(sa.text("SELECT count(*) FROM fullmakt_area_link")) == 1
                assert conn.scalar(sa.text("SELECT count(*) FROM dev_outbox_message")) == 1
                assert conn.scalar(sa.text("SELECT count(*) FROM usage_log_entry")) == 1
            with flask_db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO usage_log_entry (id, at, subject_person_id, action) "
                        "VALUES (2, :at, 1, 'register_searched')"
                    ),
                    {"at": "2026-01-02 00:00:00+00"},
                )
                conn.execute(sa.text("UPDATE notice SET event = 'new_fullmakt'"))
                conn.execute(sa.text("UPDATE staff_account SET person_id = 2"))
            for change in (
                "UPDATE usage_log_entry SET detail = 'x'",
                "DELETE FROM usage_log_entry",
            ):
                with pytest.raises(sa.exc.DatabaseError), flask_db.engine.begin() as conn:
                    conn.execute(sa.text(change))
            for refused in (
                "UPDATE fullmakt SET approved_at = NULL WHERE kind = 'ordinary'",
                "UPDATE fullmakt SET approved_by_staff_id = registered_by_staff_id",
                "UPDATE notice SET event = 'no_such_event'",
            ):
                with pytest.raises(sa.exc.IntegrityError), flask_db.engine.begin() as conn:
                    conn.execute(sa.text(refused))
            flask_db.engine.dispose()


_BEFORE_0003 = (
    "INSERT INTO municipality (id, number, name, notice_sender_name, reply_deadline_working_days)"
    " VALUES (1, '9901', 'Andeby kommune', 'Andeby kommune', 1)",
    "INSERT INTO person (id, fodselsnummer, given_name, family_name, birth_date,"
    " address_protection, municipality_id) VALUES"
    " (1, '12833810241', 'Kari', 'Nordmann', '1938-03-12', 'none', 1),"
    " (2, '05896820194', 'Ola', 'Nordmann', '1968-09-05', 'none', 1)",
    "INSERT INTO staff_account (id, municipality_id, username, full_name, active, created_at)"
    " VALUES (1, 1, 'admin', 'Administrator', true, '2026-01-01 00:00:00+00')",
    "INSERT INTO fullmakt (id, grantor_id, grantee_id, kind, all_areas, valid_from, created_at,"
    " document_reference, registered_by_staff_id) VALUES"
    " (1, 1, 2, 'assigned', true, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 'SAK 1', 1),"
    " (2, 2, 1, 'ordinary', false, '2026-01-01 00:00:00+00', '2026-01-02 00:00:00+00', NULL, NULL)",
    "INSERT INTO fullmakt_area_link (fullmakt_id, area_code)"
    " VALUES (2, 'timeavtaler-og-behandlere')",
    "INSERT INTO notice (id, recipient_person_id, subject_person_id, event, event_key,"
    " municipality_id, channel, address, language, status, attempts, next_attempt_at, created_at)"
    " VALUES (1, 1, 1, 'new_message', 'message:1', 1, 'email', 'kari@andeby.example', 'nb',"
    " 'sent', 1, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')",
    "INSERT INTO dev_outbox_message (id, notice_id, channel, address, body, created_at)"
    " VALUES (1, 1, 'email', 'kari@andeby.example', 'Hei', '2026-01-01 00:00:00+00')",
    "INSERT INTO usage_log_entry (id, at, subject_person_id, action)"
    " VALUES (1, '2026-01-01 00:00:00+00', 1, 'logged_in')",
)


def test_the_input_hardening_migration_keeps_data_and_cleans_names(tmp_path):
    """0004 rebuilds tables that others refer to (SQLite's batch mode copies, drops and
    renames them): on a database full of data, on SQLite and PostgreSQL alike.

    The demo is loaded with today's models into today's schema, then the database is
    taken down to 0003 (the later revisions' downgrades keep the rows), so the models need
    not match an old schema."""
    from app import create_app
    from app.clock import utcnow
    from app.services.demo import demo_load
    from tests.databases import make_config, scratch_database

    with scratch_database(tmp_path, prefix="hd_migrate") as uri:
        scratch = create_app(make_config(uri, tmp_path))
        with scratch.app_context():
            upgrade()
            demo_load(flask_db.session, now=utcnow(), allow_synthetic=True, terms_version="2026-1")
            flask_db.session.commit()
            flask_db.session.remove()
            downgrade(revision="0003_fullmakt")
            flask_db.session.execute(
                sa.text("UPDATE person SET given_name = :name WHERE given_name = 'Kari'"),
                {"name": "Ka\u202eri"},
            )
            flask_db.session.commit()
            counts = _counts()
            flask_db.session.remove()
            upgrade()
            assert _counts() == counts
            names = flask_db.session.scalars(sa.text("SELECT given_name FROM person")).all()
            assert "Kari" in names and not any("\u202e" in n for n in names)
            flask_db.session.remove()
            keys = sa.inspect(flask_db.engine).get_unique_constraints("message")
            assert {tuple(k["column_names"]) for k in keys} == {
                ("author_person_id", "submission_key"),
                ("author_staff_id", "submission_key"),
            }
            flask_db.engine.dispose()


def _counts() -> dict[str, int]:
    return {
        table: flask_db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608
        for table in ("message", "thread_event", "cancellation", "visit_registration", "person")
    }
