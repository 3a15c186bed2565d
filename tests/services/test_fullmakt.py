"""Fullmakt rules (docs/product.md 4.7), one by one, with ages on the exact birthday."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.clock import OSLO, oslo_today, utcnow
from app.models import (
    APPOINTMENTS_AND_PROVIDERS,
    AddressProtection,
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
from app.security import access
from app.services import fullmakt as service
from app.services import notices as notice_service
from app.services.fullmakt import FullmaktRefused, end_of_day
from tests import factories
from tests.support import actor_for


def years_ago(years: int, *, days: int = 0) -> date:
    today = oslo_today()
    return today.replace(year=today.year - years) + timedelta(days=days)


def grant(db, actor, grantee, **kw):
    return service.fullmakt_grant(
        db,
        actor,
        grantee_id=grantee.id,
        all_areas=kw.get("all_areas", False),
        area_codes=kw.get("areas", [APPOINTMENTS_AND_PROVIDERS]),
        valid_to=kw.get("valid_to"),
        now=kw.get("now", utcnow()),
    )


def refused(db, actor, grantee, code, **kw):
    with pytest.raises(FullmaktRefused) as error:
        grant(db, actor, grantee, **kw)
    assert error.value.code == code
    assert (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(Fullmakt)
            .where(Fullmakt.grantee_id == grantee.id)
        )
        == 0
    )


def test_a_resident_gives_a_family_member_selected_areas_until_a_date(db, world):
    kari = factories.person(db, "Kari")
    lise = factories.person(db, "Lise")
    until = oslo_today() + timedelta(days=30)
    fullmakt = grant(db, actor_for(db, kari), lise, valid_to=until)
    assert fullmakt.kind is FullmaktKind.ORDINARY and not fullmakt.all_areas
    assert fullmakt.area_codes == {APPOINTMENTS_AND_PROVIDERS}
    assert fullmakt.valid_to == end_of_day(until)
    entry = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.action == UsageAction.FULLMAKT_GIVEN)
    ).one()
    assert (entry.subject_person_id, entry.detail) == (kari.id, "Lise " + lise.family_name)


@pytest.mark.parametrize(
    ("born", "allowed"),
    [
        (years_ago(18), True),  # 18 today
        (years_ago(18, days=1), False),  # 18 tomorrow
        (years_ago(40), True),
    ],
)
def test_the_grantee_is_at_least_18_on_the_exact_birthday(db, born, allowed):
    grantor = factories.person(db, "Grantor")
    grantee = factories.person(db, "Grantee", born=born)
    if allowed:
        grant(db, actor_for(db, grantor), grantee)
    else:
        refused(db, actor_for(db, grantor), grantee, "grantee_too_young")


@pytest.mark.parametrize(
    ("born", "allowed"),
    [
        (years_ago(16), True),  # 16 today
        (years_ago(16, days=1), False),  # 16 tomorrow
    ],
)
def test_the_grantor_is_at_least_16_on_the_exact_birthday(db, born, allowed):
    grantor = factories.person(db, "Grantor", born=born)
    grantee = factories.person(db, "Grantee")
    if allowed:
        grant(db, actor_for(db, grantor), grantee)
    else:
        refused(db, actor_for(db, grantor), grantee, "grantor_too_young")


def test_the_grantor_must_be_digitally_active(db):
    grantor = factories.person(db, "Grantor", active=False)
    refused(db, actor_for(db, grantor), factories.person(db, "Grantee"), "grantor_not_active")


@pytest.mark.parametrize("side", ["grantor", "grantee"])
def test_nobody_with_a_protected_address_gives_or_receives(db, side):
    grantor = factories.person(db, "Grantor")
    grantee = factories.person(db, "Grantee")
    person = grantor if side == "grantor" else grantee
    person.address_protection = AddressProtection.STRENGT_FORTROLIG
    db.flush()
    refused(db, actor_for(db, grantor), grantee, f"{side}_protected")


def test_nobody_grants_to_themselves(db):
    me = factories.person(db, "Me")
    refused(db, actor_for(db, me), me, "self")


def test_a_proxy_cannot_grant_for_the_person_they_act_for(db, world):
    third = factories.person(db, "Third")
    with pytest.raises(FullmaktRefused, match="acting_for_other"):
        grant(db, actor_for(db, world.proxy, acting_for=world.resident), third)


def test_areas_must_be_chosen_and_known(db):
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    refused(db, actor_for(db, grantor), grantee, "no_areas", areas=[])
    refused(db, actor_for(db, grantor), grantee, "no_areas", areas=["no-such-area"])


def test_the_last_day_cannot_be_past(db):
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    refused(
        db,
        actor_for(db, grantor),
        grantee,
        "valid_to_past",
        valid_to=oslo_today() - timedelta(days=1),
    )


def change(db, actor, fullmakt, *, last_day, all_areas=False, areas=(APPOINTMENTS_AND_PROVIDERS,)):
    terms = service.FullmaktTerms.chosen(
        last_day=last_day, all_areas=all_areas, area_codes=list(areas)
    )
    return service.fullmakt_change(db, actor, fullmakt_id=fullmakt.id, terms=terms, now=utcnow())


def test_a_second_gi_ny_fullmakt_to_the_same_person_is_refused_not_a_silent_change(db):
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    first = grant(db, actor_for(db, grantor), grantee)
    with pytest.raises(FullmaktRefused, match="already_given"):
        grant(db, actor_for(db, grantor), grantee, all_areas=True, areas=[])
    assert first.ended_at is None and not first.all_areas


def test_a_change_changes_exactly_what_was_changed(db):
    """The finding: only a new last day typed on a time-limited "Utvalgte områder"
    fullmakt gave an unlimited all-areas one, and the typed date was lost."""
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    actor = actor_for(db, grantor)
    first_day = oslo_today() + timedelta(days=30)
    first = grant(db, actor, grantee, valid_to=first_day)
    later = oslo_today() + timedelta(days=90)
    second, changes = change(db, actor, first, last_day=later)
    assert [(c.what, c.old, c.new) for c in changes] == [("last_day", first_day, later)]
    assert second.replaces_id == first.id and first.ended_at is not None
    assert service.last_day_of(second) == later
    assert not second.all_areas and second.area_codes == {APPOINTMENTS_AND_PROVIDERS}
    (entry,) = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.action == UsageAction.FULLMAKT_CHANGED)
    ).all()
    assert (entry.object_id, entry.detail) == (second.id, grantee.full_name)

    third, changes = change(
        db, actor, second, last_day=later, areas=(APPOINTMENTS_AND_PROVIDERS, "legemidler")
    )
    assert [c.what for c in changes] == ["areas"]
    assert service.last_day_of(third) == later
    assert third.area_codes == {APPOINTMENTS_AND_PROVIDERS, "legemidler"}


def test_a_change_that_changes_nothing_writes_nothing(db):
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    actor = actor_for(db, grantor)
    first = grant(db, actor, grantee, valid_to=oslo_today() + timedelta(days=30))
    same, changes = change(db, actor, first, last_day=oslo_today() + timedelta(days=30))
    assert same is first and changes == [] and first.ended_at is None
    assert db.scalar(sa.select(sa.func.count()).select_from(Fullmakt)) == 1


def test_only_the_grantor_changes_an_ordinary_fullmakt_in_force(db, world):
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    fullmakt = grant(db, actor_for(db, grantor), grantee)
    with pytest.raises(access.AccessDenied):
        change(db, actor_for(db, grantee), fullmakt, last_day=None)
    with pytest.raises(FullmaktRefused, match="acting_for_other"):
        change(db, actor_for(db, world.proxy, acting_for=world.resident), fullmakt, last_day=None)
    service.fullmakt_end(db, actor_for(db, grantor), fullmakt_id=fullmakt.id, now=utcnow())
    with pytest.raises(FullmaktRefused, match="not_found"):
        change(db, actor_for(db, grantor), fullmakt, last_day=None)


def test_either_side_ends_it_and_access_stops_at_once(db):
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    fullmakt = grant(db, actor_for(db, grantor), grantee)
    assert grantor.id in {r.subject.id for r in actor_for(db, grantee).representations}
    service.fullmakt_end(db, actor_for(db, grantee), fullmakt_id=fullmakt.id, now=utcnow())
    assert fullmakt.ended_at is not None and fullmakt.ended_by_person_id == grantee.id
    assert grantor.id not in {r.subject.id for r in actor_for(db, grantee).representations}


def test_strangers_cannot_end_someone_elses_fullmakt(db):
    grantor, grantee, stranger = (factories.person(db, n) for n in "ABC")
    fullmakt = grant(db, actor_for(db, grantor), grantee)
    with pytest.raises(FullmaktRefused):
        service.fullmakt_end(db, actor_for(db, stranger), fullmakt_id=fullmakt.id, now=utcnow())


def test_a_fullmakt_until_a_day_lasts_through_that_day_and_ends_at_midnight(db):
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    last_day = oslo_today() + timedelta(days=3)
    fullmakt = grant(db, actor_for(db, grantor), grantee, valid_to=last_day)
    midnight = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=OSLO)
    assert fullmakt.valid_to == midnight.astimezone(UTC)
    assert access.fullmakt_scopes(fullmakt, midnight - timedelta(seconds=1))
    assert not access.fullmakt_scopes(fullmakt, midnight)


def test_the_search_says_not_found_and_nothing_more(db):
    with pytest.raises(FullmaktRefused, match="not_found"):
        service.find_by_fodselsnummer(
            db, factories.synthetic_fnr(date(1960, 1, 1)), allow_synthetic=True
        )
    with pytest.raises(FullmaktRefused, match="invalid_number"):
        service.find_by_fodselsnummer(db, "12345678901", allow_synthetic=True)
    # A synthetic number where they are not allowed is simply not found.
    with pytest.raises(FullmaktRefused, match="not_found"):
        service.find_by_fodselsnummer(
            db, factories.synthetic_fnr(date(1960, 1, 1)), allow_synthetic=False
        )


# --- Gi ny fullmakt: searching the register (R11) ------------------------------------------


def search(db, actor, number, family_name, *, now=None, allow_synthetic=True):
    return service.grantee_search(
        db,
        actor,
        fodselsnummer=number,
        family_name=family_name,
        allow_synthetic=allow_synthetic,
        now=now or utcnow(),
    )


def searches_logged(db, person):
    return db.scalars(
        sa.select(UsageLogEntry)
        .where(
            UsageLogEntry.subject_person_id == person.id,
            UsageLogEntry.action == UsageAction.REGISTER_SEARCHED,
        )
        .order_by(UsageLogEntry.id)
    ).all()


def test_a_search_needs_the_number_and_the_family_name_written_any_way(db):
    me = factories.person(db, "Kari")
    lise = factories.person(db, "Lise", "Berg-Ås")
    actor = actor_for(db, me)
    for written in ("Berg-Ås", "berg-ås", "  BERG   ÅS ", "Berg As", "berg-as"):
        assert search(db, actor, lise.fodselsnummer, written) == lise
    with pytest.raises(FullmaktRefused, match="no_match"):
        search(db, actor, lise.fodselsnummer, "Berg")
    with pytest.raises(FullmaktRefused, match="family_name_missing"):
        search(db, actor, lise.fodselsnummer, "  ")


def test_every_refusal_about_the_person_is_the_same_no_match(db):
    me = factories.person(db, "Kari", "Nordmann")
    young = factories.person(db, "Knut", "Knutsen", born=years_ago(17))
    hidden = factories.person(
        db, "Marit", "Olsen", address_protection=AddressProtection.STRENGT_FORTROLIG
    )
    adult = factories.person(db, "Lise", "Berg")
    actor = actor_for(db, me)
    tries = {
        "nobody": (factories.synthetic_fnr(date(1961, 1, 1)), "Berg"),
        "another name": (adult.fodselsnummer, "Nordmann"),
        "under 18": (young.fodselsnummer, "Knutsen"),
        "protected address": (hidden.fodselsnummer, "Olsen"),
        "the searcher": (me.fodselsnummer, "Nordmann"),
        "a test number in production": (adult.fodselsnummer, "Berg"),
    }
    for what, (number, name) in tries.items():
        with pytest.raises(FullmaktRefused) as error:
            search(db, actor, number, name, allow_synthetic=what != "a test number in production")
        assert error.value.code == "no_match", what
    logged = searches_logged(db, me)
    assert len(logged) == len(tries)
    assert all(e.detail is None and e.actor_person_id == me.id for e in logged)


def test_an_invalid_number_says_so_and_is_not_a_search(db):
    me = factories.person(db, "Kari")
    with pytest.raises(FullmaktRefused, match="invalid_number"):
        search(db, actor_for(db, me), "12345678901", "Berg")
    assert searches_logged(db, me) == []


def test_each_search_is_in_the_searchers_log_without_the_number(db):
    me = factories.person(db, "Kari")
    lise = factories.person(db, "Lise", "Berg")
    search(db, actor_for(db, me), lise.fodselsnummer, "Berg")
    (entry,) = searches_logged(db, me)
    assert entry.detail == "Lise Berg"
    assert lise.fodselsnummer not in repr([entry.detail, entry.object_type, entry.object_id])
    assert searches_logged(db, lise) == []  # the person searched for learns nothing either


def test_searches_are_limited_per_grantor_and_nothing_is_looked_up_after(db):
    me = factories.person(db, "Kari")
    other = factories.person(db, "Ola")
    lise = factories.person(db, "Lise", "Berg")
    start = utcnow()
    actor = actor_for(db, me)
    for i in range(service.SEARCH_LIMIT):
        with pytest.raises(FullmaktRefused, match="no_match"):
            search(db, actor, lise.fodselsnummer, "Feil", now=start + timedelta(minutes=i))
    later = start + timedelta(minutes=30)
    with pytest.raises(service.SearchLimited) as limited:
        search(db, actor, lise.fodselsnummer, "Berg", now=later)  # even the right name
    assert limited.value.retry_at == start + service.SEARCH_WINDOW
    assert len(searches_logged(db, me)) == service.SEARCH_LIMIT  # the refused one is not
    # Someone else searches as before; and the grantor again once the first hour is over.
    assert search(db, actor_for(db, other), lise.fodselsnummer, "Berg", now=later) == lise
    assert search(db, actor, lise.fodselsnummer, "Berg", now=limited.value.retry_at) == lise


def test_a_proxy_or_an_inactive_grantor_cannot_search(db, world):
    lise = factories.person(db, "Lise", "Berg")
    with pytest.raises(FullmaktRefused, match="acting_for_other"):
        search(
            db, actor_for(db, world.proxy, acting_for=world.resident), lise.fodselsnummer, "Berg"
        )
    inactive = factories.person(db, "Nils", active=False)
    with pytest.raises(FullmaktRefused, match="grantor_not_active"):
        search(db, actor_for(db, inactive), lise.fodselsnummer, "Berg")
    assert searches_logged(db, inactive) == []


# --- assigned by the municipality ---------------------------------------------------------


def assign(db, world, grantor, grantee, **kw):
    return service.fullmakt_assign(
        db,
        actor_for(db, kw.get("admin", world.admin)),
        grantor_id=grantor.id,
        grantee_id=grantee.id,
        document_reference=kw.get("reference", "SAK 2026/17"),
        lacks_consent_competence=kw.get("confirmed", True),
        assessment=kw.get("assessment", "Fastlege Hansen, legeerklæring 3. mars"),
        valid_from=kw.get("valid_from", oslo_today()),
        valid_to=kw.get("valid_to"),
        now=kw.get("now", utcnow()),
    )


def approve(db, who, fullmakt, **kw):
    return service.fullmakt_approve(
        db, actor_for(db, who, **kw), fullmakt_id=fullmakt.id, now=utcnow()
    )


def second_admin(db, world, **kw):
    return factories.staff(
        db,
        world.municipality,
        f"admin2-{factories.next_name()}",
        [(StaffRoleKind.MUNICIPAL_ADMIN, None)],
        **kw,
    )


def represented_by(db, person):
    return {r.subject.id: r.scopes for r in actor_for(db, person).representations}


def logged(db, person, action):
    return db.scalars(
        sa.select(UsageLogEntry).where(
            UsageLogEntry.subject_person_id == person.id, UsageLogEntry.action == action
        )
    ).all()


def test_an_assigned_fullmakt_gives_no_access_until_a_second_person_approves(db, world):
    nils = factories.person(db, "Nils", active=False, m=world.municipality)
    daughter = factories.person(db, "Datter")
    fullmakt = assign(db, world, nils, daughter)
    assert fullmakt.kind is FullmaktKind.ASSIGNED and fullmakt.all_areas and fullmakt.is_pending
    assert fullmakt.registered_by_staff_id == world.admin.id
    assert fullmakt.assessment == "Fastlege Hansen, legeerklæring 3. mars"
    assert nils.id not in represented_by(db, daughter)
    assert access.fullmakt_scopes(fullmakt, utcnow()) == frozenset()
    assert daughter not in notice_service.representatives(db, nils, utcnow())
    (entry,) = logged(db, nils, UsageAction.FULLMAKT_REGISTERED)
    assert (entry.actor_staff_id, entry.detail) == (world.admin.id, daughter.full_name)

    approve(db, second_admin(db, world), fullmakt)
    assert not fullmakt.is_pending and fullmakt.approved_at is not None
    assert access.Scope.MESSAGES in represented_by(db, daughter)[nils.id]
    assert daughter in notice_service.representatives(db, nils, utcnow())


def test_approval_tells_the_grantor_and_those_who_already_represent_them(db, world):
    kari = factories.person(db, "Kari", m=world.municipality)
    ola = factories.person(db, "Ola")  # has an ordinary fullmakt from Kari
    factories.fullmakt(db, kari, ola)
    stranger = factories.person(db, "Fremmed", m=world.other_municipality)
    for person, level, same in (
        (kari, NoticeLevel.LIMITED, False),
        (ola, NoticeLevel.LIMITED, False),  # even without "same notices for others"
        (stranger, NoticeLevel.ALL, True),
    ):
        db.add(
            ContactSettings(
                person_id=person.id,
                email=f"{person.given_name.lower()}@test.example",
                channel=NoticeChannel.EMAIL,
                level=level,
                same_for_represented=same,
                language="nn" if person is ola else "nb",
                updated_at=utcnow(),
            )
        )
    db.flush()
    fullmakt = assign(db, world, kari, stranger)
    assert db.scalars(sa.select(Notice)).all() == []  # nothing while it waits
    approve(db, second_admin(db, world), fullmakt)
    notices = db.scalars(sa.select(Notice).order_by(Notice.recipient_person_id)).all()
    assert {(n.recipient_person_id, n.subject_person_id, n.event, n.language) for n in notices} == {
        (kari.id, kari.id, NoticeEvent.NEW_FULLMAKT, "nb"),
        (ola.id, kari.id, NoticeEvent.NEW_FULLMAKT, "nn"),
    }
    assert {n.event_key for n in notices} == {f"fullmakt:{fullmakt.id}"}
    (entry,) = logged(db, kari, UsageAction.FULLMAKT_APPROVED)
    assert entry.detail == stranger.full_name


def test_nobody_approves_what_they_registered(db, world):
    nils = factories.person(db, "Nils", m=world.municipality)
    fullmakt = assign(db, world, nils, factories.person(db, "Datter"))
    with pytest.raises(FullmaktRefused, match="own_registration"):
        approve(db, world.admin, fullmakt)
    assert fullmakt.is_pending
    # Nor can the database be made to say so.
    fullmakt.approved_by_staff_id, fullmakt.approved_at = world.admin.id, utcnow()
    with pytest.raises(sa.exc.IntegrityError), db.begin_nested():
        db.flush()


def test_staff_who_are_a_party_neither_register_nor_approve(db, world):
    nils = factories.person(db, "Nils", m=world.municipality)
    daughter = factories.person(db, "Datter")
    admin_who_is_the_daughter = second_admin(db, world, person=daughter)
    with pytest.raises(FullmaktRefused, match="staff_party"):
        assign(db, world, nils, daughter, admin=admin_who_is_the_daughter)
    fullmakt = assign(db, world, nils, daughter)
    with pytest.raises(FullmaktRefused, match="staff_party"):
        approve(db, admin_who_is_the_daughter, fullmakt)
    leader_who_is_nils = factories.staff(
        db, world.municipality, "leder-nils", [(StaffRoleKind.LEADER, world.unit)], person=nils
    )
    factories.receives(db, nils, world.unit)
    with pytest.raises(FullmaktRefused, match="staff_party"):
        approve(db, leader_who_is_nils, fullmakt)
    assert fullmakt.is_pending


def test_the_leader_of_a_unit_serving_the_grantor_approves_and_nobody_else(db, world):
    nils = factories.person(db, "Nils", m=world.municipality)
    factories.receives(db, nils, world.unit)
    fullmakt = assign(db, world, nils, factories.person(db, "Datter"))
    other_leader = factories.staff(
        db, world.municipality, "leder-annen", [(StaffRoleKind.LEADER, world.other_unit)]
    )
    admin_elsewhere = factories.staff(
        db, world.other_municipality, "admin-annen", [(StaffRoleKind.MUNICIPAL_ADMIN, None)]
    )
    for outsider in (other_leader, world.coordinator, world.employee, admin_elsewhere):
        with pytest.raises(access.AccessDenied) as denied:
            approve(db, outsider, fullmakt)
        assert denied.value.hide_existence
    # The leader leads two units; approving goes through the one serving Nils.
    with pytest.raises(access.AccessDenied):
        approve(db, world.leader, fullmakt, unit_id=world.other_unit.id)
    approve(db, world.leader, fullmakt, unit_id=world.unit.id)
    assert fullmakt.approved_by_staff_id == world.leader.id
    entry = logged(db, nils, UsageAction.FULLMAKT_APPROVED)[0]
    assert entry.actor_unit_id == world.unit.id


def test_a_rejected_fullmakt_never_takes_effect(db, world):
    nils = factories.person(db, "Nils", m=world.municipality)
    daughter = factories.person(db, "Datter")
    fullmakt = assign(db, world, nils, daughter)
    # The one who registered it may withdraw it.
    service.fullmakt_reject(db, actor_for(db, world.admin), fullmakt_id=fullmakt.id, now=utcnow())
    assert fullmakt.was_rejected and fullmakt.ended_by_staff_id == world.admin.id
    assert logged(db, nils, UsageAction.FULLMAKT_REJECTED)
    with pytest.raises(FullmaktRefused, match="not_pending"):
        approve(db, second_admin(db, world), fullmakt)
    assert nils.id not in represented_by(db, daughter)


def test_the_grantor_lives_here_the_grantee_anywhere(db, world):
    outsider = factories.person(db, "Ute", m=world.other_municipality)
    with pytest.raises(FullmaktRefused, match="other_municipality"):
        assign(db, world, outsider, factories.person(db, "Datter"))
    with pytest.raises(access.AccessDenied):
        assign(
            db,
            world,
            factories.person(db, "Nils", m=world.municipality),
            factories.person(db, "Datter"),
            admin=world.coordinator,
        )
    # A daughter in another city is normal: registered, and in force once approved.
    nils = factories.person(db, "Nils", m=world.municipality)
    far_away = factories.person(db, "Datter", m=world.other_municipality)
    approve(db, second_admin(db, world), assign(db, world, nils, far_away))
    assert nils.id in represented_by(db, far_away)


def test_an_assigned_fullmakt_needs_a_document_an_assessment_and_an_adult(db, world):
    nils = factories.person(db, "Nils", m=world.municipality)
    daughter = factories.person(db, "Datter")
    for kw, code in (
        ({"reference": " "}, "document_missing"),
        ({"confirmed": False}, "assessment_unconfirmed"),
        ({"assessment": "  "}, "assessment_missing"),
        ({"assessment": "x" * 501}, "assessment_too_long"),
        (
            {
                "valid_to": oslo_today() - timedelta(days=1),
                "valid_from": oslo_today() - timedelta(days=9),
            },
            "valid_to_past",
        ),
    ):
        with pytest.raises(FullmaktRefused) as error:
            assign(db, world, nils, daughter, **kw)
        assert error.value.code == code
    with pytest.raises(FullmaktRefused, match="grantee_too_young"):
        assign(db, world, nils, factories.person(db, "Barn", born=years_ago(10)))
    assert db.scalars(sa.select(Fullmakt).where(Fullmakt.grantor_id == nils.id)).all() == []
