"""Administration of a municipality (kommuneadministrator)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.clock import oslo_today, utcnow
from app.extensions import db, login_manager
from app.models import Municipality
from app.security import access
from app.selectors import audit as audit_reads
from app.selectors import fullmakt as fullmakt_reads
from app.selectors import notices as notice_reads
from app.selectors.staff import municipality_staff, municipality_with_services
from app.services import administration
from app.services import fullmakt as fullmakt_service
from app.services import notices as notice_service
from app.services import staff as staff_service
from app.services.administration import AdminRefused
from app.services.audit import staff_viewed_in_list, staff_viewed_pending_fullmakter
from app.services.fullmakt import FullmaktRefused
from app.web.admin.forms import AssignedFullmaktForm, ServiceForm, SettingsForm, UnitForm
from app.web.admin_text import admin_refusal, change_text
from app.web.filters import phone as phone_filter
from app.web.forms import SimpleForm
from app.web.fullmakt_decisions import decision_text, pending_decisions
from app.web.htmx import render
from app.web.profile_text import fullmakt_refusal, fullmakt_refusal_to_form
from app.web.staff.shell import StaffShell

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admin_only() -> Response | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.endpoint == "admin.changes":
        access.change_log_scope(current_user)  # the administrator, or a unit leader
    else:
        access.require_municipal_admin(current_user)
    g.shell = StaffShell(actor=current_user)
    return None


@bp.get("/")
def index() -> Response:
    municipality_id = current_user.staff.municipality_id
    municipality = db.session.scalars(municipality_with_services(municipality_id)).one()
    staff = db.session.scalars(municipality_staff(municipality_id)).unique().all()
    return render("admin/index.html", municipality=municipality, staff=staff)


@bp.route("/fullmakter", methods=["GET", "POST"])
def fullmakter() -> Response:
    """Tildelt fullmakt: registered here, approved by a second person, then in force."""
    form = AssignedFullmaktForm()
    error = None
    if request.method == "GET":
        form.valid_from.data = oslo_today()
    elif form.validate_on_submit():
        allow = current_app.config["ALLOW_SYNTHETIC_FNR"]
        try:
            grantor = fullmakt_service.find_by_fodselsnummer(
                db.session, form.grantor.data, allow_synthetic=allow
            )
            grantee = fullmakt_service.find_by_fodselsnummer(
                db.session, form.grantee.data, allow_synthetic=allow
            )
            fullmakt_service.fullmakt_assign(
                db.session,
                current_user,
                grantor_id=grantor.id,
                grantee_id=grantee.id,
                document_reference=form.document_reference.data,
                lacks_consent_competence=form.lacks_consent_competence.data,
                assessment=form.assessment.data,
                valid_from=form.valid_from.data,
                valid_to=form.valid_to.data,
                now=utcnow(),
            )
        except FullmaktRefused as refused:
            error = fullmakt_refusal_to_form(form, refused.code)
        else:
            flash(
                _(
                    "The fullmakt from %(grantor)s to %(grantee)s is registered. It takes "
                    "effect when a second person approves it.",
                    grantor=grantor.full_name,
                    grantee=grantee.full_name,
                ),
                "success",
            )
            return redirect(url_for("admin.fullmakter"), code=303)
    status = 422 if form.is_submitted() else 200
    return _fullmakter_page(form, error, status)


def _fullmakter_page(form: AssignedFullmaktForm, error: str | None, status: int) -> Response:
    now = utcnow()
    assigned = (
        db.session.scalars(
            fullmakt_reads.assigned_in_municipality(current_user.staff.municipality_id)
        )
        .unique()
        .all()
    )
    # The list names both parties of every fullmakt; a waiting one shows the assessment.
    pending = [f for f in assigned if f.is_pending]
    decided = [f for f in assigned if not f.is_pending]
    staff_viewed_in_list(
        db.session,
        current_user,
        {f.grantor_id for f in decided} | {f.grantee_id for f in decided},
        now,
        where="fullmakter",
    )
    staff_viewed_pending_fullmakter(db.session, current_user, pending, now)
    return render(
        "admin/fullmakter.html",
        status=status,
        form=form,
        error=error,
        pending=pending,
        decisions=pending_decisions(current_user, pending),
        assigned=[f for f in assigned if not f.is_pending],
        end_form=SimpleForm(formdata=None),
        approve_endpoint="admin.fullmakt_approve",
        reject_endpoint="admin.fullmakt_reject",
        now=now,
    )


@bp.post("/fullmakter/<id:fullmakt_id>/approve")
def fullmakt_approve(fullmakt_id: int) -> Response:
    return _decide(fullmakt_service.fullmakt_approve, fullmakt_id)


@bp.post("/fullmakter/<id:fullmakt_id>/reject")
def fullmakt_reject(fullmakt_id: int) -> Response:
    return _decide(fullmakt_service.fullmakt_reject, fullmakt_id)


def _decide(decide, fullmakt_id: int) -> Response:
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        fullmakt = decide(db.session, current_user, fullmakt_id=fullmakt_id, now=utcnow())
    except FullmaktRefused as refused:
        error = fullmakt_refusal(refused.code)
        return _fullmakter_page(AssignedFullmaktForm(formdata=None), error, 422)
    flash(decision_text(fullmakt), "success")
    return redirect(url_for("admin.fullmakter"), code=303)


@bp.post("/fullmakter/<id:fullmakt_id>/end")
def fullmakt_end(fullmakt_id: int) -> Response:
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        fullmakt_service.fullmakt_end(
            db.session, current_user, fullmakt_id=fullmakt_id, now=utcnow()
        )
    except FullmaktRefused:
        abort(404)
    flash(_("The fullmakt is ended."), "success")
    return redirect(url_for("admin.fullmakter"), code=303)


@bp.get("/notices")
def failed_notices() -> Response:
    notices = (
        db.session.scalars(notice_reads.failed_for_municipality(current_user.staff.municipality_id))
        .unique()
        .all()
    )
    staff_viewed_in_list(
        db.session, current_user, notice_reads.people_shown(notices), utcnow(), where="notices"
    )
    return render(
        "staff/failed_notices.html",
        notices=notices,
        form=SimpleForm(formdata=None),
        retry_endpoint="admin.notice_retry",
        section="admin",
    )


@bp.post("/notices/<id:notice_id>/retry")
def notice_retry(notice_id: int) -> Response:
    if not SimpleForm().validate_on_submit():
        abort(400)
    notice_service.notice_retry(db.session, current_user, notice_id=notice_id, now=utcnow())
    flash(_("The notice will be tried again."), "success")
    return redirect(url_for("admin.failed_notices"), code=303)


@bp.route("/staff/<id:staff_id>/deactivate", methods=["GET", "POST"])
def staff_deactivate(staff_id: int) -> Response:
    """Deaktiver: asks first; the account's sessions end at once."""
    try:
        account = staff_service.staff_account_for_admin(db.session, current_user, staff_id)
    except staff_service.StaffRefused:
        abort(404)
    form = SimpleForm()
    error = None
    if form.validate_on_submit():
        try:
            staff_service.staff_deactivate(
                db.session, current_user, staff_id=account.id, now=utcnow()
            )
        except staff_service.StaffRefused:
            error = _("You cannot deactivate your own account.")
        else:
            flash(
                _("%(name)s is deactivated and logged out everywhere.", name=account.full_name),
                "success",
            )
            return redirect(url_for("admin.index"), code=303)
    elif form.is_submitted():
        abort(400)
    status = 422 if error else 200
    return render(
        "admin/staff_deactivate.html", status=status, account=account, form=form, error=error
    )


