"""Values the forms must refuse with a message instead of failing: dates outside 1900-2100
(every form's date field, and the pages' `?date=`), empty times, JSON that is not an object.

Each of these answered 500 before (R6): year 1 and 9999 overflow date arithmetic and the
conversion to UTC, and nothing was stored only because the request failed.
"""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from app.clock import oslo_today, utcnow
from app.models import (
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    Cancellation,
    Fullmakt,
    FullmaktKind,
    Message,
)
from app.services import appointments as appointment_service
from app.services import messaging
from app.web.citizen.profile import GRANTEE_KEY
from app.web.forms import DateField, DayQueryForm
from tests import factories
from tests.support import actor_for, csrf_token
from tests.web.test_staff_appointments import visit

OUT_OF_RANGE = "Oppgi en dato mellom 1900 og 2100."
EXTREMES = ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"]


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/auth/logged-out"), **data})


def count(db, model) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize("view", ["list", "week", "month"])
def test_the_appointment_pages_show_today_for_a_day_out_of_range(client, login, world, day, view):
    login.resident(world.resident)
    response = client.get(f"/appointments?view={view}&date={day}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert OUT_OF_RANGE in html
    assert f"date={oslo_today().isoformat()}" in html


@pytest.mark.parametrize("day", EXTREMES)
def test_planning_shows_today_for_a_day_out_of_range(client, login, world, day):
    login.staff(world.coordinator)
    response = client.get(f"/staff/planning?date={day}")
    assert response.status_code == 200
    assert OUT_OF_RANGE in response.get_data(as_text=True)


def test_the_edges_of_the_range_are_days_like_others(client, login, world):
    login.staff(world.coordinator)
    for day in ("1900-01-01", "2100-12-31"):
        html = client.get(f"/staff/planning?date={day}").get_data(as_text=True)
        assert OUT_OF_RANGE not in html


def test_the_usage_log_refuses_a_period_out_of_range(client, login, world):
    login.resident(world.resident)
    response = client.get("/profile/log?start=0001-01-01&end=9999-12-31")
    assert response.status_code == 422
    assert response.get_data(as_text=True).count(OUT_OF_RANGE) >= 2


@pytest.mark.parametrize("day", EXTREMES)
def test_a_period_cancellation_out_of_range_is_refused(client, db, login, world, day):
    target = visit(db, world, oslo_today() + timedelta(days=2), status=AppointmentStatus.PLANNED)
    login.resident(world.resident)
    response = post(
        client,
        f"/appointments/{target.id}/cancel",
        kind="period",
        start_date=oslo_today().isoformat(),
        start_time="00:00",
        end_date=day,
        end_time="23:59",
        service_ids=str(world.nursing.id),
        submission_key="period-out-of-range",
    )
    assert response.status_code == 422
    assert OUT_OF_RANGE in response.get_data(as_text=True)
    assert count(db, Cancellation) == 0


@pytest.mark.parametrize("day", EXTREMES)
def test_a_fullmakt_end_date_out_of_range_is_refused(client, db, login, world, day):
    lise = factories.person(db, "Lise", "Berg")
    login.resident(world.resident)
    with client.session_transaction() as flask_session:
        flask_session[GRANTEE_KEY] = lise.id
    response = post(
        client, "/profile/fullmakter/new/details", duration="until", valid_to=day, scope="all"
    )
    assert response.status_code == 422
    assert OUT_OF_RANGE in response.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).where(Fullmakt.grantee_id == lise.id)) == 0


@pytest.mark.parametrize("field", ["valid_from", "valid_to"])
@pytest.mark.parametrize("day", EXTREMES)
def test_the_administrators_fullmakt_dates_out_of_range_are_refused(
    client, db, login, world, field, day
):
    grantee = factories.person(db, "Verge", "Vergesen")
    login.staff(world.admin)
    data = {
        "grantor": world.resident.fodselsnummer,
        "grantee": grantee.fodselsnummer,
        "document_reference": "SAK 1",
        "valid_from": oslo_today().isoformat(),
        field: day,
    }
    response = post(client, "/admin/fullmakter", **data)
    assert response.status_code == 422
    assert OUT_OF_RANGE in response.get_data(as_text=True)
    assigned = sa.select(sa.func.count()).where(Fullmakt.kind == FullmaktKind.ASSIGNED)
    assert db.scalar(assigned) == 0


