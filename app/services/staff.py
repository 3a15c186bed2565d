"""Staff accounts, as the municipal administrator manages them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from app.models import PasskeyCredential, Service, StaffAccount, StaffRole, StaffRoleKind, Unit
from app.security import access, passkeys
from app.security.actor import Actor
from app.services import administration
from app.services.sessions import EndReason, sessions_end_for_staff
from app.services.staff_auth import password_hash
from app.text import is_blank, without_bidi_controls

log = logging.getLogger("hjemmedialog.staff")


class StaffRefused(Exception):
    """Refused with a reason the administrator is told; `code` picks the text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def staff_account_for_admin(session: Session, actor: Actor, staff_id: int) -> StaffAccount:
    """A staff account of the administrator's municipality (404 for any other)."""
    account = session.get(StaffAccount, staff_id)
    if account is None:
        raise StaffRefused("not_found")
    access.require_staff_administration(actor, account)
    return account


def staff_deactivate(
    session: Session, actor: Actor, *, staff_id: int, now: datetime
) -> StaffAccount:
    """Deactivate an account: it cannot log in, and every session of it ends at once."""
    account = staff_account_for_admin(session, actor, staff_id)
    if account.id == actor.staff.id:
        raise StaffRefused("self")
    was_active = account.active
    # Row lock on PostgreSQL, so a log-in racing the deactivation sees it.
    session.execute(
        sa.update(StaffAccount).where(StaffAccount.id == account.id).values(active=False)
    )
    session.refresh(account, ["active"])
    ended = sessions_end_for_staff(session, account.id, now=now, reason=EndReason.DEACTIVATED)
    if was_active:
        _audit(session, actor, account, "active", True, False, now)
    log.info("staff %s deactivated by %s; %d sessions ended", account.id, actor.describe(), ended)
    return account


# --- accounts, roles and one-time passwords (each change writes Endringslogg) ---------------

USERNAME_MAX = 64
NAME_MAX = 200
PASSWORD_MIN = 12
PASSWORD_MAX = 200
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")

Role = tuple[StaffRoleKind, int | None]


def username_clean(value: str | None) -> str:
    """A username as stored: lower case letters a-z, digits, dot, hyphen, underscore."""
    username = (value or "").strip().lower()
    if not _USERNAME.fullmatch(username):
        raise StaffRefused("username")
    return username


def _name(value: str | None) -> str:
    name = " ".join(without_bidi_controls(value or "").split())
    if is_blank(name):
        raise StaffRefused("name")
    if len(name) > NAME_MAX:
        raise StaffRefused("name_long")
    return name


def password_problem(password: str | None, username: str) -> str | None:
    """Why a password is refused (a code), or None: at least 12 characters, at most 200,
    not only spaces, and not the username."""
    password = password or ""
    if len(password) < PASSWORD_MIN or is_blank(password):
        return "password_short"
    if len(password) > PASSWORD_MAX:
        return "password_long"
    if password.strip().lower() == username.lower():
        return "password_username"
    return None


def _roles_checked(session: Session, actor: Actor, roles: Iterable[Role]) -> set[Role]:
    """Roles as pairs (role, unit id): units of the administrator's municipality only; the
    administrator role has no unit."""
    wanted = set(roles)
    unit_ids = {unit_id for _, unit_id in wanted if unit_id is not None}
    known = set(
        session.scalars(
            sa.select(Unit.id)
            .join(Service, Service.id == Unit.service_id)
            .where(Unit.id.in_(unit_ids), Service.municipality_id == actor.staff.municipality_id)
        )
    )
    for role, unit_id in wanted:
        if (role is StaffRoleKind.MUNICIPAL_ADMIN) != (unit_id is None):
            raise StaffRefused("roles")
        if unit_id is not None and unit_id not in known:
            raise StaffRefused("roles")
    return wanted


def roles_text(session: Session, roles: Iterable[Role]) -> str | None:
    """Roles as the audit trail keeps them: "leder, Unit; kommuneadministrator"."""
    roles = list(roles)
    ids = {u for _, u in roles if u is not None}
    names = dict(session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())
    parts = sorted(
        role.value if unit_id is None else f"{role.value}, {names.get(unit_id, unit_id)}"
        for role, unit_id in roles
    )
    return "; ".join(parts) or None


def current_roles(session: Session, staff_id: int) -> set[Role]:
    return {
        (r.role, r.unit_id)
        for r in session.scalars(sa.select(StaffRole).where(StaffRole.staff_id == staff_id))
    }


def _audit(
    session: Session,
    actor: Actor,
    account: StaffAccount,
    field: str,
    before: object,
    after: object,
    now: datetime,
) -> None:
    administration.record(
        session,
        actor,
        account,
        field,
        before,
        after,
        now=now,
        municipality_id=account.municipality_id,
    )


def _set_roles(
    session: Session, actor: Actor, account: StaffAccount, roles: set[Role], now: datetime
) -> bool:
    before = current_roles(session, account.id)
    if before == roles:
        return False
    for role, unit_id in before - roles:
        session.execute(
            sa.delete(StaffRole).where(
                StaffRole.staff_id == account.id,
                StaffRole.role == role,
                StaffRole.unit_id.is_(None) if unit_id is None else StaffRole.unit_id == unit_id,
            )
        )
    for role, unit_id in roles - before:
        session.add(StaffRole(staff_id=account.id, role=role, unit_id=unit_id))
    session.flush()
    session.expire(account, ["roles"])
    _audit(
        session,
        actor,
        account,
        "roles",
        roles_text(session, before),
        roles_text(session, roles),
        now,
    )
    return True


