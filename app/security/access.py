"""The one place that decides who may do what to whom.

Residents act for themselves, for people who gave them a valid fullmakt covering
"Timeavtaler og behandlere" (or all areas), and for their own children under 16
(everything under 12, appointments only from 12 to 15). Staff reach residents and
threads only through their active unit, inside their own municipality; leaders
see what their unit sees; the municipal administrator administers the municipality
but reads no one's health dialog.

The rule functions are pure: they take loaded objects and a moment, so every rule is
unit-tested without a database. `load_representations` is the only query here.
Every denial raises `AccessDenied` and is logged.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from app.clock import oslo_today
from app.models import (
    APPOINTMENTS_AND_PROVIDERS,
    Appointment,
    AppointmentSeries,
    AppointmentSource,
    Fullmakt,
    FullmaktKind,
    Person,
    ServiceRecipient,
    StaffAccount,
    StaffRoleKind,
    Thread,
    Unit,
)

if TYPE_CHECKING:
    from app.models import ApiClient
    from app.security.actor import Actor
    from app.security.api_auth import ApiPrincipal

log = logging.getLogger("hjemmedialog.access")

CHILD_FULL_ACCESS_BELOW = 12
CHILD_ANY_ACCESS_BELOW = 16


class AccessDenied(Exception):
    """The actor may not do this. Views turn it into 403 (or 404 for objects)."""

    def __init__(self, reason: str, *, hide_existence: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hide_existence = hide_existence


class Scope(enum.StrEnum):
    """What acting for a person covers."""

    MESSAGES = "messages"  # read and write the person's threads
    APPOINTMENTS = "appointments"  # see and cancel the person's appointments
    NOTICES = "notices"  # receive notices about the person's events
    PROFILE = "profile"  # contact settings, personal data, usage log
    FULLMAKT = "fullmakt"  # give and end fullmakt, change consents, for the person


SELF_SCOPES = frozenset(Scope)
PROXY_SCOPES = frozenset({Scope.MESSAGES, Scope.APPOINTMENTS, Scope.NOTICES})
YOUNG_CHILD_SCOPES = frozenset({Scope.MESSAGES, Scope.APPOINTMENTS, Scope.NOTICES, Scope.PROFILE})
OLDER_CHILD_SCOPES = frozenset({Scope.APPOINTMENTS})


class RepresentationKind(enum.StrEnum):
    SELF = "self"
    PROXY = "proxy"  # ordinary fullmakt
    ASSIGNED_PROXY = "assigned_proxy"  # fullmakt registered by the municipality
    PARENT = "parent"


@dataclass(frozen=True)
class Representation:
    subject: Person
    kinds: frozenset[RepresentationKind]
    scopes: frozenset[Scope]

    @property
    def is_self(self) -> bool:
        return RepresentationKind.SELF in self.kinds


# --- residents -------------------------------------------------------------------


def age_on(birth_date: date, day: date) -> int:
    return relativedelta(day, birth_date).years


def fullmakt_scopes(fullmakt: Fullmakt, now: datetime) -> frozenset[Scope]:
    """What a fullmakt lets its grantee do in this product, at `now`."""
    if not fullmakt.is_valid_at(now):
        return frozenset()
    if fullmakt.all_areas or APPOINTMENTS_AND_PROVIDERS in fullmakt.area_codes:
        return PROXY_SCOPES
    return frozenset()


def parent_scopes(child: Person, today: date) -> frozenset[Scope]:
    """What a parent with foreldreansvar may do for a child, by the child's age today."""
    age = age_on(child.birth_date, today)
    if age < CHILD_FULL_ACCESS_BELOW:
        return YOUNG_CHILD_SCOPES
    if age < CHILD_ANY_ACCESS_BELOW:
        return OLDER_CHILD_SCOPES
    return frozenset()


