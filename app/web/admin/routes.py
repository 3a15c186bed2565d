"""Administration of a municipality (kommuneadministrator)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app.clock import oslo_today, utcnow
from app.extensions import db, login_manager
from app.models import ApiClient, Municipality, StaffAccount, StaffRoleKind, Unit
from app.security import access
from app.selectors import api as api_reads
from app.selectors import audit as audit_reads
from app.selectors import fullmakt as fullmakt_reads
from app.selectors import notices as notice_reads
from app.selectors import recipients as recipient_reads
from app.selectors import staff as staff_reads
from app.selectors.staff import municipality_with_services
from app.services import administration
from app.services import api_clients as api_client_service
from app.services import fullmakt as fullmakt_service
from app.services import notices as notice_service
from app.services import recipients as recipient_service
from app.services import staff as staff_service
from app.services.administration import AdminRefused
from app.services.audit import staff_viewed_in_list, staff_viewed_pending_fullmakter
from app.services.fullmakt import FullmaktRefused
from app.web.admin.forms import (
    ApiClientForm,
    AssignedFullmaktForm,
    OneTimePasswordForm,
    RecipientEndForm,
    RecipientForm,
    RecipientImportForm,
    RecipientSearchForm,
    ServiceForm,
    SettingsForm,
    StaffCreateForm,
    StaffForm,
    StaffSearchForm,
    UnitForm,
)
from app.web.admin_text import (
    API_CLIENT_REFUSAL_FIELDS,
    API_CLIENT_REFUSALS,
    RECIPIENT_REFUSAL_FIELDS,
    STAFF_REFUSAL_FIELDS,
    admin_refusal,
    api_client_access,
    api_client_key_ids,
    api_event_kind,
    change_text,
    file_problem,
    line_problems,
    recipient_refusal,
    staff_refusal,
)
from app.web.edge import takes_file
from app.web.filters import long_date, role_label
from app.web.filters import phone as phone_filter
from app.web.forms import SimpleForm, with_prompt
from app.web.fullmakt_decisions import decision_text, pending_decisions
from app.web.htmx import render
from app.web.profile_text import fullmakt_refusal, fullmakt_refusal_to_form
from app.web.staff.shell import StaffShell

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN_CHOICE = "admin"
UNIT_ROLES = (StaffRoleKind.MESSAGE_COORDINATOR, StaffRoleKind.EMPLOYEE, StaffRoleKind.LEADER)
ROLE_CONTEXT = {"admin_role": StaffRoleKind.MUNICIPAL_ADMIN, "unit_roles": UNIT_ROLES}


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
    return render("admin/index.html", municipality=municipality)


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
            return redirect(url_for("admin.staff_edit", staff_id=account.id), code=303)
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


# --- staff accounts (each change writes the audit trail) ---------------------------------------


def _units() -> list[Unit]:
    municipality_id = current_user.staff.municipality_id
    municipality = db.session.scalars(municipality_with_services(municipality_id)).one()
    return [unit for service in municipality.services for unit in service.units]


def _role_choices(units: list[Unit]) -> list[tuple[str, str]]:
    """ "admin", and "<unit id>:<role>" for each unit and unit role."""
    choices = [(ADMIN_CHOICE, role_label(StaffRoleKind.MUNICIPAL_ADMIN))]
    for unit in units:
        choices += [(f"{unit.id}:{role.value}", role_label(role)) for role in UNIT_ROLES]
    return choices


def _roles_from(values: list[str]) -> set[tuple[StaffRoleKind, int | None]]:
    roles: set[tuple[StaffRoleKind, int | None]] = set()
    for value in values:
        if value == ADMIN_CHOICE:
            roles.add((StaffRoleKind.MUNICIPAL_ADMIN, None))
        else:
            unit_id, role = value.split(":", 1)
            roles.add((StaffRoleKind(role), int(unit_id)))
    return roles


def _role_values(staff_id: int) -> list[str]:
    return [
        ADMIN_CHOICE if unit_id is None else f"{unit_id}:{role.value}"
        for role, unit_id in staff_service.current_roles(db.session, staff_id)
    ]


def _staff_refusal(form, refused: staff_service.StaffRefused) -> None:
    """The refusal's text on the field it concerns, or above the form."""
    target = STAFF_REFUSAL_FIELDS.get(refused.code)
    text = staff_refusal(refused.code)
    if target is not None and target in form:
        form[target].errors = [*form[target].errors, text]
    else:
        form.form_errors.append(text)


