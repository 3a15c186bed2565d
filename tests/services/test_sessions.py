"""Resolving a log-in session: one statement that reads the session, its principal, and for a
resident whether they have consented and whether they may act for anyone else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import utcnow
from app.models import FullmaktKind, StaffRoleKind
from app.selectors.representation import acting_for
from app.services.sessions import session_resolve, session_start, token_hash
from tests import factories

TERMS = "2026-1"


def resolve(db, token: str):
    db.expunge_all()  # read as a new request would, not from this session's memory
    resolved, reason = session_resolve(
        db,
        token,
        now=utcnow(),
        idle_timeout=timedelta(minutes=30),
        absolute_timeout=timedelta(hours=12),
        terms_version=TERMS,
    )
    assert resolved is not None, reason
    return resolved


def test_a_token_says_whose_session_it_is_and_resolves(db, world):
    _, resident_token = session_start(db, now=utcnow(), person=world.resident, auth_method="oidc")
    _, staff_token = session_start(
        db, now=utcnow(), staff=world.coordinator, auth_method="password"
    )
    assert resident_token.startswith("p.") and staff_token.startswith("s.")
    assert resolve(db, resident_token).login.person.id == world.resident.id
    staff = resolve(db, staff_token).login.staff
    assert staff.id == world.coordinator.id
    assert any(r.role is StaffRoleKind.MESSAGE_COORDINATOR and r.unit for r in staff.roles)


@pytest.mark.parametrize("who", ["resident", "coordinator"])
def test_a_token_made_before_the_prefixes_still_resolves(db, world, who):
    principal = getattr(world, who)
    kind = {"person": principal} if who == "resident" else {"staff": principal}
    login, _ = session_start(db, now=utcnow(), auth_method="oidc", **kind)
    old_token = "tokenwithoutprefix0123456789"
    login.token_hash = token_hash(old_token)
    db.flush()
    resolved = resolve(db, old_token)
    assert resolved.login.id == login.id
    if who == "resident":
        assert resolved.login.person.id == principal.id
    else:
        assert {r.role for r in resolved.login.staff.roles} == {r.role for r in principal.roles}


def _holds(db, world, case: str):
    me = factories.person(db, "Mona", "Mellomledd")
    other = factories.person(db, "Otto", "Annen")
    now = utcnow()
    match case:
        case "in force":
            factories.fullmakt(db, other, me)
        case "pending":
            factories.fullmakt(
                db,
                other,
                me,
                kind=FullmaktKind.ASSIGNED,
                registered_by=world.coordinator,
                pending=True,
            )
        case "ended":
            factories.fullmakt(db, other, me, ended_at=now - timedelta(minutes=1))
        case "expired":
            factories.fullmakt(db, other, me, valid_to=now - timedelta(minutes=1))
        case "not begun":
            factories.fullmakt(db, other, me, valid_from=now + timedelta(days=1))
        case "given, not held":
            factories.fullmakt(db, me, other)
        case "child in care":
            factories.parent_of(db, me, other)
        case "child, no responsibility":
            factories.parent_of(db, me, other, responsibility=False)
    db.flush()
    return me


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("nobody", False),
        ("in force", True),
        ("pending", False),
        ("ended", False),
        ("expired", False),
        ("not begun", False),
        ("given, not held", False),
        ("child in care", True),
        ("child, no responsibility", False),
    ],
)
def test_whether_a_resident_may_act_for_others_agrees_with_acting_for(db, world, case, expected):
    me = _holds(db, world, case)
    _, token = session_start(db, now=utcnow(), person=me, auth_method="oidc")
    assert resolve(db, token).acts_for_others is expected
    found = acting_for(db, me.id, utcnow())
    assert bool(found.fullmakter or found.children) is expected


def test_staff_never_act_for_residents(db, world):
    _, token = session_start(db, now=utcnow(), staff=world.coordinator, auth_method="password")
    resolved = resolve(db, token)
    assert resolved.acts_for_others is False and resolved.digitally_active is False
