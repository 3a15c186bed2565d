"""Service recipients in Administrasjon (docs/product.md 5.9): register, list, end and import."""

from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa

from app.models import AdminChange, Person, ServiceRecipient
from app.selectors.recipients import RECIPIENT_PAGE
from app.services import recipients
from app.services.recipients import IMPORT_MAX_BYTES, IMPORT_MAX_ROWS
from app.web.edge import FORM_ALLOWANCE
from tests import factories
from tests.support import csrf_token

HEADER = "fodselsnummer;fornavn;etternavn;tjeneste;fra;til\n"


def _register(client, **fields):
    path = "/admin/recipients/new"
    data = {"csrf_token": csrf_token(client, path), "valid_from": "2026-01-01"} | fields
    return client.post(path, data=data)


def _import(client, content: bytes, name: str = "mottakere.csv"):
    path = "/admin/recipients/import"
    data = {"csrf_token": csrf_token(client, path), "file": (io.BytesIO(content), name)}
    return client.post(path, data=data, content_type="multipart/form-data")


def _receipts(db, person_id: int) -> list[ServiceRecipient]:
    return list(
        db.scalars(sa.select(ServiceRecipient).where(ServiceRecipient.person_id == person_id))
    )


def _changes(db, world) -> list[AdminChange]:
    return list(
        db.scalars(
            sa.select(AdminChange)
            .where(AdminChange.municipality_id == world.municipality.id)
            .order_by(AdminChange.id)
        )
    )


def test_a_person_not_yet_known_is_added_and_registered_and_logged_without_number(
    client, db, login, world
):
    login.staff(world.admin)
    number = factories.real_fnr(date(1951, 3, 4))
    done = _register(
        client,
        fodselsnummer=number,
        given_name="Nora",
        family_name="Ny",
        unit=str(world.unit.id),
    )
    assert done.status_code == 303
    flashed = client.get(done.location).get_data(as_text=True)
    assert "Nora Ny er registrert for Hjemmesykepleie." in flashed
    person = db.scalars(sa.select(Person).where(Person.fodselsnummer == number)).one()
    assert (person.full_name, person.birth_date) == ("Nora Ny", date(1951, 3, 4))
    [receipt] = _receipts(db, person.id)
    assert (receipt.unit_id, receipt.valid_from, receipt.valid_to) == (
        world.unit.id,
        date(2026, 1, 1),
        None,
    )
    [change] = _changes(db, world)
    assert change.object_name == "Nora Ny (1951-03-04), Hjemmesykepleie"
    assert change.service_id == world.nursing.id and change.unit_id == world.unit.id
    texts = [change.object_name, change.before or "", change.after or ""]
    assert not any(number in text or number[:6] in text for text in texts)
    log = client.get("/admin/changes").get_data(as_text=True)
    assert "Nora Ny (1951-03-04), Hjemmesykepleie: registrert som mottaker" in log


def test_a_known_person_needs_no_names(client, db, login, world):
    login.staff(world.admin)
    done = _register(client, fodselsnummer=world.proxy.fodselsnummer, unit=str(world.unit.id))
    assert done.status_code == 303
    assert len(_receipts(db, world.proxy.id)) == 1
    assert world.proxy.full_name == "Per Proxy"


def test_an_unknown_person_without_names_or_a_bad_number_is_refused(client, db, login, world):
    login.staff(world.admin)
    number = factories.real_fnr(date(1960, 6, 7))
    refused = _register(client, fodselsnummer=number, unit=str(world.unit.id))
    assert refused.status_code == 422
    assert "ikke kjent her ennå" in refused.get_data(as_text=True)
    bad = _register(
        client,
        fodselsnummer=number[:-1] + str((int(number[-1]) + 1) % 10),
        given_name="A",
        family_name="B",
        unit=str(world.unit.id),
    )
    assert bad.status_code == 422
    assert "Fødselsnummeret er ikke gyldig" in bad.get_data(as_text=True)
    assert db.scalars(sa.select(Person).where(Person.fodselsnummer == number)).first() is None
    assert _changes(db, world) == []


