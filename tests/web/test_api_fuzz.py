"""No input makes the record-system API answer 5xx (docs/quality.md R6), with a valid token:
hypothesis takes a valid Appointment, Communication, Subscription or search and breaks one
part of it at a time (a value of another type or shape, a hostile string, a missing
element), or sends something else altogether. Bounded by examples; the run is repeatable
(derandomised)."""

from __future__ import annotations

import json
import os
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.clock import local_to_utc, oslo_today, utcnow
from app.models import Message
from app.services import messaging
from tests import factories
from tests.support import API_TOKEN_URL, RecordSystem, actor_for

# Per test; API_FUZZ_EXAMPLES=500 for a longer hunt (500 found nothing on 2026-12-02).
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "60"))

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "Patient/0",
            "Patient/99999999999",
            "Communication/-1",
            "2026-13-45T25:61:00Z",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00Z",
            "booked",
            "x" * 600,
            "urn:hjemmedialog:staff-username",
            "\u202eevil",
        ]
    ),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(document: object, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON document: dict keys and list positions, depth first."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


def _broken(document: dict, path: tuple, value: object, delete: bool) -> dict:
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    if delete and isinstance(target, dict):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return copy


@pytest.fixture
def scene(db: Session, world: factories.World, client: FlaskClient) -> dict:
    system = RecordSystem()
    row = factories.api_client(db, world.municipality, system.public_jwks)
    system.client_id = row.client_id
    thread = messaging.thread_start(
        db,
        actor_for(db, world.resident),
        service_id=world.nursing.id,
        subject="Spørsmål",
        body="Hei",
        submission_key=None,
        now=utcnow(),
    )
    db.flush()
    day = oslo_today() + timedelta(days=2)
    visit = {
        "resourceType": "Appointment",
        "identifier": [{"system": "urn:epj", "value": "1"}],
        "status": "booked",
        "description": "Morgenstell",
        "serviceType": [{"text": "Hjemmesykepleie"}],
        "start": local_to_utc(day, time(8, 30)).isoformat(),
        "end": local_to_utc(day, time(10)).isoformat(),
        "requestedPeriod": [
            {
                "start": local_to_utc(day, time(8)).isoformat(),
                "end": local_to_utc(day, time(10)).isoformat(),
            }
        ],
        "participant": [
            {"actor": {"reference": f"Patient/{world.resident.id}"}, "status": "accepted"},
            {
                "actor": {
                    "identifier": {
                        "system": "urn:hjemmedialog:staff-username",
                        "value": world.employee.username,
                    }
                },
                "status": "accepted",
            },
        ],
    }
    made = client.post(
        "/fhir/R4/Appointment",
        json=visit,
        headers={"Authorization": f"Bearer {system.token(client)}"},
    ).get_json()
    reply = {
        "resourceType": "Communication",
        "identifier": [{"system": "urn:epj", "value": "svar-1"}],
        "status": "completed",
        "inResponseTo": [],
        "sender": {
            "identifier": {
                "system": "urn:hjemmedialog:staff-username",
                "value": world.coordinator.username,
            }
        },
        "payload": [{"contentString": "Svar"}],
    }
    first_message = db.scalar(sa.select(Message.id).where(Message.thread_id == thread.id))
    reply["inResponseTo"] = [{"reference": f"Communication/{first_message}"}]
    subscription = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Nye meldinger",
        "criteria": "Communication?category=from-resident",
        "channel": {
            "type": "rest-hook",
            "endpoint": "https://epj.test.example/hooks",
            "payload": "application/fhir+json",
            "header": ["Authorization: Bearer x"],
        },
    }
    subscribed = client.post(
        "/fhir/R4/Subscription",
        json=subscription,
        headers={"Authorization": f"Bearer {system.token(client)}"},
    ).get_json()
    return {
        "system": system,
        "visit": visit,
        "reply": reply,
        "subscription": subscription,
        "appointment": made["id"],
        "message": first_message,
        "subscribed": subscribed["id"],
    }


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json", response.mimetype
    assert response.get_json()["resourceType"] in (
        "OperationOutcome",
        "Appointment",
        "Communication",
        "Subscription",
        "Bundle",
    )


