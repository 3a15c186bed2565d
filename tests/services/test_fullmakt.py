"""Fullmakt rules (PRODUCT.md 4.7), one by one, with ages on the exact birthday."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.clock import OSLO, oslo_today, utcnow
from app.models import (
    APPOINTMENTS_AND_PROVIDERS,
    AddressProtection,
    Fullmakt,
    FullmaktKind,
    UsageAction,
    UsageLogEntry,
)
from app.security import access
from app.services import fullmakt as service
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


def test_changing_ends_the_old_one_and_creates_a_new_one(db):
    grantor, grantee = factories.person(db, "A"), factories.person(db, "B")
    first = grant(db, actor_for(db, grantor), grantee)
    second = grant(db, actor_for(db, grantor), grantee, all_areas=True, areas=[])
    db.refresh(first)
    assert first.ended_at is not None and second.replaces_id == first.id
    assert second.all_areas


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
        valid_from=kw.get("valid_from", oslo_today()),
        valid_to=kw.get("valid_to"),
        now=utcnow(),
    )


def test_the_administrator_registers_an_assigned_fullmakt(db, world):
    nils = factories.person(db, "Nils", active=False, m=world.municipality)
    daughter = factories.person(db, "Datter")
    fullmakt = assign(db, world, nils, daughter)
    assert fullmakt.kind is FullmaktKind.ASSIGNED and fullmakt.all_areas
    assert fullmakt.registered_by_staff_id == world.admin.id
    reps = actor_for(db, daughter).representations
    assert nils.id in {r.subject.id for r in reps}


def test_only_the_administrator_of_the_persons_municipality(db, world):
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


def test_an_assigned_fullmakt_needs_a_document_and_an_adult(db, world):
    nils = factories.person(db, "Nils", m=world.municipality)
    with pytest.raises(FullmaktRefused, match="document_missing"):
        assign(db, world, nils, factories.person(db, "Datter"), reference=" ")
    with pytest.raises(FullmaktRefused, match="grantee_too_young"):
        assign(db, world, nils, factories.person(db, "Barn", born=years_ago(10)))