def representations(
    person: Person,
    *,
    fullmakter: Iterable[Fullmakt],
    children: Iterable[Person],
    now: datetime,
) -> list[Representation]:
    """Everyone `person` may act for, themselves first, then by name.

    `fullmakter` are fullmakter received by `person`; `children` are the children
    `person` has parental responsibility for. A subject reached in several ways gets
    the union of the scopes.
    """
    today = oslo_today(now)
    by_subject: dict[int, tuple[Person, set[RepresentationKind], set[Scope]]] = {}

    def add(subject: Person, kind: RepresentationKind, scopes: frozenset[Scope]) -> None:
        if scopes:
            _, kinds, have = by_subject.setdefault(subject.id, (subject, set(), set()))
            kinds.add(kind)
            have.update(scopes)

    for fullmakt in fullmakter:
        if fullmakt.grantee_id != person.id or fullmakt.grantor_id == person.id:
            continue
        kind = (
            RepresentationKind.ASSIGNED_PROXY
            if fullmakt.kind is FullmaktKind.ASSIGNED
            else RepresentationKind.PROXY
        )
        add(fullmakt.grantor, kind, fullmakt_scopes(fullmakt, now))
    for child in children:
        if child.id != person.id:
            add(child, RepresentationKind.PARENT, parent_scopes(child, today))

    others = sorted(
        (
            Representation(subject, frozenset(kinds), frozenset(scopes))
            for subject, kinds, scopes in by_subject.values()
        ),
        key=lambda r: (r.subject.family_name, r.subject.given_name, r.subject.id),
    )
    me = Representation(person, frozenset({RepresentationKind.SELF}), SELF_SCOPES)
    return [me, *others]


def notice_representatives(
    subject: Person,
    *,
    fullmakter_given: Iterable[Fullmakt],
    parents: Iterable[Person],
    now: datetime,
) -> list[Person]:
    """Everyone who represents `subject` with the notices scope at `now` (the reverse view)."""
    today = oslo_today(now)
    found: dict[int, Person] = {}
    for fullmakt in fullmakter_given:
        if fullmakt.grantor_id == subject.id and Scope.NOTICES in fullmakt_scopes(fullmakt, now):
            found[fullmakt.grantee_id] = fullmakt.grantee
    if Scope.NOTICES in parent_scopes(subject, today):
        for parent in parents:
            found[parent.id] = parent
    found.pop(subject.id, None)
    return sorted(found.values(), key=lambda p: p.id)


def representation_of(options: Sequence[Representation], subject_id: int) -> Representation | None:
    return next((r for r in options if r.subject.id == subject_id), None)


def require_resident(actor: Actor) -> None:
    if not actor.is_resident:
        _deny(actor, "not a resident")


def require_scope(actor: Actor, scope: Scope, subject_id: int | None = None) -> Representation:
    """The actor's representation of the subject (default: whom they act for now)."""
    if not actor.is_resident:
        _deny(actor, "not a resident", scope=scope, subject_id=subject_id)
    target = subject_id if subject_id is not None else actor.subject_id
    rep = representation_of(actor.representations, target)
    if rep is None or scope not in rep.scopes:
        _deny(actor, "no representation with scope", scope=scope, subject_id=target)
    return rep


def current_representation(actor: Actor) -> Representation | None:
    """Whom the resident acts for now, if that is still allowed (access can end at once)."""
    if not actor.is_resident:
        return None
    return representation_of(actor.representations, actor.subject_id)


def require_any_scope(actor: Actor, *scopes: Scope) -> Representation:
    rep = current_representation(actor)
    if rep is None or not rep.scopes.intersection(scopes):
        _deny(actor, "no representation with any scope", scopes=scopes)
    return rep


def require_current_subject(actor: Actor, person_id: int, scope: Scope) -> Representation:
    """An object of a person opens only while acting for that person, within the scope."""
    rep = current_representation(actor) if actor.is_resident else None
    if rep is None or person_id != rep.subject.id or scope not in rep.scopes:
        _deny(actor, "object of another person", person_id=person_id, scope=scope, hide=True)
    return rep


