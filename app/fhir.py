"""FHIR R4 resources as this API writes them (JSON), following HL7 Norway's no-basis
profiles where they apply. Only shapes here: what a client may see is decided in
app/security/access.py, what is read in the selectors."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from app.models import (
    AddressProtection,
    ApiEventKind,
    ApiSubscription,
    Appointment,
    AppointmentIdentifier,
    AppointmentSource,
    AppointmentStatus,
    Message,
    Person,
    Thread,
)
from app.services.api_events import SubscriptionInput, masked
from app.services.messaging import BODY_MAX as MESSAGE_MAX
from app.services.record_system import VisitInput

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"
# Fødselsnummer and D-nummer (the first digit plus 4), as the Norwegian base profiles name them.
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
NO_BASIS = "http://hl7.no/fhir/StructureDefinition/"

# OperationOutcome issue codes by HTTP status (FHIR's IssueType value set).
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processable",
    429: "throttled",
    500: "exception",
    503: "transient",
}


def operation_outcome(status: int, diagnostics: str, *, code: str | None = None) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status >= 400 else "information",
                "code": code or ISSUE_CODES.get(status, "processing"),
                "diagnostics": diagnostics,
            }
        ],
    }


def identifier_system(fodselsnummer: str) -> str:
    return DNR_SYSTEM if fodselsnummer[:1] in "4567" else FNR_SYSTEM


def patient(person: Person) -> dict[str, Any]:
    """A resident as a no-basis Patient. A protected address is left out altogether."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(person.id),
        "meta": {"profile": [NO_BASIS + "no-basis-Patient"]},
        "identifier": [
            {
                "use": "official",
                "system": identifier_system(person.fodselsnummer),
                "value": person.fodselsnummer,
            }
        ],
        "active": True,
        "name": [
            {
                "use": "official",
                "text": person.full_name,
                "family": person.family_name,
                "given": person.given_name.split(),
            }
        ],
        "birthDate": person.birth_date.isoformat(),
    }
    if person.address_protection is AddressProtection.NONE and person.street_address:
        resource["address"] = [
            {
                "use": "home",
                "type": "physical",
                "line": [person.street_address],
                "postalCode": person.postal_code,
                "city": person.postal_town,
                "country": "NO",
            }
        ]
    return resource


