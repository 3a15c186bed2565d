"""Service recipients (docs/product.md 5.9): the rules of registering, ending and importing."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.clock import utcnow
from app.models import AdminChange, Person, ServiceRecipient
from app.security.access import AccessDenied
from app.services import recipients
from app.services.recipients import RecipientRefused
from tests import factories
from tests.support import actor_for

HEADER = "fodselsnummer;fornavn;etternavn;tjeneste;fra;til\n"


def _import(db, world, text: str, **kw) -> recipients.ImportReport:
    return recipients.recipients_import(
        db,
        actor_for(db, world.admin),
        text.encode(),
        now=utcnow(),
        allow_synthetic=kw.get("allow_synthetic", False),
    )


def _count(db, model) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def test_only_the_administrator_registers(db, world):
    with pytest.raises(AccessDenied):
        recipients.recipient_register(
            db,
            actor_for(db, world.leader, unit_id=world.unit.id),
            fodselsnummer=world.proxy.fodselsnummer,
            given_name=None,
            family_name=None,
            unit_id=world.unit.id,
            valid_from=date(2026, 1, 1),
            valid_to=None,
            now=utcnow(),
            allow_synthetic=True,
        )


def test_a_synthetic_number_is_refused_unless_allowed(db, world):
    register = {
        "fodselsnummer": world.proxy.fodselsnummer,  # synthetic (month + 80)
        "given_name": None,
        "family_name": None,
        "unit_id": world.unit.id,
        "valid_from": date(2026, 1, 1),
        "valid_to": None,
        "now": utcnow(),
    }
    admin = actor_for(db, world.admin)
    with pytest.raises(RecipientRefused) as refused:
        recipients.recipient_register(db, admin, allow_synthetic=False, **register)
    assert refused.value.code == "fodselsnummer"
    _person, status = recipients.recipient_register(db, admin, allow_synthetic=True, **register)
    assert status == "added"


def test_every_wrong_line_is_named_and_nothing_is_stored(db, world):
    factories.unit(db, world.nursing, "Sone Sør")  # Hjemmesykepleie now has two units
    good = factories.real_fnr(date(1950, 1, 2))
    other = factories.real_fnr(date(1952, 3, 4))
    unknown = factories.real_fnr(date(1953, 5, 6))
    people, changes = _count(db, Person), _count(db, AdminChange)
    report = _import(
        db,
        world,
        HEADER
        + f"{good};Gunn;God;Sone Nord;2026-01-01;\n"  # 2: fine
        + f"{other};Ola;Olsen;Hjemmesykepleie;2026-01-01;\n"  # 3: two units
        + f"{other};Ola;Olsen;Praktisk bistand Testby;2026-05-01;2026-04-30\n"  # 4: til < fra
        + f"{unknown};;;Sone Nord;2026-01-01;\n"  # 5: unknown person, no names
        + f"{other};Ola;Olsen;Sone Nord\n"  # 6: too few columns
        + f"{good};Gunn;God;Sone Nord;2026-06-01;\n"  # 7: overlaps line 2
        + "\n"  # an empty line is skipped
        + f"{other};Ola;Olsen;Sone Nord;2026-13-01;31.02.2026\n",  # 9: dates
    )
    assert report.refused and report.file_error is None
    assert report.errors == {
        3: ["service_units"],
        4: ["period"],
        5: ["names"],
        6: ["columns"],
        7: ["overlap"],
        9: ["from", "to"],
    }
    assert (report.added, report.changed, report.unchanged) == (0, 0, 0)
    assert (_count(db, Person), _count(db, AdminChange)) == (people, changes)


def test_an_import_is_idempotent_and_names_no_one_by_number_in_the_audit_trail(db, world):
    new = factories.real_fnr(date(1948, 9, 10))
    text = (
        HEADER
        + f"{new};Gunn;God;hjemmesykepleie;2026-01-01;\n"
        + f"{world.resident.fodselsnummer};;;Praktisk bistand;01.02.2026;\n"
    )
    first = _import(db, world, text, allow_synthetic=True)
    assert (first.added, first.changed, first.unchanged, first.errors) == (2, 0, 0, {})
    receipts = _count(db, ServiceRecipient)
    rows = list(db.scalars(sa.select(AdminChange)))
    assert len(rows) == 2
    for row in rows:
        written = f"{row.object_name} {row.before} {row.after}"
        assert new not in written and world.resident.fodselsnummer not in written
        assert new[:6] not in written and world.resident.fodselsnummer[:6] not in written
    again = _import(db, world, text, allow_synthetic=True)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 2)
    assert _count(db, ServiceRecipient) == receipts
    assert _count(db, AdminChange) == 2


def test_a_file_that_is_not_a_recipients_csv_is_refused_whole(db, world):
    cases = {
        "": "header",
        "fodselsnummer;fornavn\n1;2\n": "header",
        HEADER: "empty",
        HEADER + "1;2;3;4;5;\x00\n": "unreadable",
        HEADER + '"1;2;3;4;5;6\n': "unreadable",
    }
    for text, code in cases.items():
        assert _import(db, world, text).file_error == code, repr(text)
    latin = recipients.recipients_import(
        db, actor_for(db, world.admin), "ø".encode("latin-1"), now=utcnow(), allow_synthetic=False
    )
    assert latin.file_error == "encoding"


def test_ending_before_the_start_or_into_a_later_period_is_refused(db, world):
    [first] = db.scalars(
        sa.select(ServiceRecipient).where(ServiceRecipient.person_id == world.resident.id)
    ).all()
    first.valid_to = date(2025, 12, 31)
    later = factories.receives(db, world.resident, world.unit, since=date(2026, 6, 1))
    admin = actor_for(db, world.admin)
    for day, code in ((date(2019, 1, 1), "end_before_start"), (date(2026, 7, 1), "overlap")):
        with pytest.raises(RecipientRefused) as refused:
            recipients.recipient_end(db, admin, recipient_id=first.id, last_day=day, now=utcnow())
        assert refused.value.code == code
    ended = recipients.recipient_end(
        db, admin, recipient_id=later.id, last_day=date(2026, 8, 31), now=utcnow()
    )
    assert ended.valid_to == date(2026, 8, 31)
