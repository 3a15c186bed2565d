"""The demo municipality is the cast of docs/product.md section 8, exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from werkzeug.security import check_password_hash

from app.clock import OSLO, oslo_today, utcnow
from app.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    ContactSettings,
    FamilyRelation,
    Fullmakt,
    Message,
    Municipality,
    NoticeLevel,
    Person,
    RelationKind,
    Service,
    ServiceRecipient,
    StaffAccount,
    StaffRoleKind,
    Thread,
    ThreadStatus,
    Unit,
)
from app.security.access import Scope, load_representations
from app.services.consent import is_digitally_active
from app.services.demo import DatabaseNotEmpty, demo_load
from app.services.register import fodselsnummer_birth_date, fodselsnummer_validate

CAST = {
    "Kari Nordmann": ("12833810241", 1938),
    "Ola Nordmann": ("05896820194", 1968),
    "Eva Nordmann": ("21817121036", 1971),
    "Nils Hansen": ("02874430563", 1944),
    "Lise Berg": ("14868540266", 1985),
    "Emil Berg": ("03901652170", 2016),
    "Marit Olsen": ("30915032067", 1950),
    "Knut Knutsen": ("09820960103", 2009),
    "Per Pettersen": ("17884133351", 1941),
}
STAFF = {
    "siri": ("Siri Berg", {(StaffRoleKind.MESSAGE_COORDINATOR, "Hjemmesykepleien sone Nord")}),
    "jonas": ("Jonas Lie", {(StaffRoleKind.EMPLOYEE, "Hjemmesykepleien sone Nord")}),
    "tone": ("Tone Vik", {(StaffRoleKind.MESSAGE_COORDINATOR, "Praktisk bistand Andeby")}),
    "anne": (
        "Anne Dahl",
        {
            (StaffRoleKind.LEADER, "Hjemmesykepleien sone Nord"),
            (StaffRoleKind.LEADER, "Praktisk bistand Andeby"),
        },
    ),
    "admin": ("Andeby administrator", {(StaffRoleKind.MUNICIPAL_ADMIN, None)}),
    "lars": ("Lars Moe", {(StaffRoleKind.MESSAGE_COORDINATOR, "Hjemmetjenesten Småby")}),
}


def people(db) -> dict[str, Person]:
    return {p.full_name: p for p in db.scalars(sa.select(Person))}


def test_the_register_holds_the_cast(db, demo):
    found = people(db)
    assert set(found) == set(CAST) | {"Oskar Berg", "Maja Berg"}
    for name, (number, year) in CAST.items():
        assert found[name].fodselsnummer == number
        assert found[name].birth_date.year == year


def test_digitally_active_everyone_but_nils_and_the_child(db, demo, app):
    version = app.config["TERMS_VERSION"]
    found = people(db)
    inactive = {n for n, p in found.items() if not is_digitally_active(db, p.id, version)}
    assert inactive == {"Nils Hansen", "Emil Berg", "Oskar Berg"}


def test_family_and_protected_address(db, demo):
    found = people(db)
    relations = {
        (r.person_id, r.related_person_id, r.kind, r.parental_responsibility)
        for r in db.scalars(sa.select(FamilyRelation))
    }
    kari, ola, eva = found["Kari Nordmann"], found["Ola Nordmann"], found["Eva Nordmann"]
    assert (kari.id, ola.id, RelationKind.PARENT, False) in relations
    assert (kari.id, eva.id, RelationKind.PARENT, False) in relations
    assert (found["Lise Berg"].id, found["Emil Berg"].id, RelationKind.PARENT, True) in relations
    assert found["Marit Olsen"].has_protected_address
    assert not found["Kari Nordmann"].has_protected_address


def test_lises_older_children_are_13_and_16_today_whenever_the_demo_is_loaded(db, demo):
    found = people(db)
    today = oslo_today()
    ages = {
        name: relativedelta(today, found[name].birth_date).years
        for name in ("Emil Berg", "Oskar Berg", "Maja Berg")
    }
    assert ages["Oskar Berg"] == 13 and ages["Maja Berg"] == 16
    assert ages["Emil Berg"] < 12
    for name in ("Oskar Berg", "Maja Berg"):
        number = found[name].fodselsnummer
        assert fodselsnummer_validate(number, allow_synthetic=True) == number
        assert fodselsnummer_birth_date(number) == found[name].birth_date
    assert int(found["Maja Berg"].fodselsnummer[8]) % 2 == 0  # a girl
    assert int(found["Oskar Berg"].fodselsnummer[8]) % 2 == 1
    lise = found["Lise Berg"]
    relations = {
        (r.related_person_id, r.parental_responsibility)
        for r in db.scalars(sa.select(FamilyRelation).where(FamilyRelation.person_id == lise.id))
    }
    assert {(found[n].id, True) for n in ("Emil Berg", "Oskar Berg", "Maja Berg")} <= relations


def test_what_lise_may_do_for_each_child(db, demo):
    """docs/product.md 4.8: under 12 everything, 12 to 15 appointments only, at 16 nothing."""
    found = people(db)
    reps = {
        r.subject.full_name: r.scopes
        for r in load_representations(db, found["Lise Berg"], utcnow())
        if not r.is_self
    }
    assert {Scope.MESSAGES, Scope.APPOINTMENTS, Scope.PROFILE} <= reps["Emil Berg"]
    assert reps["Oskar Berg"] == {Scope.APPOINTMENTS}
    assert "Maja Berg" not in reps


def test_kari_gave_ola_all_areas_and_eva_appointments_for_six_months(db, demo):
    found = people(db)
    by_grantee = {
        f.grantee_id: f
        for f in db.scalars(
            sa.select(Fullmakt).where(Fullmakt.grantor_id == found["Kari Nordmann"].id)
        )
    }
    ola = by_grantee[found["Ola Nordmann"].id]
    assert ola.all_areas and ola.valid_to is None and ola.ended_at is None
    eva = db.get(Fullmakt, by_grantee[found["Eva Nordmann"].id].id)
    assert not eva.all_areas
    area_codes = db.scalars(
        sa.text("SELECT area_code FROM fullmakt_area_link WHERE fullmakt_id = :id"), {"id": eva.id}
    ).all()
    assert area_codes == ["timeavtaler-og-behandlere"]
    months = (eva.valid_to.astimezone(OSLO).date() - oslo_today()).days
    assert 180 <= months <= 185
    assert len(by_grantee) == 2


def test_services_units_and_municipalities(db, demo):
    services = {
        s.name: s
        for s in db.scalars(
            sa.select(Service).join(Municipality).where(Municipality.name == "Andeby kommune")
        )
    }
    assert {n: (s.open_for_dialog, s.shows_appointments) for n, s in services.items()} == {
        "Hjemmesykepleie": (True, True),
        "Praktisk bistand": (True, True),
        "Avlastning": (True, False),
        "Fysioterapi": (False, False),
    }
    units = {u.name: u.service_id for u in db.scalars(sa.select(Unit))}
    assert units["Hjemmesykepleien sone Nord"] == services["Hjemmesykepleie"].id
    assert units["Praktisk bistand Andeby"] == services["Praktisk bistand"].id
    assert units["Avlastning Andeby"] == services["Avlastning"].id
    assert "Hjemmetjenesten Småby" in units
    assert {m.name for m in db.scalars(sa.select(Municipality))} == {
        "Andeby kommune",
        "Småby kommune",
    }


def test_who_receives_what(db, demo):
    rows = db.execute(
        sa.select(Person.given_name, Service.name)
        .join(ServiceRecipient, ServiceRecipient.person_id == Person.id)
        .join(Service, Service.id == ServiceRecipient.service_id)
    ).all()
    received: dict[str, set[str]] = {}
    for person, service in rows:
        received.setdefault(person, set()).add(service)
    assert {"Hjemmesykepleie", "Praktisk bistand"} <= received["Kari"]
    assert received["Nils"] == {"Hjemmesykepleie"}
    assert received["Emil"] == {"Avlastning"}
    assert received["Oskar"] == {"Avlastning"}  # Lise sees his appointments
    assert received["Per"] == {"Hjemmetjenesten"}
    assert "Ola" not in received and "Eva" not in received


def test_staff_accounts_roles_and_demo_password(db, demo):
    accounts = {s.username: s for s in db.scalars(sa.select(StaffAccount))}
    assert set(accounts) == set(STAFF)
    for username, (name, roles) in STAFF.items():
        account = accounts[username]
        assert account.full_name == name
        have = db.execute(
            sa.text(
                "SELECT r.role, u.name FROM staff_role r LEFT JOIN unit u ON u.id = r.unit_id"
                " WHERE r.staff_id = :id"
            ),
            {"id": account.id},
        ).all()
        assert {(StaffRoleKind(r), u) for r, u in have} == roles, username
        assert check_password_hash(account.password_hash, "demo-passord")


def test_contact_settings(db, demo):
    found = people(db)
    settings = {s.person_id: s for s in db.scalars(sa.select(ContactSettings))}
    kari = settings[found["Kari Nordmann"].id]
    assert (kari.email, kari.level, kari.same_for_represented) == (
        "kari@andeby.example",
        NoticeLevel.NORMAL,
        False,
    )
    ola = settings[found["Ola Nordmann"].id]
    assert (ola.email, ola.level, ola.same_for_represented) == (
        "ola@andeby.example",
        NoticeLevel.ALL,
        True,
    )
    eva = settings[found["Eva Nordmann"].id]
    assert (eva.level, eva.same_for_represented) == (NoticeLevel.NORMAL, True)
    assert settings[found["Lise Berg"].id].level is NoticeLevel.NORMAL


def _karis_nursing_visits(db, found):
    return db.scalars(
        sa.select(Appointment)
        .join(Service, Service.id == Appointment.service_id)
        .where(
            Appointment.person_id == found["Kari Nordmann"].id,
            Service.name == "Hjemmesykepleie",
        )
        .order_by(Appointment.window_start)
    ).all()


def test_karis_morning_visits_from_two_weeks_back_to_eight_weeks_ahead(db, demo):
    visits = _karis_nursing_visits(db, people(db))
    today = oslo_today()
    days = [v.window_start.astimezone(OSLO).date() for v in visits]
    assert days[0] == today - timedelta(days=14)
    assert days[-1] == today + timedelta(weeks=8)
    assert len(days) == len(set(days)) == 14 + 56 + 1
    for visit in visits:
        local = visit.window_start.astimezone(OSLO)
        assert (local.hour, local.minute) == (8, 0)
        assert visit.window_end.astimezone(OSLO).hour == 10


def test_karis_visits_are_completed_in_the_past_assigned_today_and_tomorrow(db, demo):
    found = people(db)
    jonas = db.scalars(sa.select(StaffAccount).where(StaffAccount.username == "jonas")).one()
    today = oslo_today()
    for visit in _karis_nursing_visits(db, found):
        day = visit.window_start.astimezone(OSLO).date()
        if day < today:
            assert visit.status is AppointmentStatus.COMPLETED
            assert visit.completed_by_staff_id == jonas.id and visit.completed_at
        elif day <= today + timedelta(days=1):
            assert visit.status is AppointmentStatus.ASSIGNED
            assert visit.employee_staff_id == jonas.id and visit.start_at
        else:
            assert visit.status is AppointmentStatus.PLANNED
            assert visit.employee_staff_id is None


def test_practical_help_on_tuesdays_and_fridays_at_noon(db, demo):
    found = people(db)
    visits = db.scalars(
        sa.select(Appointment)
        .join(Service, Service.id == Appointment.service_id)
        .where(
            Appointment.person_id == found["Kari Nordmann"].id,
            Service.name == "Praktisk bistand",
        )
    ).all()
    assert visits
    for visit in visits:
        local = visit.window_start.astimezone(OSLO)
        assert local.weekday() in (1, 4) and local.hour == 12
        assert visit.window_end.astimezone(OSLO).hour == 14


def test_jonas_has_todays_visits_with_karis_among_them(db, demo):
    jonas = db.scalars(sa.select(StaffAccount).where(StaffAccount.username == "jonas")).one()
    today = oslo_today()
    todays = [
        a
        for a in db.scalars(sa.select(Appointment).where(Appointment.employee_staff_id == jonas.id))
        if a.window_start.astimezone(OSLO).date() == today
    ]
    names = {db.get(Person, a.person_id).given_name for a in todays}
    assert "Kari" in names and len(todays) >= 2
    assert all(a.status is AppointmentStatus.ASSIGNED for a in todays)


def test_kari_has_a_gp_appointment_from_another_provider(db, demo):
    external = db.scalars(
        sa.select(Appointment).where(Appointment.source == AppointmentSource.EXTERNAL)
    ).all()
    assert len(external) == 1 and "fastlege" in external[0].source_name


def test_kari_has_one_answered_and_one_waiting_thread(db, demo):
    found = people(db)
    threads = db.scalars(
        sa.select(Thread).where(Thread.person_id == found["Kari Nordmann"].id)
    ).all()
    statuses = sorted(t.status for t in threads)
    assert statuses == sorted([ThreadStatus.ANSWERED, ThreadStatus.AWAITING_SERVICE])
    waiting = next(t for t in threads if t.status is ThreadStatus.AWAITING_SERVICE)
    assert waiting.reply_deadline > utcnow()
    message = db.scalars(sa.select(Message).where(Message.thread_id == waiting.id)).one()
    assert message.author_person_id == found["Ola Nordmann"].id
    assert message.on_behalf_of_person_id == found["Kari Nordmann"].id


def test_the_demo_loads_only_into_an_empty_database(db, demo, app):
    with pytest.raises(DatabaseNotEmpty):
        demo_load(db, now=utcnow(), allow_synthetic=True, terms_version="2026-1")


def test_the_demo_refuses_synthetic_numbers_where_they_are_not_allowed(db):
    from app.services.register import InvalidFodselsnummer

    with pytest.raises(InvalidFodselsnummer):
        demo_load(db, now=utcnow(), allow_synthetic=False, terms_version="2026-1")


def test_karis_usage_log_holds_olas_work_and_the_staff_read(db, demo):
    from app.models import UsageAction, UsageLogEntry

    found = people(db)
    entries = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.subject_person_id == found["Kari Nordmann"].id)
    ).all()
    actions = {(e.action, e.actor_person_id, e.actor_staff_id is not None) for e in entries}
    ola = found["Ola Nordmann"].id
    assert (UsageAction.MESSAGE_SENT, ola, False) in actions
    assert (UsageAction.ACTING_STARTED, ola, False) in actions
    assert (UsageAction.STAFF_VIEWED_THREAD, None, True) in actions


def test_the_demo_record_system_reads_kari_with_its_documented_key(client, demo, db):
    """README: the demo's record-system client and its development key (docs/api-demo/)."""
    from app.config import PROJECT_ROOT
    from scripts.api_token import token_request
    from tests.support import API_TOKEN_URL, fhir_validated

    kari = demo["people"]["kari"]
    form = token_request(
        str(PROJECT_ROOT / "docs/api-demo/andeby-epj.private.jwk.json"),
        "andeby-epj-demo",
        API_TOKEN_URL,
        "system/Patient.rs",
    )
    token = client.post("/oauth/token", data=form).get_json()["access_token"]
    bundle = client.get(
        "/fhir/R4/Patient",
        query_string={"identifier": kari.fodselsnummer},
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    assert fhir_validated(bundle).total == 1
    assert bundle["entry"][0]["resource"]["name"][0]["text"] == "Kari Nordmann"
    gp_form = token_request(
        str(PROJECT_ROOT / "docs/api-demo/andeby-legekontor.private.jwk.json"),
        "andeby-legekontor-demo",
        API_TOKEN_URL,
        None,
    )
    answer = client.post("/oauth/token", data=gp_form).get_json()
    assert answer["scope"] == "system/Appointment.crus"