# --- services, settings, units (each change writes the audit trail) ---------------------------


@bp.route("/services/<id:service_id>", methods=["GET", "POST"])
def service_edit(service_id: int) -> Response:
    """Open or close a service for digital dialog and for appointments."""
    try:
        service = administration.service_for_admin(db.session, current_user, service_id)
    except AdminRefused:
        abort(404)
    form = ServiceForm(obj=service if request.method == "GET" else None)
    if form.validate_on_submit():
        administration.service_update(
            db.session,
            current_user,
            service_id=service.id,
            open_for_dialog=form.open_for_dialog.data,
            shows_appointments=form.shows_appointments.data,
            now=utcnow(),
        )
        flash(_("The changes to %(name)s are saved.", name=service.name), "success")
        return redirect(url_for("admin.index"), code=303)
    status = 422 if form.is_submitted() else 200
    return render("admin/service_edit.html", status=status, form=form, service=service)


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response:
    """Reply deadline and sender name in notices."""
    municipality = db.session.get(Municipality, current_user.staff.municipality_id)
    form = SettingsForm(obj=municipality if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            administration.municipality_update(
                db.session,
                current_user,
                reply_deadline_working_days=form.reply_deadline_working_days.data,
                notice_sender_name=form.notice_sender_name.data,
                now=utcnow(),
            )
        except AdminRefused as refused:
            form.form_errors.append(admin_refusal(refused.code))
        else:
            flash(_("The settings are saved."), "success")
            return redirect(url_for("admin.index"), code=303)
    status = 422 if form.is_submitted() else 200
    return render("admin/settings.html", status=status, form=form, municipality=municipality)


@bp.route("/units/<id:unit_id>", methods=["GET", "POST"])
def unit_edit(unit_id: int) -> Response:
    """A unit's contact details (shown on Helsekontakter) and automatic journaling."""
    try:
        unit = administration.unit_for_admin(db.session, current_user, unit_id)
    except AdminRefused:
        abort(404)
    form = UnitForm(obj=unit if request.method == "GET" else None)
    if request.method == "GET" and unit.phone:
        form.phone.data = phone_filter(unit.phone)
    if form.validate_on_submit():
        try:
            administration.unit_update(
                db.session,
                current_user,
                unit_id=unit.id,
                phone=form.phone.data,
                email=form.email.data,
                address=form.address.data,
                opening_hours=form.opening_hours.data,
                auto_journal=form.auto_journal.data,
                now=utcnow(),
            )
        except AdminRefused as refused:
            getattr(form, refused.code).errors.append(admin_refusal(refused.code))
        else:
            flash(_("The changes to %(name)s are saved.", name=unit.name), "success")
            return redirect(url_for("admin.index"), code=303)
    status = 422 if form.is_submitted() else 200
    return render("admin/unit_edit.html", status=status, form=form, unit=unit)


@bp.get("/changes")
def changes() -> Response:
    """Endringslogg: the administrator sees the municipality's, a leader their units'."""
    unit_ids = access.change_log_scope(current_user)
    page = audit_reads.admin_changes(
        db.session,
        current_user.staff.municipality_id,
        unit_ids=unit_ids,
        cursor=request.args.get("after"),
    )
    return render(
        "admin/changes.html",
        "admin/_change_rows.html",
        page=page,
        change_text=change_text,
        section="admin" if unit_ids is None else "changes",
    )
