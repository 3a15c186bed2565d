"""The staff side: the active unit's message queue, threads and their actions, recipients."""

from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app.clock import OSLO, oslo_today, utcnow
from app.extensions import db, login_manager
from app.models import Message, PassOnMethod, Person, Thread, ThreadStatus
from app.security import access
from app.selectors import appointments as appointment_reads
from app.selectors import notices as notice_reads
from app.selectors import threads
from app.selectors.staff import unit_colleagues, unit_recipients
from app.services import messaging
from app.services import notices as notice_service
from app.services.audit import staff_viewed_in_list, staff_viewed_person
from app.services.messaging import MessagingError
from app.services.people import recipient_for_staff
from app.services.sessions import session_choose_unit
from app.web.forms import SimpleForm, with_prompt
from app.web.htmx import render, wants_fragment
from app.web.messaging_text import refusal
from app.web.staff.forms import (
    AssignForm,
    ChooseUnitForm,
    CloseForm,
    ForwardForm,
    InterimReplyForm,
    PassOnForm,
    StaffComposeForm,
    StaffReplyForm,
    ThreadFilterForm,
    UrgentForm,
    WelcomeForm,
)
from app.web.staff.shell import StaffShell
from app.workdays import add_working_days

bp = Blueprint("staff", __name__, url_prefix="/staff")

# Pages of one's own, open also without a unit (the administrator has none).
UNIT_FREE_ENDPOINTS = {
    "staff.choose_unit",
    "staff.passkey_list",
    "staff.passkey_options",
    "staff.passkey_add",
    "staff.passkey_remove",
    # Oversikt covers every unit the leader leads (or, for the administrator, has).
    "staff.oversikt",
    "staff.oversikt_csv",
}

WELCOME_SUBJECT = _l("Welcome to digital dialog")
WELCOME_BODY = _l(
    "Hello. You can now write to us here, and we answer on working days. "
    "Do not use messages for anything urgent: call us, or 116 117 for the emergency room. "
    "Best regards, %(unit)s"
)


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


# --- the queue ------------------------------------------------------------------------


@bp.get("/")
def queue() -> Response:
    page = threads.unit_queue(
        db.session, current_user.active_unit_id, cursor=request.args.get("after")
    )
    staff_viewed_in_list(
        db.session,
        current_user,
        {row.thread.person_id for row in page.items},
        utcnow(),
        where="queue",
    )
    return render("staff/queue.html", "staff/_queue_page.html", page=page, now=utcnow())


@bp.get("/threads")
def all_threads() -> Response:
    """Alle tråder: every thread of the unit, filtered; a filter that is not valid is
    shown with its message and ignored."""
    unit_id = current_user.active_unit_id
    people = db.session.execute(threads.unit_thread_people(unit_id)).all()
    form = ThreadFilterForm(request.args)
    form.person.choices = with_prompt(
        _("All residents"),
        [SelectChoice(id_, Person.name_of(given, family)) for id_, given, family in people],
    )
    valid = form.validate()
    shown = form.status.data if not form.status.errors and form.status.data else None
    page = threads.unit_threads(
        db.session,
        unit_id,
        shown=threads.ThreadFilter(shown) if shown else None,
        person_id=None if form.person.errors else form.person.data,
        text=None if form.q.errors else (form.q.data or "").strip() or None,
        cursor=request.args.get("after"),
    )
    # The page names everyone in the resident filter; "Vis flere" only those it adds.
    named = {row.thread.person_id for row in page.items}
    if not wants_fragment():
        named |= {id_ for id_, _given, _family in people}
    staff_viewed_in_list(db.session, current_user, named, utcnow(), where="threads")
    return render(
        "staff/threads.html",
        "staff/_threads_page.html",
        status=200 if valid else 422,
        page=page,
        form=form,
        filters=_filter_args(form),
        now=utcnow(),
    )


def _filter_args(form: ThreadFilterForm) -> dict[str, object]:
    """The valid filters, for the "Vis flere" link."""
    args: dict[str, object] = {}
    if form.status.data and not form.status.errors:
        args["status"] = form.status.data
    if form.person.data and not form.person.errors:
        args["person"] = form.person.data
    if form.q.data and not form.q.errors and form.q.data.strip():
        args["q"] = form.q.data.strip()
    return args


# --- a thread and its actions ------------------------------------------------------


def _thread(thread_id: int) -> Thread:
    thread = db.session.scalars(threads.thread_with_context(thread_id)).one_or_none()
    if thread is None:
        abort(404)
    access.require_staff_thread(current_user, thread)
    return thread