def searchset(base: str, resources: Iterable[dict[str, Any]], self_url: str) -> dict:
    entries = [
        {
            "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "link": [{"relation": "self", "url": self_url}],
        "entry": entries,
    }


def capability_statement(base: str, token_url: str, software_version: str) -> dict:
    """What this server does (GET /metadata)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-02",
        "kind": "instance",
        "software": {"name": "Hjemmedialog", "version": software_version},
        "implementation": {"description": "Hjemmedialog record-system API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/"
                            "oauth-uris",
                            "extension": [{"url": "token", "valueUri": token_url}],
                        }
                    ],
                    "description": "OAuth 2.0 client credentials with private_key_jwt "
                    "(SMART Backend Services); SMART v2 system scopes; tokens bound to the "
                    "client's key with DPoP (RFC 9449) when it sends a proof.",
                },
                "resource": [
                    {
                        "type": "Patient",
                        "profile": NO_BASIS + "no-basis-Patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "identifier", "type": "token"},
                            {"name": "_id", "type": "token"},
                        ],
                    },
                    {
                        "type": "Appointment",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {"code": "create"},
                            {"code": "update"},
                        ],
                        "versioning": "versioned-update",
                        "readHistory": False,
                        "updateCreate": False,
                        "conditionalCreate": True,
                        "conditionalUpdate": True,
                        "searchParam": [
                            {"name": "_lastUpdated", "type": "date"},
                            {"name": "patient", "type": "reference"},
                            {"name": "identifier", "type": "token"},
                            {"name": "status", "type": "token"},
                        ],
                    },
                    {
                        "type": "Communication",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {"code": "create"},
                        ],
                        "searchParam": [
                            {"name": "sent", "type": "date"},
                            {"name": "patient", "type": "reference"},
                            {"name": "category", "type": "token"},
                            {
                                "name": "journaled",
                                "type": "token",
                                "documentation": "true or false: journaled or not yet",
                            },
                        ],
                        "operation": [
                            {
                                "name": "journal",
                                "definition": f"{base}/OperationDefinition/Communication-journal",
                                "documentation": "POST Communication/<id>/$journal marks the "
                                "message journaled in the record system; a Parameters body "
                                "may give its reference (valueString).",
                            }
                        ],
                    },
                    {
                        "type": "Subscription",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {"code": "create"},
                            {"code": "update"},
                            {"code": "delete"},
                        ],
                        "documentation": "rest-hook: with payload application/fhir+json, "
                        "PUT <endpoint>/<type>/<id> with the resource; without, an empty POST "
                        "to the endpoint. Every try of one event carries the same X-Event-Id. "
                        "Criteria: " + ", ".join(kind.value for kind in ApiEventKind) + ".",
                    },
                ],
            }
        ],
    }


# --- Appointment -------------------------------------------------------------------------------

# The staff member who does the visit, by username (a record system maps its users to them).
STAFF_SYSTEM = "urn:hjemmedialog:staff-username"
CANCELLATION_REASONS = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
STATUS_OUT = {
    AppointmentStatus.PLANNED: "proposed",
    AppointmentStatus.ASSIGNED: "booked",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
}
STATUS_IN = {
    "proposed": AppointmentStatus.PLANNED,
    "pending": AppointmentStatus.PLANNED,
    "booked": AppointmentStatus.ASSIGNED,
    "fulfilled": AppointmentStatus.COMPLETED,
    "cancelled": AppointmentStatus.CANCELLED,
}
DESCRIPTION_MAX = 500
IDENTIFIER_MAX = 200
# Times a visit can have: from 2000 through 2100, a window of at most a day.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)
WINDOW_MAX = timedelta(hours=24)


class Invalid(ValueError):
    """A resource the API does not take; the text says what is wrong (OperationOutcome)."""


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def version_tag(version: int) -> str:
    return f'W/"{version}"'


def appointment(visit: Appointment, identifier: AppointmentIdentifier | None) -> dict[str, Any]:
    """A visit as a FHIR Appointment (person, service, unit and employee loaded)."""
    status = STATUS_OUT[visit.status]
    if visit.source is AppointmentSource.EXTERNAL and status == "proposed" and visit.start_at:
        status = "booked"  # another provider's appointment at a set time
    start = visit.start_at or visit.window_start
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(visit.id),
        "meta": {"versionId": str(visit.version), "lastUpdated": _instant(visit.updated_at)},
    }
    if identifier is not None:
        resource["identifier"] = [{"system": identifier.system, "value": identifier.value}]
    resource["status"] = status
    if visit.status is AppointmentStatus.CANCELLED:
        by_resident = visit.cancelled_by_person_id is not None
        reason: dict[str, Any] = {
            "coding": [{"system": CANCELLATION_REASONS, "code": "pat" if by_resident else "prov"}]
        }
        if visit.cancel_reason:
            reason["text"] = visit.cancel_reason
        resource["cancelationReason"] = reason
    if visit.service is not None:
        resource["serviceType"] = [{"text": visit.service.name}]
    resource["description"] = visit.description
    resource["start"] = _instant(start)
    resource["end"] = _instant(max(visit.window_end, start))
    resource["created"] = _instant(visit.created_at)
    resource["requestedPeriod"] = [
        {"start": _instant(visit.window_start), "end": _instant(visit.window_end)}
    ]
    participants: list[dict[str, Any]] = [
        {
            # No name: a client that may not read patients learns none here.
            "actor": {"reference": f"Patient/{visit.person_id}"},
            "status": "accepted",
        }
    ]
    if visit.employee is not None:
        participants.append(
            {
                "actor": {
                    "identifier": {"system": STAFF_SYSTEM, "value": visit.employee.username},
                    "display": visit.employee.full_name,
                },
                "status": "accepted",
            }
        )
    if visit.unit is not None:
        participants.append(
            {
                "actor": {"display": visit.unit.name},
                "required": "information-only",
                "status": "accepted",
            }
        )
    elif visit.source_name:
        participants.append(
            {
                "actor": {"display": visit.source_name},
                "required": "information-only",
                "status": "accepted",
            }
        )
    resource["participant"] = participants
    return resource


def _text(value: object, what: str, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise Invalid(f"{what} is longer than {limit} characters")
    return text


def _moment(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise Invalid(f"{what} must be a date and time with a time zone")
    moment = value.astimezone(UTC)
    if not EARLIEST <= moment < LATEST:
        raise Invalid(f"{what} must be from 2000 through 2100")
    return moment


def _validated(model_class: Any, document: object) -> Any:
    """The document as the `fhir.resources` model of its type; Invalid says what is wrong."""
    from pydantic import ValidationError

    name = model_class.__name__
    if not isinstance(document, dict) or document.get("resourceType") != name:
        raise Invalid(f"the body must be a FHIR {name} (resourceType {name})")
    try:
        return model_class.model_validate(document)
    except (ValidationError, ValueError, TypeError) as error:
        problems = getattr(error, "errors", lambda: [])()
        where = "; ".join(
            f"{'.'.join(str(p) for p in problem.get('loc', ()))}: {problem.get('msg')}"
            for problem in problems[:5]
        )
        raise Invalid(f"not a valid {name}: {where or error}") from None


def _identifier(model: Any) -> tuple[str, str] | None:
    """The first identifier with a system and a value: the sender's own id of the resource."""
    for given in model.identifier or []:
        if given.system and given.value:
            return (
                _text(given.system, "identifier.system", IDENTIFIER_MAX),
                _text(given.value, "identifier.value", IDENTIFIER_MAX),
            )
    return None


def parse_appointment(document: object) -> VisitInput:
    """The visit an Appointment describes; Invalid says what is wrong with it."""
    from fhir.resources.R4B.appointment import Appointment as FhirAppointment

    model = _validated(FhirAppointment, document)
    status = STATUS_IN.get(str(model.status))
    if status is None:
        raise Invalid(f"status must be one of {', '.join(STATUS_IN)}")
    identifier = _identifier(model)
    patient_id = patient_fnr = employee = None
    for participant in model.participant or []:
        actor = participant.actor
        if actor is None:
            continue
        reference = str(actor.reference or "")
        if reference.startswith("Patient/"):
            number = reference.removeprefix("Patient/")
            if not number.isdigit() or not 0 < int(number) < 2**31:
                raise Invalid("a Patient reference must be Patient/<id>")
            patient_id = int(number)
        elif actor.identifier is not None and actor.identifier.system in (FNR_SYSTEM, DNR_SYSTEM):
            patient_fnr = str(actor.identifier.value or "")
            if len(patient_fnr) != 11 or not patient_fnr.isdigit():
                raise Invalid("the patient's identifier must be an 11-digit fødselsnummer")
        elif actor.identifier is not None and actor.identifier.system == STAFF_SYSTEM:
            employee = _text(actor.identifier.value, "the employee's username", 64) or None
    if patient_id is None and patient_fnr is None:
        raise Invalid(
            "a participant must be the patient: Patient/<id>, or an identifier with system "
            f"{FNR_SYSTEM}"
        )
    requested = (model.requestedPeriod or [None])[0]
    if requested is not None and requested.start is not None and requested.end is not None:
        window_start = _moment(requested.start, "requestedPeriod.start")
        window_end = _moment(requested.end, "requestedPeriod.end")
    elif model.start is not None and model.end is not None:
        window_start = _moment(model.start, "start")
        window_end = _moment(model.end, "end")
    else:
        raise Invalid("give the visit's time: requestedPeriod (start and end), or start and end")
    if window_end < window_start or window_end - window_start > WINDOW_MAX:
        raise Invalid("the visit must end after it starts, at most a day later")
    start_at = None
    if model.start is not None and status is not AppointmentStatus.PLANNED:
        start_at = _moment(model.start, "start")
    service = None
    for concept in model.serviceType or []:
        service = concept.text or next((c.display for c in concept.coding or [] if c.display), None)
        if service:
            service = _text(service, "serviceType", 100)
            break
    reason = None
    if model.cancelationReason is not None:
        reason = _text(model.cancelationReason.text, "cancelationReason.text", 500) or None
    return VisitInput(
        identifier=identifier,
        status=status,
        patient_id=patient_id,
        patient_fodselsnummer=patient_fnr,
        employee_username=employee,
        service_name=service,
        window_start=window_start,
        window_end=window_end,
        start_at=start_at,
        description=_text(model.description, "description", DESCRIPTION_MAX),
        cancel_reason=reason,
    )


# --- Communication -----------------------------------------------------------------------------

CATEGORY_SYSTEM = "urn:hjemmedialog:message-category"
FROM_RESIDENT = "from-resident"
FROM_SERVICE = "from-service"
THREAD_SYSTEM = "urn:hjemmedialog:thread"
BODY_MAX = MESSAGE_MAX


def communication(message: Message, thread: Thread) -> dict[str, Any]:
    """A message as a FHIR Communication (authors, thread's unit and the journaling client
    loaded). A relative's message names them as a contained RelatedPerson "on behalf of"
    the patient; the resident's own name is left to `Patient`."""
    patient = {"reference": f"Patient/{thread.person_id}"}
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(message.id),
        "meta": {"lastUpdated": _instant(message.journaled_at or message.sent_at)},
    }
    if message.author_person_id is not None and message.on_behalf_of_person_id is not None:
        author = message.author_person
        resource["contained"] = [
            {
                "resourceType": "RelatedPerson",
                "id": "sender",
                "patient": patient,
                "relationship": [{"text": "on behalf of"}],
                "name": [
                    {
                        "text": author.full_name,
                        "family": author.family_name,
                        "given": author.given_name.split(),
                    }
                ],
            }
        ]
    if message.journal_reference:
        resource["identifier"] = [
            {"system": "urn:hjemmedialog:journal-reference", "value": message.journal_reference}
        ]
    resource["status"] = "completed"
    from_resident = message.author_person_id is not None
    resource["category"] = [
        {
            "coding": [
                {
                    "system": CATEGORY_SYSTEM,
                    "code": FROM_RESIDENT if from_resident else FROM_SERVICE,
                }
            ]
        }
    ]
    resource["subject"] = patient
    resource["topic"] = {
        "coding": [{"system": THREAD_SYSTEM, "code": str(thread.id)}],
        "text": thread.subject,
    }
    resource["sent"] = _instant(message.sent_at)
    unit = {"display": thread.unit.name}
    if from_resident:
        resource["recipient"] = [unit]
        resource["sender"] = (
            {"reference": "#sender"} if message.on_behalf_of_person_id is not None else patient
        )
    else:
        resource["recipient"] = [patient]
        staff = message.author_staff
        resource["sender"] = {
            "identifier": {"system": STAFF_SYSTEM, "value": staff.username if staff else "?"},
            "display": staff.full_name if staff else unit["display"],
        }
    resource["payload"] = [{"contentString": message.body}]
    if message.journaled_at is not None:
        who = message.journaled_by_api_client.name if message.journaled_by_api_client else None
        resource["note"] = [
            {
                "time": _instant(message.journaled_at),
                "text": f"Journaled in {who}" if who else "Journaled by the service",
            }
        ]
    return resource


