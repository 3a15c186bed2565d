"""Visits from the record system (docs/api.md, Appointment): published, booked, completed and
cancelled through FHIR, idempotent by the record system's own identifier and guarded by
versions; what residents and staff do shows up in `_lastUpdated` searches."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.clock import local_to_utc, oslo_today, utcnow
from app.fhir import FNR_SYSTEM, STAFF_SYSTEM
from app.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    CancellationKind,
    ContactSettings,
    Notice,
    NoticeChannel,
    NoticeLevel,
)
from app.services import appointments as appointment_service
from tests import factories
from tests.support import FHIR_BASE, RecordSystem, actor_for, fhir_validated

EPJ = "urn:oid:2.16.578.1.12.4.1.9.12345"  # the record system's own identifier system
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def epj(db: Session, world: factories.World, client: FlaskClient) -> RecordSystem:
    system = RecordSystem()
    row = factories.api_client(db, world.municipality, system.public_jwks, name="Testby EPJ")
    system.client_id = row.client_id
    system.row = row
    system.headers = {"Authorization": f"Bearer {system.token(client)}"}
    return system


def _day(days: int = 3):
    return oslo_today() + timedelta(days=days)


def visit(
    world: factories.World,
    *,
    number: str = "EPJ-1",
    status: str = "proposed",
    days: int = 3,
    employee: str | None = None,
    start: time | None = None,
    patient: dict | None = None,
    **extra,
) -> dict:
    day = _day(days)
    window_start = local_to_utc(day, time(8)).isoformat()
    window_end = local_to_utc(day, time(10)).isoformat()
    participants = [
        {"actor": patient or {"reference": f"Patient/{world.resident.id}"}, "status": "accepted"}
    ]
    if employee:
        participants.append(
            {
                "actor": {"identifier": {"system": STAFF_SYSTEM, "value": employee}},
                "status": "accepted",
            }
        )
    resource = {
        "resourceType": "Appointment",
        "identifier": [{"system": EPJ, "value": number}],
        "status": status,
        "description": "Morgenstell",
        "serviceType": [{"text": "Hjemmesykepleie"}],
        "requestedPeriod": [{"start": window_start, "end": window_end}],
        "participant": participants,
        **extra,
    }
    if status != "proposed":
        at = local_to_utc(day, start or time(8, 30))
        resource["start"] = at.isoformat()
        resource["end"] = window_end
    return resource


def _post(client, epj, resource, **headers):
    return client.post(
        "/fhir/R4/Appointment",
        json=resource,
        headers={**epj.headers, **headers},
    )


def _put(client, epj, path, resource, **headers):
    return client.put(path, json=resource, headers={**epj.headers, **headers})


def _outcome(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    document = response.get_json()
    fhir_validated(document)
    assert document["resourceType"] == "OperationOutcome"
    return document["issue"][0]["diagnostics"]


def test_a_visit_from_the_record_system_is_in_the_residents_calendar(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session, login
):
    response = _post(client, epj, visit(world))
    assert response.status_code == 201
    made = fhir_validated(response.get_json())
    assert made.status == "proposed"
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"] == f"{FHIR_BASE}/Appointment/{made.id}/_history/1"
    row = db.get(Appointment, int(made.id))
    assert (row.unit_id, row.service_id) == (world.unit.id, world.nursing.id)
    assert row.status is AppointmentStatus.PLANNED and row.start_at is None
    login.resident(world.resident)
    page = client.get(f"/appointments/{made.id}").get_data(as_text=True)
    assert "Morgenstell" in page and "Planlagt" in page


def test_the_same_create_sent_again_gives_the_same_visit(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session
):
    first = _post(client, epj, visit(world)).get_json()
    again = _post(client, epj, visit(world))
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    by_header = _post(
        client,
        epj,
        {k: v for k, v in visit(world).items() if k != "identifier"},
        **{"If-None-Exist": f"identifier={EPJ}|EPJ-1"},
    )
    assert by_header.status_code == 200 and by_header.get_json()["id"] == first["id"]
    count = db.scalar(
        sa.select(sa.func.count())
        .select_from(Appointment)
        .where(Appointment.person_id == world.resident.id)
    )
    assert count == 1


def test_booking_with_an_employee_counts_up_the_version_and_if_match_guards_it(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session
):
    made = _post(client, epj, visit(world)).get_json()
    path = f"/fhir/R4/Appointment/{made['id']}"
    booked = _put(
        client,
        epj,
        path,
        {**visit(world, status="booked", employee=world.employee.username), "id": made["id"]},
        **{"If-Match": 'W/"1"'},
    )
    assert booked.status_code == 200, booked.get_json()
    assert booked.headers["ETag"] == 'W/"2"'
    resource = fhir_validated(booked.get_json())
    assert resource.status == "booked"
    assert resource.participant[1].actor.identifier.value == world.employee.username
    row = db.get(Appointment, int(made["id"]))
    assert row.status is AppointmentStatus.ASSIGNED and row.employee_staff_id == world.employee.id
    assert row.start_at == local_to_utc(_day(), time(8, 30))
    stale = _put(client, epj, path, visit(world), **{"If-Match": 'W/"1"'})
    assert "version 2" in _outcome(stale, 412)
    no_employee = _put(client, epj, path, visit(world, status="booked"))
    assert "employee" in _outcome(no_employee, 422)
    stranger = _put(client, epj, path, visit(world, status="booked", employee="nobody"))
    assert "nobody" in _outcome(stranger, 422)
    assert db.get(Appointment, int(made["id"])).version == 2


def test_a_residents_cancellation_reaches_the_record_system(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session
):
    made = _post(client, epj, visit(world)).get_json()
    since = utcnow() - timedelta(seconds=1)
    appointment_service.appointments_cancel(
        db,
        actor_for(db, world.resident),
        appointment_id=int(made["id"]),
        kind=CancellationKind.SINGLE,
        period_start=None,
        period_end=None,
        service_ids=[],
        note=None,
        submission_key=None,
        now=utcnow(),
    )
    found = client.get(
        "/fhir/R4/Appointment",
        query_string={"_lastUpdated": f"gt{since.isoformat()}"},
        headers=epj.headers,
    ).get_json()
    bundle = fhir_validated(found)
    assert [entry.resource.id for entry in bundle.entry] == [made["id"]]
    cancelled = found["entry"][0]["resource"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"]["coding"][0]["code"] == "pat"
    assert cancelled["meta"]["versionId"] == "2"
    refused = _put(
        client,
        epj,
        f"/fhir/R4/Appointment/{made['id']}",
        visit(world, status="booked", employee=world.employee.username),
    )
    assert "cancelled" in _outcome(refused, 409)


def test_a_visit_completed_in_the_record_system_notifies_like_one_registered_here(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session
):
    db.add(
        ContactSettings(
            person_id=world.resident.id,
            email="rita@example.no",
            channel=NoticeChannel.EMAIL,
            level=NoticeLevel.ALL,
            updated_at=utcnow(),
        )
    )
    db.flush()
    done = _post(
        client, epj, visit(world, status="fulfilled", employee=world.employee.username, days=0)
    )
    assert done.status_code == 201
    row = db.get(Appointment, int(done.get_json()["id"]))
    assert row.status is AppointmentStatus.COMPLETED and row.completed_at is not None
    notices = db.scalars(
        sa.select(Notice).where(Notice.subject_person_id == world.resident.id)
    ).all()
    assert [n.event.value for n in notices] == ["visit_completed"]


def test_search_follows_changes_page_by_page(
    client: FlaskClient, epj: RecordSystem, world: factories.World
):
    for number in ("A", "B", "C"):
        assert _post(client, epj, visit(world, number=number)).status_code == 201
    seen = []
    url = f"/fhir/R4/Appointment?patient=Patient/{world.resident.id}&_count=2"
    while url:
        page = client.get(url.removeprefix("http://localhost"), headers=epj.headers).get_json()
        fhir_validated(page)
        seen += [e["resource"]["identifier"][0]["value"] for e in page["entry"]]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert seen == ["A", "B", "C"]
    by_identifier = client.get(
        "/fhir/R4/Appointment", query_string={"identifier": f"{EPJ}|B"}, headers=epj.headers
    ).get_json()
    assert [e["resource"]["identifier"][0]["value"] for e in by_identifier["entry"]] == ["B"]


def test_a_conditional_update_makes_the_visit_then_changes_it(
    client: FlaskClient, epj: RecordSystem, world: factories.World
):
    path = f"/fhir/R4/Appointment?identifier={EPJ}|EPJ-9"
    made = _put(client, epj, path, visit(world, number="EPJ-9"))
    assert made.status_code == 201
    changed = _put(client, epj, path, visit(world, number="EPJ-9", description="Dusj"))
    assert changed.status_code == 200
    assert changed.get_json()["id"] == made.get_json()["id"]
    assert changed.get_json()["description"] == "Dusj"


def test_another_municipality_and_another_provider_see_none_of_it(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session
):
    made = _post(client, epj, visit(world)).get_json()
    foreign = RecordSystem()
    foreign.client_id = factories.api_client(
        db, world.other_municipality, foreign.public_jwks
    ).client_id
    foreign_headers = {"Authorization": f"Bearer {foreign.token(client)}"}
    _outcome(client.get(f"/fhir/R4/Appointment/{made['id']}", headers=foreign_headers), 404)
    _outcome(
        client.post("/fhir/R4/Appointment", json=visit(world, number="X"), headers=foreign_headers),
        422,
    )
    listed = client.get("/fhir/R4/Appointment", headers=foreign_headers).get_json()
    assert listed["entry"] == []
    gp = RecordSystem()
    gp.client_id = factories.api_client(
        db,
        world.municipality,
        gp.public_jwks,
        scopes="system/Appointment.crus",
        provider="Testby legekontor",
    ).client_id
    gp_headers = {"Authorization": f"Bearer {gp.token(client)}"}
    _outcome(client.get(f"/fhir/R4/Appointment/{made['id']}", headers=gp_headers), 404)
    published = client.post(
        "/fhir/R4/Appointment",
        json=visit(world, number="GP-1", status="booked", serviceType=[]),
        headers=gp_headers,
    )
    assert published.status_code == 201, published.get_json()
    row = db.get(Appointment, int(published.get_json()["id"]))
    assert row.source is AppointmentSource.EXTERNAL
    assert row.source_name == "Testby legekontor"
    assert row.status is AppointmentStatus.PLANNED and row.start_at is not None
    assert published.get_json()["status"] == "booked"
    _outcome(client.get(f"/fhir/R4/Appointment/{row.id}", headers=epj.headers), 404)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"resourceType": "Patient"}, 400),
        ({"status": "arrived"}, 400),
        ({"status": 7}, 400),
        ({"participant": []}, 400),
        (
            {"requestedPeriod": [{"start": "2026-12-03T08:00:00", "end": "2026-12-03T09:00:00"}]},
            400,
        ),
        (
            {"requestedPeriod": [{"start": "2026-12-03T10:00:00Z", "end": "2026-12-03T09:00:00Z"}]},
            400,
        ),
        (
            {"requestedPeriod": [{"start": "1850-12-03T08:00:00Z", "end": "1850-12-03T09:00:00Z"}]},
            400,
        ),
        ({"serviceType": [{"text": "Fysioterapi"}]}, 422),
        ({"description": "x" * 501}, 400),
        ({"unknownElement": 1}, 400),
    ],
)
def test_a_malformed_visit_is_refused_with_an_outcome(
    client: FlaskClient, epj: RecordSystem, world: factories.World, db: Session, change, status
):
    _outcome(_post(client, epj, {**visit(world), **change}), status)
    assert db.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_a_patient_by_fodselsnummer_and_a_body_that_is_not_json(
    client: FlaskClient, epj: RecordSystem, world: factories.World
):
    by_number = visit(
        world,
        patient={"identifier": {"system": FNR_SYSTEM, "value": world.resident.fodselsnummer}},
    )
    assert _post(client, epj, by_number).status_code == 201
    text = client.post("/fhir/R4/Appointment", data="status=booked", headers=epj.headers)
    _outcome(text, 400)
    broken = client.post(
        "/fhir/R4/Appointment",
        data="{not json",
        headers={**epj.headers, "Content-Type": FHIR_JSON},
    )
    _outcome(broken, 400)
