"""Small factories that build valid data for tests."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from stdnum.no import fodselsnummer

from app.clock import utcnow
from app.models import (
    APPOINTMENTS_AND_PROVIDERS,
    ApiClient,
    ApiEvent,
    ApiEventKind,
    ApiEventStatus,
    ApiSubscription,
    Consent,
    FamilyRelation,
    Fullmakt,
    FullmaktArea,
    FullmaktKind,
    Municipality,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeStatus,
    Person,
    RelationKind,
    Service,
    ServiceRecipient,
    StaffAccount,
    StaffRole,
    StaffRoleKind,
    Unit,
)
from app.services.staff_auth import password_hash

PASSWORD = "test-passord"
_HASH = password_hash(PASSWORD)
_serial = itertools.count(100)
_names = itertools.count(1)
_birthdays = itertools.count(0)
TERMS = "2026-1"


def next_name() -> int:
    """A number not used before in this run (for unique usernames and names)."""
    return next(_names)


def synthetic_fnr(born: date) -> str:
    """A valid synthetic fødselsnummer (month + 80) for a birth date."""
    for _ in range(1000):
        serial = next(_serial) % 1000
        serial = 500 + serial % 499 if born.year >= 2000 else serial % 499
        base = f"{born.day:02d}{born.month + 80:02d}{born.year % 100:02d}{serial:03d}"
        k1 = fodselsnummer.calc_check_digit1(base)
        if len(k1) != 1:
            continue
        k2 = fodselsnummer.calc_check_digit2(base + k1)
        if len(k2) != 1:
            continue
        return base + k1 + k2
    raise RuntimeError("no valid number found")


def real_fnr(born: date) -> str:
    """A valid ordinary (non-synthetic) fødselsnummer for a birth date."""
    for serial in range(0, 499):
        base = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}{serial:03d}"
        k1 = fodselsnummer.calc_check_digit1(base)
        k2 = fodselsnummer.calc_check_digit2(base + k1) if len(k1) == 1 else "10"
        if len(k1) == 1 and len(k2) == 1:
            return base + k1 + k2
    raise RuntimeError("no valid number found")


def municipality(db: Session, name: str = "Testby kommune", **kw: object) -> Municipality:
    number = kw.pop("number", f"{1000 + next(_names) % 9000:04d}")
    m = Municipality(number=number, name=name, notice_sender_name=name, **kw)
    db.add(m)
    db.flush()
    return m


def service(
    db: Session, m: Municipality, name: str, *, open_: bool = True, appointments: bool = True
) -> Service:
    s = Service(municipality=m, name=name, open_for_dialog=open_, shows_appointments=appointments)
    db.add(s)
    db.flush()
    return s


def unit(db: Session, s: Service, name: str) -> Unit:
    u = Unit(municipality_id=s.municipality_id, service=s, name=name, phone="+4722000000")
    db.add(u)
    db.flush()
    return u


def person(
    db: Session,
    given: str = "Test",
    family: str | None = None,
    *,
    born: date | None = None,
    active: bool = True,
    m: Municipality | None = None,
    **kw: object,
) -> Person:
    if born is None:  # a different day for each person, so numbers never collide
        born = date(1940, 1, 1) + timedelta(days=next(_birthdays) % 20000)
    p = Person(
        fodselsnummer=synthetic_fnr(born),
        given_name=given,
        family_name=family or f"Person{next(_names)}",
        birth_date=born,
        municipality=m,
        **kw,
    )
    db.add(p)
    db.flush()
    if active:
        db.add(Consent(person_id=p.id, terms_version=TERMS, accepted_at=utcnow()))
        db.flush()
    return p


def staff(
    db: Session,
    m: Municipality,
    username: str,
    roles: list[tuple[StaffRoleKind, Unit | None]],
    name: str | None = None,
    person: Person | None = None,
) -> StaffAccount:
    """A staff account; `person` is their own entry in the register, when it matters."""
    account = StaffAccount(
        municipality=m,
        username=username,
        full_name=name or username.title(),
        password_hash=_HASH,
        created_at=utcnow(),
        person_id=person.id if person else None,
    )
    account.roles = [StaffRole(role=r, unit=u) for r, u in roles]
    db.add(account)
    db.flush()
    return account


def receives(
    db: Session, p: Person, u: Unit, *, since: date | None = None, until: date | None = None
) -> ServiceRecipient:
    reg = ServiceRecipient(
        person=p,
        service_id=u.service_id,
        unit=u,
        valid_from=since or date(2020, 1, 1),
        valid_to=until,
        created_at=utcnow(),
    )
    db.add(reg)
    db.flush()
    return reg


def area(db: Session, code: str) -> FullmaktArea:
    return db.get(FullmaktArea, code)  # seeded by the migration


def fullmakt(
    db: Session,
    grantor: Person,
    grantee: Person,
    *,
    areas: tuple[str, ...] | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    ended_at: datetime | None = None,
    kind: FullmaktKind = FullmaktKind.ORDINARY,
    registered_by: StaffAccount | None = None,
    approved_by: StaffAccount | None = None,
    pending: bool = False,
) -> Fullmakt:
    """A fullmakt in force (unless ended, expired or `pending`: assigned, not yet approved)."""
    now = utcnow()
    f = Fullmakt(
        grantor=grantor,
        grantee=grantee,
        kind=kind,
        all_areas=areas is None,
        valid_from=valid_from or now - timedelta(days=365),
        valid_to=valid_to,
        ended_at=ended_at,
        created_at=now,
        document_reference="SAK-1" if kind is FullmaktKind.ASSIGNED else None,
        assessment="Fastlegen, legeerklæring" if kind is FullmaktKind.ASSIGNED else None,
        registered_by=registered_by,
        approved_at=None if pending else now,
        approved_by=approved_by,
    )
    f.areas = [area(db, code) for code in (areas or ())]
    db.add(f)
    db.flush()
    return f


def parent_of(db: Session, parent: Person, child: Person, *, responsibility: bool = True) -> None:
    db.add(
        FamilyRelation(
            person=parent,
            related_person=child,
            kind=RelationKind.PARENT,
            parental_responsibility=responsibility,
        )
    )
    db.flush()


@dataclass
class World:
    municipality: Municipality
    other_municipality: Municipality
    nursing: Service
    closed_service: Service
    closed_unit: Unit
    unit: Unit
    other_unit: Unit
    foreign_unit: Unit
    resident: Person
    proxy: Person
    coordinator: StaffAccount
    employee: StaffAccount
    other_unit_staff: StaffAccount
    foreign_staff: StaffAccount
    leader: StaffAccount
    admin: StaffAccount


def build_world(db: Session) -> World:
    m = municipality(db, "Testby kommune")
    other = municipality(db, "Annenby kommune")
    nursing = service(db, m, "Hjemmesykepleie")
    helping = service(db, m, "Praktisk bistand")
    closed = service(db, m, "Fysioterapi", open_=False, appointments=False)
    foreign_service = service(db, other, "Hjemmetjenesten")
    u = unit(db, nursing, "Sone Nord")
    u2 = unit(db, helping, "Praktisk bistand Testby")
    closed_unit = unit(db, closed, "Fysioterapi Testby")
    fu = unit(db, foreign_service, "Hjemmetjenesten Annenby")
    resident = person(db, "Rita", "Resident", born=date(1940, 2, 3), m=m)
    proxy = person(db, "Per", "Proxy", born=date(1970, 4, 5), m=m)
    receives(db, resident, u)
    fullmakt(db, resident, proxy, areas=(APPOINTMENTS_AND_PROVIDERS,))
    return World(
        municipality=m,
        other_municipality=other,
        nursing=nursing,
        closed_service=closed,
        closed_unit=closed_unit,
        unit=u,
        other_unit=u2,
        foreign_unit=fu,
        resident=resident,
        proxy=proxy,
        coordinator=staff(db, m, f"koord{next(_names)}", [(StaffRoleKind.MESSAGE_COORDINATOR, u)]),
        employee=staff(db, m, f"ansatt{next(_names)}", [(StaffRoleKind.EMPLOYEE, u)]),
        other_unit_staff=staff(
            db, m, f"annen{next(_names)}", [(StaffRoleKind.MESSAGE_COORDINATOR, u2)]
        ),
        foreign_staff=staff(
            db, other, f"fremmed{next(_names)}", [(StaffRoleKind.MESSAGE_COORDINATOR, fu)]
        ),
        leader=staff(
            db, m, f"leder{next(_names)}", [(StaffRoleKind.LEADER, u), (StaffRoleKind.LEADER, u2)]
        ),
        admin=staff(db, m, f"admin{next(_names)}", [(StaffRoleKind.MUNICIPAL_ADMIN, None)]),
    )


def failed_notice(db: Session, world: World) -> Notice:
    """A new-message e-mail to the resident that failed for good."""
    now = utcnow()
    notice = Notice(
        recipient_person_id=world.resident.id,
        subject_person_id=world.resident.id,
        event=NoticeEvent.NEW_MESSAGE,
        event_key=f"message:{next(_names)}",
        municipality_id=world.municipality.id,
        channel=NoticeChannel.EMAIL,
        address="rita@test.example",
        language="nb",
        status=NoticeStatus.FAILED,
        attempts=8,
        next_attempt_at=now,
        last_error="550 5.1.1 No such user",
        created_at=now,
    )
    db.add(notice)
    db.flush()
    return notice


def demo_index(db: Session) -> dict[str, object]:
    """The demo's people, staff and units by short name."""
    people = {p.given_name.lower(): p for p in db.scalars(sa.select(Person))}
    staff_by_name = {s.username: s for s in db.scalars(sa.select(StaffAccount))}
    units = {u.name: u for u in db.scalars(sa.select(Unit))}
    return {"people": people, "staff": staff_by_name, "units": units}