def require_resident_thread(actor: Actor, thread: Thread) -> Representation:
    """A thread opens only for whom the resident acts for now, with the messages scope."""
    return require_current_subject(actor, thread.person_id, Scope.MESSAGES)


def may_act_for(actor: Actor, subject_id: int) -> Representation:
    """Switching whom one acts for: any representation with at least one scope."""
    rep = representation_of(actor.representations, subject_id) if actor.is_resident else None
    if rep is None:
        _deny(actor, "may not act for", subject_id=subject_id)
    return rep


# --- staff -----------------------------------------------------------------------


def require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        _deny(actor, "not staff")


def staff_unit_roles(actor: Actor, unit_id: int | None) -> frozenset[StaffRoleKind]:
    if not actor.is_staff or unit_id is None:
        return frozenset()
    return frozenset(r.role for r in actor.staff.roles if r.unit_id == unit_id)


def require_unit_role(actor: Actor, *roles: StaffRoleKind) -> None:
    """The active unit must be one where the actor has one of `roles` (any role if none)."""
    require_staff(actor)
    have = staff_unit_roles(actor, actor.active_unit_id)
    if not have or (roles and not have.intersection(roles)):
        _deny(actor, "no role in the active unit", roles=roles)


def may_choose_unit(actor: Actor, unit_id: int) -> None:
    if not staff_unit_roles(actor, unit_id):
        _deny(actor, "no role in unit", unit_id=unit_id)


def is_municipal_admin(actor: Actor) -> bool:
    return actor.is_staff and any(
        r.role is StaffRoleKind.MUNICIPAL_ADMIN for r in actor.staff.roles
    )


def require_municipal_admin(actor: Actor) -> None:
    require_staff(actor)
    if not is_municipal_admin(actor):
        _deny(actor, "not municipal administrator")


def change_log_scope(actor: Actor) -> frozenset[int] | None:
    """Who reads the audit trail (Endringslogg): the administrator the whole municipality's
    (None), a leader the changes that concern the units they lead (their ids)."""
    return _led_units_or_municipality(actor)


def oversikt_scope(actor: Actor) -> frozenset[int] | None:
    """Who sees Oversikt (aggregate figures, no one's data): the administrator every unit of
    the municipality (None), a leader the units they lead (their ids)."""
    return _led_units_or_municipality(actor)


def _led_units_or_municipality(actor: Actor) -> frozenset[int] | None:
    require_staff(actor)
    if is_municipal_admin(actor):
        return None
    led = frozenset(
        r.unit_id
        for r in actor.staff.roles
        if r.role is StaffRoleKind.LEADER and r.unit_id is not None
    )
    if not led:
        _deny(actor, "neither administrator nor leader")
    return led


def require_staff_administration(actor: Actor, account: StaffAccount) -> None:
    """The municipal administrator manages the staff accounts of their own municipality."""
    require_municipal_admin(actor)
    if account.municipality_id != actor.staff.municipality_id:
        _deny(actor, "staff account of another municipality", staff_id=account.id, hide=True)


def staff_may_reach_unit_object(actor: Actor, *, unit_id: int, municipality_id: int) -> bool:
    """A thread, appointment or cancellation belongs to the actor's active unit."""
    return (
        actor.is_staff
        and municipality_id == actor.staff.municipality_id
        and unit_id == actor.active_unit_id
        and bool(staff_unit_roles(actor, unit_id))
    )


def require_unit_object(actor: Actor, *, unit_id: int, municipality_id: int) -> None:
    if not staff_may_reach_unit_object(actor, unit_id=unit_id, municipality_id=municipality_id):
        _deny(actor, "object outside the active unit", unit_id=unit_id, hide=True)


def require_staff_thread(actor: Actor, thread: Thread) -> None:
    """Staff reach a thread through the unit whose queue it is in, nothing else."""
    require_unit_role(actor)
    require_unit_object(actor, unit_id=thread.unit_id, municipality_id=thread.municipality_id)