@SETTINGS
@given(data=st.data())
def test_no_body_makes_the_api_answer_5xx(data, client: FlaskClient, scene: dict):
    headers = {"Authorization": f"Bearer {scene['system'].token(client)}"}
    kind = data.draw(st.sampled_from(["visit", "reply", "subscription"]))
    document = scene[kind]
    if data.draw(st.integers(0, 9)) == 0:
        body = data.draw(_VALUES)
    else:
        path = data.draw(st.sampled_from(_paths(document)))
        body = _broken(document, path, data.draw(_VALUES), data.draw(st.booleans()))
    if kind == "reply":
        targets = [("POST", "/fhir/R4/Communication")]
    elif kind == "subscription":
        targets = [
            ("POST", "/fhir/R4/Subscription"),
            ("PUT", f"/fhir/R4/Subscription/{scene['subscribed']}"),
        ]
    else:
        targets = [
            ("POST", "/fhir/R4/Appointment"),
            ("PUT", f"/fhir/R4/Appointment/{scene['appointment']}"),
            ("PUT", "/fhir/R4/Appointment?identifier=urn:epj|2"),
        ]
    method, path = data.draw(st.sampled_from(targets))
    extra = data.draw(
        st.sampled_from(
            [
                {},
                {"If-Match": 'W/"1"'},
                {"If-Match": data.draw(st.text(max_size=12).filter(str.isprintable))},
                {"If-None-Exist": "identifier=urn:epj|1"},
                {"If-None-Exist": data.draw(st.text(max_size=20).filter(str.isprintable))},
            ]
        )
    )
    _check(client.open(path, method=method, json=body, headers={**headers, **extra}))


_PARAMS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "_lastUpdated",
                "sent",
                "patient",
                "identifier",
                "status",
                "category",
                "journaled",
                "_count",
                "_cursor",
                "_format",
                "x",
            ]
        ),
        st.one_of(
            st.text(max_size=30).filter(str.isprintable),
            st.sampled_from(
                [
                    "gt2026-12-01",
                    "ge2026-12-01T10:00:00Z",
                    "lt9999-01-01",
                    "gtnope",
                    "Patient/1",
                    "0",
                    "201",
                    "true",
                    "from-resident",
                ]
            ),
        ),
    ),
    max_size=4,
)


@SETTINGS
@given(
    query=_PARAMS,
    resource=st.sampled_from(["Appointment", "Communication", "Patient", "Subscription"]),
)
def test_no_search_makes_the_api_answer_5xx(query, resource, client: FlaskClient, scene: dict):
    headers = {"Authorization": f"Bearer {scene['system'].token(client)}"}
    _check(client.get(f"/fhir/R4/{resource}", query_string=query, headers=headers))
    journal = client.post(
        f"/fhir/R4/Communication/{scene['message']}/$journal",
        json={"resourceType": "Parameters", "parameter": [dict(query)]} if query else None,
        headers=headers,
    )
    _check(journal)


_HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300
) | st.sampled_from(["", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.x"])


@SETTINGS
@given(
    scheme=st.sampled_from(["DPoP", "Bearer", "dpop", "Basic"]),
    proofs=st.lists(_HEADER_TEXT, max_size=2),
    to_token_endpoint=st.booleans(),
)
def test_no_dpop_proof_makes_the_api_answer_5xx(
    scheme, proofs, to_token_endpoint, client: FlaskClient, scene: dict
):
    system = scene["system"]
    headers = [("DPoP", proof) for proof in proofs]
    if to_token_endpoint:
        response = client.post(
            "/oauth/token", data=system.token_form(API_TOKEN_URL), headers=headers
        )
        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.mimetype == "application/json"
        return
    token = system.token(client)
    headers.append(("Authorization", f"{scheme} {token}"))
    _check(client.get(f"/fhir/R4/Appointment/{scene['appointment']}", headers=headers))
