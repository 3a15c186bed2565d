"""Passkeys (WebAuthn) for staff: the one module that speaks to py_webauthn.

Registration needs a password log-in first; log-in needs no username (a discoverable
credential, user verification required). Every challenge is kept in the database (its
digest), used once, and only for CHALLENGE_LIFETIME, so any process may check the answer.
The expected RP id and origin come from WEBAUTHN_RP_ID and WEBAUTHN_ORIGIN, else from the
request's host, which TRUSTED_HOSTS has already checked. A signature counter that does not
increase is refused as a cloned authenticator, and logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.orm import Session, selectinload
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.database import durable_write
from app.models import PasskeyChallenge, PasskeyCredential, StaffAccount, StaffRole

log = logging.getLogger("hjemmedialog.passkeys")

CHALLENGE_LIFETIME = timedelta(minutes=5)
TIMEOUT_MS = 120_000
RP_NAME = "Hjemmedialog"
REGISTER, LOGIN = "register", "login"


class PasskeyRefused(Exception):
    """The passkey was not accepted; `code` says why (for logs and tests, never the user)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    origin: str


def relying_party() -> RelyingParty:
    """From configuration, else from the request's (trusted) host."""
    config = current_app.config
    origin = config.get("WEBAUTHN_ORIGIN") or request.host_url.rstrip("/")
    rp_id = config.get("WEBAUTHN_RP_ID") or urlsplit(origin).hostname or request.host
    return RelyingParty(rp_id=rp_id, origin=origin)


def _digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _issue(session: Session, challenge: bytes, purpose: str, staff_id: int | None, now: datetime):
    session.execute(sa.delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < now))
    session.add(
        PasskeyChallenge(
            challenge_hash=_digest(challenge),
            purpose=purpose,
            staff_id=staff_id,
            created_at=now,
            expires_at=now + CHALLENGE_LIFETIME,
        )
    )
    session.flush()


def _use(
    session: Session, challenge: bytes, purpose: str, staff_id: int | None, now: datetime
) -> None:
    """Mark the challenge used; refused if unknown, used before, expired or someone else's."""
    where = [
        PasskeyChallenge.challenge_hash == _digest(challenge),
        PasskeyChallenge.purpose == purpose,
        PasskeyChallenge.used_at.is_(None),
        PasskeyChallenge.expires_at > now,
    ]
    if staff_id is not None:
        where.append(PasskeyChallenge.staff_id == staff_id)
    rows: list[int] = []

    # Kept even when the request fails: a refused answer uses up its challenge too.
    def mark(s: Session) -> None:
        done = s.execute(sa.update(PasskeyChallenge).where(*where).values(used_at=now))
        rows.append(done.rowcount)

    durable_write(session, mark)
    if rows[0] != 1:
        raise PasskeyRefused("challenge")


def _challenge_of(client_data_json: bytes) -> bytes:
    return parse_client_data_json(client_data_json).challenge


# --- registration (a logged-in staff member adds a passkey) ------------------------------------


def staff_passkeys(session: Session, staff_id: int) -> list[PasskeyCredential]:
    return list(
        session.scalars(
            sa.select(PasskeyCredential)
            .where(PasskeyCredential.staff_id == staff_id)
            .order_by(PasskeyCredential.created_at, PasskeyCredential.id)
        )
    )


def registration_options(session: Session, staff: StaffAccount, now: datetime) -> str:
    """The options for navigator.credentials.create, as JSON (base64url)."""
    if staff.passkey_user_handle is None:
        staff.passkey_user_handle = secrets.token_bytes(32)
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=RP_NAME,
        user_id=staff.passkey_user_handle,
        user_name=staff.username,
        user_display_name=staff.full_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=c.credential_id)
            for c in staff_passkeys(session, staff.id)
        ],
    )
    _issue(session, options.challenge, REGISTER, staff.id, now)
    return options_to_json(options)


