"""Log-in sessions: started on every log-in, limited in idle and total time, ended on log-out."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.database import after_reads
from app.models import Consent, LoginSession, Person, StaffAccount, StaffRole, UsageAction
from app.selectors.representation import may_act_for_others
from app.services.audit import usage_log_add

# Last-seen is written at most this often, so most requests write nothing.
TOUCH_INTERVAL = timedelta(seconds=60)


class EndReason:
    LOGOUT = "logout"
    IDLE = "idle"
    EXPIRED = "expired"
    REPLACED = "replaced"
    DEACTIVATED = "deactivated"
    CREDENTIALS_RESET = "credentials_reset"  # the administrator gave a one-time password
    # The identity provider ended its session (OpenID Connect front- or back-channel log-out).
    FRONTCHANNEL = "frontchannel"
    BACKCHANNEL = "backchannel"


@dataclass(frozen=True)
class ProviderSession:
    """Which session at the identity provider a resident's log-in came from."""

    issuer: str
    sid: str | None
    sub: str | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_start(
    session: Session,
    *,
    now: datetime,
    person: Person | None = None,
    staff: StaffAccount | None = None,
    auth_method: str,
    acr: str | None = None,
    id_token: str | None = None,
    provider_session: ProviderSession | None = None,
    active_unit_id: int | None = None,
) -> tuple[LoginSession, str]:
    """A new server-side session; returns it and the token the browser keeps."""
    if (person is None) == (staff is None):
        raise ValueError("a session belongs to exactly one person or staff member")
    token = (PERSON_PREFIX if person is not None else STAFF_PREFIX) + secrets.token_urlsafe(32)
    login = LoginSession(
        token_hash=token_hash(token),
        person=person,
        staff=staff,
        auth_method=auth_method,
        acr=acr,
        id_token=id_token,
        oidc_issuer=provider_session.issuer if provider_session else None,
        oidc_sid=provider_session.sid if provider_session else None,
        oidc_sub=provider_session.sub if provider_session else None,
        active_unit_id=active_unit_id,
        created_at=now,
        last_seen_at=now,
    )
    session.add(login)
    session.flush()
    return login, token


def session_end(session: Session, login: LoginSession, *, now: datetime, reason: str) -> None:
    if login.ended_at is None:
        login.ended_at = now
        login.end_reason = reason
        login.id_token = None
        session.flush()


def sessions_end_by_provider(
    session: Session,
    *,
    issuer: str,
    sid: str | None = None,
    sub: str | None = None,
    now: datetime,
    reason: str,
) -> int:
    """End the live sessions the provider names: by its session id, or every one of a subject.

    With both, a session must match both. Returns how many sessions ended.
    """
    if not sid and not sub:
        raise ValueError("the provider names a session (sid) or a subject (sub)")
    conditions = [
        LoginSession.oidc_issuer == issuer,
        LoginSession.ended_at.is_(None),
    ]
    if sid:
        conditions.append(LoginSession.oidc_sid == sid)
    if sub:
        conditions.append(LoginSession.oidc_sub == sub)
    logins = session.scalars(sa.select(LoginSession).where(*conditions)).all()
    for login in logins:
        session_end(session, login, now=now, reason=reason)
    return len(logins)


@dataclass(frozen=True)
class ResolvedSession:
    login: LoginSession
    # The resident has consented to the current terms (always False for staff).
    digitally_active: bool
    # The resident holds a fullmakt in force or has a child in care (always False for staff).
    acts_for_others: bool


# A token says whose session it is, a person's or a staff member's, so that the statement
# reading it joins only that principal's tables. The hash covers the whole token, prefix
# included; a token without one (made before the prefixes) is read with both.
PERSON_PREFIX = "p."
STAFF_PREFIX = "s."


def _principal(token: str) -> str | None:
    prefix = token[:2]
    return prefix if prefix in (PERSON_PREFIX, STAFF_PREFIX) else None


