"""The resident side: Meldinger, Timeavtaler, Helsekontakter, profile, acting for others."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app.clock import OSLO, oslo_today, utcnow
from app.extensions import db, login_manager
from app.models import AppointmentStatus, CancellationKind, Thread
from app.security import access
from app.security.access import Scope
from app.selectors import appointments as appointment_reads
from app.selectors import threads
from app.selectors.people import dialog_services, services_received
from app.services import appointments as appointment_service
from app.services import messaging
from app.services.appointments import AppointmentError
from app.services.messaging import MessagingError
from app.services.sessions import session_act_for
from app.web import calendar
from app.web.appointment_text import not_cancellable_text
from app.web.appointment_text import refusal as appointment_refusal
from app.web.citizen.forms import ActForForm, CancelForm, ComposeForm, ReplyForm
from app.web.citizen.shell import ResidentShell
from app.web.filters import weekday_date
from app.web.forms import day_from_query, parse_id
from app.web.htmx import redirect as hx_redirect
from app.web.htmx import render, wants_fragment
from app.web.messaging_text import refusal
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
    page = threads.inbox(
        db.session, rep.subject.id, current_user.person.id, cursor=request.args.get("after")
    )
    return render(
        "citizen/messages.html", "citizen/_inbox_page.html", subject=rep.subject, page=page
    )


@bp.route("/messages/new", methods=["GET", "POST"])
def compose() -> Response:
    rep = access.require_scope(current_user, Scope.MESSAGES)
    # One read: the services open for dialog are offered, the closed ones are named with why.
    received = db.session.scalars(services_received(rep.subject.id, oslo_today())).all()
    registrations = [r for r in received if r.service.open_for_dialog]
    closed = [r for r in received if not r.service.open_for_dialog]
    form = ComposeForm()
    form.service_id.choices = [SelectChoice(r.service_id, r.service.name) for r in registrations]
    if request.method == "GET":
        chosen = request.args.get("service", type=int)
        if chosen in {r.service_id for r in registrations}:
            form.service_id.data = chosen
        elif len(registrations) == 1:
            form.service_id.data = registrations[0].service_id
        form.continues.data = parse_id(request.args.get("continues"))
        form.subject.data = request.args.get("subject", "")[: messaging.SUBJECT_MAX]
    elif form.validate_on_submit():
        try:
            thread = messaging.thread_start(
                db.session,
                current_user,
                service_id=form.service_id.data,
                subject=form.subject.data,
                body=form.body.data,
                submission_key=form.submission_key.data,
                now=utcnow(),
                continues_thread_id=form.continues.data,
            )
        except MessagingError as refused:
            form.form_errors.append(refusal(refused.code))
        else:
            if thread.reply_deadline is not None:
                flash(
                    _(
                        "Your message has been sent. Reply expected by %(date)s.",
                        date=weekday_date(thread.reply_deadline),
                    ),
                    "success",
                )
            return redirect(url_for("citizen.thread", thread_id=thread.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render(
        "citizen/compose.html",
        status=status,
        form=form,
        subject=rep.subject,
        registrations=registrations,
        received=received,
        closed=closed,
    )


def _thread_or_404(thread_id: int) -> Thread:
    thread = db.session.scalars(threads.thread_with_context(thread_id)).one_or_none()
    if thread is None:
        abort(404)
    access.require_resident_thread(current_user, thread)
    return thread


@bp.get("/messages/<id:thread_id>")
def thread(thread_id: int) -> Response:
    thread = _thread_or_404(thread_id)
    messaging.thread_opened_by_resident(db.session, current_user, thread=thread, now=utcnow())
    return _thread_page(thread, ReplyForm())


def _thread_page(thread: Thread, form: ReplyForm, *, status: int = 200) -> Response:
    messages = db.session.scalars(threads.thread_messages(thread.id)).all()
    return render(
        "citizen/thread.html",
        "citizen/_thread_body.html",
        status=status,
        thread=thread,
        messages=messages,
        form=form,
    )


@bp.post("/messages/<id:thread_id>/reply")
def reply(thread_id: int) -> Response:
    thread = _thread_or_404(thread_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            messaging.thread_reply_resident(
                db.session,
                current_user,
                thread=thread,
                body=form.body.data,
                submission_key=form.submission_key.data,
                now=utcnow(),
            )
        except MessagingError as refused:
            form.body.errors.append(refusal(refused.code))
        else:
            if not wants_fragment():
                return redirect(url_for("citizen.thread", thread_id=thread.id), code=303)
            return _thread_page(thread, ReplyForm(formdata=None))
    return _thread_page(thread, form, status=422)


VIEWS = ("list", "week", "month")


@bp.get("/appointments")
def appointments() -> Response:
    """Timeavtaler as a list, a week or a month; the date in view survives switching."""
    rep = access.require_scope(current_user, Scope.APPOINTMENTS)
    view = request.args.get("view") if request.args.get("view") in VIEWS else "list"
    day = day_from_query(oslo_today())
    now = utcnow()
    context: dict[str, object] = {
        "subject": rep.subject,
        "view": view,
        "day": day,
        "today": oslo_today(now),
        "earlier": day - timedelta(days=14),
    }
    if view == "list":
        context["page"] = appointment_reads.resident_list(
            db.session, rep.subject.id, day, now, cursor=request.args.get("after")
        )
        return render("citizen/appointments.html", "citizen/_appointment_rows.html", **context)
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        items = appointment_reads.resident_between(
            db.session, rep.subject.id, monday, monday + timedelta(days=6), now
        )
        context["days"] = calendar.week_days(monday, items)
        context["previous"] = monday - timedelta(days=7)
        context["following"] = monday + timedelta(days=7)
    else:
        grid = calendar.month_grid(day)
        items = appointment_reads.resident_between(
            db.session, rep.subject.id, grid.first, grid.last, now
        )
        context["grid"] = calendar.fill(grid, items)
        context["legend"] = list(AppointmentStatus)
        context["selected"] = [v for v in items if v.day == day]
        context["previous"] = calendar.add_months(day, -1)
        context["following"] = calendar.add_months(day, 1)
    return render("citizen/appointments.html", **context)


def _appointment_or_404(appointment_id: int):
    appointment = db.session.scalars(
        appointment_reads.appointment_detail(appointment_id)
    ).one_or_none()
    if appointment is None:
        abort(404)
    rep = access.require_current_subject(current_user, appointment.person_id, Scope.APPOINTMENTS)
    view = appointment_reads.resident_view(appointment, utcnow())
    if view is None:
        abort(404)
    return appointment, view, rep


@bp.get("/appointments/<id:appointment_id>")
def appointment(appointment_id: int) -> Response:
    _, view, _ = _appointment_or_404(appointment_id)
    return render("citizen/appointment.html", item=view)


@bp.route("/appointments/<id:appointment_id>/cancel", methods=["GET", "POST"])
def cancel(appointment_id: int) -> Response:
    """Avbestill: choose, see what it cancels and confirm; nothing changes before that.
    An appointment the resident cannot cancel gets an explanation instead of the form."""
    appointment, view, rep = _appointment_or_404(appointment_id)
    registrations = db.session.scalars(dialog_services(rep.subject.id, oslo_today())).all()
    form = CancelForm()
    form.service_ids.choices = [SelectChoice(r.service_id, r.service.name) for r in registrations]
    if request.method == "GET":
        if not view.may_cancel:
            return _not_cancellable(view, 200)
        form.start_date.data = form.end_date.data = view.day
        form.start_time.data, form.end_time.data = time(0, 0), time(23, 59)
        form.service_ids.data = [appointment.service_id]
        return _cancel_form(form, view, registrations, 200)
    if not form.validate_on_submit():
        if not view.may_cancel:
            return _not_cancellable(view, 409)
        return _cancel_form(form, view, registrations, 422)
    choices = {
        "appointment_id": appointment.id,
        "kind": CancellationKind(form.kind.data),
        "period_start": _local(form.start_date.data, form.start_time.data),
        "period_end": _local(form.end_date.data, form.end_time.data, end=True),
        "service_ids": form.service_ids.data or [],
        "now": utcnow(),
    }
    if form.step.data == "confirm":
        try:
            cancellation = appointment_service.appointments_cancel(
                db.session,
                current_user,
                note=form.note.data,
                submission_key=form.submission_key.data,
                **choices,
            )
        except AppointmentError as refused:
            if not view.may_cancel:
                return _not_cancellable(view, 409)
            form.form_errors.append(appointment_refusal(refused.code))
            return _cancel_form(form, view, registrations, 422)
        return redirect(url_for("citizen.cancellation", cancellation_id=cancellation.id), code=303)
    if not view.may_cancel:
        return _not_cancellable(view, 409)
    if form.step.data == "back":
        return _cancel_form(form, view, registrations, 200)
    try:
        visits = appointment_service.appointments_cancel_preview(
            db.session, current_user, **choices
        )
    except AppointmentError as refused:
        form.form_errors.append(appointment_refusal(refused.code))
        return _cancel_form(form, view, registrations, 422)
    return render("citizen/cancel_confirm.html", form=form, item=view, visits=visits)


def _cancel_form(form: CancelForm, view, registrations, status: int) -> Response:
    return render(
        "citizen/cancel.html", status=status, form=form, item=view, registrations=registrations
    )


def _not_cancellable(view, status: int) -> Response:
    return render(
        "citizen/cancel_unavailable.html",
        status=status,
        item=view,
        reason=not_cancellable_text(view),
    )


def _local(day: date | None, at: time | None, *, end: bool = False) -> datetime | None:
    if day is None or at is None:
        return None
    moment = datetime.combine(day, at, tzinfo=OSLO)
    # A period ending at 23:59 covers that whole minute.
    return moment + timedelta(seconds=59) if end else moment


@bp.get("/appointments/cancellations/<id:cancellation_id>")
def cancellation(cancellation_id: int) -> Response:
    found = (
        db.session.scalars(appointment_reads.cancellation_with_appointments(cancellation_id))
        .unique()
        .one_or_none()
    )
    if found is None:
        abort(404)
    access.require_current_subject(current_user, found.person_id, Scope.APPOINTMENTS)
    cancelled = sorted(found.appointments, key=lambda a: (a.window_start, a.id))
    return render(
        "citizen/cancellation.html",
        cancellation=found,
        cancelled=cancelled,
        period_day=found.period_start.astimezone(OSLO).date(),
    )


@bp.get("/contacts")
def contacts() -> Response:
    rep = access.require_any_scope(current_user, Scope.MESSAGES, Scope.APPOINTMENTS)
    registrations = db.session.scalars(services_received(rep.subject.id, oslo_today())).all()
    return render(
        "citizen/contacts.html",
        subject=rep.subject,
        registrations=registrations,
        may_write=Scope.MESSAGES in rep.scopes,
    )


@bp.post("/act-for")
def act_for() -> Response:
    form = ActForForm()
    if not form.validate_on_submit():
        abort(400)
    rep = access.may_act_for(current_user, form.person_id.data)
    session_act_for(db.session, current_user.login, subject_id=rep.subject.id)
    default = url_for(
        "citizen.messages" if Scope.MESSAGES in rep.scopes else "citizen.appointments"
    )
    return hx_redirect(safe_next(form.next.data, default) if rep.is_self else default)


# Profil og innstillinger lives in its own module on the same blueprint.
from app.web.citizen import profile as _profile  # noqa: E402, F401