@dataclass(frozen=True)
class ReplyInput:
    """A reply a staff member wrote in the record system."""

    identifier: tuple[str, str] | None
    in_response_to: int
    employee_username: str
    body: str


def parse_reply(document: object) -> ReplyInput:
    from fhir.resources.R4B.communication import Communication as FhirCommunication

    model = _validated(FhirCommunication, document)
    if str(model.status) != "completed":
        raise Invalid("status must be completed")
    replied = [str(r.reference or "") for r in model.inResponseTo or []]
    if len(replied) != 1 or not replied[0].startswith("Communication/"):
        raise Invalid("inResponseTo must be the one Communication/<id> this replies to")
    number = replied[0].removeprefix("Communication/")
    if not number.isdigit() or not 0 < int(number) < 2**31:
        raise Invalid("inResponseTo must be Communication/<id>")
    sender = model.sender
    if sender is None or sender.identifier is None or sender.identifier.system != STAFF_SYSTEM:
        raise Invalid(f"sender must be the employee: an identifier of system {STAFF_SYSTEM}")
    username = _text(sender.identifier.value, "the employee's username", 64)
    texts = [p.contentString for p in model.payload or [] if p.contentString]
    if len(texts) != 1:
        raise Invalid("payload must be one contentString, the reply's text")
    body = str(texts[0]).strip()
    if not body or len(body) > BODY_MAX:
        raise Invalid(f"the reply must have from 1 to {BODY_MAX} characters")
    return ReplyInput(_identifier(model), int(number), username, body)