@cache
def _by_token(
    terms_version: str, principal: str | None
) -> sa.Select[tuple[LoginSession, bool, bool]]:
    # Asked on every request: built once, with the token's hash and the time as bind
    # parameters, since building a statement with its loader options costs more than running it.
    consented: sa.ColumnElement[bool] = sa.false()
    others: sa.ColumnElement[bool] = sa.false()
    loads = []
    if principal != STAFF_PREFIX:
        consented = (
            sa.exists()
            .where(
                Consent.person_id == LoginSession.person_id,
                Consent.terms_version == terms_version,
                Consent.withdrawn_at.is_(None),
            )
            .correlate(LoginSession)
        )
        others = may_act_for_others(LoginSession.person_id, sa.bindparam("now"))
        loads.append(joinedload(LoginSession.person))
    if principal != PERSON_PREFIX:
        loads.append(
            joinedload(LoginSession.staff).joinedload(StaffAccount.roles).joinedload(StaffRole.unit)
        )
    return (
        sa.select(
            LoginSession,
            consented.label("digitally_active"),
            others.label("acts_for_others"),
        )
        .where(LoginSession.token_hash == sa.bindparam("token_hash"))
        .options(*loads)
    )


def session_by_token(
    token: str, terms_version: str, now: datetime
) -> sa.Select[tuple[LoginSession, bool, bool]]:
    """The session with its principal, whether a resident has consented, and whether they
    may act for anyone else, in one query."""
    return _by_token(terms_version, _principal(token)).params(token_hash=token_hash(token), now=now)


def session_resolve(
    session: Session,
    token: str,
    *,
    now: datetime,
    idle_timeout: timedelta,
    absolute_timeout: timedelta,
    terms_version: str,
) -> tuple[ResolvedSession | None, str | None]:
    """The live session for a token, or None and why it is not (idle, expired, ended)."""
    row = (
        session.execute(
            _by_token(terms_version, _principal(token)),
            {"token_hash": token_hash(token), "now": now},
        )
        .unique()
        .one_or_none()
    )
    if row is None:
        return None, "unknown"
    login, digitally_active, acts_for_others = row
    if login.ended_at is not None:
        return None, login.end_reason
    ended = None
    if login.staff is not None and not login.staff.active:
        # Deactivation ends the sessions at once (staff_deactivate); this catches any left.
        ended = EndReason.DEACTIVATED
    elif now - login.created_at >= absolute_timeout:
        ended = EndReason.EXPIRED
    elif now - login.last_seen_at >= idle_timeout:
        ended = EndReason.IDLE
    if ended is not None:
        login_id = login.id
        after_reads(
            session,
            lambda s: session_end(s, s.get(LoginSession, login_id), now=now, reason=ended),
        )
        return None, ended
    if now - login.last_seen_at >= TOUCH_INTERVAL:
        # Written after a read request's reads (app/database.py); kept in memory unchanged.
        login_id = login.id
        set_committed_value(login, "last_seen_at", now)
        after_reads(
            session,
            lambda s: s.execute(
                sa.update(LoginSession)
                .where(LoginSession.id == login_id)
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
    return ResolvedSession(login, bool(digitally_active), bool(acts_for_others)), None


def session_act_for(session: Session, login: LoginSession, *, subject_id: int) -> None:
    """Record whom a resident acts for (logged for that person); the caller checked access."""
    acting_for_other = subject_id != login.person_id
    acting_for = subject_id if acting_for_other else None
    login_id = login.id
    # In memory at once; in a read request (a fullmakt that ended), written after its reads.
    set_committed_value(login, "acting_for_person_id", acting_for)
    after_reads(
        session,
        lambda s: s.execute(
            sa.update(LoginSession)
            .where(LoginSession.id == login_id)
            .values(acting_for_person_id=acting_for)
            .execution_options(synchronize_session=False)
        ),
    )
    if acting_for_other:
        usage_log_add(
            session,
            subject_person_id=subject_id,
            action=UsageAction.ACTING_STARTED,
            actor_person_id=login.person_id,
        )


def session_choose_unit(session: Session, login: LoginSession, *, unit_id: int) -> None:
    """Record a staff member's active unit; the caller has checked access."""
    login.active_unit_id = unit_id
    session.flush()


def sessions_end_for_staff(session: Session, staff_id: int, *, now: datetime, reason: str) -> int:
    """End every open session of a staff account (one statement); returns how many."""
    result = session.execute(
        sa.update(LoginSession)
        .where(LoginSession.staff_id == staff_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason, id_token=None)
    )
    return result.rowcount or 0
