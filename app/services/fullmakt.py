"""Fullmakt: given by a resident, or assigned by the municipality; ended by either side.

The rules (docs/product.md 4.7): the grantor is at least 16 and digitally active; the grantee
is in the register and at least 18; nobody with a protected address gives or receives one;
nobody grants to themselves; a proxy never grants for the person they act for (access does
not chain). Changing a fullmakt ends it and creates a new one. Access ends at once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.clock import OSLO, oslo_day_bounds, oslo_today
from app.models import (
    Fullmakt,
    FullmaktArea,
    FullmaktKind,
    NoticeEvent,
    Person,
    UsageAction,
    UsageLogEntry,
)
from app.security import access
from app.security.access import AccessDenied, Scope, age_on
from app.security.actor import Actor
from app.selectors.fullmakt import fullmakt_by_id, ordinary_in_force
from app.selectors.staff import registrations_of
from app.services import notices as notice_service
from app.services.audit import usage_log_add, usage_log_add_durable
from app.services.register import InvalidFodselsnummer, fodselsnummer_validate

GRANTOR_MIN_AGE = 16
GRANTEE_MIN_AGE = 18
DOCUMENT_MAX = 200
ASSESSMENT_MAX = 500
# Gi ny fullmakt: searches of the register by fødselsnummer, per grantor (R11).
SEARCH_LIMIT = 10
SEARCH_WINDOW = timedelta(hours=1)


class FullmaktRefused(Exception):
    """Refused with a reason the user is told; `code` picks the text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SearchLimited(FullmaktRefused):
    """Too many searches lately; the next one is possible from `retry_at`."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__("search_limited")
        self.retry_at = retry_at


def grantee_refusal(grantor: Person, grantee: Person, today: date) -> str | None:
    """Why `grantee` cannot receive a fullmakt from `grantor`, or None."""
    if grantee.id == grantor.id:
        return "self"
    if age_on(grantee.birth_date, today) < GRANTEE_MIN_AGE:
        return "grantee_too_young"
    if grantee.has_protected_address:
        return "grantee_protected"
    return None


def grantor_refusal(grantor: Person, *, digitally_active: bool, today: date) -> str | None:
    """Why `grantor` cannot give a fullmakt, or None."""
    if age_on(grantor.birth_date, today) < GRANTOR_MIN_AGE:
        return "grantor_too_young"
    if not digitally_active:
        return "grantor_not_active"
    if grantor.has_protected_address:
        return "grantor_protected"
    return None


def end_of_day(day: date) -> datetime:
    """A fullmakt "until 31 May" lasts through that day in Oslo: it ends at midnight."""
    return oslo_day_bounds(day)[1]


def name_key(name: str) -> str:
    """A name compared as people write it: case, accents, hyphens and spaces do not matter
    ("Nordmann-hansen" is "nordmann hansen"; "Ås" is "as"; ø and æ are letters of their own)."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.replace("-", " ").casefold().split())


def grantee_search(
    session: Session,
    actor: Actor,
    *,
    fodselsnummer: str,
    family_name: str,
    allow_synthetic: bool,
    now: datetime,
) -> Person:
    """Gi ny fullmakt, someone else: the person with that fødselsnummer *and* family name,
    if they may receive a fullmakt from the actor (R11: the register cannot be enumerated).

    Every refusal about the person found (nobody, another name, under 18, protected
    address, the actor themselves) is the same "no_match". Searches are limited per grantor
    (SEARCH_LIMIT per SEARCH_WINDOW, counted in the usage log, so every process shares the
    count), and each one is written to the grantor's own Logg over bruk, with the name only
    when it was a match; the number is never stored. A number that is invalid by its check
    digits looks nothing up, so it neither counts nor says more than "invalid".
    """
    grantor = _require_acting_as_oneself(actor)
    today = oslo_today(now)
    refusal = grantor_refusal(grantor, digitally_active=actor.digitally_active, today=today)
    if refusal:
        raise FullmaktRefused(refusal)
    try:
        number = fodselsnummer_validate(fodselsnummer, allow_synthetic=allow_synthetic)
    except InvalidFodselsnummer as invalid:
        if invalid.code != "synthetic":
            raise FullmaktRefused("invalid_number") from None
        number = None  # a test number where they are not allowed: nobody, like any other
    if not name_key(family_name):
        raise FullmaktRefused("family_name_missing")
    recent = session.scalars(
        sa.select(UsageLogEntry.at)
        .where(
            UsageLogEntry.subject_person_id == grantor.id,
            UsageLogEntry.action == UsageAction.REGISTER_SEARCHED,
            UsageLogEntry.at > now - SEARCH_WINDOW,
        )
        .order_by(UsageLogEntry.at)
    ).all()
    if len(recent) >= SEARCH_LIMIT:
        raise SearchLimited(retry_at=recent[len(recent) - SEARCH_LIMIT] + SEARCH_WINDOW)
    person = (
        session.scalars(sa.select(Person).where(Person.fodselsnummer == number)).one_or_none()
        if number
        else None
    )
    match = (
        person is not None
        and name_key(person.family_name) == name_key(family_name)
        and grantee_refusal(grantor, person, today) is None
    )
    usage_log_add_durable(
        session,
        subject_person_id=grantor.id,
        action=UsageAction.REGISTER_SEARCHED,
        actor_person_id=grantor.id,
        detail=person.full_name if match else None,
        at=now,
    )
    if not match:
        raise FullmaktRefused("no_match")
    return person