# --- Subscription ------------------------------------------------------------------------------

CRITERIA = {kind.value: kind for kind in ApiEventKind} | {
    f"Communication?category={CATEGORY_SYSTEM}|{FROM_RESIDENT}": (
        ApiEventKind.MESSAGE_FROM_RESIDENT
    )
}
REASON_MAX = 200
ENDPOINT_MAX = 500
HEADER_MAX = 1000
PAYLOAD_TYPES = (MEDIA_TYPE, "application/json")
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def subscription(given: ApiSubscription) -> dict[str, Any]:
    """A client's subscription; its header reads back with the value masked."""
    channel: dict[str, Any] = {"type": "rest-hook", "endpoint": given.endpoint}
    if given.with_resource:
        channel["payload"] = MEDIA_TYPE
    if given.header is not None:
        channel["header"] = [masked(given.header)]
    return {
        "resourceType": "Subscription",
        "id": str(given.id),
        "meta": {"lastUpdated": _instant(given.updated_at)},
        "status": given.status.value,
        "reason": given.reason,
        "criteria": given.criteria.value,
        "channel": channel,
    }


def _endpoint(value: object) -> str:
    endpoint = str(value or "").strip()
    if not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise Invalid(f"channel.endpoint must be an address of at most {ENDPOINT_MAX} characters")
    parts = urlsplit(endpoint)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or parts.username is not None
        or parts.password is not None
        or parts.fragment
        or any(ord(c) < 33 or ord(c) > 126 for c in endpoint)
    ):
        raise Invalid("channel.endpoint must be an http(s) address without credentials")
    return endpoint


