"""The staff side of appointments: planning, series, Avbestillinger, Mine besøk i dag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app.clock import oslo_today, utcnow
from app.extensions import db
from app.models import Appointment, AppointmentStatus, Person
from app.security import access
from app.selectors import appointments as reads
from app.selectors.staff import unit_colleagues
from app.services import appointments as service
from app.services.appointments import AppointmentError, IdempotencyConflict
from app.services.audit import staff_viewed_appointments, staff_viewed_person
from app.services.people import recipient_for_staff
from app.web.appointment_text import refusal
from app.web.edge import takes_json
from app.web.filters import clock, weekday_date
from app.web.forms import (
    DATE_MAX,
    DATE_MIN,
    SimpleForm,
    day_from_query,
    is_submission_key,
    with_prompt,
)
from app.web.htmx import render, wants_fragment
from app.web.staff.forms import (
    AssignVisitForm,
    CancelVisitForm,
    EndSeriesForm,
    RegisterVisitForm,
    SeriesChangeForm,
    SeriesForm,
)
from app.web.staff.routes import bp
from app.web.utils import safe_next

# --- Planlegging ------------------------------------------------------------------------


def _employee_choices() -> list[SelectChoice]:
    employees = db.session.scalars(unit_colleagues(current_user.active_unit_id)).all()
    return with_prompt(_("Choose employee"), [SelectChoice(e.id, e.full_name) for e in employees])


@bp.get("/planning")
def planning() -> Response:
    """The unit's visits on a day, a page at a time and by status if chosen: assign them to
    an employee, or cancel them."""
    unit_id = current_user.active_unit_id
    day = day_from_query(oslo_today())
    status = _planning_status(request.args.get("status"))
    page = reads.unit_day_page(
        db.session, unit_id, day, status=status, cursor=request.args.get("after")
    )
    staff_viewed_appointments(db.session, current_user, {v.person_id for v in page.items}, utcnow())
    counts = dict(db.session.execute(reads.unit_day_counts(unit_id, day)).all())
    return render(
        "staff/planning.html",
        "staff/_planning_page.html",
        day=day,
        shown=status,  # not `status`: render() takes that as the response's
        page=page,
        counts=counts,
        here=url_for("staff.planning", date=day.isoformat(), status=status),
        employees=_employee_choices(),
        previous=date.fromordinal(day.toordinal() - 1),
        following=date.fromordinal(day.toordinal() + 1),
    )


def _planning_status(raw: str | None) -> AppointmentStatus | None:
    """The status filter; none (every visit) when missing or not a status."""
    try:
        return AppointmentStatus(raw) if raw else None
    except ValueError:
        return None


def _back_to_planning(appointment_id: int) -> Response:
    return redirect(safe_next(request.form.get("next"), url_for("staff.planning")), code=303)


def _unit_visit_or_404(appointment_id: int) -> None:
    """Nothing about a visit of another unit, not even whether the form was right."""
    appointment = db.session.scalars(reads.appointment_detail(appointment_id)).one_or_none()
    if appointment is None or appointment.unit is None:
        abort(404)
    access.require_unit_object(
        current_user, unit_id=appointment.unit_id, municipality_id=appointment.unit.municipality_id
    )


@bp.post("/planning/visits/<id:appointment_id>/assign")
def visit_assign(appointment_id: int) -> Response:
    _unit_visit_or_404(appointment_id)
    form = AssignVisitForm()
    form.employee_id.choices = _employee_choices()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return _back_to_planning(appointment_id)
    try:
        service.appointment_assign(
            db.session,
            current_user,
            appointment_id=appointment_id,
            employee_id=form.employee_id.data,
            at=form.at.data,
            now=utcnow(),
        )
    except AppointmentError as refused:
        _refuse_hidden(refused)
        flash(refusal(refused.code), "error")
    else:
        name = next(
            str(c.label) for c in form.employee_id.choices if c.value == form.employee_id.data
        )
        flash(_("The visit is assigned to %(name)s.", name=name), "success")
    return _back_to_planning(appointment_id)


@bp.post("/planning/visits/<id:appointment_id>/cancel")
def visit_cancel(appointment_id: int) -> Response:
    _unit_visit_or_404(appointment_id)
    form = CancelVisitForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for cancelling the visit."), "error")
        return _back_to_planning(appointment_id)
    try:
        service.appointment_cancel_by_service(
            db.session,
            current_user,
            appointment_id=appointment_id,
            reason=form.reason.data,
            share_reason=form.share_reason.data,
            now=utcnow(),
        )
    except AppointmentError as refused:
        _refuse_hidden(refused)
        flash(refusal(refused.code), "error")
    else:
        flash(
            _("The visit is cancelled. The resident sees it as cancelled, with the reason.")
            if form.share_reason.data
            else _("The visit is cancelled. The resident sees it as cancelled."),
            "success",
        )
    return _back_to_planning(appointment_id)


def _refuse_hidden(refused: AppointmentError) -> None:
    if refused.code in ("unknown_appointment", "unknown_series"):
        abort(404)


# --- series -------------------------------------------------------------------------------


def _recipient(person_id: int) -> Person:
    """The recipient a series page is about; showing it is in their usage log."""
    found = recipient_for_staff(db.session, current_user, person_id, oslo_today())
    if found is None:
        abort(404)
    staff_viewed_person(db.session, current_user, person_id, utcnow(), where="series")
    return found[0]


@bp.route("/recipients/<id:person_id>/series/new", methods=["GET", "POST"])
def series_new(person_id: int) -> Response:
    person = _recipient(person_id)
    form = SeriesForm()
    if request.method == "GET":
        form.starts_on.data = oslo_today()
    elif form.validate_on_submit():
        try:
            service.series_create(
                db.session,
                current_user,
                person_id=person.id,
                weekdays=form.weekdays.data,
                interval=form.interval.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                window_start=form.window_start.data,
                window_end=form.window_end.data,
                description=form.description.data,
                now=utcnow(),
            )
        except AppointmentError as refused:
            form.form_errors.append(refusal(refused.code))
        else:
            flash(_("The series is planned eight weeks ahead."), "success")
            return redirect(url_for("staff.recipient", person_id=person.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render("staff/series_form.html", status=status, form=form, person=person, series=None)


def _series(series_id: int):
    series = db.session.scalars(reads.series_with_unit(series_id)).one_or_none()
    if series is None:
        abort(404)
    access.require_staff_series(current_user, series)
    return series, _recipient(series.person_id)


@bp.route("/series/<id:series_id>", methods=["GET", "POST"])
def series_edit(series_id: int) -> Response:
    series, person = _series(series_id)
    form = SeriesChangeForm()
    end_form = EndSeriesForm(formdata=None)
    if request.method == "GET":
        form.weekdays.data, form.interval.data = service.rule_parts(series.rrule)
        form.window_start.data = series.window_start
        form.window_end.data = series.window_end
        form.description.data = series.description
        end_form.ends_on.data = series.ends_on or oslo_today()
    elif form.validate_on_submit():
        try:
            service.series_change(
                db.session,
                current_user,
                series_id=series.id,
                weekdays=form.weekdays.data,
                interval=form.interval.data,
                window_start=form.window_start.data,
                window_end=form.window_end.data,
                description=form.description.data,
                now=utcnow(),
            )
        except AppointmentError as refused:
            form.form_errors.append(refusal(refused.code))
        else:
            flash(_("The series is changed from now on."), "success")
            return redirect(url_for("staff.recipient", person_id=person.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render(
        "staff/series_form.html",
        status=status,
        form=form,
        end_form=end_form,
        person=person,
        series=series,
    )


@bp.post("/series/<id:series_id>/end")
def series_end(series_id: int) -> Response:
    series, person = _series(series_id)
    form = EndSeriesForm()
    if form.validate_on_submit():
        try:
            service.series_end(
                db.session,
                current_user,
                series_id=series.id,
                ends_on=form.ends_on.data,
                now=utcnow(),
            )
        except AppointmentError as refused:
            flash(refusal(refused.code), "error")
        else:
            flash(
                _("The series ends on %(date)s.", date=weekday_date(form.ends_on.data)), "success"
            )
    else:
        flash(" ".join(str(e) for e in form.ends_on.errors) or _("Give the last day."), "error")
    return redirect(url_for("staff.recipient", person_id=person.id), code=303)


# --- Avbestillinger ------------------------------------------------------------------------


@bp.get("/cancellations")
def cancellations() -> Response:
    page = reads.unit_cancellations(
        db.session, current_user.active_unit_id, cursor=request.args.get("after")
    )
    staff_viewed_appointments(
        db.session, current_user, {row.cancellation.person_id for row in page.items}, utcnow()
    )
    return render(
        "staff/cancellations.html",
        "staff/_cancellation_rows.html",
        page=page,
        simple_form=SimpleForm(formdata=None),
    )


@bp.post("/cancellations/<id:cancellation_id>/acknowledge")
def cancellation_acknowledge(cancellation_id: int) -> Response:
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        service.cancellation_acknowledge(
            db.session, current_user, cancellation_id=cancellation_id, now=utcnow()
        )
    except AppointmentError:
        abort(404)
    flash(_("The cancellation is acknowledged."), "success")
    return redirect(url_for("staff.cancellations"), code=303)


# --- Mine besøk i dag ------------------------------------------------------------------------


def _undo_window() -> timedelta:
    return timedelta(seconds=current_app.config["VISIT_UNDO_SECONDS"])


@dataclass(frozen=True)
class VisitCard:
    """One visit on Mine besøk i dag, with its form and whether it can still be undone."""

    visit: Appointment
    form: RegisterVisitForm
    undo_until: datetime | None  # the logged-in employee may undo it until then
    message: str | None = None  # what just happened to it (after Angre)
    error: bool = False


def _card(visit: Appointment, now: datetime, **extra: object) -> VisitCard:
    mine = visit.completed_by_staff_id == current_user.staff.id
    open_until = visit.undo_until if mine and visit.undo_until and visit.undo_until > now else None
    return VisitCard(visit, RegisterVisitForm(formdata=None), open_until, **extra)


@bp.get("/visits")
def visits() -> Response:
    """Today's visits for the logged-in employee, in order, with address."""
    today, now = oslo_today(), utcnow()
    mine = db.session.scalars(reads.my_visits(current_user.staff.id, today)).unique().all()
    staff_viewed_appointments(db.session, current_user, {v.person_id for v in mine}, now)
    return render(
        "staff/visits.html",
        today=today,
        cards=[_card(visit, now) for visit in mine],
        undo_form=SimpleForm(formdata=None),
    )


