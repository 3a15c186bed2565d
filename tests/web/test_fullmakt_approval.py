"""Assigned fullmakt on the web (R11): registered with an assessment, approved by a second
person, and only then in force; the resident and their proxies see it at once."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.clock import oslo_today, utcnow
from app.models import (
    ContactSettings,
    Fullmakt,
    FullmaktKind,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeLevel,
    StaffRoleKind,
    UsageAction,
    UsageLogEntry,
)
from app.services import messaging
from tests import factories
from tests.support import actor_for, csrf_token


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/auth/logged-out"), **data})


def register(client, world, grantee, **fields):
    data = {
        "grantor": world.resident.fodselsnummer,
        "grantee": grantee.fodselsnummer,
        "document_reference": "SAK 2026/17",
        "lacks_consent_competence": "y",
        "assessment": "Fastlege Hansen, legeerklæring 3. mars",
        "valid_from": oslo_today().isoformat(),
        **fields,
    }
    return post(client, "/admin/fullmakter", **{k: v for k, v in data.items() if v is not None})


def rita_thread(db, world):
    return messaging.thread_start(
        db,
        actor_for(db, world.resident),
        service_id=world.nursing.id,
        subject="Medisiner",
        body="Hei fra Rita",
        submission_key=None,
        now=utcnow(),
    )


def test_the_administrator_alone_no_longer_gives_access_to_a_residents_threads(
    client, db, login, world
):
    """The finding: an assigned fullmakt from an active, consenting resident to someone in
    another municipality was accepted at once, and that person read her threads."""
    rita_thread(db, world)
    stranger = factories.person(db, "Sara", "Fremmed", m=world.other_municipality)
    login.staff(world.admin)
    assert register(client, world, stranger).status_code == 303
    fullmakt = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == stranger.id)).one()
    assert fullmakt.is_pending

    login.resident(stranger, acting_for=world.resident)
    inbox = client.get("/messages").get_data(as_text=True)
    assert "Du har ikke lenger tilgang" in inbox and "Medisiner" not in inbox
    assert post(client, "/act-for", person_id=world.resident.id).status_code == 403


def test_registering_needs_the_assessment_and_loses_nothing(client, db, login, world):
    stranger = factories.person(db, "Sara", "Fremmed")
    login.staff(world.admin)
    response = register(client, world, stranger, lacks_consent_competence=None, assessment="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bekreft at personen er vurdert til å mangle samtykkekompetanse" in html
    assert "Oppgi hvem som vurderte samtykkekompetansen" in html
    assert 'value="SAK 2026/17"' in html
    assert db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == stranger.id)).all() == []


def test_the_registering_administrator_cannot_approve_it(client, db, login, world):
    stranger = factories.person(db, "Sara", "Fremmed")
    login.staff(world.admin)
    register(client, world, stranger)
    fullmakt = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == stranger.id)).one()
    page = client.get("/admin/fullmakter").get_data(as_text=True)
    waiting = page.split("Venter på godkjenning")[1].split("Registrert</h2>")[0]
    assert "Sara Fremmed for Rita Resident" in waiting
    assert "Du registrerte denne fullmakten selv" in waiting
    assert "Godkjenn" not in waiting and "Avvis" in waiting
    # Rita uses Hjemmedialog herself: the one deciding is told so.
    assert "Rita Resident bruker Hjemmedialog og har samtykket" in waiting
    response = post(client, f"/admin/fullmakter/{fullmakt.id}/approve")
    assert response.status_code == 422
    assert "En annen person må godkjenne den" in response.get_data(as_text=True)
    db.refresh(fullmakt)
    assert fullmakt.is_pending


def test_the_units_leader_approves_and_it_shows_at_once(client, db, login, world):
    rita_thread(db, world)
    stranger = factories.person(db, "Sara", "Fremmed", m=world.other_municipality)
    db.add(
        ContactSettings(
            person_id=world.proxy.id,
            email="per@test.example",
            channel=NoticeChannel.EMAIL,
            level=NoticeLevel.NORMAL,
            language="en",
            updated_at=utcnow(),
        )
    )
    login.staff(world.admin)
    register(client, world, stranger)
    fullmakt = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == stranger.id)).one()

    login.staff(world.leader, unit_id=world.unit.id)
    queue = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/fullmakter"' in queue  # in the leader's menu
    page = client.get("/staff/fullmakter").get_data(as_text=True)
    assert "Sara Fremmed for Rita Resident" in page and "Fastlege Hansen" in page
    viewed = db.scalars(
        sa.select(UsageLogEntry).where(
            UsageLogEntry.subject_person_id == world.resident.id,
            UsageLogEntry.action == UsageAction.STAFF_VIEWED_PERSON,
            UsageLogEntry.actor_staff_id == world.leader.id,
            UsageLogEntry.object_type == "fullmakt",  # (the queue she saw has its own entry)
        )
    ).all()
    assert [(e.object_type, e.object_id) for e in viewed] == [("fullmakt", fullmakt.id)]
    response = post(client, f"/staff/fullmakter/{fullmakt.id}/approve")
    assert response.status_code == 303
    assert "godkjent" in client.get(response.location).get_data(as_text=True)

    # In force: Sara reads Rita's threads now; Rita's log and Per (her proxy) are told.
    login.resident(stranger)
    assert post(client, "/act-for", person_id=world.resident.id).status_code == 303
    assert "Medisiner" in client.get("/messages").get_data(as_text=True)
    login.resident(world.resident)
    log = client.get("/profile/log").get_data(as_text=True)
    assert re.search(r"Admin\S* registrerte en fullmakt for Sara Fremmed", log)
    assert re.search(r"Leder\S* godkjente fullmakten for Sara Fremmed", log)
    notice = db.scalars(
        sa.select(Notice).where(
            Notice.recipient_person_id == world.proxy.id,
            Notice.event == NoticeEvent.NEW_FULLMAKT,
        )
    ).one()
    assert (notice.subject_person_id, notice.language) == (world.resident.id, "en")


def test_a_leader_sees_only_what_their_unit_serves(client, db, login, world):
    stranger = factories.person(db, "Sara", "Fremmed")
    registrant = factories.staff(
        db, world.municipality, "admin-to", [(StaffRoleKind.MUNICIPAL_ADMIN, None)]
    )
    fullmakt = factories.fullmakt(
        db,
        world.resident,
        stranger,
        kind=FullmaktKind.ASSIGNED,
        registered_by=registrant,
        pending=True,
    )
    login.staff(world.leader, unit_id=world.other_unit.id)  # Rita gets no service there
    assert "Sara Fremmed" not in client.get("/staff/fullmakter").get_data(as_text=True)
    assert post(client, f"/staff/fullmakter/{fullmakt.id}/approve").status_code == 404
    login.staff(world.coordinator)
    assert client.get("/staff/fullmakter").status_code == 403
    db.refresh(fullmakt)
    assert fullmakt.is_pending


def test_the_resident_sees_a_waiting_fullmakt_as_waiting(client, db, login, world):
    stranger = factories.person(db, "Sara", "Fremmed")
    factories.fullmakt(
        db,
        world.resident,
        stranger,
        kind=FullmaktKind.ASSIGNED,
        registered_by=world.admin,
        pending=True,
    )
    login.resident(world.resident)
    page = client.get("/profile/fullmakter").get_data(as_text=True)
    given = page.split("Fullmakter du har gitt")[1].split("Fullmakter du har fått")[0]
    assert "Sara Fremmed" not in given
    waiting = page.split("Venter på godkjenning")[1].split("Historikk")[0]
    assert "Til Sara Fremmed" in waiting


def test_the_readmes_demo_walk_through(client, db, login, demo):
    """README, Trying the demo: admin registers Nils for Lise, Anne approves, Lise acts."""
    nils, lise = demo["people"]["nils"], demo["people"]["lise"]
    login.staff(demo["staff"]["admin"])
    response = post(
        client,
        "/admin/fullmakter",
        grantor="02874430563",
        grantee="14868540266",
        document_reference="SAK 2026/17",
        lacks_consent_competence="y",
        assessment="Fastlege Hansen, legeerklæring",
        valid_from=oslo_today().isoformat(),
    )
    assert response.status_code == 303
    login.staff(demo["staff"]["anne"], unit_id=demo["units"]["Hjemmesykepleien sone Nord"].id)
    page = client.get("/staff/fullmakter").get_data(as_text=True)
    assert "Lise Berg for Nils Hansen" in page
    fullmakt = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantor_id == nils.id)).one()
    assert post(client, f"/staff/fullmakter/{fullmakt.id}/approve").status_code == 303
    login.resident(lise)
    assert post(client, "/act-for", person_id=nils.id).status_code == 303


def test_a_refused_form_still_logs_who_saw_a_waiting_fullmakt(client, db, login, world):
    """R9: the page answering a refused registration (422) shows the waiting fullmakt's
    assessment too; the grantor's log keeps that entry although the form's writes roll back."""
    registrant = factories.staff(
        db, world.municipality, "admin-to", [(StaffRoleKind.MUNICIPAL_ADMIN, None)]
    )
    factories.fullmakt(
        db,
        world.resident,
        factories.person(db, "Sara", "Fremmed"),
        kind=FullmaktKind.ASSIGNED,
        registered_by=registrant,
        pending=True,
    )
    login.staff(world.admin)
    response = register(client, world, world.proxy, assessment="")
    assert response.status_code == 422 and "Fastlege" in response.get_data(as_text=True)
    seen = db.scalars(
        sa.select(UsageLogEntry).where(
            UsageLogEntry.subject_person_id == world.resident.id,
            UsageLogEntry.action == UsageAction.STAFF_VIEWED_PERSON,
            UsageLogEntry.actor_staff_id == world.admin.id,
            UsageLogEntry.object_type == "fullmakt",  # (the list's own entry is beside it)
        )
    ).all()
    assert len(seen) == 1
