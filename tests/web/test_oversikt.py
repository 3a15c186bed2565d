"""Oversikt for leaders and the administrator (docs/product.md 5.8): the page, its period
form, its charts and tables, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from app.clock import oslo_today, utcnow
from app.models import Thread, ThreadStatus, UsageLogEntry
from app.services import messaging
from tests.support import actor_for


def _threads(db, world):
    """Two open threads of the unit, one with only an interim reply, none past its deadline."""
    resident = actor_for(db, world.resident)
    made = [
        messaging.thread_start(
            db,
            resident,
            service_id=world.nursing.id,
            subject=f"Emne {i}",
            body="Tekst",
            submission_key=None,
            now=utcnow() - timedelta(hours=1),
        )
        for i in range(2)
    ]
    messaging.thread_reply_staff(
        db,
        actor_for(db, world.coordinator, unit_id=world.unit.id),
        thread=made[0],
        body="Vi ser på det",
        submission_key=None,
        now=utcnow() - timedelta(minutes=30),
        next_answer_at=utcnow() + timedelta(days=2),
    )
    db.flush()
    return made


def test_the_leader_sees_the_figures_of_their_units(client, db, login, world):
    _threads(db, world)
    login.staff(world.leader, unit_id=world.unit.id)
    logged = db.scalar(sa.select(sa.func.count(UsageLogEntry.id)))
    page = client.get("/staff/oversikt")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert world.unit.name in html and world.other_unit.name in html
    # The active unit's counts open Alle tråder with the filter.
    assert '/staff/threads?status=interim">1</a>' in html
    assert '/staff/threads?status=open">2</a>' in html
    assert 'src="data:image/svg+xml;base64,' in html
    assert 'id="messages-table"' in html
    # Aggregate figures only: no resident is named, nothing goes in anyone's usage log.
    assert world.resident.family_name not in html
    assert db.scalar(sa.select(sa.func.count(UsageLogEntry.id))) == logged


def test_a_reversed_range_is_refused_with_a_message_and_the_default_shown(client, login, world):
    login.staff(world.leader, unit_id=world.unit.id)
    page = client.get("/staff/oversikt?period=range&start=2026-03-10&end=2026-03-01")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "Fra-datoen må være samme dag som eller før til-datoen." in html
    # The last 4 weeks are shown instead: 28 days in the table of completed visits.
    days = html.split('id="completed-table"')[1].split("</table>")[0]
    assert days.count("<tr>") == 1 + 28


def test_an_absurd_range_is_refused(client, login, world):
    login.staff(world.leader, unit_id=world.unit.id)
    too_long = client.get("/staff/oversikt?period=range&start=2025-01-01&end=2026-06-30")
    assert too_long.status_code == 422
    assert "Velg en periode på høyst 366 dager." in too_long.get_data(as_text=True)
    missing = client.get("/staff/oversikt?period=range&start=2026-01-01")
    assert "Velg både en fra-dato og en til-dato." in missing.get_data(as_text=True)


def test_a_unit_outside_ones_own_is_refused(client, login, world):
    login.staff(world.leader, unit_id=world.unit.id)
    page = client.get(f"/staff/oversikt?unit={world.foreign_unit.id}")
    assert page.status_code == 422
    assert world.foreign_unit.name not in page.get_data(as_text=True)


def test_one_unit_can_be_chosen(client, db, login, world):
    _threads(db, world)
    login.staff(world.leader, unit_id=world.unit.id)
    html = client.get(f"/staff/oversikt?unit={world.other_unit.id}").get_data(as_text=True)
    counts = html.split('id="thread-counts"')[1].split("</table>")[0]
    assert world.other_unit.name in counts and world.unit.name not in counts


def test_the_administrator_sees_every_unit_of_the_municipality(client, login, world):
    login.staff(world.admin)
    html = client.get("/staff/oversikt").get_data(as_text=True)
    for unit in (world.unit, world.other_unit, world.closed_unit):
        assert unit.name in html
    assert world.foreign_unit.name not in html
    # The administrator reads nobody's threads: the counts link nowhere.
    assert "/staff/threads?status=" not in html


def test_staff_who_lead_nothing_are_refused(client, login, world):
    login.staff(world.coordinator)
    assert client.get("/staff/oversikt").status_code == 403
    assert client.get("/staff/oversikt.csv?table=weeks").status_code == 403


def test_the_numbers_download_as_csv(client, db, login, world):
    _threads(db, world)
    login.staff(world.leader, unit_id=world.unit.id)
    response = client.get("/staff/oversikt.csv?table=threads&period=week")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.mimetype_params == {"charset": "utf-8"}
    monday = oslo_today() - timedelta(days=oslo_today().weekday())
    name = f"oversikt-threads-{monday.isoformat()}-{oslo_today().isoformat()}.csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [
        "Tjenestested",
        "Åpne tråder",
        "Over fristen",
        "Bare foreløpig svar",
        "Venter på svar utenfra",
    ]
    assert [world.unit.name, "2", "0", "1", "0"] in rows


def test_every_table_downloads_and_an_unknown_one_is_not_found(client, db, login, world):
    thread = _threads(db, world)[1]
    db.execute(
        sa.update(Thread)
        .where(Thread.id == thread.id)
        .values(status=ThreadStatus.AWAITING_SERVICE, reply_deadline=utcnow() - timedelta(hours=1))
    )
    login.staff(world.leader, unit_id=world.unit.id)
    weeks = client.get("/staff/oversikt.csv?table=weeks&period=4weeks").get_data(as_text=True)
    assert weeks.splitlines()[0].lstrip("\ufeff").startswith("Fra,Til,Meldinger fra brukere")
    assert len(weeks.splitlines()) >= 5  # a header and the 4 or 5 weeks met
    days = client.get("/staff/oversikt.csv?table=days").get_data(as_text=True)
    assert len(days.splitlines()) == 1 + 28
    replies = client.get("/staff/oversikt.csv?table=replies").get_data(as_text=True)
    assert "Hjemmesykepleie" in replies and world.coordinator.full_name in replies
    threads = client.get("/staff/oversikt.csv?table=threads").get_data(as_text=True)
    assert f"{world.unit.name},2,1,1,0" in threads
    assert client.get("/staff/oversikt.csv?table=people").status_code == 404


def test_only_leaders_and_the_administrator_have_oversikt_in_their_menu(client, login, world):
    login.staff(world.coordinator)
    assert "/staff/oversikt" not in client.get("/staff/").get_data(as_text=True)
    login.staff(world.leader, unit_id=world.unit.id)
    assert 'href="/staff/oversikt"' in client.get("/staff/").get_data(as_text=True)
    login.staff(world.admin)
    assert 'href="/staff/oversikt"' in client.get("/admin/").get_data(as_text=True)
