"""The command-line commands."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa

from app.clock import oslo_today, utcnow
from app.models import Appointment, AppointmentSeries


def test_appointments_extend_generates_eight_weeks_ahead(app, db, world):
    series = AppointmentSeries(
        person_id=world.resident.id,
        service_id=world.nursing.id,
        unit_id=world.unit.id,
        rrule="FREQ=WEEKLY;INTERVAL=1;BYDAY=MO",
        starts_on=oslo_today(),
        window_start=time(9),
        window_end=time(10),
        description="Tilsyn",
        created_at=utcnow(),
    )
    db.add(series)
    db.flush()
    # The command commits; inside the test's transaction that only releases a savepoint.
    result = app.test_cli_runner().invoke(args=["appointments", "extend"])
    assert result.exit_code == 0, result.output
    assert "visits created" in result.output
    count = db.scalar(
        sa.select(sa.func.count())
        .select_from(Appointment)
        .where(Appointment.series_id == series.id)
    )
    assert 8 <= count <= 9


def test_demo_refuses_a_database_with_data_and_if_empty_succeeds(app, db, world):
    refused = app.test_cli_runner().invoke(args=["demo"])
    assert refused.exit_code == 1 and "empty" in refused.output
    quiet = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert quiet.exit_code == 0 and "not loaded again" in quiet.output