def test_an_overlapping_period_and_a_unit_of_another_municipality_are_refused(
    client, db, login, world
):
    login.staff(world.admin)
    overlap = _register(
        client,
        fodselsnummer=world.resident.fodselsnummer,
        unit=str(world.unit.id),
        valid_from="2026-02-01",
    )
    assert overlap.status_code == 422
    assert "mottar allerede denne tjenesten" in overlap.get_data(as_text=True)
    foreign = _register(
        client, fodselsnummer=world.proxy.fodselsnummer, unit=str(world.foreign_unit.id)
    )
    assert foreign.status_code == 422
    assert _receipts(db, world.proxy.id) == []


def test_ending_sets_the_last_day_and_is_logged(client, db, login, world):
    login.staff(world.admin)
    [receipt] = _receipts(db, world.resident.id)
    path = f"/admin/recipients/{receipt.id}/end"
    before = client.post(
        path, data={"csrf_token": csrf_token(client, path), "last_day": "2019-12-31"}
    )
    assert before.status_code == 422
    assert receipt.valid_to is None
    done = client.post(
        path, data={"csrf_token": csrf_token(client, path), "last_day": "2026-03-31"}
    )
    assert done.status_code == 303
    db.refresh(receipt)
    assert receipt.valid_to == date(2026, 3, 31)
    [change] = _changes(db, world)
    assert (change.field, change.before, change.after) == ("valid_to", None, "2026-03-31")
    assert change.object_name == "Rita Resident (1940-02-03), Hjemmesykepleie"


def test_a_receipt_of_another_municipality_is_not_found(client, db, login, world):
    login.staff(world.admin)
    stranger = factories.person(db, "Frida", "Fremmed", m=world.other_municipality)
    receipt = factories.receives(db, stranger, world.foreign_unit)
    assert client.get(f"/admin/recipients/{receipt.id}/end").status_code == 404


def test_the_list_shows_a_service_searched_and_page_by_page(client, db, login, world):
    login.staff(world.admin)
    plain = client.get("/admin/recipients").get_data(as_text=True)
    assert "Ingen er registrert for Fysioterapi ennå." in plain
    assert 'aria-invalid="true"' not in plain
    for i in range(RECIPIENT_PAGE + 1):
        factories.receives(db, factories.person(db, "Many", f"Aaa{i:02d}"), world.other_unit)
    first = client.get(f"/admin/recipients?service={world.other_unit.service_id}")
    text = first.get_data(as_text=True)
    assert first.status_code == 200 and "Aaa00" in text and "Rita" not in text
    assert "Vis flere mottakere" in text
    nursing = client.get(f"/admin/recipients?service={world.nursing.id}&q=rita")
    assert "Rita Resident" in nursing.get_data(as_text=True)
    by_number = client.get(
        f"/admin/recipients?service={world.nursing.id}&q={world.resident.fodselsnummer}"
    )
    assert "Rita Resident" in by_number.get_data(as_text=True)
    none = client.get(f"/admin/recipients?service={world.nursing.id}&q=ingen")
    assert "Rita Resident" not in none.get_data(as_text=True)
    foreign = client.get(f"/admin/recipients?service={world.foreign_unit.service_id}")
    assert foreign.status_code == 200
    assert "Hjemmetjenesten Annenby" not in foreign.get_data(as_text=True)


def test_an_import_with_a_bad_line_stores_nothing_and_names_the_line(client, db, login, world):
    login.staff(world.admin)
    good = factories.real_fnr(date(1945, 5, 6))
    content = (
        HEADER
        + f"{good};Gunn;God;Hjemmesykepleie;2026-01-01;\n"
        + "12345678901;Ulf;Ugyldig;Hjemmesykepleie;2026-01-01;\n"
        + f"{world.proxy.fodselsnummer};;;Ukjent;01.13.2026;\n"
    ).encode()
    refused = _import(client, content)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Ingenting ble importert" in text
    assert "Linje 3: fødselsnummeret er ikke gyldig." in text
    assert "Linje 4: tjenesten eller tjenestestedet finnes ikke" in text
    assert "Linje 2" not in text
    assert db.scalars(sa.select(Person).where(Person.fodselsnummer == good)).first() is None
    assert _changes(db, world) == []