ALL_API_SCOPES = (
    "system/Appointment.crus system/Communication.crus system/Patient.rs system/Subscription.cruds"
)


def api_client(
    db: Session,
    m: Municipality,
    public_jwks: dict,
    *,
    name: str = "Testby EPJ",
    scopes: str = ALL_API_SCOPES,
    provider: str | None = None,
) -> ApiClient:
    """A registered record-system client whose keys are `public_jwks`."""
    client = ApiClient(
        client_id=f"client-{next(_names)}",
        name=name,
        municipality_id=m.id,
        provider_name=provider,
        jwks=json.dumps(public_jwks),
        scopes=scopes,
        created_at=utcnow(),
    )
    db.add(client)
    db.flush()
    return client


def api_subscription(
    db: Session,
    client: ApiClient,
    *,
    criteria: ApiEventKind = ApiEventKind.APPOINTMENT_CANCELLED,
    endpoint: str = "https://epj.test.example/hooks",
) -> ApiSubscription:
    """An active subscription of `client`, with the resource in its events."""
    now = utcnow()
    subscription = ApiSubscription(
        api_client_id=client.id,
        criteria=criteria,
        reason="Til journalen",
        endpoint=endpoint,
        with_resource=True,
        created_at=now,
        updated_at=now,
    )
    db.add(subscription)
    db.flush()
    return subscription


def failed_api_event(db: Session, subscription: ApiSubscription, resource_id: int) -> ApiEvent:
    """An event that was tried until the last try and did not arrive."""
    now = utcnow()
    event = ApiEvent(
        event_id=str(uuid.uuid4()),
        subscription_id=subscription.id,
        kind=subscription.criteria,
        resource_id=resource_id,
        status=ApiEventStatus.FAILED,
        attempts=30,
        next_attempt_at=now,
        last_error="HTTP 503 from PUT https://epj.test.example/hooks",
        created_at=now - timedelta(days=1),
    )
    db.add(event)
    db.flush()
    return event
