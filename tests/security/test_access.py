"""The access rules, one by one, on plain objects (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.models import (
    APPOINTMENTS_AND_PROVIDERS,
    Fullmakt,
    FullmaktArea,
    FullmaktKind,
    Person,
    ServiceRecipient,
    StaffRole,
    StaffRoleKind,
    Unit,
)
from app.security import access
from app.security.access import AccessDenied, RepresentationKind, Scope

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # Saturday, 13:00 in Oslo
TODAY = date(2026, 11, 21)
_ids = iter(range(1, 10_000))


def person(born: date = date(1950, 1, 1), name: str = "Person") -> Person:
    return Person(
        id=next(_ids), given_name=name, family_name="Test", birth_date=born, fodselsnummer="0"
    )


def area(code: str) -> FullmaktArea:
    return FullmaktArea(code=code, name_nb=code, name_nn=code, name_en=code)


def fullmakt(
    grantor: Person,
    grantee: Person,
    *,
    areas=None,
    valid_from=None,
    valid_to=None,
    ended_at=None,
    kind=FullmaktKind.ORDINARY,
    approved=True,
) -> Fullmakt:
    f = Fullmakt(
        id=next(_ids),
        grantor=grantor,
        grantee=grantee,
        grantor_id=grantor.id,
        grantee_id=grantee.id,
        kind=kind,
        all_areas=areas is None,
        valid_from=valid_from or NOW - timedelta(days=10),
        valid_to=valid_to,
        ended_at=ended_at,
        approved_at=(valid_from or NOW - timedelta(days=10)) if approved else None,
    )
    f.areas = [area(code) for code in (areas or ())]
    return f


def reps(me: Person, *, fullmakter=(), children=(), now=NOW):
    return {
        r.subject.id: r
        for r in access.representations(me, fullmakter=fullmakter, children=children, now=now)
    }


def birthday(years: int, on: date = TODAY) -> date:
    return on.replace(year=on.year - years)


# --- self --------------------------------------------------------------------------------


def test_everyone_represents_themselves_with_every_scope():
    me = person()
    options = access.representations(me, fullmakter=[], children=[], now=NOW)
    assert [r.subject for r in options] == [me]
    assert options[0].is_self
    assert options[0].scopes == frozenset(Scope)


# --- proxy by area and validity ---------------------------------------------------------


def test_proxy_with_all_areas_may_handle_messages_appointments_and_notices():
    kari, ola = person(name="Kari"), person(name="Ola")
    rep = reps(ola, fullmakter=[fullmakt(kari, ola)])[kari.id]
    assert rep.kinds == {RepresentationKind.PROXY}
    assert rep.scopes == {Scope.MESSAGES, Scope.APPOINTMENTS, Scope.NOTICES}


def test_proxy_never_manages_profile_or_fullmakt_for_the_grantor():
    kari, ola = person(), person()
    rep = reps(ola, fullmakter=[fullmakt(kari, ola)])[kari.id]
    assert Scope.PROFILE not in rep.scopes
    assert Scope.FULLMAKT not in rep.scopes


def test_proxy_with_selected_area_appointments_and_providers_is_in_scope():
    kari, eva = person(), person()
    rep = reps(eva, fullmakter=[fullmakt(kari, eva, areas=(APPOINTMENTS_AND_PROVIDERS,))])
    assert rep[kari.id].scopes == access.PROXY_SCOPES


def test_proxy_whose_areas_leave_out_appointments_and_providers_gets_nothing_here():
    kari, eva = person(), person()
    options = reps(eva, fullmakter=[fullmakt(kari, eva, areas=("legemidler", "vaksiner"))])
    assert kari.id not in options


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "ended_at", "in_force"),
    [
        (NOW - timedelta(days=1), None, None, True),
        (NOW - timedelta(days=1), NOW + timedelta(seconds=1), None, True),
        (NOW - timedelta(days=1), NOW, None, False),  # ends at valid_to, exclusive
        (NOW - timedelta(days=9), NOW - timedelta(days=1), None, False),  # expired
        (NOW, None, None, True),  # begins at valid_from, inclusive
        (NOW + timedelta(seconds=1), None, None, False),  # not yet begun
        (NOW - timedelta(days=1), None, NOW - timedelta(minutes=1), False),  # ended by a party
    ],
)
def test_proxy_only_while_the_fullmakt_is_in_force(valid_from, valid_to, ended_at, in_force):
    kari, ola = person(), person()
    f = fullmakt(kari, ola, valid_from=valid_from, valid_to=valid_to, ended_at=ended_at)
    assert (kari.id in reps(ola, fullmakter=[f])) is in_force


def test_fullmakt_given_to_someone_else_gives_nothing():
    kari, ola, eva = person(), person(), person()
    assert kari.id not in reps(eva, fullmakter=[fullmakt(kari, ola)])


def test_assigned_fullmakt_is_marked_as_assigned():
    nils, daughter = person(), person()
    f = fullmakt(nils, daughter, kind=FullmaktKind.ASSIGNED)
    rep = reps(daughter, fullmakter=[f])[nils.id]
    assert rep.kinds == {RepresentationKind.ASSIGNED_PROXY}
    assert rep.scopes == access.PROXY_SCOPES


def test_access_does_not_chain_through_a_proxy():
    kari, ola, grandchild = person(), person(), person()
    # Ola holds Kari's fullmakt; the grandchild holds Ola's. The grandchild reaches Ola only.
    options = reps(grandchild, fullmakter=[fullmakt(kari, ola), fullmakt(ola, grandchild)])
    assert set(options) == {grandchild.id, ola.id}


# --- parents by the child's age ------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        (birthday(0), access.YOUNG_CHILD_SCOPES),
        (birthday(12) + timedelta(days=1), access.YOUNG_CHILD_SCOPES),  # 11, turns 12 tomorrow
        (birthday(12), access.OLDER_CHILD_SCOPES),  # 12th birthday today
        (birthday(16) + timedelta(days=1), access.OLDER_CHILD_SCOPES),  # 15, turns 16 tomorrow
        (birthday(16), frozenset()),  # 16th birthday today
        (birthday(40), frozenset()),
    ],
)
def test_parent_access_follows_the_childs_age(born, expected):
    assert access.parent_scopes(person(born), TODAY) == expected


def test_parent_sees_everything_for_a_child_under_12():
    lise, emil = person(), person(date(2016, 10, 3))
    rep = reps(lise, children=[emil])[emil.id]
    assert rep.kinds == {RepresentationKind.PARENT}
    assert {Scope.MESSAGES, Scope.APPOINTMENTS, Scope.PROFILE} <= rep.scopes
    assert Scope.FULLMAKT not in rep.scopes


def test_parent_sees_only_appointments_for_a_child_of_12_to_15():
    parent, teen = person(), person(birthday(13))
    assert reps(parent, children=[teen])[teen.id].scopes == {Scope.APPOINTMENTS}


def test_parent_has_no_access_to_a_child_of_16():
    parent, teen = person(), person(birthday(16))
    assert teen.id not in reps(parent, children=[teen])


def test_child_age_is_counted_on_the_oslo_date():
    # 23:30 UTC on 20 November is 00:30 on 21 November in Oslo: the 12th birthday.
    child = person(date(2014, 11, 21))
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert reps(person(), children=[child], now=late)[child.id].scopes == access.OLDER_CHILD_SCOPES


def test_proxy_and_parent_together_give_the_union():
    parent, teen = person(), person(birthday(13))
    f = fullmakt(teen, parent)
    rep = reps(parent, fullmakter=[f], children=[teen])[teen.id]
    assert rep.kinds == {RepresentationKind.PARENT, RepresentationKind.PROXY}
    assert rep.scopes == access.PROXY_SCOPES | access.OLDER_CHILD_SCOPES


def test_representations_list_self_first_then_by_name():
    me = person(name="Me")
    b = Person(
        id=next(_ids),
        given_name="Bo",
        family_name="Berg",
        birth_date=date(1950, 1, 1),
        fodselsnummer="0",
    )
    a = Person(
        id=next(_ids),
        given_name="Ada",
        family_name="Aas",
        birth_date=date(1950, 1, 1),
        fodselsnummer="0",
    )
    options = access.representations(
        me, fullmakter=[fullmakt(b, me), fullmakt(a, me)], children=[], now=NOW
    )
    assert [r.subject for r in options] == [me, a, b]


# --- actor-level checks ---------------------------------------------------------------------


class FakeActor(SimpleNamespace):
    def describe(self) -> str:
        return "fake"


def resident_actor(me: Person, options, subject: Person | None = None) -> FakeActor:
    return FakeActor(
        is_resident=True, is_staff=False, representations=options, subject_id=(subject or me).id
    )


def test_require_scope_for_whom_the_resident_acts():
    kari, ola = person(), person()
    options = access.representations(ola, fullmakter=[fullmakt(kari, ola)], children=[], now=NOW)
    actor = resident_actor(ola, options, subject=kari)
    assert access.require_scope(actor, Scope.MESSAGES).subject is kari
    with pytest.raises(AccessDenied):
        access.require_scope(actor, Scope.PROFILE)


def test_require_scope_denies_a_subject_not_represented(caplog):
    kari, stranger = person(), person()
    actor = resident_actor(
        stranger, access.representations(stranger, fullmakter=[], children=[], now=NOW)
    )
    with pytest.raises(AccessDenied):
        access.require_scope(actor, Scope.MESSAGES, subject_id=kari.id)
    assert "access denied" in caplog.text


def test_may_act_for_refuses_someone_not_in_the_list():
    ola, eva = person(), person()
    actor = resident_actor(ola, access.representations(ola, fullmakter=[], children=[], now=NOW))
    with pytest.raises(AccessDenied):
        access.may_act_for(actor, eva.id)


# --- staff by unit, municipality, leader and admin -------------------------------------------

ANDEBY, SMABY = 1, 2


def unit(unit_id: int, municipality_id: int = ANDEBY) -> Unit:
    return Unit(id=unit_id, municipality_id=municipality_id, name=f"Unit {unit_id}")


def staff_actor(roles, *, municipality_id=ANDEBY, active_unit_id=None) -> FakeActor:
    account = SimpleNamespace(
        municipality_id=municipality_id,
        roles=[StaffRole(role=r, unit_id=u) for r, u in roles],
    )
    return FakeActor(is_resident=False, is_staff=True, staff=account, active_unit_id=active_unit_id)


def test_residents_are_not_staff():
    actor = resident_actor(person(), [])
    with pytest.raises(AccessDenied):
        access.require_staff(actor)
    with pytest.raises(AccessDenied):
        access.require_unit_role(actor)


def test_staff_need_a_role_in_the_active_unit():
    actor = staff_actor([(StaffRoleKind.EMPLOYEE, 10)], active_unit_id=10)
    access.require_unit_role(actor)
    access.require_unit_role(actor, StaffRoleKind.EMPLOYEE)
    with pytest.raises(AccessDenied):
        access.require_unit_role(actor, StaffRoleKind.LEADER)
    elsewhere = staff_actor([(StaffRoleKind.EMPLOYEE, 10)], active_unit_id=11)
    with pytest.raises(AccessDenied):
        access.require_unit_role(elsewhere)


def test_staff_reach_objects_of_their_active_unit_only():
    actor = staff_actor([(StaffRoleKind.MESSAGE_COORDINATOR, 10)], active_unit_id=10)
    access.require_unit_object(actor, unit_id=10, municipality_id=ANDEBY)
    with pytest.raises(AccessDenied) as denied:
        access.require_unit_object(actor, unit_id=11, municipality_id=ANDEBY)
    assert denied.value.hide_existence  # shown as "not found"


def test_staff_never_reach_another_municipality():
    # Even a unit id that matches, in another municipality, is out of reach.
    actor = staff_actor(
        [(StaffRoleKind.MESSAGE_COORDINATOR, 10)], municipality_id=SMABY, active_unit_id=10
    )
    with pytest.raises(AccessDenied):
        access.require_unit_object(actor, unit_id=10, municipality_id=ANDEBY)


def test_staff_reach_a_person_only_while_the_person_receives_a_service_from_their_unit():
    actor = staff_actor([(StaffRoleKind.EMPLOYEE, 10)], active_unit_id=10)
    kari = person()
    current = ServiceRecipient(person_id=kari.id, unit_id=10, valid_from=date(2020, 1, 1))
    current.unit = unit(10)
    assert access.recipient_registrations_for_staff(actor, kari, [current], TODAY) == [current]
    ended = ServiceRecipient(
        person_id=kari.id,
        unit_id=10,
        valid_from=date(2020, 1, 1),
        valid_to=TODAY - timedelta(days=1),
    )
    ended.unit = unit(10)
    with pytest.raises(AccessDenied):
        access.recipient_registrations_for_staff(actor, kari, [ended], TODAY)
    other_unit = ServiceRecipient(person_id=kari.id, unit_id=11, valid_from=date(2020, 1, 1))
    other_unit.unit = unit(11)
    with pytest.raises(AccessDenied):
        access.recipient_registrations_for_staff(actor, kari, [other_unit], TODAY)


def test_leader_reaches_each_led_unit_when_it_is_active():
    anne = staff_actor([(StaffRoleKind.LEADER, 10), (StaffRoleKind.LEADER, 20)], active_unit_id=20)
    access.require_unit_role(anne, StaffRoleKind.LEADER)
    access.require_unit_object(anne, unit_id=20, municipality_id=ANDEBY)
    with pytest.raises(AccessDenied):
        access.require_unit_object(anne, unit_id=10, municipality_id=ANDEBY)
    access.may_choose_unit(anne, 10)
    with pytest.raises(AccessDenied):
        access.may_choose_unit(anne, 30)


def test_municipal_admin_administers_but_reaches_no_unit_data():
    admin = staff_actor([(StaffRoleKind.MUNICIPAL_ADMIN, None)])
    access.require_municipal_admin(admin)
    with pytest.raises(AccessDenied):
        access.require_unit_role(admin)
    with pytest.raises(AccessDenied):
        access.require_unit_object(admin, unit_id=10, municipality_id=ANDEBY)
    coordinator = staff_actor([(StaffRoleKind.MESSAGE_COORDINATOR, 10)], active_unit_id=10)
    with pytest.raises(AccessDenied):
        access.require_municipal_admin(coordinator)
