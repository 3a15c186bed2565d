"""The record-system API's clients (docs/api.md): registered and revoked by the municipal
administrator, their assertions used once, their calls and reads kept."""

from __future__ import annotations

import json
import secrets
from datetime import datetime

import sqlalchemy as sa
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from app.database import after_reads, durable_write
from app.models import (
    AdminChange,
    ApiAssertion,
    ApiCall,
    ApiClient,
    ApiEvent,
    ApiEventStatus,
    ApiSubscription,
    UsageAction,
)
from app.security import access, dpop
from app.security.actor import Actor
from app.security.api_auth import expired_before, format_scopes, parse_scopes
from app.services.audit import usage_log_add_many
from app.services.notices import wake_workers
from app.text import is_blank, without_bidi_controls

NAME_MAX = 100
OUTCOME_MAX = 300
PATH_MAX = 500


class ClientRefused(Exception):
    """Refused with a reason the administrator is told; `code` picks the text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def public_key_set(text: str) -> str:
    """A JSON Web Key Set (or one key) of public signing keys, as stored; ClientRefused
    ("keys") when it is not one, holds a private key, or holds a key that cannot sign."""
    try:
        document = json.loads(text)
        if isinstance(document, dict) and "keys" not in document:
            document = {"keys": [document]}
        keys = KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError):
        raise ClientRefused("keys") from None
    if not keys.keys or any(key.is_private or key.key_type not in ("RSA", "EC") for key in keys):
        raise ClientRefused("keys")
    for key in keys:
        key.ensure_kid()
    return json.dumps(keys.as_dict(private=False), sort_keys=True)


def _name(value: str | None, *, code: str) -> str:
    text = " ".join(without_bidi_controls(value or "").split())
    if is_blank(text) or len(text) > NAME_MAX:
        raise ClientRefused(code)
    return text


def register_client(
    session: Session,
    actor: Actor,
    *,
    name: str,
    jwks: str,
    scopes: str,
    provider_name: str | None,
    now: datetime,
    client_id: str | None = None,
) -> ApiClient:
    """A new client of the administrator's municipality; its client_id is made here (the
    demo gives its own)."""
    access.require_municipal_admin(actor)
    try:
        parsed = parse_scopes(scopes)
    except ValueError:
        raise ClientRefused("scopes") from None
    if not parsed:
        raise ClientRefused("scopes")
    provider = None if is_blank(provider_name or "") else _name(provider_name, code="provider")
    client = ApiClient(
        client_id=client_id or secrets.token_urlsafe(24),
        name=_name(name, code="name"),
        municipality_id=actor.staff.municipality_id,
        provider_name=provider,
        jwks=public_key_set(jwks),
        scopes=format_scopes(parsed),
        created_at=now,
        created_by_staff_id=actor.staff.id,
    )
    session.add(client)
    session.flush()
    _audit(session, actor, client, "api_client", None, client.client_id, now)
    return client


def revoke_client(session: Session, actor: Actor, client: ApiClient, now: datetime) -> bool:
    """Revoked at once: its tokens are refused from the next call. False if it already was."""
    access.require_api_client_administration(actor, client)
    if client.revoked_at is not None:
        return False
    client.revoked_at = now
    client.revoked_by_staff_id = actor.staff.id
    _audit(session, actor, client, "api_client_revoked", None, None, now)
    return True


def event_retry(
    session: Session, actor: Actor, client: ApiClient, event_pk: int, now: datetime
) -> None:
    """An event that failed for good is tried again from the first try (the administrator
    asked, e.g. once the record system's endpoint works again)."""
    access.require_api_client_administration(actor, client)
    event = session.get(ApiEvent, event_pk)
    if (
        event is None
        or event.status is not ApiEventStatus.FAILED
        or session.get(ApiSubscription, event.subscription_id).api_client_id != client.id
    ):
        raise ClientRefused("no_failed_event")
    event.status = ApiEventStatus.PENDING
    event.attempts = 0
    event.next_attempt_at = now
    event.claimed_until = None
    session.flush()
    wake_workers(session)


def _audit(
    session: Session,
    actor: Actor,
    client: ApiClient,
    field: str,
    before: str | None,
    after: str | None,
    now: datetime,
) -> None:
    session.add(
        AdminChange(
            at=now,
            municipality_id=client.municipality_id,
            actor_staff_id=actor.staff.id,
            object_type="api_client",
            object_id=client.id,
            object_name=client.name,
            field=field,
            before=before,
            after=after,
        )
    )


def use_assertion(session: Session, client: ApiClient, jti: str, expires_at: datetime) -> bool:
    """Remember an assertion's jti until it expires; False when it was used before."""
    return _remember(session, client.id, jti, expires_at)


def use_dpop_proof(session: Session, client: ApiClient, proof: dpop.Proof) -> bool:
    """Remember a DPoP proof's jti like an assertion's; False when it was used before.

    In a read request (GET) the check is a read and the jti is kept once the reads are done,
    so two copies of one proof sent at the same instant could both pass; each is still good
    only for that method, address and token, for five minutes."""
    key = dpop.replay_key(proof)
    client_pk = client.id
    seen = session.scalar(
        sa.select(ApiAssertion.jti).where(
            ApiAssertion.api_client_id == client_pk, ApiAssertion.jti == key
        )
    )
    if seen is not None:
        return False
    kept: list[bool] = []
    after_reads(session, lambda s: kept.append(_remember(s, client_pk, key, proof.expires_at)))
    return all(kept)  # in a write request it was kept at once, and may have been taken


def _remember(session: Session, client_pk: int, jti: str, expires_at: datetime) -> bool:
    session.execute(
        sa.delete(ApiAssertion).where(
            ApiAssertion.api_client_id == client_pk,
            ApiAssertion.expires_at < expired_before(expires_at.replace(microsecond=0)),
        )
    )
    try:
        with session.begin_nested():
            session.add(ApiAssertion(api_client_id=client_pk, jti=jti, expires_at=expires_at))
    except sa.exc.IntegrityError:
        return False
    return True


def record_call(
    session: Session,
    client_pk: int,
    *,
    method: str,
    path: str,
    status: int,
    outcome: str | None,
    now: datetime,
) -> None:
    """One row of the API's audit trail, kept whatever the response."""
    row = {
        "api_client_id": client_pk,
        "at": now,
        "method": method[:10],
        "path": path[:PATH_MAX],
        "status": status,
        "outcome": outcome[:OUTCOME_MAX] if outcome else None,
    }
    durable_write(session, lambda s: s.execute(sa.insert(ApiCall.__table__), [row]))


def record_system_read(
    session: Session, client_pk: int, person_ids: list[int], resource: str, now: datetime
) -> None:
    """The read is in each person's Logg over bruk, whatever the response."""
    entries = [
        {
            "at": now,
            "subject_person_id": person_id,
            "action": UsageAction.RECORD_SYSTEM_READ,
            "actor_api_client_id": client_pk,
            "object_type": resource,
        }
        for person_id in dict.fromkeys(person_ids)
    ]
    if entries:
        durable_write(session, lambda s: usage_log_add_many(s, entries))