def _interim_defaults() -> InterimReplyForm:
    form = InterimReplyForm(formdata=None)
    form.next_date.data = add_working_days(oslo_today(), 1)
    form.next_time.data = time(15, 0)
    return form


def _thread_page(thread: Thread, *, status: int = 200, **forms: FlaskForm) -> Response:
    """The thread as staff see it, with its actions; every view is in the resident's log.

    `open_action` names the action shown open (a refused form, or a link to one action).
    """
    messaging.thread_opened_by_staff(db.session, current_user, thread=thread, now=utcnow())
    messages = db.session.scalars(threads.thread_messages(thread.id)).all()
    events = db.session.scalars(threads.thread_events(thread.id)).all()
    assign_form = forms.get("assign") or AssignForm(formdata=None)
    forward_form = forms.get("forward") or ForwardForm(formdata=None)
    if thread.status is not ThreadStatus.CLOSED:
        if assign_form.assignee_id.choices is None:
            assign_form.assignee_id.choices = _colleague_choices(thread)
        if forward_form.unit_id.choices is None:
            forward_form.unit_id.choices = _unit_choices(thread)
    return render(
        "staff/thread.html",
        status=status,
        thread=thread,
        messages=messages,
        events=events,
        relay_pending=threads.relay_pending_in(thread, events),
        now=utcnow(),
        reply_form=forms.get("reply") or StaffReplyForm(formdata=None),
        interim_form=forms.get("interim") or _interim_defaults(),
        assign_form=assign_form,
        forward_form=forward_form,
        pass_on_form=forms.get("pass_on") or PassOnForm(formdata=None),
        simple_form=SimpleForm(formdata=None),
        open_action=forms.get("open_action"),
    )


def _colleague_choices(thread: Thread) -> list[SelectChoice]:
    colleagues = db.session.scalars(unit_colleagues(thread.unit_id)).all()
    return with_prompt(_("Choose colleague"), [SelectChoice(c.id, c.full_name) for c in colleagues])


def _unit_choices(thread: Thread) -> list[SelectChoice]:
    units = db.session.scalars(
        threads.forward_targets(thread.municipality_id, thread.unit_id)
    ).all()
    return with_prompt(
        _("Choose unit"), [SelectChoice(u.id, f"{u.name} ({u.service.name})") for u in units]
    )


def _label(choices: list[SelectChoice], value: object) -> str:
    return next(str(c.label) for c in choices if c.value == value)


def _done(thread: Thread, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("staff.thread", thread_id=thread.id), code=303)


@bp.get("/threads/<id:thread_id>")
def thread(thread_id: int) -> Response:
    return _thread_page(_thread(thread_id))