def require_staff_series(actor: Actor, series: AppointmentSeries) -> None:
    """A recurring series is planned by the unit that gives the visits (its unit loaded)."""
    require_unit_object(actor, unit_id=series.unit_id, municipality_id=series.unit.municipality_id)


def may_assign_to(actor: Actor, thread: Thread, assignee: StaffAccount) -> None:
    """A thread is assigned to a colleague with a role in the thread's unit."""
    colleague_units = {r.unit_id for r in assignee.roles}
    if (
        not assignee.active
        or assignee.municipality_id != thread.municipality_id
        or thread.unit_id not in colleague_units
    ):
        _deny(actor, "assignee is not in the unit", assignee_id=assignee.id)


def may_forward_to(actor: Actor, thread: Thread, unit: Unit) -> None:
    """Forwarding moves a thread to another unit of the municipality open for dialog."""
    if (
        unit.municipality_id != thread.municipality_id
        or unit.id == thread.unit_id
        or not unit.service.open_for_dialog
    ):
        _deny(actor, "unit cannot receive the thread", unit_id=unit.id)


def recipient_registrations_for_staff(
    actor: Actor, person: Person, registrations: Iterable[ServiceRecipient], today: date
) -> list[ServiceRecipient]:
    """The person's current registrations with the actor's active unit; denied if none.

    Staff reach a person only while the person receives a service from their unit, and
    see only that unit's part of the person's services.
    """
    reachable = [
        reg
        for reg in registrations
        if reg.person_id == person.id
        and reg.is_current(today)
        and staff_may_reach_unit_object(
            actor, unit_id=reg.unit_id, municipality_id=reg.unit.municipality_id
        )
    ]
    if not reachable:
        _deny(
            actor, "person is not a recipient of the active unit", subject_id=person.id, hide=True
        )
    return reachable


def require_fullmakt_grantor(actor: Actor, fullmakt: Fullmakt, subject: Person) -> None:
    """Only the grantor changes a fullmakt (Endre gives a new one that replaces it)."""
    if fullmakt.grantor_id != subject.id:
        _deny(actor, "not the grantor", fullmakt_id=fullmakt.id, hide=True)


def may_end_fullmakt(actor: Actor, fullmakt: Fullmakt) -> bool:
    """Avslutt: the grantor or the grantee, as themselves; an assigned fullmakt also the
    administrator of the grantor's municipality (grantor loaded). Other staff are denied."""
    if actor.is_resident:
        return not actor.is_acting_for_other and actor.person.id in (
            fullmakt.grantor_id,
            fullmakt.grantee_id,
        )
    require_municipal_admin(actor)
    return (
        fullmakt.kind is FullmaktKind.ASSIGNED
        and fullmakt.grantor.municipality_id == actor.staff.municipality_id
    )


# --- assigned fullmakt: registered by one, approved by a second person (R11) ------------------


def is_unit_leader(actor: Actor) -> bool:
    """The actor leads the unit they work in now."""
    return StaffRoleKind.LEADER in staff_unit_roles(actor, actor.active_unit_id)


def fullmakt_registration_refusal(actor: Actor, grantor: Person, grantee: Person) -> str | None:
    """Why the actor may not register an assigned fullmakt from `grantor` to `grantee`
    (logged), or None. Only the administrator of the grantor's municipality registers one;
    the grantee may live anywhere (a relative in another city is normal: the assessment and
    a second person's approval are what protect the resident); nobody registers one in
    which they are a party themselves."""
    require_municipal_admin(actor)
    if grantor.municipality_id != actor.staff.municipality_id:
        return _refuse(actor, "other_municipality", grantor_id=grantor.id)
    if actor.staff.person_id is not None and actor.staff.person_id in (grantor.id, grantee.id):
        return _refuse(actor, "staff_party", grantor_id=grantor.id, grantee_id=grantee.id)
    return None


