"""FHIR R4 resources as this API writes them (JSON), following HL7 Norway's no-basis
profiles where they apply. Only shapes here: what a client may see is decided in
app/security/access.py, what is read in the selectors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.models import AddressProtection, Person

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
                    "(SMART Backend Services); SMART v2 system scopes.",
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
                    }
                ],
            }
        ],
    }
