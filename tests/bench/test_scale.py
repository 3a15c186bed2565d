"""The scale data (bench/scale.py) and the page benchmark that runs on it (bench/pages.py)."""

from __future__ import annotations

import sqlalchemy as sa
from stdnum.no import fodselsnummer

from app.extensions import db
from app.models import Appointment, AppointmentStatus, Person, Thread
from bench.pages import PAGES, STATEMENTS_MAX, measure, scaled_database


def test_one_unit_of_scale_data_is_whole_and_every_benchmarked_page_answers(tmp_path):
    with scaled_database(0.01, tmp_path) as scaled:
        rows = scaled.rows
        assert rows["unit"] == 1
        assert rows["person"] == 200
        assert rows["thread"] == 2_000
        assert 9_000 < rows["message"] <= 10_000
        assert rows["appointment"] == 50_000
        with scaled.app.app_context():
            numbers = db.session.scalars(sa.select(Person.fodselsnummer)).all()
            assert len(set(numbers)) == len(numbers) == 200
            assert all(fodselsnummer.is_valid(n) for n in numbers)
            by_status = dict(
                db.session.execute(
                    sa.select(Appointment.status, sa.func.count()).group_by(Appointment.status)
                ).all()
            )
            assert set(by_status) == {
                AppointmentStatus.COMPLETED,
                AppointmentStatus.ASSIGNED,
                AppointmentStatus.CANCELLED,
            }
            # Ids continue after the loaded rows: the app can add its own.
            thread = db.session.scalars(sa.select(Thread).limit(1)).one()
            db.session.add(
                Thread(
                    municipality_id=thread.municipality_id,
                    person_id=thread.person_id,
                    service_id=thread.service_id,
                    unit_id=thread.unit_id,
                    subject="Ny",
                    status=thread.status,
                    urgent=False,
                    started_by_staff=False,
                    unread_by_staff=False,
                    created_at=thread.created_at,
                    last_activity_at=thread.created_at,
                )
            )
            db.session.commit()

        # Every page answers 200 (measure() refuses anything else) within the statement limit.
        result = measure([scaled], rounds=1, requests=1)
        assert set(result["samples"]) == {name for name, _who, _path in PAGES}
        assert max(max(s.values()) for s in result["statements"].values()) <= STATEMENTS_MAX

        inbox = scaled.clients["resident"].get("/messages").get_data(as_text=True)
        assert "Ny resept" in inbox or "Sårstell" in inbox