def serves_person(actor: Actor, registrations: Iterable[ServiceRecipient], today: date) -> bool:
    """The actor's active unit serves the person now (registrations with units loaded)."""
    return any(
        reg.is_current(today)
        and staff_may_reach_unit_object(
            actor, unit_id=reg.unit_id, municipality_id=reg.unit.municipality_id
        )
        for reg in registrations
    )


def is_fullmakt_decider(actor: Actor, fullmakt: Fullmakt, *, serves_grantor: bool) -> bool:
    """Who decides on an assigned fullmakt: the administrator of the grantor's municipality,
    or the leader of a unit that serves the grantor now (grantor loaded)."""
    if not actor.is_staff or fullmakt.kind is not FullmaktKind.ASSIGNED:
        return False
    if is_municipal_admin(actor):
        return fullmakt.grantor.municipality_id == actor.staff.municipality_id
    return is_unit_leader(actor) and serves_grantor


def require_fullmakt_decider(
    actor: Actor, fullmakt: Fullmakt, *, registrations: Iterable[ServiceRecipient], today: date
) -> None:
    """Anyone else is told nothing: the fullmakt does not exist for them."""
    serves = serves_person(actor, registrations, today)
    if not is_fullmakt_decider(actor, fullmakt, serves_grantor=serves):
        _deny(actor, "not a decider of the fullmakt", fullmakt_id=fullmakt.id, hide=True)


def approval_refusal(actor: Actor, fullmakt: Fullmakt) -> str | None:
    """Why a decider may not approve this fullmakt, or None (pure: for showing buttons).
    A second person approves: never the one who registered it, nor a party to it."""
    if not fullmakt.is_pending:
        return "not_pending"
    if fullmakt.registered_by_staff_id == actor.staff.id:
        return "own_registration"
    if actor.staff.person_id is not None and actor.staff.person_id in (
        fullmakt.grantor_id,
        fullmakt.grantee_id,
    ):
        return "staff_party"
    return None


def fullmakt_approval_refusal(actor: Actor, fullmakt: Fullmakt) -> str | None:
    """`approval_refusal`, logged when it refuses."""
    code = approval_refusal(actor, fullmakt)
    return _refuse(actor, code, fullmakt_id=fullmakt.id) if code else None


def require_notice_follow_up(
    actor: Actor,
    *,
    municipality_id: int,
    person: Person,
    registrations: Iterable[ServiceRecipient],
    today: date,
) -> None:
    """A failed notice is followed up by the municipality's administrator, or by staff of a
    unit that serves the person now (the notice is about them)."""
    if is_municipal_admin(actor) and actor.staff.municipality_id == municipality_id:
        return
    recipient_registrations_for_staff(actor, person, registrations, today)


# --- loading and logging ---------------------------------------------------------


# --- the record-system API: clients of a municipality (docs/api.md) ------------------------


def require_api_client_administration(actor: Actor, client: ApiClient) -> None:
    """The administrator of the client's municipality registers, revokes and follows it up."""
    require_municipal_admin(actor)
    if client.municipality_id != actor.staff.municipality_id:
        _deny(actor, "api client of another municipality", client_id=client.id, hide=True)


def require_api_permission(principal: ApiPrincipal, resource: str, permission: str) -> None:
    """The client's token carries the scope (`system/<resource>.<permission>`)."""
    if permission not in principal.scopes.get(resource, frozenset()):
        _api_deny(principal, f"scope system/{resource}.{permission} is needed")


def api_reaches_person(
    principal: ApiPrincipal, registrations: Iterable[ServiceRecipient], today: date
) -> bool:
    """A client reaches a person who receives a service of its municipality now
    (registrations with their units loaded)."""
    return any(
        reg.is_current(today) and reg.unit.municipality_id == principal.municipality_id
        for reg in registrations
    )


