"""Reads of the notice outbox: what failed, for a unit's staff and for the administrator."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.models import DevOutboxMessage, Notice, NoticeStatus, ServiceRecipient

FAILED_LIMIT = 100


def failed_for_unit(unit_id: int, today: date) -> sa.Select[tuple[Notice]]:
    """Notices that failed for good, about people the unit serves now."""
    served = sa.select(ServiceRecipient.person_id).where(
        ServiceRecipient.unit_id == unit_id,
        ServiceRecipient.is_current(today),
    )
    return (
        sa.select(Notice)
        .where(Notice.status == NoticeStatus.FAILED, Notice.subject_person_id.in_(served))
        .options(joinedload(Notice.recipient), joinedload(Notice.subject))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(FAILED_LIMIT)
    )


def failed_for_municipality(municipality_id: int) -> sa.Select[tuple[Notice]]:
    return (
        sa.select(Notice)
        .where(Notice.status == NoticeStatus.FAILED, Notice.municipality_id == municipality_id)
        .options(joinedload(Notice.recipient), joinedload(Notice.subject))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(FAILED_LIMIT)
    )


def dev_outbox(limit: int = 100) -> sa.Select[tuple[DevOutboxMessage]]:
    return sa.select(DevOutboxMessage).order_by(DevOutboxMessage.id.desc()).limit(limit)


def people_shown(notices: list[Notice]) -> set[int]:
    """Everyone a list of notices names: whom each is about, and who should have had it."""
    return {n.subject_person_id for n in notices} | {n.recipient_person_id for n in notices}