def find_by_fodselsnummer(session: Session, value: str, *, allow_synthetic: bool) -> Person:
    """The person with that number; anything else is simply "not found"."""
    try:
        number = fodselsnummer_validate(value, allow_synthetic=allow_synthetic)
    except InvalidFodselsnummer as invalid:
        code = "not_found" if invalid.code == "synthetic" else "invalid_number"
        raise FullmaktRefused(code) from None
    person = session.scalars(sa.select(Person).where(Person.fodselsnummer == number)).one_or_none()
    if person is None:
        raise FullmaktRefused("not_found")
    return person


def _require_acting_as_oneself(actor: Actor) -> Person:
    """Granting is for oneself only: a proxy never grants for the person they act for."""
    if not actor.is_resident:
        raise FullmaktRefused("not_resident")
    if actor.is_acting_for_other:
        raise FullmaktRefused("acting_for_other")
    access.require_scope(actor, Scope.FULLMAKT)
    return actor.person


def _areas(session: Session, all_areas: bool, codes: list[str]) -> list[FullmaktArea]:
    if all_areas:
        return []
    known = {a.code: a for a in session.scalars(sa.select(FullmaktArea))}
    chosen = [known[c] for c in dict.fromkeys(codes) if c in known]
    if not chosen or len(chosen) != len(set(codes)):
        raise FullmaktRefused("no_areas")
    return chosen


def grantee_check(session: Session, actor: Actor, grantee: Person, now: datetime) -> None:
    """Step one of Gi ny fullmakt: may this person receive one from the actor?"""
    grantor = _require_acting_as_oneself(actor)
    today = oslo_today(now)
    refusal = grantor_refusal(
        grantor, digitally_active=actor.digitally_active, today=today
    ) or grantee_refusal(grantor, grantee, today)
    if refusal:
        raise FullmaktRefused(refusal)


def fullmakt_grant(
    session: Session,
    actor: Actor,
    *,
    grantee_id: int,
    all_areas: bool,
    area_codes: list[str],
    valid_to: date | None,
    now: datetime,
) -> Fullmakt:
    """Gi ny fullmakt. One the grantee already has from the grantor is changed with
    `fullmakt_change`, never silently replaced here."""
    grantor = _require_acting_as_oneself(actor)
    grantee = session.get(Person, grantee_id)
    if grantee is None:
        raise FullmaktRefused("not_found")
    grantee_check(session, actor, grantee, now)
    if valid_to is not None and valid_to < oslo_today(now):
        raise FullmaktRefused("valid_to_past")
    areas = _areas(session, all_areas, area_codes)
    if session.scalars(ordinary_in_force(grantor.id, grantee.id, now)).first() is not None:
        raise FullmaktRefused("already_given")
    fullmakt = _ordinary(grantor, grantee, all_areas, areas, valid_to, now)
    session.add(fullmakt)
    session.flush()
    usage_log_add(
        session,
        subject_person_id=grantor.id,
        action=UsageAction.FULLMAKT_GIVEN,
        actor_person_id=grantor.id,
        object_type="fullmakt",
        object_id=fullmakt.id,
        detail=grantee.full_name,
        at=now,
    )
    return fullmakt


