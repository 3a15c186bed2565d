"""Keyset pagination: an opaque cursor holding the sort key of the last row shown.

No OFFSET: the next page starts strictly after the cursor, so a page costs the same
whatever its depth, and rows added meanwhile do not shift the pages.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode(raw: str | None, types: Sequence[type]) -> tuple[Any, ...] | None:
    """The cursor's values converted to `types`, or None for a missing or broken cursor."""
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
                converted.append(parsed)
            elif kind is bool:
                if not isinstance(value, bool):
                    return None
                converted.append(value)
            else:
                converted.append(kind(value))
        return tuple(converted)
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def after(
    keys: Sequence[tuple[sa.ColumnElement[Any], bool]], values: Sequence[Any]
) -> sa.ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (column, descending?)."""
    clauses = []
    for i, (column, descending) in enumerate(keys):
        equal = [col == values[j] for j, (col, _) in enumerate(keys[:i])]
        beyond = column < values[i] if descending else column > values[i]
        clauses.append(sa.and_(*equal, beyond))
    return sa.or_(*clauses)


def paginate(rows: list[T], limit: int, key: Callable[[T], Sequence[Any]]) -> Page[T]:
    """`rows` were fetched with limit + 1: the extra row only says there is more."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, encode(key(rows[-1])))
    return Page(rows, None)
