"""What a change to a fullmakt does, in plain words (Endre fullmakt)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from app.services.fullmakt import FullmaktChange, FullmaktTerms
from app.web.filters import weekday_date


def areas_text(terms: FullmaktTerms, names: Mapping[str, str]) -> str:
    """ "Alle områder", or the areas by name in the order of `names`."""
    if terms.all_areas:
        return _("All areas")
    return ", ".join(name for code, name in names.items() if code in terms.area_codes)


def change_lines(changes: list[FullmaktChange], names: Mapping[str, str]) -> list[str]:
    """One sentence per change: from what, to what."""
    lines = []
    for change in changes:
        if change.what == "last_day":
            if change.old is None:
                lines.append(
                    _(
                        "For how long: from until further notice to the last day %(new)s",
                        new=weekday_date(change.new),
                    )
                )
            elif change.new is None:
                lines.append(
                    _(
                        "For how long: from the last day %(old)s to until further notice",
                        old=weekday_date(change.old),
                    )
                )
            else:
                lines.append(
                    _(
                        "Last day: from %(old)s to %(new)s",
                        old=weekday_date(change.old),
                        new=weekday_date(change.new),
                    )
                )
        else:
            lines.append(
                _(
                    "Areas: from %(old)s to %(new)s",
                    old=areas_text(change.old, names),
                    new=areas_text(change.new, names),
                )
            )
    return lines