def _account_or_404(staff_id: int) -> StaffAccount:
    try:
        return staff_service.staff_account_for_admin(db.session, current_user, staff_id)
    except staff_service.StaffRefused:
        abort(404)


@bp.get("/staff")
def staff_list() -> Response:
    """The municipality's staff accounts, searched by name or username, by keyset."""
    form = StaffSearchForm(request.args)
    search = form.q.data if form.validate() else None
    page = staff_reads.staff_list(
        db.session,
        current_user.staff.municipality_id,
        search=search,
        cursor=request.args.get("after"),
    )
    return render(
        "admin/staff_list.html", "admin/_staff_rows.html", page=page, form=form, search=search
    )


@bp.route("/staff/new", methods=["GET", "POST"])
def staff_create() -> Response:
    """A new account: name, username, roles per unit, and a one-time password."""
    units = _units()
    form = StaffCreateForm()
    form.roles.choices = _role_choices(units)
    if form.validate_on_submit():
        try:
            account = staff_service.staff_create(
                db.session,
                current_user,
                full_name=form.full_name.data,
                username=form.username.data,
                roles=_roles_from(form.roles.data),
                password=form.password.data,
                now=utcnow(),
            )
        except staff_service.StaffRefused as refused:
            _staff_refusal(form, refused)
        else:
            flash(
                _(
                    "%(name)s can now log in as %(username)s with the one-time password, "
                    "and must then choose a new one.",
                    name=account.full_name,
                    username=account.username,
                ),
                "success",
            )
            return redirect(url_for("admin.staff_edit", staff_id=account.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render("admin/staff_create.html", status=status, form=form, units=units, **ROLE_CONTEXT)


@bp.route("/staff/<id:staff_id>", methods=["GET", "POST"])
def staff_edit(staff_id: int) -> Response:
    """A staff account: name, units and roles; passkeys; one-time password; (de)activation."""
    account = _account_or_404(staff_id)
    units = _units()
    form = StaffForm()
    form.roles.choices = _role_choices(units)
    if request.method == "GET":
        form.full_name.data = account.full_name
        form.roles.data = _role_values(account.id)
    if form.validate_on_submit():
        try:
            staff_service.staff_update(
                db.session,
                current_user,
                staff_id=account.id,
                full_name=form.full_name.data,
                roles=_roles_from(form.roles.data),
                now=utcnow(),
            )
        except staff_service.StaffRefused as refused:
            _staff_refusal(form, refused)
        else:
            flash(_("The changes to %(name)s are saved.", name=account.full_name), "success")
            return redirect(url_for("admin.staff_edit", staff_id=account.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render(
        "admin/staff_edit.html",
        status=status,
        form=form,
        account=account,
        units=units,
        passkeys=staff_service.staff_passkeys(db.session, account.id),
        **ROLE_CONTEXT,
        button=SimpleForm(formdata=None),
    )


@bp.post("/staff/<id:staff_id>/reactivate")
def staff_reactivate(staff_id: int) -> Response:
    account = _account_or_404(staff_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    staff_service.staff_reactivate(db.session, current_user, staff_id=account.id, now=utcnow())
    flash(_("%(name)s can log in again.", name=account.full_name), "success")
    return redirect(url_for("admin.staff_edit", staff_id=account.id), code=303)


@bp.route("/staff/<id:staff_id>/password", methods=["GET", "POST"])
def staff_password(staff_id: int) -> Response:
    """A one-time password, which the staff member must change at the next log-in."""
    account = _account_or_404(staff_id)
    form = OneTimePasswordForm()
    if form.validate_on_submit():
        try:
            staff_service.staff_one_time_password(
                db.session,
                current_user,
                staff_id=account.id,
                password=form.password.data,
                now=utcnow(),
            )
        except staff_service.StaffRefused as refused:
            _staff_refusal(form, refused)
        else:
            flash(
                _(
                    "%(name)s has a one-time password and must choose a new one at the next "
                    "log-in.",
                    name=account.full_name,
                ),
                "success",
            )
            return redirect(url_for("admin.staff_edit", staff_id=account.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render("admin/staff_password.html", status=status, form=form, account=account)


@bp.post("/staff/<id:staff_id>/passkeys/<id:passkey_id>/revoke")
def staff_passkey_revoke(staff_id: int, passkey_id: int) -> Response:
    account = _account_or_404(staff_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        name = staff_service.staff_passkey_revoke(
            db.session, current_user, staff_id=account.id, passkey_id=passkey_id, now=utcnow()
        )
    except staff_service.StaffRefused:
        abort(404)
    flash(_("The passkey %(name)s is revoked.", name=name), "success")
    return redirect(url_for("admin.staff_edit", staff_id=account.id), code=303)


# --- service recipients (each change writes the audit trail) ----------------------------------


def _unit_choices(units: list[Unit]) -> list[SelectChoice]:
    ordered = sorted(units, key=lambda u: (u.service.name, u.name))
    return with_prompt(
        _("Choose service"), [SelectChoice(u.id, f"{u.service.name} – {u.name}") for u in ordered]
    )


@bp.get("/recipients")
def recipients() -> Response:
    """Who receives a service (past, current and future receipts), searched, by keyset."""
    municipality_id = current_user.staff.municipality_id
    services = db.session.scalars(municipality_with_services(municipality_id)).one().services
    form = RecipientSearchForm(request.args)
    form.service.choices = [SelectChoice(s.id, s.name) for s in services]
    valid = form.validate()
    service = next((s for s in services if valid and s.id == form.service.data), None)
    if service is None and services and not form.service.errors:
        service = services[0]
        form.service.data = service.id
    search = form.q.data if valid else None
    page = None
    if service is not None:
        page = recipient_reads.service_recipients(
            db.session, service.id, search=search, cursor=request.args.get("after")
        )
        staff_viewed_in_list(
            db.session,
            current_user,
            [r.person_id for r in page.items],
            utcnow(),
            where="recipients",
        )
    return render(
        "admin/recipients.html",
        "admin/_recipient_rows.html",
        page=page,
        form=form,
        service=service,
        search=search,
        today=oslo_today(),
    )


@bp.route("/recipients/new", methods=["GET", "POST"])
def recipient_new() -> Response:
    """Register that a person receives a service; a person not yet known is added."""
    units = recipient_service.units_for_admin(db.session, current_user)
    form = RecipientForm()
    form.unit.choices = _unit_choices(units)
    if request.method == "GET":
        form.valid_from.data = oslo_today()
    if form.validate_on_submit():
        try:
            person, status = recipient_service.recipient_register(
                db.session,
                current_user,
                fodselsnummer=form.fodselsnummer.data,
                given_name=form.given_name.data,
                family_name=form.family_name.data,
                unit_id=form.unit.data,
                valid_from=form.valid_from.data,
                valid_to=form.valid_to.data,
                now=utcnow(),
                allow_synthetic=current_app.config["ALLOW_SYNTHETIC_FNR"],
            )
        except recipient_service.RecipientRefused as refused:
            target = RECIPIENT_REFUSAL_FIELDS.get(refused.code)
            text = recipient_refusal(refused.code)
            if target is not None:
                form[target].errors = [*form[target].errors, text]
            else:
                form.form_errors.append(text)
        else:
            unit = next(u for u in units if u.id == form.unit.data)
            messages = {
                "added": _("%(name)s is registered for %(service)s."),
                "changed": _("The registration of %(name)s for %(service)s is changed."),
                "unchanged": _("%(name)s was already registered for %(service)s."),
            }
            text = messages[status] % {"name": person.full_name, "service": unit.service.name}
            flash(text, "success")
            return redirect(url_for("admin.recipients", service=unit.service_id), code=303)
    status_code = 422 if form.is_submitted() else 200
    return render("admin/recipient_new.html", status=status_code, form=form)


@bp.route("/recipients/<id:recipient_id>/end", methods=["GET", "POST"])
def recipient_end(recipient_id: int) -> Response:
    """End a receipt: the last day the person receives the service."""
    try:
        receipt = recipient_service.recipient_for_admin(db.session, current_user, recipient_id)
    except recipient_service.RecipientRefused:
        abort(404)
    form = RecipientEndForm()
    if request.method == "GET":
        form.last_day.data = receipt.valid_to or max(oslo_today(), receipt.valid_from)
    if form.validate_on_submit():
        try:
            recipient_service.recipient_end(
                db.session,
                current_user,
                recipient_id=receipt.id,
                last_day=form.last_day.data,
                now=utcnow(),
            )
        except recipient_service.RecipientRefused as refused:
            form.last_day.errors = [*form.last_day.errors, recipient_refusal(refused.code)]
        else:
            flash(
                _(
                    "%(name)s receives %(service)s until %(day)s.",
                    name=receipt.person.full_name,
                    service=receipt.service.name,
                    day=long_date(form.last_day.data),
                ),
                "success",
            )
            return redirect(url_for("admin.recipients", service=receipt.service_id), code=303)
    status = 422 if form.is_submitted() else 200
    staff_viewed_in_list(
        db.session, current_user, [receipt.person_id], utcnow(), where="recipients"
    )
    return render("admin/recipient_end.html", status=status, form=form, receipt=receipt)


@bp.route("/recipients/import", methods=["GET", "POST"])
@takes_file("file", recipient_service.IMPORT_MAX_BYTES)
def recipients_import() -> Response:
    """Import recipients from a CSV file: all lines, or none and a report of the bad ones."""
    form = RecipientImportForm()
    report = None
    problem = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(recipient_service.IMPORT_MAX_BYTES + 1) if upload else b""
        if not upload or not upload.filename:
            problem = file_problem("missing")
        else:
            report = recipient_service.recipients_import(
                db.session,
                current_user,
                data,
                now=utcnow(),
                allow_synthetic=current_app.config["ALLOW_SYNTHETIC_FNR"],
            )
            if report.file_error:
                problem = file_problem(report.file_error)
    status = 422 if form.is_submitted() and (problem or report is None or report.refused) else 200
    return render(
        "admin/recipients_import.html",
        status=status,
        form=form,
        report=report,
        problem=problem,
        line_problems=line_problems,
    )


# --- the record-system API's clients (docs/api.md) --------------------------------------------


def _api_client_or_404(client_pk: int) -> ApiClient:
    client = api_reads.client_by_id(db.session, client_pk)
    if client is None:
        abort(404)
    access.require_api_client_administration(current_user, client)
    return client


@bp.get("/api-clients")
def api_clients() -> Response:
    """The systems that may use the API for the municipality, in use first."""
    clients = api_reads.municipality_clients(db.session, current_user.staff.municipality_id)
    return render("admin/api_clients.html", clients=clients)


@bp.route("/api-clients/new", methods=["GET", "POST"])
def api_client_new() -> Response:
    """Register a system: its name, the provider it speaks for, its public key, its access."""
    form = ApiClientForm()
    if form.validate_on_submit():
        try:
            client = api_client_service.register_client(
                db.session,
                current_user,
                name=form.name.data,
                provider_name=form.provider.data,
                jwks=form.jwks.data,
                scopes=" ".join(form.scopes.data),
                now=utcnow(),
            )
        except api_client_service.ClientRefused as refused:
            field_name = API_CLIENT_REFUSAL_FIELDS.get(refused.code, "name")
            form[field_name].errors = [str(API_CLIENT_REFUSALS[refused.code])]
        else:
            flash(
                _(
                    "%(name)s is registered. Give the system its client ID: %(client_id)s",
                    name=client.name,
                    client_id=client.client_id,
                ),
                "success",
            )
            return redirect(url_for("admin.api_client", client_pk=client.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render("admin/api_client_new.html", status=status, form=form)


@bp.get("/api-clients/<id:client_pk>")
def api_client(client_pk: int) -> Response:
    """A client: what it may do, its keys, and its recent calls (refused ones too)."""
    client = _api_client_or_404(client_pk)
    return render(
        "admin/api_client.html",
        client=client,
        access=api_client_access(client.scopes),
        key_ids=api_client_key_ids(client.jwks),
        calls=api_reads.recent_calls(db.session, client.id),
        subscriptions=api_reads.subscriptions_of(db.session, client.id),
        failed_events=api_reads.failed_events(db.session, client.id),
        event_kind=api_event_kind,
        form=SimpleForm(formdata=None),
    )


@bp.post("/api-clients/<id:client_pk>/events/<id:event_pk>/retry")
def api_event_retry(client_pk: int, event_pk: int) -> Response:
    """Prøv igjen: an event that failed for good goes to the record system again."""
    client = _api_client_or_404(client_pk)
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        api_client_service.event_retry(db.session, current_user, client, event_pk, utcnow())
    except api_client_service.ClientRefused:
        abort(404)
    flash(_("The event will be sent again."), "success")
    return redirect(url_for("admin.api_client", client_pk=client.id), code=303)


@bp.route("/api-clients/<id:client_pk>/revoke", methods=["GET", "POST"])
def api_client_revoke(client_pk: int) -> Response:
    """Trekk tilbake: asks first; the client's tokens stop working at once."""
    client = _api_client_or_404(client_pk)
    form = SimpleForm()
    if form.validate_on_submit():
        api_client_service.revoke_client(db.session, current_user, client, utcnow())
        flash(_("%(name)s no longer has access.", name=client.name), "success")
        return redirect(url_for("admin.api_client", client_pk=client.id), code=303)
    if form.is_submitted():
        abort(400)
    return render("admin/api_client_revoke.html", client=client, form=form)
