"""Deciding on assigned fullmakter, shared by the administrator's and the leader's pages."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from app.extensions import db
from app.models import Fullmakt
from app.security import access
from app.security.actor import Actor
from app.selectors import fullmakt as fullmakt_reads
from app.web.profile_text import fullmakt_refusal


@dataclass(frozen=True)
class PendingDecisions:
    """Per fullmakt waiting for approval: why the viewer may not approve it (a text), or
    None when they may; and which grantors use Hjemmedialog themselves (they consented)."""

    refusals: dict[int, str | None]
    grantor_active: frozenset[int]


def pending_decisions(actor: Actor, pending: list[Fullmakt]) -> PendingDecisions:
    active = (
        frozenset(
            db.session.scalars(
                fullmakt_reads.digitally_active_among(
                    [f.grantor_id for f in pending], current_app.config["TERMS_VERSION"]
                )
            )
        )
        if pending
        else frozenset()
    )
    refusals = {}
    for f in pending:
        code = access.approval_refusal(actor, f)
        refusals[f.id] = fullmakt_refusal(code) if code else None
    return PendingDecisions(refusals=refusals, grantor_active=active)


def decision_text(fullmakt: Fullmakt) -> str:
    """What the decider is told afterwards."""
    names = {"grantor": fullmakt.grantor.full_name, "grantee": fullmakt.grantee.full_name}
    if fullmakt.approved_at is not None:
        return _(
            "The fullmakt from %(grantor)s to %(grantee)s is approved and in force. "
            "%(grantor)s and those who already represent them are told.",
            **names,
        )
    return _("The fullmakt from %(grantor)s to %(grantee)s is rejected.", **names)
