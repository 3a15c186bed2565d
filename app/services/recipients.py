"""Service recipients (docs/product.md 5.9): who receives which service, for which period,
registered one at a time or imported from a CSV file. Every change writes the audit trail
(Endringslogg) in the same transaction; it names the person by name and birth date, never
by fødselsnummer."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.models import Person, ServiceRecipient, Unit
from app.security import access
from app.security.actor import Actor
from app.services.administration import record
from app.services.register import (
    InvalidFodselsnummer,
    fodselsnummer_birth_date,
    fodselsnummer_validate,
)
from app.text import has_control_characters, is_blank, without_bidi_controls

NAME_MAX = 100
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_ROWS = 10_000
HEADER = ("fodselsnummer", "fornavn", "etternavn", "tjeneste", "fra", "til")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)


class RecipientRefused(Exception):
    """Refused with a reason the administrator is told; `code` picks the text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class ImportReport:
    """What an import did, or why it did nothing: `errors` maps a line number to its
    problems; `file_error` refuses the whole file."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: dict[int, list[str]] = field(default_factory=dict)
    file_error: str | None = None

    @property
    def refused(self) -> bool:
        return bool(self.errors) or self.file_error is not None


class _Rollback(Exception):
    pass


def units_for_admin(session: Session, actor: Actor) -> list[Unit]:
    """The units of the administrator's municipality, with their service, by service."""
    access.require_municipal_admin(actor)
    return list(
        session.scalars(
            sa.select(Unit)
            .where(Unit.municipality_id == actor.staff.municipality_id)
            .options(joinedload(Unit.service))
        )
        .unique()
        .all()
    )


def _unit(session: Session, actor: Actor, unit_id: int) -> Unit:
    for unit in units_for_admin(session, actor):
        if unit.id == unit_id:
            return unit
    raise RecipientRefused("unit")


def recipient_for_admin(session: Session, actor: Actor, recipient_id: int) -> ServiceRecipient:
    access.require_municipal_admin(actor)
    recipient = session.scalars(
        sa.select(ServiceRecipient)
        .where(ServiceRecipient.id == recipient_id)
        .options(
            joinedload(ServiceRecipient.person),
            joinedload(ServiceRecipient.service),
            joinedload(ServiceRecipient.unit),
        )
    ).one_or_none()
    if recipient is None or recipient.unit.municipality_id != actor.staff.municipality_id:
        raise RecipientRefused("not_found")
    return recipient


def _name(value: str | None) -> str | None:
    text = " ".join(without_bidi_controls(value or "").split())
    if is_blank(text):
        return None
    if len(text) > NAME_MAX:
        raise RecipientRefused("name_long")
    return text


def _number(value: str, *, allow_synthetic: bool) -> str:
    try:
        return fodselsnummer_validate(value, allow_synthetic=allow_synthetic)
    except InvalidFodselsnummer:
        raise RecipientRefused("fodselsnummer") from None


def _person(
    session: Session, number: str, given: str | None, family: str | None, municipality_id: int
) -> Person:
    """The person with that number; one not yet known is added with the names given."""
    person = session.scalars(sa.select(Person).where(Person.fodselsnummer == number)).one_or_none()
    if person is not None:
        return person
    given, family = _name(given), _name(family)
    if given is None or family is None:
        raise RecipientRefused("names")
    person = Person(
        fodselsnummer=number,
        given_name=given,
        family_name=family,
        birth_date=fodselsnummer_birth_date(number),
        municipality_id=municipality_id,
    )
    session.add(person)
    session.flush()
    return person


def label(person: Person, service_name: str) -> str:
    """How the audit trail names a receipt: name, birth date and service."""
    return f"{person.full_name} ({person.birth_date.isoformat()}), {service_name}"[:120]


def period_text(valid_from: date, valid_to: date | None) -> str:
    return f"{valid_from.isoformat()} – {valid_to.isoformat() if valid_to else ''}".strip()


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return a_from <= (b_to or DATE_MAX) and b_from <= (a_to or DATE_MAX)


def _register(
    session: Session,
    actor: Actor,
    person: Person,
    unit: Unit,
    valid_from: date,
    valid_to: date | None,
    now: datetime,
) -> str:
    """Add the receipt, or change the end of the one with the same start; "added",
    "changed" or "unchanged". A period that overlaps another of the same service is
    refused."""
    if valid_to is not None and valid_to < valid_from:
        raise RecipientRefused("period")
    rows = session.scalars(
        sa.select(ServiceRecipient).where(
            ServiceRecipient.person_id == person.id,
            ServiceRecipient.service_id == unit.service_id,
        )
    ).all()
    same = next((r for r in rows if r.valid_from == valid_from), None)
    for other in rows:
        if other is not same and _overlaps(other.valid_from, other.valid_to, valid_from, valid_to):
            raise RecipientRefused("overlap")
    name = label(person, unit.service.name)
    audit = {"now": now, "municipality_id": unit.municipality_id, "service_id": unit.service_id}
    if same is None:
        receipt = ServiceRecipient(
            person_id=person.id,
            service_id=unit.service_id,
            unit_id=unit.id,
            valid_from=valid_from,
            valid_to=valid_to,
            created_at=now,
        )
        session.add(receipt)
        session.flush()
        after = f"{unit.name}, {period_text(valid_from, valid_to)}"
        record(session, actor, receipt, "receipt", None, after, name=name, unit_id=unit.id, **audit)
        return "added"
    status = "unchanged"
    if same.valid_to != valid_to:
        record(session, actor, same, "valid_to", same.valid_to, valid_to, name=name, **audit)
        same.valid_to = valid_to
        status = "changed"
    if same.unit_id != unit.id:
        before = session.get(Unit, same.unit_id).name
        record(session, actor, same, "unit", before, unit.name, name=name, **audit)
        same.unit_id = unit.id
        status = "changed"
    session.flush()
    return status


