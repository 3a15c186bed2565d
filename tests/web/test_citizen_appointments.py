"""Timeavtaler on the resident side: list, week, month, detail, Avbestill."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.clock import OSLO, local_to_utc, oslo_today, utcnow
from app.models import Appointment, AppointmentSource, AppointmentStatus, Cancellation
from tests import factories
from tests.support import csrf_token


def visit(db, world, day, status=AppointmentStatus.PLANNED, person=None, start=time(8)):
    a = Appointment(
        person_id=(person or world.resident).id,
        service_id=world.nursing.id,
        unit_id=world.unit.id,
        status=status,
        window_start=local_to_utc(day, start),
        window_end=local_to_utc(day, time(start.hour + 2)),
        description="Morgenstell",
        created_at=utcnow(),
    )
    if status is AppointmentStatus.ASSIGNED:
        a.employee_staff_id, a.start_at = world.employee.id, local_to_utc(day, time(8, 30))
    db.add(a)
    db.flush()
    return a


def tomorrow() -> date:
    return oslo_today() + timedelta(days=1)


def test_list_week_and_month_show_status_as_text(client, db, login, world):
    tuesday = date(2027, 3, 2)  # both visits in one future week
    visit(db, world, tuesday, AppointmentStatus.ASSIGNED)
    visit(db, world, tuesday + timedelta(days=1))
    login.resident(world.resident)
    for view in ("list", "week", "month"):
        html = client.get(f"/appointments?view={view}&date={tuesday.isoformat()}").get_data(
            as_text=True
        )
        assert "Tildelt" in html, view
        assert world.employee.full_name in html, view
    week = client.get(f"/appointments?view=week&date={tuesday.isoformat()}").get_data(as_text=True)
    assert "Planlagt" in week and "08:00–10:00" in week and "kl. 08:30" in week


def test_switching_views_keeps_the_date(client, db, login, world):
    login.resident(world.resident)
    day = "2026-12-15"
    html = client.get(f"/appointments?view=week&date={day}").get_data(as_text=True)
    assert f"view=month&amp;date={day}" in html and f"view=list&amp;date={day}" in html


def test_a_bad_date_falls_back_to_today(client, db, login, world):
    login.resident(world.resident)
    assert client.get("/appointments?view=month&date=2026-13-45").status_code == 200


def test_detail_shows_employee_only_when_assigned(client, db, login, world):
    assigned = visit(db, world, tomorrow(), AppointmentStatus.ASSIGNED)
    planned = visit(db, world, tomorrow() + timedelta(days=1))
    login.resident(world.resident)
    html = client.get(f"/appointments/{assigned.id}").get_data(as_text=True)
    assert world.employee.full_name in html and "Avbestill" in html
    html = client.get(f"/appointments/{planned.id}").get_data(as_text=True)
    assert world.employee.full_name not in html


def test_a_past_planned_visit_is_not_found(client, db, login, world):
    old = visit(db, world, oslo_today() - timedelta(days=3))
    login.resident(world.resident)
    assert client.get(f"/appointments/{old.id}").status_code == 404


def test_someone_elses_appointment_is_not_found(client, db, login, world):
    theirs = visit(db, world, tomorrow())
    login.resident(factories.person(db, "Stranger"))
    assert client.get(f"/appointments/{theirs.id}").status_code == 404
    assert client.get(f"/appointments/{theirs.id}/cancel").status_code == 404


def post_cancel(client, appointment, **data):
    """Avbestill as confirmed on the confirmation page (step "confirm")."""
    token = csrf_token(client, f"/appointments/{appointment.id}/cancel")
    return client.post(
        f"/appointments/{appointment.id}/cancel",
        data={"csrf_token": token, "step": "confirm", **data},
    )


def period(world, first: date, last: date) -> dict:
    return {
        "kind": "period",
        "start_date": first.isoformat(),
        "start_time": "00:00",
        "end_date": last.isoformat(),
        "end_time": "23:59",
        "service_ids": [world.nursing.id],
        "note": "Jeg er på ferie",
        "submission_key": "ask-first",
    }


def test_avbestill_shows_the_visits_and_asks_before_cancelling(client, db, login, world):
    days = [tomorrow() + timedelta(days=i) for i in range(3)]
    visits = [visit(db, world, d) for d in days]
    login.resident(world.resident)
    response = post_cancel(client, visits[0], step="", **period(world, days[0], days[1]))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Bekreft avbestillingen" in html and "Dette avbestiller 2 timeavtaler:" in html
    rows = html.split('<ul class="rows">', 1)[1].split("</ul>", 1)[0]
    assert rows.count('class="row"') == 2 and "08:00–10:00" in rows
    assert "Ingenting blir avbestilt før du bekrefter." in html
    assert 'name="step" value="confirm"' in html and 'name="step" value="back"' in html
    assert f'name="service_ids" value="{world.nursing.id}"' in html
    assert 'name="note" value="Jeg er på ferie"' in html
    assert db.scalar(sa.select(sa.func.count()).select_from(Cancellation)) == 0
    for a in visits:
        db.refresh(a)
        assert a.status is AppointmentStatus.PLANNED

    # What the confirmation page sends back cancels exactly what it listed.
    confirmed = post_cancel(client, visits[0], **period(world, days[0], days[1]))
    assert confirmed.status_code == 303
    assert "2 timeavtaler ble avbestilt" in client.get(confirmed.location).get_data(as_text=True)


def test_back_from_the_confirmation_keeps_the_choices_and_cancels_nothing(client, db, login, world):
    target = visit(db, world, tomorrow())
    login.resident(world.resident)
    response = post_cancel(client, target, step="back", **period(world, tomorrow(), tomorrow()))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="period" checked' in html or re.search(r'checked[^>]*value="period"', html)
    assert "Jeg er på ferie</textarea>" in html
    assert db.scalar(sa.select(sa.func.count()).select_from(Cancellation)) == 0


def test_a_single_appointment_is_confirmed_too(client, db, login, world):
    target = visit(db, world, tomorrow())
    visit(db, world, tomorrow() + timedelta(days=1))
    login.resident(world.resident)
    # Without JavaScript the period fields are sent too: for Enkeltavtale they are ignored.
    data = period(world, tomorrow(), tomorrow() + timedelta(days=1)) | {"kind": "single"}
    html = post_cancel(client, target, step="", **data).get_data(as_text=True)
    assert "Dette avbestiller 1 timeavtale:" in html and "Morgenstell" in html
    assert 'name="start_date"' not in html  # nothing of the period is carried on
    db.refresh(target)
    assert target.status is AppointmentStatus.PLANNED


def test_the_period_shows_only_for_periode_where_script_runs(client, db, login, world):
    target = visit(db, world, tomorrow())
    login.resident(world.resident)
    html = client.get(f"/appointments/{target.id}/cancel").get_data(as_text=True)
    assert 'id="period" data-show-when="kind=period"' in html


def external_appointment(db, world, day):
    a = Appointment(
        person_id=world.resident.id,
        source=AppointmentSource.EXTERNAL,
        source_name="Legekontoret",
        status=AppointmentStatus.PLANNED,
        window_start=local_to_utc(day, time(11)),
        window_end=local_to_utc(day, time(11, 30)),
        start_at=local_to_utc(day, time(11)),
        description="Time hos fastlegen",
        created_at=utcnow(),
    )
    db.add(a)
    db.flush()
    return a


def test_appointments_that_cannot_be_cancelled_get_an_explanation_not_a_form(
    client, db, login, world
):
    gp = external_appointment(db, world, tomorrow())
    done = visit(db, world, oslo_today(), AppointmentStatus.ASSIGNED, start=time(0))
    done.status = AppointmentStatus.COMPLETED
    done.completed_at = utcnow()
    done.completed_by_staff_id = world.employee.id
    db.flush()
    login.resident(world.resident)
    cases = [
        (gp, "Denne timen er hos Legekontoret. For å endre den, ta kontakt med dem."),
        (done, "Dette besøket er utført, så det kan ikke avbestilles."),
    ]
    for appointment, why in cases:
        page = client.get(f"/appointments/{appointment.id}/cancel")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and why in html
        assert '<form method="post" action="/appointments/' not in html
        assert "Enkeltavtale" not in html
        refused = post_cancel(client, appointment, kind="single", submission_key="x")
        assert refused.status_code == 409 and why in refused.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Cancellation)) == 0


def test_cancelling_one_appointment_lists_it(client, db, login, world):
    target = visit(db, world, tomorrow())
    login.resident(world.resident)
    page = client.get(f"/appointments/{target.id}/cancel").get_data(as_text=True)
    assert "Enkeltavtale" in page and "Periode" in page
    assert re.search(rf'value="{world.nursing.id}"\s+checked', page)  # pre-selected
    response = post_cancel(client, target, kind="single", submission_key="c1")
    assert response.status_code == 303
    confirmation = client.get(response.location).get_data(as_text=True)
    assert "1 timeavtale ble avbestilt" in confirmation and "Morgenstell" in confirmation
    db.refresh(target)
    assert target.status is AppointmentStatus.CANCELLED


def test_cancelling_a_period_from_the_form(client, db, login, world):
    days = [tomorrow() + timedelta(days=i) for i in range(3)]
    visits = [visit(db, world, d) for d in days]
    login.resident(world.resident)
    response = post_cancel(
        client,
        visits[0],
        kind="period",
        start_date=days[0].isoformat(),
        start_time="00:00",
        end_date=days[1].isoformat(),
        end_time="23:59",
        service_ids=[world.nursing.id],
        submission_key="c2",
    )
    assert response.status_code == 303
    assert "2 timeavtaler ble avbestilt" in client.get(response.location).get_data(as_text=True)
    for a in visits:
        db.refresh(a)
    assert [a.status for a in visits] == [AppointmentStatus.CANCELLED] * 2 + [
        AppointmentStatus.PLANNED
    ]


def test_period_errors_are_explained_and_change_nothing(client, db, login, world):
    target = visit(db, world, tomorrow())
    login.resident(world.resident)
    cases = [
        ({"kind": "period", "service_ids": [world.nursing.id]}, "Fyll inn når perioden"),
        (
            {
                "kind": "period",
                "start_date": tomorrow().isoformat(),
                "start_time": "12:00",
                "end_date": tomorrow().isoformat(),
                "end_time": "11:00",
                "service_ids": [world.nursing.id],
            },
            "Slutten av perioden er før starten",
        ),
        (
            {
                "kind": "period",
                "start_date": "2030-01-01",
                "start_time": "00:00",
                "end_date": "2030-01-02",
                "end_time": "00:00",
                "service_ids": [world.nursing.id],
            },
            "ingenting å avbestille",
        ),
        (
            {
                "kind": "period",
                "start_date": tomorrow().isoformat(),
                "start_time": "00:00",
                "end_date": tomorrow().isoformat(),
                "end_time": "23:59",
            },
            "Velg minst én tjeneste",
        ),
    ]
    for i, (data, message) in enumerate(cases):
        response = post_cancel(client, target, submission_key=f"e{i}", **data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), message
    assert db.scalar(sa.select(sa.func.count()).select_from(Cancellation)) == 0
    db.refresh(target)
    assert target.status is AppointmentStatus.PLANNED


def test_a_parent_of_a_teenager_sees_and_cancels_appointments(client, db, login, world):
    today = oslo_today()
    parent = factories.person(db, "Mor")
    teen = factories.person(db, "Tenåring", born=today.replace(year=today.year - 14))
    factories.parent_of(db, parent, teen)
    factories.receives(db, teen, world.unit)
    target = visit(db, world, tomorrow(), person=teen)
    login.resident(parent, acting_for=teen)
    assert "Morgenstell" in client.get("/appointments").get_data(as_text=True)
    assert post_cancel(client, target, kind="single", submission_key="p1").status_code == 303


def test_a_proxy_out_of_scope_sees_no_appointments(client, db, login, world):
    visit(db, world, tomorrow())
    outsider = factories.person(db, "Outsider")
    factories.fullmakt(db, world.resident, outsider, areas=("legemidler",))
    login.resident(outsider, acting_for=world.resident)
    html = client.get("/appointments").get_data(as_text=True)
    assert "Morgenstell" not in html  # falls back to the outsider's own (none)


def test_the_month_grid_has_a_cell_per_day_with_a_count(client, db, login, world):
    visit(db, world, date(2026, 12, 10))
    login.resident(world.resident)
    html = client.get("/appointments?view=month&date=2026-12-10").get_data(as_text=True)
    assert "desember 2026" in html
    assert re.search(r'aria-label="torsdag 10\. desember: 1 timeavtale \(1 Planlagt\)"', html)
    assert re.search(r'aria-label="fredag 11\. desember: 0 timeavtaler"', html)


MONTH_TEXT = {
    # language: (the cell's name, the legend's title, the legend's status names)
    "nb": (
        "tirsdag 2. mars 2027: 3 timeavtaler (2 Tildelt, 1 Planlagt)",
        "Tegnforklaring",
        ["Planlagt", "Tildelt", "Utført", "Avlyst"],
    ),
    "nn": (
        "tysdag 2. mars 2027: 3 timeavtalar (2 Tildelt, 1 Planlagt)",
        "Teiknforklaring",
        ["Planlagt", "Tildelt", "Utført", "Avlyst"],
    ),
    "en": (
        "Tuesday 2 March 2027: 3 appointments (2 Assigned, 1 Planned)",
        "What the marks mean",
        ["Planned", "Assigned", "Completed", "Cancelled"],
    ),
}


@pytest.mark.parametrize("lang", sorted(MONTH_TEXT))
def test_a_month_cell_says_what_it_holds_and_the_legend_names_the_marks(
    lang, client, db, login, world
):
    """Status is never by colour alone: the cell's name counts each status, in the order
    of its marks, and a visible legend names every mark (docs/quality.md R7)."""
    tuesday = date(2027, 3, 2)
    visit(db, world, tuesday, AppointmentStatus.ASSIGNED, start=time(8))
    visit(db, world, tuesday, AppointmentStatus.PLANNED, start=time(12))
    visit(db, world, tuesday, AppointmentStatus.ASSIGNED, start=time(16))
    login.resident(world.resident)
    with client.session_transaction() as flask_session:
        flask_session["lang"] = lang
    html = client.get("/appointments?view=month&date=2027-03-02").get_data(as_text=True)
    cell, title, names = MONTH_TEXT[lang]
    assert f'aria-label="{cell}"' in html
    marks = re.search(r'aria-label="[^"]*2027[^"]*\(2[^"]*"[^>]*>(.*?)</a>', html, re.S).group(1)
    assert re.findall(r'class="mark mark-(\w+)"', marks) == ["assigned", "planned", "assigned"]
    legend = re.search(r'<div class="month-legend">(.*?)</div>', html, re.S).group(1)
    assert f'id="month-legend-title">{title}</h3>' in legend
    items = re.findall(r'class="mark mark-(\w+)" aria-hidden="true"></span> ([^<]+)</li>', legend)
    assert items == list(zip(["planned", "assigned", "completed", "cancelled"], names, strict=True))


def test_list_pages_by_keyset(client, db, login, world):
    for i in range(35):
        visit(db, world, tomorrow() + timedelta(days=i))
    login.resident(world.resident)
    first = client.get("/appointments?view=list").get_data(as_text=True)
    assert first.count('class="appt"') == 30
    more = re.search(r'href="(/appointments\?[^"]*after=[^"]+)"', first).group(1)
    second = client.get(more.replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert second.get_data(as_text=True).count('class="appt"') == 5


def test_times_are_oslo_times(client, db, login, world):
    day = date(2027, 7, 1)  # summer time: 08:00 in Oslo is 06:00 UTC
    visit(db, world, day)
    login.resident(world.resident)
    html = client.get("/appointments?view=week&date=2027-07-01").get_data(as_text=True)
    assert "08:00–10:00" in html
    assert datetime.combine(day, time(8), tzinfo=OSLO).utcoffset() == timedelta(hours=2)