@bp.post("/threads/<id:thread_id>/reply")
def reply(thread_id: int) -> Response:
    thread = _thread(thread_id)
    form = StaffReplyForm()
    if form.validate_on_submit():
        try:
            messaging.thread_reply_staff(
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
            return _done(thread, _("The reply has been sent."))
    return _thread_page(thread, status=422, reply=form, open_action="reply")


@bp.post("/threads/<id:thread_id>/interim")
def interim(thread_id: int) -> Response:
    thread = _thread(thread_id)
    form = InterimReplyForm()
    if form.validate_on_submit():
        next_answer = datetime.combine(form.next_date.data, form.next_time.data, tzinfo=OSLO)
        try:
            messaging.thread_reply_staff(
                db.session,
                current_user,
                thread=thread,
                body=form.body.data,
                submission_key=form.submission_key.data,
                now=utcnow(),
                next_answer_at=next_answer,
            )
        except MessagingError as refused:
            target = form.next_date if refused.code == "next_answer_in_past" else form.body
            target.errors.append(refusal(refused.code))
        else:
            return _done(thread, _("The interim reply has been sent."))
    return _thread_page(thread, status=422, interim=form, open_action="interim")


@bp.post("/threads/<id:thread_id>/urgent")
def urgent(thread_id: int) -> Response:
    thread = _thread(thread_id)
    form = UrgentForm()
    if not form.validate_on_submit():
        abort(400)
    urgent = form.urgent.data == "1"
    messaging.thread_set_urgent(
        db.session, current_user, thread=thread, urgent=urgent, now=utcnow()
    )
    return _done(thread, _("Marked as urgent.") if urgent else _("No longer marked as urgent."))


@bp.route("/threads/<id:thread_id>/assign", methods=["GET", "POST"])
def assign(thread_id: int) -> Response:
    """Tildel: the thread page with this action open; a refused choice is shown there."""
    thread = _thread(thread_id)
    form = AssignForm()
    form.assignee_id.choices = _colleague_choices(thread)
    if form.validate_on_submit():
        try:
            messaging.thread_assign(
                db.session,
                current_user,
                thread=thread,
                assignee_id=form.assignee_id.data,
                note=form.note.data,
                now=utcnow(),
            )
        except MessagingError as refused:
            form.assignee_id.errors.append(refusal(refused.code))
        else:
            name = _label(form.assignee_id.choices, form.assignee_id.data)
            return _done(thread, _("Assigned to %(name)s.", name=name))
    status = 422 if form.is_submitted() else 200
    return _thread_page(thread, status=status, assign=form, open_action="assign")


@bp.route("/threads/<id:thread_id>/forward", methods=["GET", "POST"])
def forward(thread_id: int) -> Response:
    """Videresend: the thread page with this action open; a refused choice is shown there."""
    thread = _thread(thread_id)
    form = ForwardForm()
    form.unit_id.choices = _unit_choices(thread)
    if form.validate_on_submit():
        try:
            messaging.thread_forward(
                db.session,
                current_user,
                thread=thread,
                unit_id=form.unit_id.data,
                note=form.note.data,
                now=utcnow(),
            )
        except MessagingError as refused:
            form.unit_id.errors.append(refusal(refused.code))
        else:
            name = _label(form.unit_id.choices, form.unit_id.data)
            flash(_("The thread has been forwarded to %(unit)s.", unit=name), "success")
            return redirect(url_for("staff.queue"), code=303)
    status = 422 if form.is_submitted() else 200
    return _thread_page(thread, status=status, forward=form, open_action="forward")


@bp.post("/threads/<id:thread_id>/pass-on")
def pass_on(thread_id: int) -> Response:
    thread = _thread(thread_id)
    form = PassOnForm()
    if form.validate_on_submit():
        try:
            messaging.thread_pass_on(
                db.session,
                current_user,
                thread=thread,
                method=PassOnMethod(form.method.data),
                recipient=form.recipient.data,
                relayed=form.relayed.data == "yes",
                body=form.body.data,
                submission_key=form.submission_key.data,
                now=utcnow(),
            )
        except MessagingError as refused:
            form.body.errors.append(refusal(refused.code))
        else:
            return _done(thread, _("Recorded as passed on, and the resident has been told."))
    return _thread_page(thread, status=422, pass_on=form, open_action="pass_on")


@bp.post("/threads/<id:thread_id>/close")
def close(thread_id: int) -> Response:
    """Avslutt tråd, once confirmed; unconfirmed, the thread page asks for confirmation."""
    thread = _thread(thread_id)
    form = CloseForm()
    if not form.validate_on_submit():
        abort(400)
    if form.confirmed.data != "yes":
        return _thread_page(thread, open_action="close")
    messaging.thread_close(db.session, current_user, thread=thread, now=utcnow())
    flash(_("The thread is closed."), "success")
    return redirect(url_for("staff.queue"), code=303)


def _message(message_id: int) -> tuple[Message, Thread]:
    message = db.session.get(Message, message_id)
    if message is None:
        abort(404)
    return message, _thread(message.thread_id)


@bp.post("/messages/<id:message_id>/journal")
def journal(message_id: int) -> Response:
    message, thread = _message(message_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    messaging.message_journal(db.session, current_user, message=message, now=utcnow())
    return _done(thread, _("The message is marked as journaled."))


@bp.get("/messages/<id:message_id>/journal")
def journal_note(message_id: int) -> Response:
    """A printable journal note for one message."""
    message, thread = _message(message_id)
    messaging.thread_opened_by_staff(db.session, current_user, thread=thread, now=utcnow())
    loaded = db.session.scalars(
        threads.thread_messages(thread.id).where(Message.id == message.id)
    ).one()
    return render("staff/journal_note.html", thread=thread, message=loaded)


# --- writing to residents ---------------------------------------------------------------


@bp.route("/messages/new", methods=["GET", "POST"])
def compose() -> Response:
    terms = current_app.config["TERMS_VERSION"]
    people = db.session.scalars(
        threads.digitally_active_recipients(current_user.active_unit_id, terms, oslo_today())
    ).all()
    form = StaffComposeForm()
    form.person_id.choices = with_prompt(
        _("Choose recipient"), [SelectChoice(p.id, p.full_name) for p in people]
    )
    staff_viewed_in_list(
        db.session, current_user, {p.id for p in people}, utcnow(), where="compose"
    )
    if request.method == "GET" and request.args.get("person", type=int):
        form.person_id.data = request.args.get("person", type=int)
    if form.validate_on_submit():
        try:
            thread = messaging.staff_thread_start(
                db.session,
                current_user,
                person_id=form.person_id.data,
                subject=form.subject.data,
                body=form.body.data,
                submission_key=form.submission_key.data,
                now=utcnow(),
                terms_version=terms,
            )
        except MessagingError as refused:
            form.person_id.errors.append(refusal(refused.code))
        else:
            return _done(thread, _("The message has been sent."))
    status = 422 if form.is_submitted() else 200
    return render("staff/compose.html", status=status, form=form, people=people)


@bp.route("/welcome", methods=["GET", "POST"])
def welcome() -> Response:
    terms = current_app.config["TERMS_VERSION"]
    unit_name = g.shell.active_unit.name
    form = WelcomeForm()
    if request.method == "GET":
        form.subject.data = str(WELCOME_SUBJECT)
        form.body.data = str(WELCOME_BODY) % {"unit": unit_name}
    elif form.validate_on_submit():
        try:
            sent = messaging.welcome_send(
                db.session,
                current_user,
                subject=form.subject.data,
                body=form.body.data,
                terms_version=terms,
                now=utcnow(),
            )
        except MessagingError as refused:
            form.body.errors.append(refusal(refused.code))
        else:
            flash(_("Welcome message sent to %(count)d recipients.", count=len(sent)), "success")
            return redirect(url_for("staff.queue"), code=303)
    waiting = db.session.scalars(
        threads.welcome_recipients(current_user.active_unit_id, terms, oslo_today())
    ).all()
    staff_viewed_in_list(
        db.session, current_user, {p.id for p in waiting}, utcnow(), where="welcome"
    )
    status = 422 if form.is_submitted() else 200
    return render("staff/welcome.html", status=status, form=form, waiting=waiting)


# --- the unit and its recipients -----------------------------------------------------


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
    staff_viewed_in_list(
        db.session, current_user, {r.person_id for r in registrations}, utcnow(), where="recipients"
    )
    return render("staff/recipients.html", registrations=registrations)


@bp.get("/recipients/<id:person_id>")
def recipient(person_id: int) -> Response:
    found = recipient_for_staff(db.session, current_user, person_id, oslo_today())
    if found is None:
        abort(404)
    person, visible = found
    staff_viewed_person(db.session, current_user, person.id, utcnow())
    series = db.session.scalars(
        appointment_reads.unit_series(current_user.active_unit_id, person.id)
    ).all()
    person_threads = threads.unit_threads(
        db.session, current_user.active_unit_id, person_id=person.id
    )
    return render(
        "staff/recipient.html",
        person=person,
        registrations=visible,
        series=series,
        threads=person_threads,
        now=utcnow(),
    )


def deadline_state(deadline: datetime | None, now: datetime) -> str | None:
    """'overdue' or 'today' for the queue's marks (Oslo dates)."""
    if deadline is None:
        return None
    if deadline < now:
        return "overdue"
    if deadline.astimezone(OSLO).date() == now.astimezone(OSLO).date():
        return "today"
    return None


@bp.app_template_global()
def staff_deadline_state(deadline: datetime | None, now: datetime) -> str | None:
    return deadline_state(deadline, now)


@bp.get("/notices")
def failed_notices() -> Response:
    """Notices to the unit's recipients (or their relatives) that could not be delivered."""
    notices = (
        db.session.scalars(notice_reads.failed_for_unit(current_user.active_unit_id, oslo_today()))
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
        retry_endpoint="staff.notice_retry",
        section="queue",
    )


@bp.post("/notices/<id:notice_id>/retry")
def notice_retry(notice_id: int) -> Response:
    if not SimpleForm().validate_on_submit():
        abort(400)
    notice_service.notice_retry(db.session, current_user, notice_id=notice_id, now=utcnow())
    flash(_("The notice will be tried again."), "success")
    return redirect(url_for("staff.failed_notices"), code=303)


# The appointment views, the leader's fullmakt approvals, Oversikt and the passkeys live in
# their own modules on the same blueprint.
from app.web.staff import appointments as _appointments  # noqa: E402, F401
from app.web.staff import fullmakt as _fullmakt  # noqa: E402, F401
from app.web.staff import oversikt as _oversikt  # noqa: E402, F401
from app.web.staff import passkeys as _passkeys  # noqa: E402, F401
