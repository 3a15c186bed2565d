"""Reads for Administrasjon: who receives which service."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from app.models import Person, ServiceRecipient
from app.selectors import paging
from app.selectors.staff import _like

RECIPIENT_PAGE = 25
RECIPIENT_KEY = (str, str, int)


def service_recipients(
    session: Session, service_id: int, *, search: str | None, cursor: str | None
) -> paging.Page[ServiceRecipient]:
    """Everyone registered for the service (past, current and future receipts), by
    family name, given name and id, RECIPIENT_PAGE at a time; `search` matches parts of
    the name, or the whole fødselsnummer."""
    statement = (
        sa.select(ServiceRecipient)
        .join(ServiceRecipient.person)
        .where(ServiceRecipient.service_id == service_id)
    )
    for word in (search or "").split():
        if word.isdigit() and len(word) == 11:
            statement = statement.where(Person.fodselsnummer == word)
            continue
        pattern = _like(word)
        statement = statement.where(
            sa.or_(
                sa.func.lower(Person.given_name).like(pattern, escape="\\"),
                sa.func.lower(Person.family_name).like(pattern, escape="\\"),
            )
        )
    keys = ((Person.family_name, False), (Person.given_name, False), (ServiceRecipient.id, False))
    after = paging.decode(cursor, RECIPIENT_KEY)
    if after is not None:
        statement = statement.where(paging.after(keys, after))
    rows = session.scalars(
        statement.options(joinedload(ServiceRecipient.person), joinedload(ServiceRecipient.unit))
        .order_by(Person.family_name, Person.given_name, ServiceRecipient.id)
        .limit(RECIPIENT_PAGE + 1)
    ).all()
    return paging.paginate(
        list(rows),
        RECIPIENT_PAGE,
        lambda r: (r.person.family_name, r.person.given_name, r.id),
    )