def test_an_import_registers_everyone_once_and_again_changes_nothing(client, db, login, world):
    login.staff(world.admin)
    new = factories.real_fnr(date(1947, 8, 9))
    content = (
        "\ufefffodselsnummer,fornavn,etternavn,tjeneste,fra,til\r\n"
        f"{new},Gunn,God,Hjemmesykepleie,2026-01-01,\r\n"
        f"{world.proxy.fodselsnummer},,,Praktisk bistand Testby,01.02.2026,31.12.2026\r\n"
    ).encode()
    first = _import(client, content)
    assert first.status_code == 200
    assert "2 registreringer lagt til" in first.get_data(as_text=True)
    person = db.scalars(sa.select(Person).where(Person.fodselsnummer == new)).one()
    assert len(_receipts(db, person.id)) == 1
    [proxy] = _receipts(db, world.proxy.id)
    assert (proxy.valid_from, proxy.valid_to) == (date(2026, 2, 1), date(2026, 12, 31))
    logged = len(_changes(db, world))
    assert logged == 2

    again = _import(client, content)
    assert again.status_code == 200
    assert "2 linjer var allerede registrert" in again.get_data(as_text=True)
    assert len(_receipts(db, person.id)) == 1
    assert len(_changes(db, world)) == logged

    changed = content.replace(b"31.12.2026", b"30.06.2026")
    third = _import(client, changed)
    assert "1 registrering endret" in third.get_data(as_text=True)
    db.refresh(proxy)
    assert proxy.valid_to == date(2026, 6, 30)


def test_an_import_file_that_cannot_be_used_is_refused_with_a_reason(
    client, db, login, world, monkeypatch
):
    login.staff(world.admin)
    # A smaller limit: the test client spools larger bodies to a file it leaves open.
    monkeypatch.setattr(recipients, "IMPORT_MAX_BYTES", 400 * 1024)
    cases = {
        b"navn;tjeneste\nKari;Hjemmesykepleie\n": "Den første linjen må være overskriften",
        HEADER.encode("utf-16"): "ikke UTF-8",
        HEADER.encode(): "ingen linjer etter overskriften",
        (HEADER + "1;2;3;4;5;6\n" * (IMPORT_MAX_ROWS + 1)).encode(): "mer enn 10 000 linjer",
        b"x" * (400 * 1024 + 1): "større enn 1 MB",
    }
    for content, message in cases.items():
        refused = _import(client, content)
        assert refused.status_code == 422, message
        assert message in refused.get_data(as_text=True), message
    path = "/admin/recipients/import"
    empty = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert empty.status_code == 422
    assert "Velg en CSV-fil" in empty.get_data(as_text=True)


def test_only_the_import_takes_a_file_and_only_in_its_field(client, db, login, world):
    login.staff(world.admin)
    path = "/admin/recipients/import"
    other = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "other": (io.BytesIO(b"x"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert other.status_code == 400
    settings = client.post(
        "/admin/settings",
        data={"csrf_token": csrf_token(client, path), "file": (io.BytesIO(b"x"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert settings.status_code == 400


def test_the_service_refuses_a_file_over_the_size_limit_unread():
    assert recipients._rows(b"x" * (IMPORT_MAX_BYTES + 1)) == ([], "too_large")
    assert recipients._rows(b"x" * IMPORT_MAX_BYTES)[1] != "too_large"


def _multipart(size: int, csrf: str = "") -> bytes:
    token = f'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
    head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    return token.encode() + head + b"x" * size + b"\r\n--x--\r\n"


def test_the_import_alone_takes_a_body_over_the_usual_limit_up_to_its_own(client, login, world):
    login.staff(world.admin)
    multipart = "multipart/form-data; boundary=x"
    usual = client.application.config["MAX_CONTENT_LENGTH"]
    elsewhere = client.post("/admin/settings", data=_multipart(usual), content_type=multipart)
    assert elsewhere.status_code == 413
    path = "/admin/recipients/import"
    body = _multipart(usual, csrf_token(client, path))
    within = client.post(path, data=body, content_type=multipart)
    assert within.status_code == 422
    assert "kunne ikke leses som CSV" in within.get_data(as_text=True)
    over = client.post(
        "/admin/recipients/import",
        data=_multipart(IMPORT_MAX_BYTES + FORM_ALLOWANCE),
        content_type=multipart,
    )
    assert over.status_code == 413
    assert "for stort" in over.get_data(as_text=True)