def _ordinary(
    grantor: Person,
    grantee: Person,
    all_areas: bool,
    areas: list[FullmaktArea],
    last_day: date | None,
    now: datetime,
    replaces: Fullmakt | None = None,
) -> Fullmakt:
    fullmakt = Fullmakt(
        grantor_id=grantor.id,
        grantee_id=grantee.id,
        kind=FullmaktKind.ORDINARY,
        all_areas=all_areas,
        valid_from=now,
        valid_to=end_of_day(last_day) if last_day else None,
        created_at=now,
        approved_at=now,
        replaces_id=replaces.id if replaces else None,
    )
    fullmakt.areas = areas
    return fullmakt


# --- Endre: a change says what it changes, and changes nothing else ---------------------------


@dataclass(frozen=True)
class FullmaktTerms:
    """What a fullmakt gives, as the grantor chooses it: its last day (None: until further
    notice) and its areas (empty when it covers all areas)."""

    last_day: date | None
    all_areas: bool
    area_codes: frozenset[str]

    @classmethod
    def of(cls, fullmakt: Fullmakt) -> FullmaktTerms:
        return cls(
            last_day=last_day_of(fullmakt),
            all_areas=fullmakt.all_areas,
            area_codes=frozenset() if fullmakt.all_areas else fullmakt.area_codes,
        )

    @classmethod
    def chosen(
        cls, *, last_day: date | None, all_areas: bool, area_codes: list[str]
    ) -> FullmaktTerms:
        return cls(last_day, all_areas, frozenset() if all_areas else frozenset(area_codes))


@dataclass(frozen=True)
class FullmaktChange:
    """One thing an edit changes: "last_day" (dates, None for until further notice) or
    "areas" (FullmaktTerms before and after)."""

    what: str
    old: object
    new: object


def last_day_of(fullmakt: Fullmakt) -> date | None:
    """The last day it lasts through, in Oslo (it ends at the midnight after it)."""
    if fullmakt.valid_to is None:
        return None
    return (fullmakt.valid_to - timedelta(microseconds=1)).astimezone(OSLO).date()


def fullmakt_changes(old: FullmaktTerms, new: FullmaktTerms) -> list[FullmaktChange]:
    """Exactly what differs between the current terms and the chosen ones."""
    changes = []
    if old.last_day != new.last_day:
        changes.append(FullmaktChange("last_day", old.last_day, new.last_day))
    if (old.all_areas, old.area_codes) != (new.all_areas, new.area_codes):
        changes.append(FullmaktChange("areas", old, new))
    return changes


def fullmakt_for_change(
    session: Session, actor: Actor, fullmakt_id: int, now: datetime
) -> Fullmakt:
    """The grantor's own ordinary fullmakt in force (areas and grantee loaded), or not found."""
    grantor = _require_acting_as_oneself(actor)
    fullmakt = session.scalars(fullmakt_by_id(fullmakt_id)).unique().one_or_none()
    if fullmakt is None:
        raise FullmaktRefused("not_found")
    access.require_fullmakt_grantor(actor, fullmakt, grantor)
    if fullmakt.kind is not FullmaktKind.ORDINARY or not fullmakt.is_valid_at(now):
        raise FullmaktRefused("not_found")
    return fullmakt


def fullmakt_change(
    session: Session,
    actor: Actor,
    *,
    fullmakt_id: int,
    terms: FullmaktTerms,
    now: datetime,
) -> tuple[Fullmakt, list[FullmaktChange]]:
    """Endre: the fullmakt ends and a new one with the chosen terms replaces it, from now.

    Whatever the grantor did not change stays as it was; when nothing changed, nothing is
    written and the fullmakt is returned as it is, with no changes.
    """
    old = fullmakt_for_change(session, actor, fullmakt_id, now)
    changes = fullmakt_changes(FullmaktTerms.of(old), terms)
    if not changes:
        return old, []
    if terms.last_day is not None and terms.last_day < oslo_today(now):
        raise FullmaktRefused("valid_to_past")
    areas = _areas(session, terms.all_areas, sorted(terms.area_codes))
    old.ended_at = now
    old.ended_by_person_id = old.grantor_id
    new = _ordinary(
        old.grantor, old.grantee, terms.all_areas, areas, terms.last_day, now, replaces=old
    )
    session.add(new)
    session.flush()
    usage_log_add(
        session,
        subject_person_id=old.grantor_id,
        action=UsageAction.FULLMAKT_CHANGED,
        actor_person_id=old.grantor_id,
        object_type="fullmakt",
        object_id=new.id,
        detail=old.grantee.full_name,
        at=now,
    )
    return new, changes


