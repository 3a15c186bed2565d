"""Messages and the record system (docs/api.md, Communication): it reads what residents and
relatives write, journals it (staff then see "Journalført i <system>"), and its staff's
replies arrive in the right thread and notify like any reply."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.fhir import STAFF_SYSTEM
from app.models import (
    ContactSettings,
    Message,
    Notice,
    NoticeChannel,
    NoticeEvent,
    Thread,
    ThreadStatus,
    UsageAction,
    UsageLogEntry,
)
from app.services import messaging
from tests import factories
from tests.support import RecordSystem, actor_for, fhir_validated

EPJ = "urn:oid:2.16.578.1.12.4.1.9.12345"


@pytest.fixture
def epj(db: Session, world: factories.World, client: FlaskClient) -> RecordSystem:
    system = RecordSystem()
    row = factories.api_client(db, world.municipality, system.public_jwks, name="Testby EPJ")
    system.client_id = row.client_id
    system.row = row
    system.headers = {"Authorization": f"Bearer {system.token(client)}"}
    return system


@pytest.fixture
def thread(db: Session, world: factories.World) -> Thread:
    """Rita asks; Per, who holds her fullmakt, adds to it on her behalf."""
    started = messaging.thread_start(
        db,
        actor_for(db, world.resident),
        service_id=world.nursing.id,
        subject="Medisiner",
        body="Hei, kan dere ta med nye medisiner?",
        submission_key=None,
        now=utcnow() - timedelta(minutes=5),
    )
    messaging.thread_reply_resident(
        db,
        actor_for(db, world.proxy, acting_for=world.resident),
        thread=started,
        body="Jeg kan hente dem på apoteket også.",
        submission_key=None,
        now=utcnow() - timedelta(minutes=1),
    )
    db.flush()
    return started


def _new(client: FlaskClient, epj: RecordSystem) -> list[dict]:
    found = client.get(
        "/fhir/R4/Communication",
        query_string={"category": "from-resident", "journaled": "false"},
        headers=epj.headers,
    )
    assert found.status_code == 200, found.get_json()
    bundle = found.get_json()
    fhir_validated(bundle)
    return [entry["resource"] for entry in bundle["entry"]]


def _reply(world, answered: dict, *, number: str = "SVAR-1", username: str | None = None):
    return {
        "resourceType": "Communication",
        "identifier": [{"system": EPJ, "value": number}],
        "status": "completed",
        "inResponseTo": [{"reference": f"Communication/{answered['id']}"}],
        "sender": {
            "identifier": {"system": STAFF_SYSTEM, "value": username or world.employee.username}
        },
        "payload": [{"contentString": "Vi tar dem med i morgen tidlig."}],
    }


def test_the_record_system_reads_new_messages_with_whom_they_came_from(
    client: FlaskClient, epj: RecordSystem, world: factories.World, thread: Thread, db: Session
):
    own, on_behalf = _new(client, epj)
    assert own["sender"] == {"reference": f"Patient/{world.resident.id}"}
    assert own["payload"][0]["contentString"] == "Hei, kan dere ta med nye medisiner?"
    assert own["topic"]["text"] == "Medisiner"
    assert on_behalf["sender"] == {"reference": "#sender"}
    relative = on_behalf["contained"][0]
    assert relative["resourceType"] == "RelatedPerson"
    assert relative["name"][0]["text"] == "Per Proxy"
    assert relative["relationship"][0]["text"] == "on behalf of"
    assert relative["patient"] == {"reference": f"Patient/{world.resident.id}"}
    logged = db.scalars(
        sa.select(UsageLogEntry).where(
            UsageLogEntry.subject_person_id == world.resident.id,
            UsageLogEntry.action == UsageAction.RECORD_SYSTEM_READ,
        )
    ).all()
    assert [entry.object_type for entry in logged] == ["Communication"]


def test_a_journaled_message_says_where_it_was_journaled(
    client: FlaskClient,
    epj: RecordSystem,
    world: factories.World,
    thread: Thread,
    db: Session,
    login,
):
    first, _ = _new(client, epj)
    done = client.post(
        f"/fhir/R4/Communication/{first['id']}/$journal",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "reference", "valueString": "JOURNAL-77"}],
        },
        headers=epj.headers,
    )
    assert done.status_code == 200, done.get_json()
    journaled = fhir_validated(done.get_json())
    assert journaled.identifier[0].value == "JOURNAL-77"
    assert journaled.note[0].text == "Journaled in Testby EPJ"
    assert [m["id"] for m in _new(client, epj)] != [first["id"]]
    again = client.post(f"/fhir/R4/Communication/{first['id']}/$journal", headers=epj.headers)
    assert again.status_code == 200
    message = db.get(Message, int(first["id"]))
    db.refresh(message)
    assert message.journal_reference == "JOURNAL-77"
    login.staff(world.coordinator)
    page = client.get(f"/staff/threads/{thread.id}").get_data(as_text=True)
    assert "Journalført i Testby EPJ" in page


def test_a_reply_from_the_record_system_lands_in_the_thread_and_notifies(
    client: FlaskClient, epj: RecordSystem, world: factories.World, thread: Thread, db: Session
):
    db.add(
        ContactSettings(
            person_id=world.resident.id,
            email="rita@example.no",
            channel=NoticeChannel.EMAIL,
            updated_at=utcnow(),
        )
    )
    db.flush()
    first, _ = _new(client, epj)
    sent = client.post("/fhir/R4/Communication", json=_reply(world, first), headers=epj.headers)
    assert sent.status_code == 201, sent.get_json()
    reply = fhir_validated(sent.get_json())
    assert reply.sender.identifier.value == world.employee.username
    row = db.get(Message, int(reply.id))
    assert (row.thread_id, row.author_staff_id) == (thread.id, world.employee.id)
    db.refresh(thread)
    assert thread.status is ThreadStatus.ANSWERED
    notices = db.scalars(
        sa.select(Notice).where(
            Notice.subject_person_id == world.resident.id,
            Notice.event == NoticeEvent.NEW_MESSAGE,
        )
    ).all()
    assert len(notices) == 1
    again = client.post("/fhir/R4/Communication", json=_reply(world, first), headers=epj.headers)
    assert again.status_code == 200 and again.get_json()["id"] == reply.id
    stranger = client.post(
        "/fhir/R4/Communication",
        json=_reply(world, first, number="SVAR-2", username=world.other_unit_staff.username),
        headers=epj.headers,
    )
    assert stranger.status_code == 422
    messaging.thread_close(db, actor_for(db, world.coordinator), thread=thread, now=utcnow())
    db.flush()
    closed = client.post(
        "/fhir/R4/Communication",
        json=_reply(world, first, number="SVAR-3"),
        headers=epj.headers,
    )
    assert closed.status_code == 409


def test_other_municipalities_and_providers_read_no_messages(
    client: FlaskClient, world: factories.World, thread: Thread, db: Session, epj: RecordSystem
):
    first, _ = _new(client, epj)
    foreign = RecordSystem()
    foreign.client_id = factories.api_client(
        db, world.other_municipality, foreign.public_jwks
    ).client_id
    headers = {"Authorization": f"Bearer {foreign.token(client)}"}
    assert client.get(f"/fhir/R4/Communication/{first['id']}", headers=headers).status_code == 404
    listed = client.get("/fhir/R4/Communication", headers=headers).get_json()
    assert listed["entry"] == []
    journal = client.post(f"/fhir/R4/Communication/{first['id']}/$journal", headers=headers)
    assert journal.status_code == 404
    message = db.get(Message, int(first["id"]))
    db.refresh(message)
    assert message.journaled_at is None


@pytest.mark.parametrize(
    "change",
    [
        {"resourceType": "Appointment"},
        {"status": "in-progress"},
        {"inResponseTo": []},
        {"inResponseTo": [{"reference": "Communication/x"}]},
        {"sender": {"reference": "Practitioner/1"}},
        {"payload": []},
        {"payload": [{"contentString": "x" * 4001}]},
    ],
)
def test_a_malformed_reply_is_refused(
    client: FlaskClient, epj: RecordSystem, world: factories.World, thread: Thread, db, change
):
    first, _ = _new(client, epj)
    response = client.post(
        "/fhir/R4/Communication", json={**_reply(world, first), **change}, headers=epj.headers
    )
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert db.scalar(sa.select(sa.func.count()).select_from(Message)) == 2
