"""Keyset pagination: an opaque cursor holding the sort key of the last row shown.

No OFFSET: the next page starts strictly after the cursor, so a page costs the same
whatever its depth, and rows added meanwhile do not shift the pages.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from app.models.base import ID_MAX

T = TypeVar("T")
TEXT_MAX = 200  # a name in a cursor


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode(raw: str | None, types: Sequence[type]) -> tuple[Any, ...] | None:
    """The cursor's values converted to `types`, or None for a missing or broken cursor.

    A cursor comes back from the browser and can hold anything: ints must be ids (JSON
    numbers such as Infinity or 1e400 are not), datetimes must carry a zone and be
    convertible to UTC, names are strings of at most TEXT_MAX characters, without control
    characters or lone surrogates.
    """
    if not raw:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(values, list) or len(values) != len(types):
            return None
        converted = []
        for value, kind in zip(values, types, strict=True):
            if kind is datetime:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    return None
                converted.append(parsed.astimezone(UTC))
            elif kind is bool:
                if not isinstance(value, bool):
                    return None
                converted.append(value)
            elif kind is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    return None
                if not 0 <= value <= ID_MAX:
                    return None
                converted.append(value)
            elif kind is str:
                if not isinstance(value, str) or len(value) > TEXT_MAX:
                    return None
                # No database stores NUL, and PostgreSQL refuses lone surrogates too.
                if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
                    return None
                converted.append(value)
            else:
                raise TypeError(f"cursors hold datetimes, booleans, ids and names, not {kind}")
        return tuple(converted)
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _beyond(column: sa.ColumnElement[Any], value: Any, descending: bool) -> sa.ColumnElement:
    """Rows past `value` in one sort column. SQL has no portable `<` on booleans (and
    SQLAlchemy refuses it), so for them it is spelled out: false sorts before true."""
    if isinstance(value, bool):
        if descending:
            return column.is_(False) if value else sa.false()
        return sa.false() if value else column.is_(True)
    return column < value if descending else column > value


def after(
    keys: Sequence[tuple[sa.ColumnElement[Any], bool]], values: Sequence[Any]
) -> sa.ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (column, descending?)."""
    clauses = []
    for i, (column, descending) in enumerate(keys):
        equal = [col == values[j] for j, (col, _) in enumerate(keys[:i])]
        clauses.append(sa.and_(*equal, _beyond(column, values[i], descending)))
    return sa.or_(*clauses)


def paginate(rows: list[T], limit: int, key: Callable[[T], Sequence[Any]]) -> Page[T]:
    """`rows` were fetched with limit + 1: the extra row only says there is more."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, encode(key(rows[-1])))
    return Page(rows, None)
