"""The queries behind the access rules: fullmakter in force, children in care."""

from __future__ import annotations

from datetime import date, timedelta

from app.clock import utcnow
from app.selectors.representation import children_in_care, fullmakter_received
from tests import factories


def test_only_fullmakter_in_force_are_loaded(db, world):
    now = utcnow()
    grantors = [factories.person(db, f"G{i}") for i in range(4)]
    factories.fullmakt(db, grantors[0], world.proxy, valid_to=now - timedelta(seconds=1))
    factories.fullmakt(db, grantors[1], world.proxy, valid_from=now + timedelta(days=1))
    factories.fullmakt(db, grantors[2], world.proxy, ended_at=now - timedelta(hours=1))
    factories.fullmakt(db, grantors[3], world.proxy, valid_to=now + timedelta(days=1))
    loaded = db.scalars(fullmakter_received(world.proxy.id, now)).unique().all()
    assert {f.grantor_id for f in loaded} == {world.resident.id, grantors[3].id}
    assert all(f.areas is not None for f in loaded)  # areas come with them


def test_children_in_care_need_parental_responsibility(db):
    parent = factories.person(db, "Pia")
    cared, other = (factories.person(db, n, born=date(2018, 1, 1)) for n in ("A", "B"))
    factories.parent_of(db, parent, cared)
    factories.parent_of(db, parent, other, responsibility=False)
    assert db.scalars(children_in_care(parent.id)).all() == [cared]
