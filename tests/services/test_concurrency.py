"""Concurrent double actions leave consistent data (docs/quality.md R5), on a real PostgreSQL.

Each scenario starts two threads, each with its own connection and transaction, released
together by a barrier, and repeats it so the two really overlap. Runs when DATABASE_URL
points at PostgreSQL (as in CI); on SQLite, which takes one writer at a time, it is skipped.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from app.clock import local_to_utc, oslo_today, utcnow
from app.extensions import db as flask_db
from app.models import (
    Appointment,
    AppointmentStatus,
    Cancellation,
    CancellationKind,
    ContactSettings,
    Notice,
    NoticeLevel,
)
from app.services import appointments as service
from app.services.appointments import AppointmentError
from tests import factories
from tests.databases import migrated_app, postgres_url, scratch_database
from tests.support import actor_for

pytestmark = pytest.mark.skipif(not postgres_url(), reason="needs PostgreSQL (DATABASE_URL)")
ROUNDS = 8


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory) -> Iterator[Flask]:
    """A fresh database of its own: these tests commit, unlike the rest of the suite."""
    tmp = tmp_path_factory.mktemp("race")
    with scratch_database(tmp, "hd_race") as uri, migrated_app(uri, tmp) as app:
        yield app


@pytest.fixture(scope="module")
def world(pg_app) -> dict[str, int]:
    with pg_app.app_context():
        session = flask_db.session
        built = factories.build_world(session)
        for person in (built.resident, built.proxy):
            session.add(
                ContactSettings(
                    person_id=person.id,
                    email=f"{person.id}@race.example",
                    level=NoticeLevel.ALL,
                    same_for_represented=True,
                    updated_at=utcnow(),
                )
            )
        session.commit()
        return {
            "resident": built.resident.id,
            "nursing": built.nursing.id,
            "unit": built.unit.id,
            "employee": built.employee.id,
            "coordinator": built.coordinator.id,
        }


def _visit(app: Flask, world: dict[str, int], status: AppointmentStatus, days: int) -> int:
    with app.app_context():
        day = oslo_today() + timedelta(days=days)
        appointment = Appointment(
            person_id=world["resident"],
            service_id=world["nursing"],
            unit_id=world["unit"],
            status=status,
            window_start=local_to_utc(day, time(8)),
            window_end=local_to_utc(day, time(10)),
            description="Morgenstell",
            created_at=utcnow(),
        )
        if status is AppointmentStatus.ASSIGNED:
            appointment.employee_staff_id = world["employee"]
            appointment.start_at = appointment.window_start
        flask_db.session.add(appointment)
        flask_db.session.commit()
        return appointment.id


def _race(app: Flask, *jobs) -> list[object]:
    """Run each job in its own thread and transaction, started together."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int, job) -> None:
        with app.app_context():
            session = flask_db.session
            try:
                barrier.wait()
                results[index] = job(session)
                session.commit()
            except Exception as error:  # noqa: BLE001 - the outcome is what we compare
                session.rollback()
                results[index] = error
            finally:
                flask_db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _staff(session, staff_id):
    from sqlalchemy.orm import selectinload

    from app.models import StaffAccount

    return session.scalars(
        sa.select(StaffAccount)
        .where(StaffAccount.id == staff_id)
        .options(selectinload(StaffAccount.roles))
    ).one()


def test_two_staff_register_the_same_visit_at_once(pg_app, world):
    for _ in range(ROUNDS):
        visit_id = _visit(pg_app, world, AppointmentStatus.ASSIGNED, days=0)

        def register(staff_key: str, visit_id=visit_id):
            def job(session):
                actor = actor_for(session, _staff(session, world[staff_key]))
                return service.visit_register(
                    session,
                    actor,
                    appointment_id=visit_id,
                    idempotency_key=uuid.uuid4().hex,
                    registered_at=None,
                    now=utcnow(),
                )

            return job

        results = _race(pg_app, register("employee"), register("coordinator"))
        outcomes = sorted(r.outcome for r in results)
        assert outcomes == ["already_completed", "completed"], results
        with pg_app.app_context():
            reader = flask_db.session
            visit = reader.get(Appointment, visit_id)
            assert visit.status is AppointmentStatus.COMPLETED
            notices = reader.scalars(
                sa.select(Notice).where(Notice.event_key == f"visit:{visit_id}")
            ).all()
            # One set: the resident and the proxy, once each.
            assert sorted(n.recipient_person_id for n in notices) == sorted(
                {n.recipient_person_id for n in notices}
            )
            assert len(notices) == 2


def test_the_same_registration_replayed_at_once_counts_once(pg_app, world):
    for _ in range(ROUNDS):
        visit_id = _visit(pg_app, world, AppointmentStatus.ASSIGNED, days=0)
        key = uuid.uuid4().hex
        when = utcnow() - timedelta(minutes=2)

        def job(session, visit_id=visit_id, key=key, when=when):
            actor = actor_for(session, _staff(session, world["employee"]))
            return service.visit_register(
                session,
                actor,
                appointment_id=visit_id,
                idempotency_key=key,
                registered_at=when,
                now=utcnow(),
            )

        results = _race(pg_app, job, job, job)
        assert all(not isinstance(r, Exception) for r in results), results
        assert {r.outcome for r in results} == {"completed"}
        with pg_app.app_context():
            count = flask_db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Notice)
                .where(Notice.event_key == f"visit:{visit_id}")
            )
            assert count == 2


def test_two_cancellations_of_one_period_cancel_once(pg_app, world):
    from app.models import Person

    for round_ in range(ROUNDS):
        first = _visit(pg_app, world, AppointmentStatus.PLANNED, days=10 + round_ * 3)
        second = _visit(pg_app, world, AppointmentStatus.PLANNED, days=11 + round_ * 3)
        with pg_app.app_context():
            start = flask_db.session.get(Appointment, first).window_start - timedelta(hours=1)
            end = flask_db.session.get(Appointment, second).window_start + timedelta(hours=1)

        def job(session, first=first, start=start, end=end):
            actor = actor_for(session, session.get(Person, world["resident"]))
            return service.appointments_cancel(
                session,
                actor,
                appointment_id=first,
                kind=CancellationKind.PERIOD,
                period_start=start,
                period_end=end,
                service_ids=[world["nursing"]],
                note=None,
                submission_key=None,
                now=utcnow(),
            ).id

        results = _race(pg_app, job, job)
        won = [r for r in results if isinstance(r, int)]
        lost = [r for r in results if isinstance(r, AppointmentError)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].code == "nothing_to_cancel"
        with pg_app.app_context():
            reader = flask_db.session
            for visit_id in (first, second):
                visit = reader.get(Appointment, visit_id)
                assert visit.status is AppointmentStatus.CANCELLED
                assert visit.cancellation_id == won[0]
            assert reader.get(Cancellation, won[0]) is not None