def username_taken(session: Session, username: str) -> bool:
    found = session.scalar(sa.select(StaffAccount.id).where(StaffAccount.username == username))
    return found is not None


def staff_create(
    session: Session,
    actor: Actor,
    *,
    full_name: str,
    username: str,
    roles: Iterable[Role],
    password: str,
    now: datetime,
) -> StaffAccount:
    """A new account with a one-time password, which must be changed at first log-in."""
    access.require_municipal_admin(actor)
    name = _name(full_name)
    username = username_clean(username)
    wanted = _roles_checked(session, actor, roles)
    if not wanted:
        raise StaffRefused("no_roles")
    problem = password_problem(password, username)
    if problem:
        raise StaffRefused(problem)
    if username_taken(session, username):
        raise StaffRefused("username_taken")
    account = StaffAccount(
        municipality_id=actor.staff.municipality_id,
        username=username,
        full_name=name,
        password_hash=password_hash(password),
        password_must_change=True,
        active=True,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a username taken meanwhile, by a second administrator
            session.add(account)
            session.flush()
    except IntegrityError:
        raise StaffRefused("username_taken") from None
    _audit(session, actor, account, "account", None, username, now)
    _set_roles(session, actor, account, wanted, now)
    log.info("staff %s created by %s", account.id, actor.describe())
    return account


def staff_update(
    session: Session,
    actor: Actor,
    *,
    staff_id: int,
    full_name: str,
    roles: Iterable[Role],
    now: datetime,
) -> int:
    """Name, units and roles; returns how many values changed. An administrator keeps their
    own administrator role."""
    account = staff_account_for_admin(session, actor, staff_id)
    name = _name(full_name)
    wanted = _roles_checked(session, actor, roles)
    if not wanted:
        raise StaffRefused("no_roles")
    if account.id == actor.staff.id and (StaffRoleKind.MUNICIPAL_ADMIN, None) not in wanted:
        raise StaffRefused("own_admin_role")
    count = 0
    if account.full_name != name:
        before = account.full_name
        account.full_name = name
        _audit(session, actor, account, "full_name", before, name, now)
        count += 1
    count += _set_roles(session, actor, account, wanted, now)
    session.flush()
    return count


def staff_reactivate(
    session: Session, actor: Actor, *, staff_id: int, now: datetime
) -> StaffAccount:
    account = staff_account_for_admin(session, actor, staff_id)
    if not account.active:
        account.active = True
        _audit(session, actor, account, "active", False, True, now)
        session.flush()
        log.info("staff %s reactivated by %s", account.id, actor.describe())
    return account


def staff_one_time_password(
    session: Session, actor: Actor, *, staff_id: int, password: str, now: datetime
) -> StaffAccount:
    """A password the administrator gives: the staff member must change it at the next
    log-in. Open sessions end, so the old password's sessions do not linger."""
    account = staff_account_for_admin(session, actor, staff_id)
    if account.id == actor.staff.id:
        raise StaffRefused("own_password")
    problem = password_problem(password, account.username)
    if problem:
        raise StaffRefused(problem)
    account.password_hash = password_hash(password)
    account.password_must_change = True
    sessions_end_for_staff(session, account.id, now=now, reason=EndReason.CREDENTIALS_RESET)
    _audit(session, actor, account, "one_time_password", None, True, now)
    session.flush()
    log.info("staff %s given a one-time password by %s", account.id, actor.describe())
    return account


def staff_passkeys(session: Session, staff_id: int) -> list[PasskeyCredential]:
    return list(
        session.scalars(
            sa.select(PasskeyCredential)
            .where(PasskeyCredential.staff_id == staff_id)
            .order_by(PasskeyCredential.created_at, PasskeyCredential.id)
        )
    )


def staff_passkey_revoke(
    session: Session, actor: Actor, *, staff_id: int, passkey_id: int, now: datetime
) -> str:
    """Revoke one of a staff member's passkeys; returns its name."""
    account = staff_account_for_admin(session, actor, staff_id)
    passkey = session.get(PasskeyCredential, passkey_id)
    if passkey is None or passkey.staff_id != account.id:
        raise StaffRefused("not_found")
    name = passkey.name
    passkeys.remove(session, account, passkey.id)
    _audit(session, actor, account, "passkey", name, None, now)
    session.flush()
    return name


def own_password_set(
    session: Session, actor: Actor, *, password: str, now: datetime
) -> StaffAccount:
    """The staff member chooses their own password (after a one-time password)."""
    access.require_staff(actor)
    account = actor.staff
    problem = password_problem(password, account.username)
    if problem:
        raise StaffRefused(problem)
    if check_password_hash(account.password_hash or "", password):
        raise StaffRefused("password_same")
    account.password_hash = password_hash(password)
    account.password_must_change = False
    session.flush()
    log.info("staff %s chose a new password", account.id)
    return account