def recipient_register(
    session: Session,
    actor: Actor,
    *,
    fodselsnummer: str,
    given_name: str | None,
    family_name: str | None,
    unit_id: int,
    valid_from: date,
    valid_to: date | None,
    now: datetime,
    allow_synthetic: bool,
) -> tuple[Person, str]:
    """Register that a person receives a unit's service for a period; a person not yet
    known is added with the names given. Returns the person and "added", "changed" or
    "unchanged"."""
    unit = _unit(session, actor, unit_id)
    number = _number(fodselsnummer, allow_synthetic=allow_synthetic)
    person = _person(session, number, given_name, family_name, unit.municipality_id)
    return person, _register(session, actor, person, unit, valid_from, valid_to, now)


def recipient_end(
    session: Session, actor: Actor, *, recipient_id: int, last_day: date, now: datetime
) -> ServiceRecipient:
    """End a receipt: `last_day` is the last day the person receives the service."""
    receipt = recipient_for_admin(session, actor, recipient_id)
    if last_day < receipt.valid_from:
        raise RecipientRefused("end_before_start")
    others = session.scalars(
        sa.select(ServiceRecipient).where(
            ServiceRecipient.person_id == receipt.person_id,
            ServiceRecipient.service_id == receipt.service_id,
            ServiceRecipient.id != receipt.id,
        )
    ).all()
    if any(_overlaps(o.valid_from, o.valid_to, receipt.valid_from, last_day) for o in others):
        raise RecipientRefused("overlap")
    if receipt.valid_to != last_day:
        record(
            session,
            actor,
            receipt,
            "valid_to",
            receipt.valid_to,
            last_day,
            name=label(receipt.person, receipt.service.name),
            now=now,
            municipality_id=receipt.unit.municipality_id,
            service_id=receipt.service_id,
            unit_id=receipt.unit_id,
        )
        receipt.valid_to = last_day
        session.flush()
    return receipt


# --- import --------------------------------------------------------------------------------


def _day(text: str) -> date:
    for pattern in DATE_FORMATS:
        try:
            day = datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date only
        except ValueError:
            continue
        if DATE_MIN <= day <= DATE_MAX:
            return day
    raise ValueError(text)


def _rows(data: bytes) -> tuple[list[tuple[int, list[str]]], str | None]:
    """The file's data rows with their line numbers, or a reason to refuse the whole file."""
    if len(data) > IMPORT_MAX_BYTES:
        return [], "too_large"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], "encoding"
    if has_control_characters(text.replace("\r", ""), allow_line_breaks=True):
        return [], "unreadable"
    lines = text.splitlines()
    if not lines or is_blank(lines[0]):
        return [], "header"
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
        if tuple(header) != HEADER:
            return [], "header"
        rows: list[tuple[int, list[str]]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows.append((reader.line_num, row))
            if len(rows) > IMPORT_MAX_ROWS:
                return [], "too_many_rows"
    except csv.Error:
        return [], "unreadable"
    if not rows:
        return [], "empty"
    return rows, None


def _service_units(units: list[Unit]) -> dict[str, Unit | None]:
    """The `tjeneste` column names a unit, or a service with one unit (None: several)."""
    found: dict[str, Unit | None] = {}
    for unit in units:
        key = unit.service.name.casefold()
        found[key] = None if key in found else unit
    for unit in units:
        found[unit.name.casefold()] = unit
    return found


def recipients_import(
    session: Session, actor: Actor, data: bytes, *, now: datetime, allow_synthetic: bool
) -> ImportReport:
    """Register every line of a CSV file (header `HEADER`), or nothing when a line is
    wrong: the report names every bad line. Importing the same file again changes
    nothing."""
    units = _service_units(units_for_admin(session, actor))
    report = ImportReport()
    rows, report.file_error = _rows(data)
    if report.file_error:
        return report
    try:
        with session.begin_nested():
            for line, row in rows:
                problems = _import_row(session, actor, row, units, now, allow_synthetic, report)
                if problems:
                    report.errors[line] = problems
            if report.errors:
                raise _Rollback
    except _Rollback:
        report.added = report.changed = report.unchanged = 0
    return report


def _import_row(
    session: Session,
    actor: Actor,
    row: list[str],
    units: dict[str, Unit | None],
    now: datetime,
    allow_synthetic: bool,
    report: ImportReport,
) -> list[str]:
    if len(row) != len(HEADER):
        return ["columns"]
    number, given, family, service, start, end = (cell.strip() for cell in row)
    problems: list[str] = []
    try:
        number = _number(number, allow_synthetic=allow_synthetic)
    except RecipientRefused as refused:
        problems.append(refused.code)
    key = " ".join(service.split()).casefold()
    unit = units.get(key)
    if unit is None:
        problems.append("service_units" if key in units else "service")
    valid_from = valid_to = None
    try:
        valid_from = _day(start)
    except ValueError:
        problems.append("from")
    if end:
        try:
            valid_to = _day(end)
        except ValueError:
            problems.append("to")
    if problems or unit is None or valid_from is None:
        return problems
    try:
        person = _person(session, number, given, family, unit.municipality_id)
        status = _register(session, actor, person, unit, valid_from, valid_to, now)
    except RecipientRefused as refused:
        return [refused.code]
    setattr(report, status, getattr(report, status) + 1)
    return []