@bp.post("/visits/<id:appointment_id>/undo")
def visit_undo(appointment_id: int) -> Response:
    """Angre a registration: by htmx, the visit's card again; otherwise back to the list."""
    if not SimpleForm().validate_on_submit():
        abort(400)
    now = utcnow()
    try:
        service.visit_undo(db.session, current_user, appointment_id=appointment_id, now=now)
    except AppointmentError as refused:
        if refused.code == "unknown_appointment":
            abort(404)
        message, error = refusal(refused.code), True
    else:
        message, error = _("Undone: the visit is assigned again and nothing was sent."), False
    if not wants_fragment():
        flash(message, "error" if error else "success")
        return redirect(url_for("staff.visits"), code=303)
    visit = db.session.scalars(reads.my_visit(appointment_id)).unique().one()
    staff_viewed_appointments(db.session, current_user, {visit.person_id}, now)
    return render(
        "staff/_visit.html",
        status=422 if error else 200,
        card=_card(visit, now, message=message, error=error),
        undo_form=SimpleForm(formdata=None),
    )


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


@bp.post("/visits/<id:appointment_id>/complete")
@takes_json
def visit_complete(appointment_id: int) -> Response:
    """Registrer utført, from the page or replayed from the device's offline queue.

    JSON requests carry an Idempotency-Key header and the time of registration; the same
    key again gets the first answer, the same key with another body gets 422.
    """
    now = utcnow()
    if request.is_json:
        key = request.headers.get("Idempotency-Key", "")
        body = request.get_json(silent=True)
        registered_at = _parse_time(body.get("registered_at")) if isinstance(body, dict) else None
        if not is_submission_key(key, min_length=8) or registered_at is None:
            return jsonify(error="bad_request"), 400
    else:
        form = RegisterVisitForm()
        key = form.idempotency_key.data if form.validate_on_submit() else None
        if not is_submission_key(key, min_length=8):
            abort(400)
        registered_at = None
    try:
        result = service.visit_register(
            db.session,
            current_user,
            appointment_id=appointment_id,
            idempotency_key=key,
            registered_at=registered_at,
            now=now,
            undo_window=_undo_window(),
        )
    except IdempotencyConflict:
        return jsonify(error="idempotency_conflict"), 422
    except AppointmentError as refused:
        if refused.code == "unknown_appointment":
            abort(404)
        if _wants_json():
            return jsonify(error=refused.code, message=refusal(refused.code)), 409
        flash(refusal(refused.code), "error")
        return redirect(url_for("staff.visits"), code=303)
    if _wants_json():
        return jsonify(
            appointment_id=result.appointment_id,
            outcome=result.outcome,
            completed_at=result.completed_at.isoformat() if result.completed_at else None,
            label=_registration_label(result),
            undo_until=result.undo_until.isoformat() if result.undo_until else None,
            undo_label=_("You can undo until %(time)s.", time=clock(result.undo_until))
            if result.undo_until
            else None,
        )
    flash(_("Registered as done."), "success")
    return redirect(url_for("staff.visits"), code=303)


def _registration_label(result: service.VisitRegistered) -> str:
    if result.outcome == "undone":
        return _("The registration was undone.")
    if result.completed_at:
        return _("Done at %(time)s", time=clock(result.completed_at))
    return _("Registered as done.")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None or not DATE_MIN <= parsed.date() <= DATE_MAX:
        return None  # no zone, or so far off that converting it to UTC overflows
    return parsed.astimezone(UTC)