def register(
    session: Session, staff: StaffAccount, credential: object, name: str, now: datetime
) -> PasskeyCredential:
    """Verify the authenticator's answer and keep the passkey under `name`."""
    rp = relying_party()
    try:
        parsed = parse_registration_credential_json(json.dumps(credential))
        challenge = _challenge_of(parsed.response.client_data_json)
    except Exception as exc:  # py_webauthn raises many kinds for malformed input
        log.info("passkey registration unreadable: staff=%s %s", staff.id, exc)
        raise PasskeyRefused("unreadable") from None
    _use(session, challenge, REGISTER, staff.id, now)
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except Exception as exc:  # InvalidRegistrationResponse and malformed parts
        log.warning("passkey registration refused: staff=%s %s", staff.id, exc)
        raise PasskeyRefused("invalid") from None
    taken = session.scalar(
        sa.select(PasskeyCredential.id).where(
            PasskeyCredential.credential_id == verified.credential_id
        )
    )
    if taken is not None:
        raise PasskeyRefused("registered")
    transports = getattr(parsed.response, "transports", None) or []
    passkey = PasskeyCredential(
        staff_id=staff.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(str(getattr(t, "value", t)) for t in transports)[:100] or None,
        name=name,
        created_at=now,
    )
    session.add(passkey)
    session.flush()
    log.info("passkey registered: staff=%s passkey=%s", staff.id, passkey.id)
    return passkey


def remove(session: Session, staff: StaffAccount, passkey_id: int) -> bool:
    """Remove one of the staff member's own passkeys; False if there is no such one."""
    deleted = session.execute(
        sa.delete(PasskeyCredential).where(
            PasskeyCredential.id == passkey_id, PasskeyCredential.staff_id == staff.id
        )
    )
    if deleted.rowcount:
        log.info("passkey removed: staff=%s passkey=%s", staff.id, passkey_id)
    return bool(deleted.rowcount)


# --- log-in (nobody known yet: the authenticator says whose passkey it is) ---------------------


def authentication_options(session: Session, now: datetime) -> str:
    """The options for navigator.credentials.get, as JSON: no credentials listed."""
    options = generate_authentication_options(
        rp_id=relying_party().rp_id,
        timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _issue(session, options.challenge, LOGIN, None, now)
    return options_to_json(options)


def authenticate(session: Session, credential: object, now: datetime) -> StaffAccount:
    """The active staff account whose passkey signed the challenge; else PasskeyRefused."""
    rp = relying_party()
    try:
        parsed = parse_authentication_credential_json(json.dumps(credential))
        challenge = _challenge_of(parsed.response.client_data_json)
        counter = parse_authenticator_data(parsed.response.authenticator_data).sign_count
    except Exception as exc:  # py_webauthn raises many kinds for malformed input
        log.info("passkey log-in unreadable: %s", exc)
        raise PasskeyRefused("unreadable") from None
    _use(session, challenge, LOGIN, None, now)
    passkey = session.scalar(
        sa.select(PasskeyCredential).where(
            PasskeyCredential.credential_id == parsed.raw_id,
            PasskeyCredential.staff_id.is_not(None),
        )
    )
    if passkey is None:
        log.warning("passkey log-in refused: unknown credential")
        raise PasskeyRefused("unknown")
    staff = session.scalars(
        sa.select(StaffAccount)
        .where(StaffAccount.id == passkey.staff_id)
        .options(selectinload(StaffAccount.roles).selectinload(StaffRole.unit))
    ).one()
    handle = parsed.response.user_handle
    if handle is not None and handle != staff.passkey_user_handle:
        log.warning("passkey log-in refused: user handle mismatch passkey=%s", passkey.id)
        raise PasskeyRefused("unknown")
    try:
        # The counter is checked below, once the signature is known to be good.
        verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except Exception as exc:  # InvalidAuthenticationResponse and malformed parts
        log.warning("passkey log-in refused: staff=%s passkey=%s %s", staff.id, passkey.id, exc)
        raise PasskeyRefused("invalid") from None
    if (counter or passkey.sign_count) and counter <= passkey.sign_count:
        log.error(
            "passkey log-in refused, possibly a cloned authenticator: staff=%s passkey=%s "
            "counter=%s stored=%s",
            staff.id,
            passkey.id,
            counter,
            passkey.sign_count,
        )
        raise PasskeyRefused("counter")
    if not staff.active:
        log.warning("passkey log-in refused: deactivated staff=%s", staff.id)
        raise PasskeyRefused("deactivated")
    passkey.sign_count = counter
    passkey.last_used_at = now
    session.flush()
    return staff
