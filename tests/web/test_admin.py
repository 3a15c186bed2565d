"""Administrasjon (docs/product.md 5.9): services opened and closed, municipality settings, units;
every change in the audit trail (Endringslogg)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.clock import OSLO, utcnow
from app.models import AdminChange, Message, Thread
from app.models.audit import AppendOnlyError
from app.notices.worker import _text, load_batch
from app.selectors import audit as audit_reads
from app.services import messaging
from tests import factories
from tests.support import LoginHelper, actor_for, csrf_token

# The day before Christmas Eve: the 24th is a working day, the 25th and 26th are holidays
# (the 26th a Saturday), the 27th a Sunday; the second working day is Monday the 28th.
BEFORE_CHRISTMAS = datetime(2026, 12, 23, 14, 0, tzinfo=OSLO)


def _admin(app: Flask, db: Session, world: factories.World):
    client = app.test_client()
    LoginHelper(client, db).staff(world.admin)
    return client


def _post(client, path: str, **data: object):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def _changes(db: Session) -> list[AdminChange]:
    return list(db.scalars(sa.select(AdminChange).order_by(AdminChange.id)))


# --- services ---------------------------------------------------------------------------------


def test_closing_a_service_stops_new_messages_and_keeps_threads_answerable(
    app, db, client, login, world
):
    helping = world.other_unit.service
    factories.receives(db, world.resident, world.other_unit)
    old = messaging.thread_start(
        db,
        actor_for(db, world.resident),
        service_id=helping.id,
        subject="Vask",
        body="Kan dere komme fredag?",
        submission_key=None,
        now=utcnow(),
    )
    admin = _admin(app, db, world)
    page = admin.get(f"/admin/services/{helping.id}").get_data(as_text=True)
    assert "Eksisterende samtaler" in page or "stopper nye meldinger" in page
    closed = _post(admin, f"/admin/services/{helping.id}", shows_appointments="y")
    assert closed.status_code == 303
    db.expire_all()
    assert not helping.open_for_dialog and helping.shows_appointments

    login.resident(world.resident)
    compose = client.get("/messages/new").get_data(as_text=True)
    assert f'value="{helping.id}"' not in compose  # not offered
    assert 'id="closed-services"' in compose and "Praktisk bistand" in compose
    assert "ikke åpne for digitale meldinger" in compose
    refused = _post(client, "/messages/new", service_id=helping.id, subject="Ny", body="Hei")
    assert refused.status_code == 422
    # The existing thread is still readable and answerable.
    assert client.get(f"/messages/{old.id}").status_code == 200
    answered = _post(client, f"/messages/{old.id}/reply", body="Fredag passer fint")
    assert answered.status_code == 303
    assert db.scalar(sa.select(sa.func.count()).where(Message.thread_id == old.id)) == 2

    _post(admin, f"/admin/services/{helping.id}", open_for_dialog="y", shows_appointments="y")
    compose = client.get("/messages/new").get_data(as_text=True)
    assert f'value="{helping.id}"' in compose and 'id="closed-services"' not in compose

    changes = _changes(db)
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("open_for_dialog", "yes", "no"),
        ("open_for_dialog", "no", "yes"),
    ]
    assert {c.actor_staff_id for c in changes} == {world.admin.id}
    assert all(c.service_id == helping.id and c.object_name == helping.name for c in changes)


def test_an_unchanged_form_writes_no_audit_entry(app, db, world):
    admin = _admin(app, db, world)
    _post(admin, f"/admin/services/{world.nursing.id}", open_for_dialog="y", shows_appointments="y")
    assert _changes(db) == []


def test_a_service_of_another_municipality_is_not_found(app, db, world):
    admin = _admin(app, db, world)
    foreign = world.foreign_unit.service_id
    assert admin.get(f"/admin/services/{foreign}").status_code == 404
    assert _post(admin, f"/admin/services/{foreign}").status_code == 404
    assert admin.get(f"/admin/units/{world.foreign_unit.id}").status_code == 404


# --- municipality settings --------------------------------------------------------------------


def test_a_reply_deadline_of_two_working_days_counts_holidays(
    app, db, client, login, world, monkeypatch
):
    admin = _admin(app, db, world)
    saved = _post(admin, "/admin/settings", reply_deadline_working_days="2", notice_sender_name="X")
    db.expire_all()
    assert saved.status_code == 303 and world.municipality.reply_deadline_working_days == 2

    monkeypatch.setattr("app.web.citizen.routes.utcnow", lambda: BEFORE_CHRISTMAS)
    login.resident(world.resident)
    sent = _post(client, "/messages/new", service_id=world.nursing.id, subject="Resept", body="Hei")
    assert sent.status_code == 303
    thread = db.scalars(sa.select(Thread).where(Thread.subject == "Resept")).one()
    assert thread.reply_deadline.astimezone(OSLO).date().isoformat() == "2026-12-28"
    assert "mandag 28. desember" in client.get(sent.location).get_data(as_text=True)


@pytest.mark.parametrize("days", ["0", "11", "to", "", "1e400", "-1"])
def test_a_reply_deadline_outside_1_to_10_is_refused_and_nothing_changes(app, db, world, days):
    admin = _admin(app, db, world)
    refused = _post(
        admin, "/admin/settings", reply_deadline_working_days=days, notice_sender_name="Ny"
    )
    assert refused.status_code == 422
    db.expire_all()
    page = refused.get_data(as_text=True)
    assert "svarfrist" in page.lower()
    assert world.municipality.reply_deadline_working_days == 1
    assert world.municipality.notice_sender_name != "Ny"
    assert _changes(db) == []


def test_the_sender_name_appears_in_notices(app, db, world):
    admin = _admin(app, db, world)
    _post(
        admin,
        "/admin/settings",
        reply_deadline_working_days="1",
        notice_sender_name="Testby helse og omsorg",
    )
    notice = factories.failed_notice(db, world)
    (outgoing,) = load_batch(db, [notice.id])
    with app.test_request_context():
        text = _text(outgoing)
    assert "Testby helse og omsorg" in text.body and "Testby helse og omsorg" in text.subject
    (change,) = _changes(db)
    assert (change.object_type, change.field, change.after) == (
        "municipality",
        "notice_sender_name",
        "Testby helse og omsorg",
    )


# --- units ------------------------------------------------------------------------------------


def test_automatic_journaling_marks_new_messages_of_the_unit_journaled(
    app, db, client, login, world
):
    admin = _admin(app, db, world)
    saved = _post(admin, f"/admin/units/{world.unit.id}", phone="22 00 00 00", auto_journal="y")
    db.expire_all()
    assert saved.status_code == 303 and world.unit.auto_journal
    login.resident(world.resident)
    _post(client, "/messages/new", service_id=world.nursing.id, subject="Journal", body="Hei")
    message = db.scalars(sa.select(Message).join(Thread).where(Thread.subject == "Journal")).one()
    assert message.journaled_at is not None
    (change,) = _changes(db)
    assert (change.field, change.before, change.after) == ("auto_journal", "no", "yes")


def test_unit_contact_details_are_edited_and_shown_on_health_contacts(
    app, db, client, login, world
):
    admin = _admin(app, db, world)
    form = admin.get(f"/admin/units/{world.unit.id}").get_data(as_text=True)
    assert 'value="22 00 00 00"' in form  # the stored number, as people write it
    saved = _post(
        admin,
        f"/admin/units/{world.unit.id}",
        phone="23 45 67 89",
        email="Sone.Nord@Testby.example",
        address="Torget 1",
        opening_hours="Hverdager 08–15",
    )
    assert saved.status_code == 303
    db.expire_all()
    assert world.unit.phone == "+4723456789"
    login.resident(world.resident)
    contacts = client.get("/contacts").get_data(as_text=True)
    assert "23 45 67 89" in contacts and "Torget 1" in contacts and "Hverdager 08–15" in contacts
    assert {c.field for c in _changes(db)} == {"phone", "email", "address", "opening_hours"}


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [("phone", "123", "gyldig telefonnummer"), ("email", "ikke en adresse", "gyldig e-post")],
)
def test_a_bad_phone_or_email_is_refused_and_loses_nothing(app, db, world, field, value, says):
    admin = _admin(app, db, world)
    data = {"phone": "22 00 00 00", "address": "Torget 9", field: value}
    refused = _post(admin, f"/admin/units/{world.unit.id}", **data)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    db.expire_all()
    assert says in page and "Torget 9" in page  # what was typed is kept
    assert world.unit.address is None and _changes(db) == []


# --- the audit trail --------------------------------------------------------------------------


def _change_everything(app, db, world) -> None:
    admin = _admin(app, db, world)
    _post(admin, "/admin/settings", reply_deadline_working_days="3", notice_sender_name="Testby")
    _post(admin, f"/admin/units/{world.other_unit.id}", address="Praktisk vei 2")
    _post(admin, f"/admin/units/{world.closed_unit.id}", address="Fysio vei 3")


def test_the_administrator_reads_every_change_with_before_and_after(app, db, world):
    _change_everything(app, db, world)
    admin = _admin(app, db, world)
    page = admin.get("/admin/changes").get_data(as_text=True)
    assert "Praktisk vei 2" in page and "Fysio vei 3" in page
    assert "fra 1 til 3" in page and world.admin.full_name in page
    assert "Endringslogg" in admin.get("/admin/").get_data(as_text=True)


def test_a_leader_reads_the_changes_that_concern_their_units(client, app, db, login, world):
    _change_everything(app, db, world)
    login.staff(world.leader, unit_id=world.unit.id)
    page = client.get("/admin/changes").get_data(as_text=True)
    assert "Praktisk vei 2" in page and "fra 1 til 3" in page
    assert "Fysio vei 3" not in page  # a unit the leader does not lead
    assert client.get("/admin/").status_code == 403  # the rest of Administrasjon is not theirs
    assert 'href="/admin/changes"' in client.get("/staff/").get_data(as_text=True)  # in the menu


def test_staff_who_are_not_leaders_do_not_read_the_trail(client, db, login, world):
    login.staff(world.coordinator)
    assert client.get("/admin/changes").status_code == 403


def test_the_trail_is_keyset_paginated(app, db, world):
    admin = _admin(app, db, world)
    for n in range(audit_reads.CHANGE_PAGE + 3):
        _post(admin, "/admin/settings", reply_deadline_working_days="2", notice_sender_name=f"N{n}")
    first = audit_reads.admin_changes(db, world.municipality.id)
    assert len(first.items) == audit_reads.CHANGE_PAGE and first.next_cursor
    rest = audit_reads.admin_changes(db, world.municipality.id, cursor=first.next_cursor)
    assert len(rest.items) == 4 and rest.next_cursor is None  # 33 names and one deadline
    assert not {c.id for c in first.items} & {c.id for c in rest.items}
    page = admin.get("/admin/changes").get_data(as_text=True)
    assert "Vis eldre endringer" in page
    older = admin.get(f"/admin/changes?after={first.next_cursor}", headers={"HX-Request": "true"})
    assert "<html" not in older.get_data(as_text=True) and "N0" in older.get_data(as_text=True)


def test_the_trail_is_append_only(app, db, world):
    _change_everything(app, db, world)
    change = _changes(db)[0]
    change.after = "forfalsket"
    with pytest.raises(AppendOnlyError):
        db.flush()


@pytest.mark.parametrize("name", ["\u200b\u200b", "   ", "\u2066\u2069"])
def test_a_sender_name_that_shows_nothing_is_refused(app, db, world, name):
    admin = _admin(app, db, world)
    refused = _post(
        admin, "/admin/settings", reply_deadline_working_days="1", notice_sender_name=name
    )
    assert refused.status_code == 422
    assert "Skriv avsendernavnet" in refused.get_data(as_text=True)
    assert _changes(db) == []


def test_bidi_controls_are_removed_from_unit_details(app, db, world):
    admin = _admin(app, db, world)
    _post(admin, f"/admin/units/{world.unit.id}", address="Torget\u202e 1", opening_hours="\u200b")
    db.expire_all()
    assert world.unit.address == "Torget 1" and world.unit.opening_hours is None