def fullmakt_for_ending(session: Session, actor: Actor, fullmakt_id: int) -> Fullmakt:
    """A fullmakt the actor may end (grantor and grantee loaded), to confirm first."""
    fullmakt = session.scalars(
        sa.select(Fullmakt)
        .where(Fullmakt.id == fullmakt_id)
        .options(joinedload(Fullmakt.grantor), joinedload(Fullmakt.grantee))
    ).one_or_none()
    if fullmakt is None:
        raise FullmaktRefused("not_found")
    if not access.may_end_fullmakt(actor, fullmakt):
        raise FullmaktRefused("not_found")
    return fullmakt


def fullmakt_end(session: Session, actor: Actor, *, fullmakt_id: int, now: datetime) -> Fullmakt:
    """Avslutt fullmakt: the grantor or the grantee, at any time; access ends at once."""
    fullmakt = fullmakt_for_ending(session, actor, fullmakt_id)
    by_person = actor.person.id if actor.is_resident else None
    by_staff = None if actor.is_resident else actor.staff.id
    if fullmakt.ended_at is None:
        fullmakt.ended_at = now
        fullmakt.ended_by_person_id = by_person
        fullmakt.ended_by_staff_id = by_staff
        session.flush()
        usage_log_add(
            session,
            subject_person_id=fullmakt.grantor_id,
            action=UsageAction.FULLMAKT_ENDED,
            actor_person_id=by_person,
            actor_staff_id=by_staff,
            object_type="fullmakt",
            object_id=fullmakt.id,
            detail=fullmakt.grantee.full_name,
            at=now,
        )
    return fullmakt


def fullmakt_assign(
    session: Session,
    actor: Actor,
    *,
    grantor_id: int,
    grantee_id: int,
    document_reference: str,
    lacks_consent_competence: bool,
    assessment: str,
    valid_from: date,
    valid_to: date | None,
    now: datetime,
) -> Fullmakt:
    """Tildelt fullmakt: registered by the municipality for a person lacking consent
    competence, with the decision's document reference, the recorded assessment (confirmed,
    with who assessed it and on what basis) and its validity.

    It is registered as waiting: it gives no access anywhere until a second person approves
    it (`fullmakt_approve`). The grantor's Logg over bruk says so at once.
    """
    grantor = session.get(Person, grantor_id)
    grantee = session.get(Person, grantee_id)
    if grantor is None or grantee is None:
        access.require_municipal_admin(actor)
        raise FullmaktRefused("not_found")
    refusal = access.fullmakt_registration_refusal(actor, grantor, grantee)
    if refusal:
        raise FullmaktRefused(refusal)
    refusal = grantee_refusal(grantor, grantee, oslo_today(now))
    if refusal:
        raise FullmaktRefused(refusal)
    if grantor.has_protected_address:
        raise FullmaktRefused("grantor_protected")
    reference = (document_reference or "").strip()
    if not reference:
        raise FullmaktRefused("document_missing")
    if len(reference) > DOCUMENT_MAX:
        raise FullmaktRefused("document_too_long")
    if not lacks_consent_competence:
        raise FullmaktRefused("assessment_unconfirmed")
    assessed = " ".join((assessment or "").split())
    if not assessed:
        raise FullmaktRefused("assessment_missing")
    if len(assessed) > ASSESSMENT_MAX:
        raise FullmaktRefused("assessment_too_long")
    if valid_to is not None and valid_to < valid_from:
        raise FullmaktRefused("period_order")
    if valid_to is not None and valid_to < oslo_today(now):
        raise FullmaktRefused("valid_to_past")
    fullmakt = Fullmakt(
        grantor_id=grantor.id,
        grantee_id=grantee.id,
        kind=FullmaktKind.ASSIGNED,
        all_areas=True,
        valid_from=oslo_day_bounds(valid_from)[0],
        valid_to=end_of_day(valid_to) if valid_to else None,
        created_at=now,
        document_reference=reference,
        assessment=assessed,
        registered_by_staff_id=actor.staff.id,
        approved_at=None,
    )
    session.add(fullmakt)
    session.flush()
    usage_log_add(
        session,
        subject_person_id=grantor.id,
        action=UsageAction.FULLMAKT_REGISTERED,
        actor_staff_id=actor.staff.id,
        object_type="fullmakt",
        object_id=fullmakt.id,
        detail=grantee.full_name,
        at=now,
    )
    return fullmakt


