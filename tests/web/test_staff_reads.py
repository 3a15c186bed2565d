"""Every staff response that shows a resident's data leaves a usage-log entry (docs/quality.md R9).

The routes come from the route table (`tests/web/test_route_access.py`), which itself must
name every route of `app.url_map`: a new staff page is checked here without anyone
remembering to add it. Whatever the status (a refused form answers 422 and still shows the
thread), a response that names a resident must have written an entry for that resident.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.models import Person, UsageAction, UsageLogEntry
from tests import factories
from tests.support import LoginHelper, csrf_token
from tests.web.test_route_access import ROUTES, build_scene

STAFF_ROLES = ("staff_of_unit", "leader", "admin")
STAFF_ROUTES = sorted(r for r in ROUTES if r[0].split(".")[0] in ("staff", "admin"))

# Forms sent wrong on purpose: each answers 422 with the page that shows the resident.
REFUSED_FORMS = {
    "reply": ("/staff/threads/{thread}/reply", {"body": ""}),
    "interim": ("/staff/threads/{thread}/interim", {"body": "Snart", "next_date": ""}),
    "pass_on": ("/staff/threads/{thread}/pass-on", {"method": "phone", "body": ""}),
    "assign": ("/staff/threads/{thread}/assign", {"assignee_id": ""}),
    "forward": ("/staff/threads/{thread}/forward", {"unit_id": ""}),
    "series_new": ("/staff/recipients/{resident}/series/new", {"weekdays": ""}),
    "series_edit": ("/staff/series/{series}", {"weekdays": ""}),
    "compose": ("/staff/messages/new", {"person_id": "{resident}", "subject": "", "body": ""}),
}


def _staff(role: str, world: factories.World):
    return {"staff_of_unit": world.coordinator, "leader": world.leader, "admin": world.admin}[role]


def _sign_in(role: str, login: LoginHelper, world: factories.World) -> None:
    if role == "leader":
        login.staff(world.leader, unit_id=world.unit.id)
    else:
        login.staff(_staff(role, world))


def _entries_by(db: Session, staff_id: int) -> dict[int, int]:
    rows = db.execute(
        sa.select(UsageLogEntry.subject_person_id, sa.func.count())
        .where(UsageLogEntry.actor_staff_id == staff_id)
        .group_by(UsageLogEntry.subject_person_id)
    ).all()
    return dict(rows)


def _named(db: Session, html: str) -> list[Person]:
    text = re.sub(r"\s+", " ", html)
    return [p for p in db.scalars(sa.select(Person)) if p.full_name in text]


def _assert_every_named_resident_logged(db, staff_id, before, html, what):
    after = _entries_by(db, staff_id)
    named = _named(db, html)
    missing = [p.full_name for p in named if after.get(p.id, 0) <= before.get(p.id, 0)]
    assert not missing, f"{what} showed {missing} without a usage-log entry"


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("route", STAFF_ROUTES, ids=lambda r: f"{r[0]}-{r[1]}")
def test_a_staff_response_that_names_a_resident_is_in_their_log(
    route, role, client: FlaskClient, db: Session, login: LoginHelper, world
):
    _sign_in(role, login, world)
    scene = build_scene(db, world)
    make_request, _expected = ROUTES[route]
    path, data = make_request(scene)
    staff_id = _staff(role, world).id
    before = _entries_by(db, staff_id)
    if route[1] == "GET":
        response = client.get(path)
    else:
        body = dict(data or {})
        body.setdefault("csrf_token", csrf_token(client, "/auth/logged-out"))
        body.setdefault("submission_key", f"reads-{route[0]}-{role}")
        response = client.post(path, data=body)
    html = response.get_data(as_text=True)
    _assert_every_named_resident_logged(db, staff_id, before, html, f"{role} {route} {path}")


@pytest.mark.parametrize("form", sorted(REFUSED_FORMS))
def test_a_refused_staff_form_still_leaves_its_read_in_the_log(
    form, client: FlaskClient, db: Session, login: LoginHelper, world
):
    login.staff(world.coordinator)
    scene = build_scene(db, world)
    path, data = REFUSED_FORMS[form]
    before = _entries_by(db, world.coordinator.id)
    body = {k: v.format(**scene.ids) for k, v in data.items()}
    body["csrf_token"] = csrf_token(client, "/auth/logged-out")
    response = client.post(path.format(**scene.ids), data=body)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert world.resident.full_name in html
    _assert_every_named_resident_logged(db, world.coordinator.id, before, html, form)


def test_the_queue_names_whom_it_showed_in_their_log(client, db, login, world):
    login.staff(world.coordinator)
    build_scene(db, world)
    client.get("/staff/")
    entry = db.scalars(
        sa.select(UsageLogEntry).where(
            UsageLogEntry.subject_person_id == world.resident.id,
            UsageLogEntry.actor_staff_id == world.coordinator.id,
        )
    ).one()
    assert (entry.action, entry.object_type) == (UsageAction.STAFF_VIEWED_PERSON, "queue")
    login.resident(world.resident)
    log = client.get("/profile/log").get_data(as_text=True)
    assert f"{world.coordinator.full_name}, Sone Nord, så navnet ditt i meldingskøen" in log


def test_identical_reads_close_in_time_are_one_line_with_a_count(client, db, login, world):
    login.staff(world.coordinator)
    scene = build_scene(db, world)
    for _ in range(3):
        assert client.get(f"/staff/threads/{scene.ids['thread']}").status_code == 200
    stored = db.scalar(
        sa.select(sa.func.count()).where(
            UsageLogEntry.subject_person_id == world.resident.id,
            UsageLogEntry.action == UsageAction.STAFF_VIEWED_THREAD,
        )
    )
    assert stored == 3  # stored one by one
    login.resident(world.resident)
    log = re.sub(r"\s+", " ", client.get("/profile/log").get_data(as_text=True))
    line = f"{world.coordinator.full_name}, Sone Nord, åpnet en meldingstråd"
    assert log.count(line) == 1
    assert re.search(
        re.escape(line) + r" <span class=\"log-repeat\">\(3 ganger, fra \d\d:\d\d\)", log
    )
