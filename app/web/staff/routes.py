"""The staff side: the active unit's queue and recipients."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.clock import oslo_today
from app.extensions import db, login_manager
from app.models import UsageAction
from app.security import access
from app.selectors.staff import registrations_of, unit_recipients
from app.services.audit import usage_log_add
from app.services.sessions import session_choose_unit
from app.web.htmx import render
from app.web.staff.forms import ChooseUnitForm
from app.web.staff.shell import StaffShell

bp = Blueprint("staff", __name__, url_prefix="/staff")

UNIT_FREE_ENDPOINTS = {"staff.choose_unit"}


@bp.before_request
def staff_shell() -> Response | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    access.require_staff(current_user)
    g.shell = StaffShell(actor=current_user)
    if request.endpoint in UNIT_FREE_ENDPOINTS:
        return None
    if current_user.active_unit_id is None:
        if current_user.unit_ids:
            return redirect(url_for("staff.choose_unit"))
        return redirect(url_for("admin.index"))
    access.require_unit_role(current_user)
    return None


@bp.get("/")
def queue() -> Response:
    return render("staff/queue.html")


@bp.route("/unit", methods=["GET", "POST"])
def choose_unit() -> Response:
    form = ChooseUnitForm()
    if form.validate_on_submit():
        access.may_choose_unit(current_user, form.unit_id.data)
        session_choose_unit(db.session, current_user.login, unit_id=form.unit_id.data)
        return redirect(url_for("staff.queue"), code=303)
    if form.is_submitted():
        abort(400)
    return render("staff/choose_unit.html", form=form)


@bp.get("/recipients")
def recipients() -> Response:
    registrations = db.session.scalars(
        unit_recipients(current_user.active_unit_id, oslo_today())
    ).all()
    return render("staff/recipients.html", registrations=registrations)


@bp.get("/recipients/<int:person_id>")
def recipient(person_id: int) -> Response:
    registrations = db.session.scalars(registrations_of(person_id)).all()
    if not registrations:
        abort(404)
    person = registrations[0].person
    visible = access.recipient_registrations_for_staff(
        current_user, person, registrations, oslo_today()
    )
    usage_log_add(
        db.session,
        subject_person_id=person.id,
        action=UsageAction.STAFF_VIEWED_PERSON,
        actor_staff_id=current_user.staff.id,
        actor_unit_id=current_user.active_unit_id,
        object_type="person",
        object_id=person.id,
    )
    return render("staff/recipient.html", person=person, registrations=visible)