@dataclass(frozen=True)
class ApiAppointmentScope:
    """The appointments a client reaches: a record system those of its municipality's units;
    a provider's client those its provider published through a client of the municipality."""

    municipality_id: int
    provider_name: str | None


def api_appointment_scope(principal: ApiPrincipal) -> ApiAppointmentScope:
    return ApiAppointmentScope(principal.municipality_id, principal.provider_name)


def api_reaches_appointment(
    principal: ApiPrincipal,
    appointment: Appointment,
    *,
    unit_municipality_id: int | None,
    publisher: ApiClient | None,
) -> bool:
    """The same rule as `api_appointment_scope`, for one loaded appointment."""
    if principal.provider_name is None:
        return unit_municipality_id == principal.municipality_id
    return (
        appointment.source is AppointmentSource.EXTERNAL
        and appointment.source_name == principal.provider_name
        and publisher is not None
        and publisher.municipality_id == principal.municipality_id
        and publisher.provider_name == principal.provider_name
    )


def api_message_municipality(principal: ApiPrincipal) -> int | None:
    """Whose messages a client reaches: a record system those of its municipality's threads;
    a provider's client none."""
    return principal.municipality_id if principal.provider_name is None else None


def api_reaches_thread(principal: ApiPrincipal, thread: Thread) -> bool:
    return api_message_municipality(principal) == thread.municipality_id


def api_may_reply_as(principal: ApiPrincipal, thread: Thread, staff: StaffAccount | None) -> bool:
    """A reply from the record system is written by an active employee of the thread's unit
    (roles loaded)."""
    return (
        api_reaches_thread(principal, thread)
        and staff is not None
        and staff.active
        and staff.municipality_id == principal.municipality_id
        and thread.unit_id in {role.unit_id for role in staff.roles}
    )


def api_receives_events(principal: ApiPrincipal, resource: str) -> bool:
    """A record system is told what happens to a resource it may read; another provider's
    client (which reads no one) and a revoked client are told nothing."""
    return (
        principal.client.revoked_at is None
        and principal.provider_name is None
        and "r" in principal.scopes.get(resource, frozenset())
    )


def require_api_events(principal: ApiPrincipal, resource: str) -> None:
    """A subscription to events about `resource`: as `api_receives_events`."""
    if principal.provider_name is not None:
        _api_deny(principal, "another provider's client receives no events")
    require_api_permission(principal, resource, "r")


def api_owns_subscription(principal: ApiPrincipal, api_client_id: int) -> bool:
    """A client sees and changes its own subscriptions only."""
    return api_client_id == principal.client_pk


def _api_deny(principal: ApiPrincipal, reason: str, *, hide: bool = False) -> None:
    log.warning("api access denied: %s client=%s", reason, principal.client.client_id)
    raise AccessDenied(reason, hide_existence=hide)


def load_representations(
    session: Session, person: Person, now: datetime, *, anyone_else: bool = True
) -> list[Representation]:
    """Whom `person` may act for at `now`. `anyone_else=False` (their log-in session's
    statement found no fullmakt in force held and no child in care) asks nothing more."""
    from app.selectors.representation import acting_for

    if not anyone_else:
        return representations(person, fullmakter=(), children=(), now=now)
    found = acting_for(session, person.id, now)
    return representations(person, fullmakter=found.fullmakter, children=found.children, now=now)


def _refuse(actor: Actor, code: str, **context: object) -> str:
    """A refusal the user is told about (the caller raises it as its own kind), logged."""
    log.warning(
        "access refused: %s actor=%s %s",
        code,
        actor.describe(),
        " ".join(f"{k}={v}" for k, v in context.items()),
    )
    return code


def _deny(actor: Actor, reason: str, *, hide: bool = False, **context: object) -> None:
    log.warning(
        "access denied: %s actor=%s %s",
        reason,
        actor.describe() if actor is not None else "anonymous",
        " ".join(f"{k}={v}" for k, v in context.items()),
    )
    raise AccessDenied(reason, hide_existence=hide)
