"""The demo municipality (docs/product.md section 8): Andeby kommune, plus Småby kommune.

Dates are relative to the day the demo is loaded. Every fødselsnummer goes through the
same validation as any other register import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session
from stdnum.no import fodselsnummer

from app.clock import OSLO, local_to_utc
from app.models import (
    APPOINTMENTS_AND_PROVIDERS,
    AddressProtection,
    ApiClient,
    Appointment,
    AppointmentSeries,
    AppointmentSource,
    AppointmentStatus,
    Consent,
    ContactSettings,
    FamilyRelation,
    Fullmakt,
    FullmaktArea,
    FullmaktKind,
    Message,
    Municipality,
    NoticeChannel,
    NoticeLevel,
    Person,
    RelationKind,
    Service,
    ServiceRecipient,
    StaffAccount,
    StaffRole,
    StaffRoleKind,
    Thread,
    ThreadEvent,
    ThreadEventKind,
    ThreadRead,
    ThreadStatus,
    Unit,
    UsageAction,
)
from app.services.appointments import series_generate
from app.services.audit import usage_log_add
from app.services.register import (
    SYNTHETIC_MONTH_OFFSET,
    fodselsnummer_birth_date,
    fodselsnummer_validate,
)
from app.services.staff_auth import password_hash
from app.workdays import reply_deadline

DEMO_PASSWORD = "demo-passord"  # noqa: S105 - published demo credential (docs/product.md 8)


class DatabaseNotEmpty(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoPerson:
    key: str
    given_name: str
    family_name: str
    fodselsnummer: str
    municipality: str
    street: str
    postal_code: str
    town: str
    protection: AddressProtection = AddressProtection.NONE
    digitally_active: bool = True


PEOPLE = (
    DemoPerson(
        "kari", "Kari", "Nordmann", "12833810241", "andeby", "Solsikkeveien 4", "9990", "Andeby"
    ),
    DemoPerson("ola", "Ola", "Nordmann", "05896820194", "andeby", "Kirkegata 17", "9990", "Andeby"),
    DemoPerson("eva", "Eva", "Nordmann", "21817121036", "", "Storgata 101", "9010", "Tromsø"),
    DemoPerson(
        "nils",
        "Nils",
        "Hansen",
        "02874430563",
        "andeby",
        "Fjordveien 9",
        "9991",
        "Andeby",
        digitally_active=False,
    ),
    DemoPerson("lise", "Lise", "Berg", "14868540266", "andeby", "Bjørkelia 2", "9991", "Andeby"),
    DemoPerson(
        "emil",
        "Emil",
        "Berg",
        "03901652170",
        "andeby",
        "Bjørkelia 2",
        "9991",
        "Andeby",
        digitally_active=False,
    ),
    # Lise's older children: their numbers follow from their ages on the day the demo
    # loads (see CHILD_AGES), so the 12-15 and 16+ rules always apply to them.
    DemoPerson(
        "oskar",
        "Oskar",
        "Berg",
        "",
        "andeby",
        "Bjørkelia 2",
        "9991",
        "Andeby",
        digitally_active=False,
    ),
    DemoPerson("maja", "Maja", "Berg", "", "andeby", "Bjørkelia 2", "9991", "Andeby"),
    DemoPerson(
        "marit",
        "Marit",
        "Olsen",
        "30915032067",
        "andeby",
        "",
        "",
        "",
        protection=AddressProtection.STRENGT_FORTROLIG,
    ),
    DemoPerson(
        "knut", "Knut", "Knutsen", "09820960103", "andeby", "Elvebakken 3", "9990", "Andeby"
    ),
    DemoPerson("per", "Per", "Pettersen", "17884133351", "smaby", "Havnegata 5", "9995", "Småby"),
)

# Age in years on the day the demo loads, and whether the child is a girl (the individual
# number's third digit is even for women). Born four months past a birthday, so the age
# holds for a good while after loading.
CHILD_AGES = {"oskar": (13, False), "maja": (16, True)}


def synthetic_fodselsnummer(born: date, *, female: bool) -> str:
    """A synthetic test number (month + 80) for someone born in 2000-2039, valid by check
    digits (python-stdnum computes them)."""
    if not 2000 <= born.year <= 2039:
        raise ValueError("only for births in 2000-2039")
    stem = f"{born.day:02d}{born.month + SYNTHETIC_MONTH_OFFSET:02d}{born.year % 100:02d}"
    for individual in range(500 + (0 if female else 1), 1000, 2):
        nine = f"{stem}{individual:03d}"
        first = fodselsnummer.calc_check_digit1(nine)
        if len(first) == 1:
            second = fodselsnummer.calc_check_digit2(nine + first)
            if len(second) == 1:
                return nine + first + second
    raise ValueError("no individual number gives valid check digits")


AREAS = (
    # code, bokmål, nynorsk, English
    (
        APPOINTMENTS_AND_PROVIDERS,
        "Timeavtaler og behandlere",
        "Timeavtalar og behandlarar",
        "Appointments and providers",
    ),
    ("legemidler", "Legemidler", "Legemiddel", "Medicines"),
    (
        "journal-og-helseopplysninger",
        "Journal og helseopplysninger",
        "Journal og helseopplysningar",
        "Medical records and health information",
    ),
    ("vaksiner", "Vaksiner", "Vaksinar", "Vaccines"),
    ("pasientreiser", "Pasientreiser", "Pasientreiser", "Patient travel"),
)


def fullmakt_areas_ensure(session: Session) -> dict[str, FullmaktArea]:
    """The fullmakt areas (reference data; the migration adds them too)."""
    existing = {a.code: a for a in session.scalars(sa.select(FullmaktArea))}
    for order, (code, nb, nn, en) in enumerate(AREAS):
        if code not in existing:
            existing[code] = FullmaktArea(
                code=code, name_nb=nb, name_nn=nn, name_en=en, sort_order=order
            )
            session.add(existing[code])
    session.flush()
    return existing


# The demo's API clients: client_id, name, provider, scopes and the public half of a key pair
# whose private half is in docs/api-demo/ (for development only: anyone can read it).
DEMO_API_CLIENTS = (
    (
        "andeby-epj-demo",
        "Andeby EPJ (demo)",
        None,
        "system/Appointment.crus system/Communication.crus system/Patient.rs "
        "system/Subscription.cruds",
        {
            "kty": "EC",
            "crv": "P-256",
            "alg": "ES256",
            "use": "sig",
            "kid": "Jln_QV2sEhgmTZhCp4UVxerijHGbpwRKQpTEQxEsjAE",
            "x": "PG8xYvmkEQO-oUYD_e5RPAQSa_zUEECw_plJ55R7Kh4",
            "y": "VgA9qlocAgHfSFCI8fZQZ69pAG3PpOWZN76u9uvclzc",
        },
    ),
    (
        "andeby-legekontor-demo",
        "Andeby legekontor (demo)",
        "Andeby legekontor (fastlege)",
        "system/Appointment.crus",
        {
            "kty": "EC",
            "crv": "P-256",
            "alg": "ES256",
            "use": "sig",
            "kid": "g_wx6ffG6tBkpSREfYZHogQqM3DxBDJ1Abr9fJzgQdc",
            "x": "1kil1aL5mcXsYQSNN3E-6ElgDuxqIuBJrjfpIAE9w-g",
            "y": "7WNTAGmBaPvtD-Ufox09FfDnOu7dd8N-FzT8DWx-dQ0",
        },
    ),
)


def database_is_empty(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def demo_load(
    session: Session, *, now: datetime, allow_synthetic: bool, terms_version: str
) -> dict[str, int]:
    """Load the demo into an empty database; returns counts of what was created."""
    if not database_is_empty(session):
        raise DatabaseNotEmpty(
            "the database already holds people; the demo loads only into an empty one"
        )
    today = now.astimezone(OSLO).date()
    areas = fullmakt_areas_ensure(session)

    # --- municipalities, services, units ----------------------------------------
    andeby = Municipality(number="9901", name="Andeby kommune", notice_sender_name="Andeby kommune")
    smaby = Municipality(number="9902", name="Småby kommune", notice_sender_name="Småby kommune")
    session.add_all([andeby, smaby])
    session.flush()
    municipalities = {"andeby": andeby, "smaby": smaby}

    def service(m: Municipality, name: str, *, open_: bool, appointments: bool) -> Service:
        s = Service(
            municipality=m, name=name, open_for_dialog=open_, shows_appointments=appointments
        )
        session.add(s)
        return s

    def unit(m: Municipality, s: Service, name: str, phone: str, email: str, address: str) -> Unit:
        u = Unit(
            municipality=m,
            service=s,
            name=name,
            phone=phone,
            email=email,
            address=address,
            opening_hours="Hverdager 08.00–15.30",
        )
        session.add(u)
        return u

    hjemmesykepleie = service(andeby, "Hjemmesykepleie", open_=True, appointments=True)
    praktisk = service(andeby, "Praktisk bistand", open_=True, appointments=True)
    avlastning = service(andeby, "Avlastning", open_=True, appointments=False)
    fysioterapi = service(andeby, "Fysioterapi", open_=False, appointments=False)
    hjemmetjenesten = service(smaby, "Hjemmetjenesten", open_=True, appointments=True)

    sone_nord = unit(
        andeby,
        hjemmesykepleie,
        "Hjemmesykepleien sone Nord",
        "+4799900100",
        "sone.nord@andeby.example",
        "Helsehuset, Torget 1, 9990 Andeby",
    )
    praktisk_unit = unit(
        andeby,
        praktisk,
        "Praktisk bistand Andeby",
        "+4799900200",
        "praktisk.bistand@andeby.example",
        "Rådhuset, Torget 2, 9990 Andeby",
    )
    avlastning_unit = unit(
        andeby,
        avlastning,
        "Avlastning Andeby",
        "+4799900300",
        "avlastning@andeby.example",
        "Solstua, Parkveien 8, 9991 Andeby",
    )
    fysio_unit = unit(
        andeby,
        fysioterapi,
        "Fysioterapitjenesten Andeby",
        "+4799900400",
        "fysio@andeby.example",
        "Helsehuset, Torget 1, 9990 Andeby",
    )
    smaby_unit = unit(
        smaby,
        hjemmetjenesten,
        "Hjemmetjenesten Småby",
        "+4799950100",
        "hjemmetjenesten@smaby.example",
        "Omsorgssenteret, Småby",
    )
    session.flush()

    # --- the register ------------------------------------------------------------
    people: dict[str, Person] = {}
    for p in PEOPLE:
        typed = p.fodselsnummer
        if p.key in CHILD_AGES:
            age, female = CHILD_AGES[p.key]
            born = today - relativedelta(years=age, months=4)
            typed = synthetic_fodselsnummer(born, female=female)
        number = fodselsnummer_validate(typed, allow_synthetic=allow_synthetic)
        person = Person(
            fodselsnummer=number,
            given_name=p.given_name,
            family_name=p.family_name,
            birth_date=fodselsnummer_birth_date(number),
            address_protection=p.protection,
            street_address=p.street or None,
            postal_code=p.postal_code or None,
            postal_town=p.town or None,
            municipality=municipalities.get(p.municipality),
        )
        session.add(person)
        people[p.key] = person
        if p.digitally_active:
            session.add(
                Consent(
                    person=person,
                    terms_version=terms_version,
                    accepted_at=now - timedelta(days=200),
                )
            )
    session.flush()

    def relation(a: str, b: str, kind: RelationKind, responsibility: bool = False) -> None:
        session.add(
            FamilyRelation(
                person=people[a],
                related_person=people[b],
                kind=kind,
                parental_responsibility=responsibility,
            )
        )

    relation("kari", "ola", RelationKind.PARENT)
    relation("kari", "eva", RelationKind.PARENT)
    relation("ola", "eva", RelationKind.SIBLING)
    relation("eva", "ola", RelationKind.SIBLING)
    relation("lise", "emil", RelationKind.PARENT, responsibility=True)
    relation("lise", "oskar", RelationKind.PARENT, responsibility=True)
    relation("lise", "maja", RelationKind.PARENT, responsibility=True)

    # --- fullmakter ----------------------------------------------------------------
    ola_fullmakt = Fullmakt(
        grantor=people["kari"],
        grantee=people["ola"],
        kind=FullmaktKind.ORDINARY,
        all_areas=True,
        valid_from=now - timedelta(days=180),
        valid_to=None,
        created_at=now - timedelta(days=180),
        approved_at=now - timedelta(days=180),
    )
    eva_fullmakt = Fullmakt(
        grantor=people["kari"],
        grantee=people["eva"],
        kind=FullmaktKind.ORDINARY,
        all_areas=False,
        valid_from=now - timedelta(days=30),
        valid_to=datetime.combine(today + relativedelta(months=6), time(0), tzinfo=OSLO).astimezone(
            UTC
        ),
        created_at=now - timedelta(days=30),
        approved_at=now - timedelta(days=30),
    )
    eva_fullmakt.areas = [areas[APPOINTMENTS_AND_PROVIDERS]]
    session.add_all([ola_fullmakt, eva_fullmakt])

    # --- contact settings ----------------------------------------------------------
    for key, level, same in (
        ("kari", NoticeLevel.NORMAL, False),
        ("ola", NoticeLevel.ALL, True),
        ("eva", NoticeLevel.NORMAL, True),
        ("lise", NoticeLevel.NORMAL, False),
    ):
        session.add(
            ContactSettings(
                person=people[key],
                email=f"{key}@andeby.example",
                channel=NoticeChannel.EMAIL,
                level=level,
                same_for_represented=same,
                language="nb",
                updated_at=now,
            )
        )

    # --- staff -----------------------------------------------------------------------
    hashed = password_hash(DEMO_PASSWORD)
    staff: dict[str, StaffAccount] = {}

    def employee(
        username: str,
        name: str,
        title: str,
        m: Municipality,
        roles: list[tuple[StaffRoleKind, Unit | None]],
    ) -> None:
        account = StaffAccount(
            municipality=m,
            username=username,
            full_name=name,
            title=title,
            password_hash=hashed,
            created_at=now,
        )
        account.roles = [StaffRole(role=role, unit=u) for role, u in roles]
        session.add(account)
        staff[username] = account

    employee(
        "siri", "Siri Berg", "Sykepleier", andeby, [(StaffRoleKind.MESSAGE_COORDINATOR, sone_nord)]
    )
    employee("jonas", "Jonas Lie", "Sykepleier", andeby, [(StaffRoleKind.EMPLOYEE, sone_nord)])
    employee(
        "tone",
        "Tone Vik",
        "Helsefagarbeider",
        andeby,
        [(StaffRoleKind.MESSAGE_COORDINATOR, praktisk_unit)],
    )
    employee(
        "anne",
        "Anne Dahl",
        "Enhetsleder",
        andeby,
        [(StaffRoleKind.LEADER, sone_nord), (StaffRoleKind.LEADER, praktisk_unit)],
    )
    employee(
        "admin",
        "Andeby administrator",
        "Kommuneadministrator",
        andeby,
        [(StaffRoleKind.MUNICIPAL_ADMIN, None)],
    )
    employee(
        "lars", "Lars Moe", "Sykepleier", smaby, [(StaffRoleKind.MESSAGE_COORDINATOR, smaby_unit)]
    )
    session.flush()

    # --- service recipients ------------------------------------------------------------
    since = today - timedelta(days=365)

    def receives(key: str, s: Service, u: Unit, contact: str | None = None) -> None:
        session.add(
            ServiceRecipient(
                person=people[key],
                service=s,
                unit=u,
                valid_from=since,
                created_at=now,
                primary_contact=staff[contact] if contact else None,
            )
        )

    receives("kari", hjemmesykepleie, sone_nord, contact="jonas")
    receives("kari", praktisk, praktisk_unit)
    receives("kari", fysioterapi, fysio_unit)
    receives("nils", hjemmesykepleie, sone_nord, contact="jonas")
    receives("emil", avlastning, avlastning_unit)
    receives("oskar", avlastning, avlastning_unit)
    receives("per", hjemmetjenesten, smaby_unit, contact="lars")
    session.flush()

    # --- visits --------------------------------------------------------------------------
    first, last = today - timedelta(days=14), today + timedelta(weeks=8)
    appointments = 0

    def series(
        key: str,
        s: Service,
        u: Unit,
        rule: str,
        start: time,
        end: time,
        what: str,
        employee_key: str,
        assigned_days: tuple[date, ...],
        exact: time,
    ) -> None:
        nonlocal appointments
        row = AppointmentSeries(
            person=people[key],
            service=s,
            unit=u,
            rrule=rule,
            starts_on=first,
            ends_on=None,
            window_start=start,
            window_end=end,
            description=what,
            created_at=now,
        )
        session.add(row)
        session.flush()
        for visit in series_generate(session, row, until=last, now=now):
            day = visit.window_start.astimezone(OSLO).date()
            if day < today:
                visit.status = AppointmentStatus.COMPLETED
                visit.employee = staff[employee_key]
                visit.start_at = local_to_utc(day, exact)
                visit.completed_at = local_to_utc(day, exact) + timedelta(minutes=35)
                visit.completed_by = staff[employee_key]
            elif day in assigned_days:
                visit.status = AppointmentStatus.ASSIGNED
                visit.employee = staff[employee_key]
                visit.start_at = local_to_utc(day, exact)
            appointments += 1

    tomorrow = today + timedelta(days=1)
    series(
        "kari",
        hjemmesykepleie,
        sone_nord,
        "FREQ=DAILY",
        time(8),
        time(10),
        "Morgenstell og medisiner",
        "jonas",
        (today, tomorrow),
        time(8, 30),
    )
    series(
        "kari",
        praktisk,
        praktisk_unit,
        "FREQ=WEEKLY;BYDAY=TU,FR",
        time(12),
        time(14),
        "Rengjøring og innkjøp",
        "tone",
        (),
        time(12, 15),
    )
    series(
        "nils",
        hjemmesykepleie,
        sone_nord,
        "FREQ=DAILY",
        time(9),
        time(11),
        "Sårstell og tilsyn",
        "jonas",
        (today,),
        time(9, 15),
    )
    series(
        "per",
        hjemmetjenesten,
        smaby_unit,
        "FREQ=WEEKLY;BYDAY=MO,TH",
        time(10),
        time(11),
        "Tilsyn og medisiner",
        "lars",
        (),
        time(10, 15),
    )

    gp_day = today + timedelta(days=10)
    session.add(
        Appointment(
            person=people["kari"],
            source=AppointmentSource.EXTERNAL,
            source_name="Andeby legekontor (fastlege)",
            status=AppointmentStatus.PLANNED,
            window_start=local_to_utc(gp_day, time(11)),
            window_end=local_to_utc(gp_day, time(11, 30)),
            start_at=local_to_utc(gp_day, time(11)),
            description="Kontroll hos fastlegen",
            created_at=now,
        )
    )
    appointments += 1

    # --- message threads ----------------------------------------------------------------
    kari = people["kari"]
    asked = now - timedelta(days=5)
    answered = asked + timedelta(hours=20)
    done = Thread(
        municipality=andeby,
        person=kari,
        service=hjemmesykepleie,
        unit=sone_nord,
        subject="Senere morgenbesøk på torsdag",
        status=ThreadStatus.ANSWERED,
        created_at=asked,
        last_activity_at=answered,
    )
    session.add(done)
    session.flush()
    question = Message(
        thread=done,
        body=(
            "Hei! Kan morgenbesøket komme litt senere på torsdag? Jeg skal til frisøren, "
            "men ikke før klokka elleve. Hilsen Kari"
        ),
        author_person=kari,
        sent_at=asked,
        read_by_staff_at=asked + timedelta(hours=1),
    )
    reply = Message(
        thread=done,
        body=(
            "Hei Kari. Det går fint. Vi kommer mellom 09.30 og 10.00 på torsdag. "
            "Hilsen Jonas, Hjemmesykepleien sone Nord"
        ),
        author_staff=staff["jonas"],
        author_unit=sone_nord,
        sent_at=answered,
    )
    session.add_all([question, reply])
    session.flush()
    session.add_all(
        [
            ThreadEvent(
                thread=done,
                kind=ThreadEventKind.CREATED,
                at=asked,
                person_id=kari.id,
                message_id=question.id,
            ),
            ThreadEvent(
                thread=done,
                kind=ThreadEventKind.REPLIED,
                at=answered,
                staff=staff["jonas"],
                message_id=reply.id,
            ),
            ThreadRead(thread_id=done.id, person_id=kari.id, read_at=answered + timedelta(hours=2)),
        ]
    )

    # Ola wrote on Kari's behalf this morning; Siri has triaged it and given it to Jonas.
    sent = now - timedelta(hours=3)
    triaged = sent + timedelta(minutes=40)
    waiting = Thread(
        municipality=andeby,
        person=kari,
        service=hjemmesykepleie,
        unit=sone_nord,
        subject="Ny pakke med smertestillende",
        status=ThreadStatus.AWAITING_SERVICE,
        reply_deadline=reply_deadline(sent, andeby.reply_deadline_working_days),
        assignee=staff["jonas"],
        created_at=sent,
        last_activity_at=sent,
    )
    session.add(waiting)
    session.flush()
    from_ola = Message(
        thread=waiting,
        body=(
            "Hei. Mamma sier at hun snart er tom for Paracet. Kan dere ta med en ny pakke "
            "ved neste besøk? Hilsen Ola"
        ),
        author_person=people["ola"],
        on_behalf_of=kari,
        sent_at=sent,
        read_by_staff_at=triaged,
    )
    session.add(from_ola)
    session.flush()
    session.add_all(
        [
            ThreadEvent(
                thread=waiting,
                kind=ThreadEventKind.CREATED,
                at=sent,
                person_id=people["ola"].id,
                message_id=from_ola.id,
            ),
            ThreadEvent(
                thread=waiting,
                kind=ThreadEventKind.ASSIGNED,
                at=triaged,
                staff=staff["siri"],
                assignee=staff["jonas"],
                internal_note="Jonas, du er hos Kari i morgen tidlig.",
            ),
            ThreadRead(thread_id=waiting.id, person_id=people["ola"].id, read_at=sent),
        ]
    )
    session.flush()

    # What Kari's Logg over bruk already holds: her own log-in, Ola's work on her behalf,
    # and the staff member who opened her thread.
    ola = people["ola"]
    for at, action, actor in (
        (asked - timedelta(minutes=2), UsageAction.LOGGED_IN, {"actor_person_id": kari.id}),
        (sent - timedelta(minutes=4), UsageAction.ACTING_STARTED, {"actor_person_id": ola.id}),
        (
            sent,
            UsageAction.MESSAGE_SENT,
            {"actor_person_id": ola.id, "object_type": "thread", "object_id": waiting.id},
        ),
        (
            triaged,
            UsageAction.STAFF_VIEWED_THREAD,
            {
                "actor_staff_id": staff["siri"].id,
                "actor_unit_id": sone_nord.id,
                "object_type": "thread",
                "object_id": waiting.id,
            },
        ),
    ):
        usage_log_add(session, subject_person_id=kari.id, action=action, at=at, **actor)

    # --- the record-system API (docs/api.md): development-only keys, in docs/api-demo/ ---------
    for client_id, name, provider, scopes, public_key in DEMO_API_CLIENTS:
        session.add(
            ApiClient(
                client_id=client_id,
                name=name,
                municipality_id=andeby.id,
                provider_name=provider,
                jwks=json.dumps({"keys": [public_key]}),
                scopes=scopes,
                created_at=now,
            )
        )
    return {
        "municipalities": 2,
        "people": len(people),
        "staff": len(staff),
        "appointments": appointments,
        "threads": 2,
    }