@pytest.mark.parametrize("field", ["starts_on", "ends_on"])
@pytest.mark.parametrize("day", EXTREMES)
def test_a_series_period_out_of_range_is_refused(client, db, login, world, field, day):
    login.staff(world.coordinator)
    data = {
        "weekdays": "MO",
        "interval": "1",
        "starts_on": (oslo_today() + timedelta(days=1)).isoformat(),
        "window_start": "09:00",
        "window_end": "10:00",
        "description": "Tilsyn",
        field: day,
    }
    response = post(client, f"/staff/recipients/{world.resident.id}/series/new", **data)
    assert response.status_code == 422
    assert OUT_OF_RANGE in response.get_data(as_text=True)
    assert count(db, AppointmentSeries) == 0


@pytest.mark.parametrize("day", EXTREMES)
def test_ending_a_series_out_of_range_is_refused(client, db, login, world, day):
    series = appointment_service.series_create(
        db,
        actor_for(db, world.coordinator),
        person_id=world.resident.id,
        weekdays=["MO"],
        interval=1,
        starts_on=oslo_today() + timedelta(days=1),
        ends_on=None,
        window_start=time(8),
        window_end=time(9),
        description="Tilsyn",
        now=utcnow(),
    )
    login.staff(world.coordinator)
    response = post(client, f"/staff/series/{series.id}/end", ends_on=day)
    assert response.status_code == 303
    db.refresh(series)
    assert series.ends_on is None
    page = client.get(response.location).get_data(as_text=True)
    assert OUT_OF_RANGE in page


@pytest.mark.parametrize("day", EXTREMES)
def test_an_interim_reply_dated_out_of_range_is_refused(client, db, login, world, day):
    thread = messaging.thread_start(
        db,
        actor_for(db, world.resident),
        service_id=world.nursing.id,
        subject="Spørsmål",
        body="Hei",
        submission_key=None,
        now=utcnow(),
    )
    login.staff(world.coordinator)
    response = post(
        client,
        f"/staff/threads/{thread.id}/interim",
        body="Vi svarer snart",
        next_date=day,
        next_time="10:00",
        submission_key="interim-out-of-range",
    )
    assert response.status_code == 422
    assert OUT_OF_RANGE in response.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).where(Message.thread_id == thread.id)) == 1


def test_assigning_a_visit_without_a_time_says_so(client, db, login, world):
    target = visit(db, world, oslo_today() + timedelta(days=1), status=AppointmentStatus.PLANNED)
    login.staff(world.coordinator)
    response = post(
        client,
        f"/staff/planning/visits/{target.id}/assign",
        employee_id=str(world.employee.id),
        at="",
    )
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "Oppgi klokkeslett for besøket." in page
    db.refresh(target)
    assert target.status is AppointmentStatus.PLANNED


@pytest.mark.parametrize(
    "body", ["[]", "[1, 2]", '"2026-01-01T08:00:00+00:00"', "1", "null", "true"]
)
def test_a_visit_registration_that_is_not_a_json_object_is_refused(client, db, login, world, body):
    target = visit(db, world)
    login.staff(world.employee)
    response = client.post(
        f"/staff/visits/{target.id}/complete",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": "device-key-json",
            "X-CSRFToken": csrf_token(client, "/auth/logged-out"),
        },
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "bad_request"}
    db.refresh(target)
    assert target.status is AppointmentStatus.ASSIGNED


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-01-01T08:00:00"]
)
def test_a_visit_registration_time_that_cannot_be_placed_is_refused(client, db, login, world, when):
    target = visit(db, world)
    login.staff(world.employee)
    response = client.post(
        f"/staff/visits/{target.id}/complete",
        data=json.dumps({"registered_at": when}),
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": "device-key-time",
            "X-CSRFToken": csrf_token(client, "/auth/logged-out"),
        },
    )
    assert response.status_code == 400
    assert count(db, Appointment) == 1


def test_one_date_field_for_every_form(app):
    """Every date in every form is the app's DateField, with its range and messages."""
    import wtforms
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    pending, found = list(FlaskForm.__subclasses__()), []
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        for name in dir(form_class):
            unbound = getattr(form_class, name, None)
            if isinstance(unbound, UnboundField) and issubclass(
                unbound.field_class, wtforms.DateField
            ):
                found.append((form_class.__name__, name, unbound.field_class))
    assert len(found) >= 10
    assert {field_class for *_, field_class in found} == {DateField}
    assert DayQueryForm.date.field_class is DateField
