"""Staff accounts, as the municipal administrator manages them."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import StaffAccount
from app.security import access
from app.security.actor import Actor
from app.services.sessions import EndReason, sessions_end_for_staff

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
    # Row lock on PostgreSQL, so a log-in racing the deactivation sees it.
    session.execute(
        sa.update(StaffAccount).where(StaffAccount.id == account.id).values(active=False)
    )
    session.refresh(account, ["active"])
    ended = sessions_end_for_staff(session, account.id, now=now, reason=EndReason.DEACTIVATED)
    log.info("staff %s deactivated by %s; %d sessions ended", account.id, actor.describe(), ended)
    return account