def _assigned_for_decision(
    session: Session, actor: Actor, fullmakt_id: int, now: datetime
) -> Fullmakt:
    """The assigned fullmakt, if the actor is one who decides on it (else: not found)."""
    fullmakt = session.scalars(
        sa.select(Fullmakt)
        .where(Fullmakt.id == fullmakt_id, Fullmakt.kind == FullmaktKind.ASSIGNED)
        .options(joinedload(Fullmakt.grantor), joinedload(Fullmakt.grantee))
    ).one_or_none()
    if fullmakt is None:
        raise AccessDenied("no such assigned fullmakt", hide_existence=True)
    access.require_fullmakt_decider(
        actor,
        fullmakt,
        registrations=session.scalars(registrations_of(fullmakt.grantor_id)).unique().all(),
        today=oslo_today(now),
    )
    return fullmakt


def fullmakt_approve(
    session: Session, actor: Actor, *, fullmakt_id: int, now: datetime
) -> Fullmakt:
    """A second person approves an assigned fullmakt: it is in force from now.

    Another administrator of the grantor's municipality or the leader of a unit serving the
    grantor; never the one who registered it, nor a party to it. The grantor's Logg over
    bruk shows it at once, and the grantor and the people who already represent them get a
    notice (without health content), so that a wrong one is noticed.
    """
    fullmakt = _assigned_for_decision(session, actor, fullmakt_id, now)
    refusal = access.fullmakt_approval_refusal(actor, fullmakt)
    if refusal:
        raise FullmaktRefused(refusal)
    grantor = fullmakt.grantor
    already_representing = notice_service.representatives(session, grantor, now)
    fullmakt.approved_at = now
    fullmakt.approved_by_staff_id = actor.staff.id
    session.flush()
    usage_log_add(
        session,
        subject_person_id=grantor.id,
        action=UsageAction.FULLMAKT_APPROVED,
        actor_staff_id=actor.staff.id,
        actor_unit_id=actor.active_unit_id,
        object_type="fullmakt",
        object_id=fullmakt.id,
        detail=fullmakt.grantee.full_name,
        at=now,
    )
    notice_service.notices_for_event(
        session,
        subject=grantor,
        event=NoticeEvent.NEW_FULLMAKT,
        event_key=f"fullmakt:{fullmakt.id}",
        municipality_id=grantor.municipality_id,
        now=now,
        representing=already_representing,
    )
    return fullmakt


def fullmakt_reject(session: Session, actor: Actor, *, fullmakt_id: int, now: datetime) -> Fullmakt:
    """Avvis: an assigned fullmakt waiting for approval is ended without ever taking effect
    (by anyone who decides on it, the one who registered it included)."""
    fullmakt = _assigned_for_decision(session, actor, fullmakt_id, now)
    if not fullmakt.is_pending:
        raise FullmaktRefused(access.fullmakt_approval_refusal(actor, fullmakt) or "not_pending")
    fullmakt.ended_at = now
    fullmakt.ended_by_staff_id = actor.staff.id
    session.flush()
    usage_log_add(
        session,
        subject_person_id=fullmakt.grantor_id,
        action=UsageAction.FULLMAKT_REJECTED,
        actor_staff_id=actor.staff.id,
        actor_unit_id=actor.active_unit_id,
        object_type="fullmakt",
        object_id=fullmakt.id,
        detail=fullmakt.grantee.full_name,
        at=now,
    )
    return fullmakt
