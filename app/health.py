"""Is this process ready for requests? For the load balancer's readiness check (/readyz).

Ready when the database answers and its schema is the one this code needs, and Redis
answers where REDIS_URL names one. A schema newer than the code (the migrations of a new
release, applied before its processes replace this one) is ready: migrations only add.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicError
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT
from app.redis import shared_redis


@cache
def _migrations() -> ScriptDirectory:
    return ScriptDirectory(str(PROJECT_ROOT / "migrations"))


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except AlembicError:
        return False


def _schema_problem(session: Session) -> str | None:
    try:
        revisions = set(session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except SQLAlchemyError:
        session.rollback()
        return "database: unreachable, or never migrated (flask db upgrade)"
    scripts = _migrations()
    head = scripts.get_current_head()
    if head in revisions or not all(_known(scripts, r) for r in revisions):
        return None  # at the head, or migrated by a newer release
    at = ", ".join(sorted(revisions)) or "nothing"
    return f"database: schema at {at}, this code needs {head} (flask db upgrade)"


def readiness_problems(session: Session) -> list[str]:
    """What keeps this process from serving, in words for an operator; empty when ready."""
    problems = []
    schema = _schema_problem(session)
    if schema:
        problems.append(schema)
    client = shared_redis()
    if client is not None:
        try:
            client.ping()
        except RedisError:
            problems.append("redis: unreachable")
    return problems