def _header(values: list[Any] | None) -> str | None:
    headers = [str(value) for value in values or []]
    if not headers:
        return None
    if len(headers) > 1:
        raise Invalid("channel.header takes one header")
    name, colon, value = headers[0].partition(":")
    value = value.strip()
    if (
        not colon
        or not HEADER_NAME.fullmatch(name)
        or not value
        or len(headers[0]) > HEADER_MAX
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        raise Invalid(f"channel.header must be 'Name: value', at most {HEADER_MAX} characters")
    return f"{name}: {value}"


def parse_subscription(document: object) -> SubscriptionInput:
    """What a Subscription asks for; Invalid says what is wrong with it."""
    from fhir.resources.R4B.subscription import Subscription as FhirSubscription

    model = _validated(FhirSubscription, document)
    criteria = CRITERIA.get(str(model.criteria or "").strip())
    if criteria is None:
        raise Invalid("criteria must be one of " + ", ".join(kind.value for kind in ApiEventKind))
    status = str(model.status)
    if status not in ("requested", "active", "off"):
        raise Invalid("status must be requested, active or off")
    if model.end is not None:
        raise Invalid("end is not supported: delete the Subscription to end it")
    if str(model.channel.type) != "rest-hook":
        raise Invalid("channel.type must be rest-hook")
    payload = str(model.channel.payload or "")
    if payload and payload not in PAYLOAD_TYPES:
        raise Invalid(f"channel.payload must be {MEDIA_TYPE}, or left out for none")
    reason = _text(model.reason, "reason", REASON_MAX)
    if not reason:
        raise Invalid("reason must say what the subscription is for")
    return SubscriptionInput(
        criteria=criteria,
        active=status != "off",
        reason=reason,
        endpoint=_endpoint(model.channel.endpoint),
        header=_header(model.channel.header),
        with_resource=bool(payload),
    )
