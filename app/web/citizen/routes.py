"""The resident side: Meldinger, Timeavtaler, Helsekontakter, profile, acting for others."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.clock import oslo_today
from app.extensions import db, login_manager
from app.models import UsageAction
from app.security import access
from app.security.access import Scope
from app.selectors.people import person_by_id, services_received
from app.services.audit import usage_log_add
from app.services.sessions import session_act_for
from app.web.citizen.forms import ActForForm
from app.web.citizen.shell import ResidentShell
from app.web.htmx import redirect as hx_redirect
from app.web.htmx import render
from app.web.utils import safe_next

bp = Blueprint("citizen", __name__)


@bp.before_request
def resident_shell() -> Response | None:
    """Only digitally active residents; work out whom they act for, every request."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    access.require_resident(current_user)
    if not current_user.digitally_active:
        return redirect(url_for("auth.consent"))
    current = access.current_representation(current_user)
    if current is None:
        # The fullmakt ended or the child grew up: back to acting for oneself, at once.
        session_act_for(db.session, current_user.login, subject_id=current_user.person.id)
        flash(_("You no longer have access to act for that person."), "info")
        current = access.current_representation(current_user)
    g.shell = ResidentShell(
        actor=current_user, current=current, options=current_user.representations
    )
    return None


@bp.get("/messages")
def messages() -> Response:
    rep = access.require_scope(current_user, Scope.MESSAGES)
    return render("citizen/messages.html", subject=rep.subject)


@bp.get("/appointments")
def appointments() -> Response:
    rep = access.require_scope(current_user, Scope.APPOINTMENTS)
    return render("citizen/appointments.html", subject=rep.subject)


@bp.get("/contacts")
def contacts() -> Response:
    rep = access.require_any_scope(current_user, Scope.MESSAGES, Scope.APPOINTMENTS)
    registrations = db.session.scalars(services_received(rep.subject.id, oslo_today())).all()
    return render("citizen/contacts.html", subject=rep.subject, registrations=registrations)


@bp.get("/profile")
def profile() -> Response:
    rep = access.require_scope(current_user, Scope.PROFILE)
    person = db.session.scalars(person_by_id(rep.subject.id)).one()
    return render("citizen/profile.html", person=person)


@bp.post("/act-for")
def act_for() -> Response:
    form = ActForForm()
    if not form.validate_on_submit():
        abort(400)
    rep = access.may_act_for(current_user, form.person_id.data)
    session_act_for(db.session, current_user.login, subject_id=rep.subject.id)
    if not rep.is_self:
        usage_log_add(
            db.session,
            subject_person_id=rep.subject.id,
            action=UsageAction.ACTING_STARTED,
            actor_person_id=current_user.person.id,
        )
    default = url_for(
        "citizen.messages" if Scope.MESSAGES in rep.scopes else "citizen.appointments"
    )
    return hx_redirect(safe_next(form.next.data, default) if rep.is_self else default)
