"""The query behind the access rules: fullmakter in force, children in care, in one."""

from __future__ import annotations

from datetime import date, timedelta

from app.clock import utcnow
from app.selectors.representation import acting_for
from tests import factories


def test_only_fullmakter_in_force_are_loaded(db, world):
    now = utcnow()
    grantors = [factories.person(db, f"G{i}") for i in range(4)]
    factories.fullmakt(db, grantors[0], world.proxy, valid_to=now - timedelta(seconds=1))
    factories.fullmakt(db, grantors[1], world.proxy, valid_from=now + timedelta(days=1))
    factories.fullmakt(db, grantors[2], world.proxy, ended_at=now - timedelta(hours=1))
    factories.fullmakt(db, grantors[3], world.proxy, valid_to=now + timedelta(days=1))
    loaded = acting_for(db, world.proxy.id, now).fullmakter
    assert {f.grantor_id for f in loaded} == {world.resident.id, grantors[3].id}
    # The grantor and the areas come with them, in the same statement.
    assert {f.grantor.id for f in loaded} == {world.resident.id, grantors[3].id}
    assert all(f.areas is not None for f in loaded)
    assert acting_for(db, world.proxy.id, now).children == []


def test_children_in_care_need_parental_responsibility(db):
    parent = factories.person(db, "Pia")
    cared, other = (factories.person(db, n, born=date(2018, 1, 1)) for n in ("A", "B"))
    factories.parent_of(db, parent, cared)
    factories.parent_of(db, parent, other, responsibility=False)
    found = acting_for(db, parent.id, utcnow())
    assert found.children == [cared] and found.fullmakter == []


def test_a_child_who_also_gave_a_fullmakt_is_both_once(db):
    parent = factories.person(db, "Pia")
    child = factories.person(db, "Ung", born=date(2007, 1, 1))
    factories.parent_of(db, parent, child)
    factories.fullmakt(db, child, parent)
    found = acting_for(db, parent.id, utcnow())
    assert found.children == [child]
    assert [f.grantor for f in found.fullmakter] == [child]
