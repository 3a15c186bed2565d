"""What every request must be (app/web/edge.py): no control characters, no files, JSON
only where taken, a bounded size, ids the database can hold; refused with a page in the
user's language before anything touches the database, also before log-in."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app.extensions import db as flask_db
from app.models import Thread
from tests.support import StatementCounter, csrf_token

CONTROL_TEXT = "inneholder tegn som ikke kan brukes her"


def compose(client, world, **fields):
    data = {
        "csrf_token": csrf_token(client, "/messages/new"),
        "service_id": world.nursing.id,
        "subject": "Hei",
        "body": "Tekst",
        **fields,
    }
    return client.post("/messages/new", data=data)


@pytest.mark.parametrize("value", ["\x00", "ola\x00", "\x1b[2J", "\x7f", "\x85", "a\x0bb"])
def test_control_characters_are_refused_before_log_in_and_before_the_database(
    app, client, db, value
):
    token = csrf_token(client, "/staff/login")
    with StatementCounter(flask_db._app_engines[app][None].engine) as counter:
        response = client.post(
            "/staff/login", data={"csrf_token": token, "username": value, "password": "x"}
        )
    assert response.status_code == 400
    assert CONTROL_TEXT in response.get_data(as_text=True)
    assert counter.count == 0


def test_a_zero_byte_in_the_query_string_or_path_is_refused(client, login, world):
    login.resident(world.resident)
    assert client.get("/messages?after=%00").status_code == 400
    assert client.get("/appointments?view=list&da%00te=1").status_code == 400
    assert client.get("/messages/%00").status_code == 400


def test_line_breaks_only_where_a_field_has_lines(client, db, login, world):
    login.resident(world.resident)
    assert compose(client, world, subject="To\nlinjer").status_code == 400
    assert (
        compose(client, world, subject="Hei", body="Linje 1\r\nLinje 2\tmed tab").status_code == 303
    )
    body = db.scalars(sa.select(Thread).where(Thread.subject == "Hei")).one()
    assert body is not None


def test_the_refusal_speaks_the_users_language(client, login, world):
    login.resident(world.resident)
    with client.session_transaction() as flask_session:
        flask_session["lang"] = "en"
    response = compose(client, world, subject="\x00")
    assert response.status_code == 400
    assert "contains characters that cannot be used here" in response.get_data(as_text=True)


def test_an_htmx_request_gets_the_refusal_in_place_of_the_main_content(client, login, world):
    login.resident(world.resident)
    response = client.post(
        "/messages/new",
        data={"csrf_token": csrf_token(client, "/messages/new"), "subject": "\x00"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#main"
    assert response.headers["HX-Reswap"] == "innerHTML"
    html = response.get_data(as_text=True)
    assert CONTROL_TEXT in html and "<html" not in html


def test_json_goes_only_where_a_view_takes_it(client, db, login, world):
    login.resident(world.resident)
    token = csrf_token(client, "/messages/new")
    for body in ([1, 2], {"subject": {"a": 1}, "body": 5}, "tekst"):
        response = client.post(
            "/messages/new",
            data=json.dumps(body),
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 415
        assert "tar ikke imot slike forespørsler" in response.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0


def test_files_are_refused(client, db, login, world):
    login.resident(world.resident)
    response = client.post(
        "/messages/new",
        data={
            "csrf_token": csrf_token(client, "/messages/new"),
            "service_id": str(world.nursing.id),
            "subject": "Hei",
            "body": (io.BytesIO(b"data"), "fil.txt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Filer kan ikke sendes her" in response.get_data(as_text=True)


def test_a_large_request_is_refused_before_it_is_read(app, client):
    token = csrf_token(client, "/staff/login")
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/staff/login", data={"csrf_token": token, "username": big, "password": "x"}
    )
    assert response.status_code == 413
    assert "Det du sendte, er for stort" in response.get_data(as_text=True)


def test_a_multipart_form_of_too_many_parts_is_refused(app, client):
    """(A URL-encoded form is bounded by MAX_FORM_MEMORY_SIZE as a whole.)"""
    token = csrf_token(client, "/staff/login")
    data = MultiDict([("csrf_token", token)] + [("f", "x")] * (app.config["MAX_FORM_PARTS"] + 1))
    response = client.post("/staff/login", data=data, content_type="multipart/form-data")
    assert response.status_code == 413


def test_a_multipart_field_larger_than_form_memory_is_refused(app, client, login, world):
    login.resident(world.resident)
    data = {
        "csrf_token": csrf_token(client, "/messages/new"),
        "subject": "Hei",
        "body": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1),
    }
    response = client.post("/messages/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 413


@pytest.mark.parametrize(
    "number", ["2147483648", "9223372036854775808", "99999999999999999999", "0", "00001"]
)
def test_ids_beyond_the_database_are_not_found(client, login, world, number):
    login.resident(world.resident)
    for path in (f"/messages/{number}", f"/appointments/{number}"):
        assert client.get(path).status_code == 404, path
    login.staff(world.coordinator)
    assert client.get(f"/staff/threads/{number}").status_code == 404


def test_ids_in_forms_beyond_the_database_are_refused(client, db, login, world):
    login.resident(world.resident)
    response = compose(client, world, continues="2147483648")
    assert response.status_code == 422
    assert "Det valget er ikke gyldig" in response.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0
    token = csrf_token(client, "/messages")
    assert (
        client.post("/act-for", data={"csrf_token": token, "person_id": "9" * 25}).status_code
        == 400
    )
    login.staff(world.coordinator)
    token = csrf_token(client, "/staff/")
    response = client.post(
        "/staff/unit", data={"csrf_token": token, "unit_id": "9223372036854775808"}
    )
    assert response.status_code == 400


def test_the_multiline_fields_are_found_in_the_forms(app):
    assert {"body", "note"} <= app.extensions["multiline_fields"]
    assert "subject" not in app.extensions["multiline_fields"]
