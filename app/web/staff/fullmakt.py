"""Assigned fullmakter waiting for approval, for the leader of a unit serving the grantor."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.clock import oslo_today, utcnow
from app.extensions import db
from app.models import StaffRoleKind
from app.security import access
from app.selectors import fullmakt as fullmakt_reads
from app.services import fullmakt as fullmakt_service
from app.services.audit import staff_viewed_pending_fullmakter
from app.services.fullmakt import FullmaktRefused
from app.web.forms import SimpleForm
from app.web.fullmakt_decisions import decision_text, pending_decisions
from app.web.htmx import render
from app.web.profile_text import fullmakt_refusal
from app.web.staff.routes import bp


@bp.get("/fullmakter")
def fullmakter() -> Response:
    access.require_unit_role(current_user, StaffRoleKind.LEADER)
    return _page(None, 200)


def _page(error: str | None, status: int) -> Response:
    now = utcnow()
    pending = (
        db.session.scalars(
            fullmakt_reads.pending_for_unit(current_user.active_unit_id, oslo_today(now))
        )
        .unique()
        .all()
    )
    staff_viewed_pending_fullmakter(db.session, current_user, pending, now)
    return render(
        "staff/fullmakter.html",
        status=status,
        error=error,
        pending=pending,
        decisions=pending_decisions(current_user, pending),
        end_form=SimpleForm(formdata=None),
        approve_endpoint="staff.fullmakt_approve",
        reject_endpoint="staff.fullmakt_reject",
    )


@bp.post("/fullmakter/<id:fullmakt_id>/approve")
def fullmakt_approve(fullmakt_id: int) -> Response:
    return _decide(fullmakt_service.fullmakt_approve, fullmakt_id)


@bp.post("/fullmakter/<id:fullmakt_id>/reject")
def fullmakt_reject(fullmakt_id: int) -> Response:
    return _decide(fullmakt_service.fullmakt_reject, fullmakt_id)


def _decide(decide, fullmakt_id: int) -> Response:
    access.require_unit_role(current_user, StaffRoleKind.LEADER)
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        fullmakt = decide(db.session, current_user, fullmakt_id=fullmakt_id, now=utcnow())
    except FullmaktRefused as refused:
        return _page(fullmakt_refusal(refused.code), 422)
    flash(decision_text(fullmakt), "success")
    return redirect(url_for("staff.fullmakter"), code=303)
