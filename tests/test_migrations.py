"""One Alembic history builds exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

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


def test_the_input_hardening_migration_keeps_data_and_cleans_names(tmp_path):
    """0004 rebuilds tables that others refer to (SQLite's batch mode copies, drops and
    renames them): on a database full of data, on SQLite and PostgreSQL alike."""
    from app import create_app
    from app.clock import utcnow
    from app.services.demo import demo_load
    from tests.databases import make_config, scratch_database

    with scratch_database(tmp_path, prefix="hd_migrate") as uri:
        scratch = create_app(make_config(uri, tmp_path))
        with scratch.app_context():
            upgrade(revision="0001")
            demo_load(flask_db.session, now=utcnow(), allow_synthetic=True, terms_version="2026-1")
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
