"""Staff log-in with username and password (scrypt hashes through Werkzeug)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from app.models import StaffAccount, StaffRole

# Checked when the username is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not-a-password")


def password_hash(password: str) -> str:
    return generate_password_hash(password)


def staff_authenticate(session: Session, *, username: str, password: str) -> StaffAccount | None:
    username = (username or "").strip().lower()
    staff = session.scalars(
        sa.select(StaffAccount)
        .where(sa.func.lower(StaffAccount.username) == username)
        .options(selectinload(StaffAccount.roles).selectinload(StaffRole.unit))
    ).one_or_none()
    if staff is None or not staff.active or not staff.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(staff.password_hash, password or ""):
        return None
    return staff
