"""The usage log is append-only: neither the ORM nor SQL can change or delete an entry."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.models import UsageAction, UsageLogEntry
from app.models.audit import AppendOnlyError
from app.services.audit import usage_log_add
from tests import factories


@pytest.fixture
def entry(db):
    kari = factories.person(db, "Kari")
    usage_log_add(
        db, subject_person_id=kari.id, action=UsageAction.LOGGED_IN, actor_person_id=kari.id
    )
    return db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.subject_person_id == kari.id)
    ).one()


def test_the_orm_refuses_to_change_an_entry(db, entry):
    entry.detail = "changed"
    with pytest.raises(AppendOnlyError):
        db.flush()


def test_the_orm_refuses_to_delete_an_entry(db, entry):
    db.delete(entry)
    with pytest.raises(AppendOnlyError):
        db.flush()


def test_the_database_refuses_update_and_delete(db, entry):
    for statement in (
        sa.update(UsageLogEntry).where(UsageLogEntry.id == entry.id).values(detail="x"),
        sa.delete(UsageLogEntry).where(UsageLogEntry.id == entry.id),
    ):
        savepoint = db.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(statement)
        savepoint.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(UsageLogEntry)) == 1


def test_adding_entries_works(db, entry):
    usage_log_add(
        db,
        subject_person_id=entry.subject_person_id,
        action=UsageAction.CONSENT_GIVEN,
        actor_person_id=entry.subject_person_id,
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(UsageLogEntry)) == 2
