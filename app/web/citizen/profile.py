"""Profil og innstillinger: personal data, contact and notices, fullmakter, usage log."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app.clock import OSLO, utcnow
from app.extensions import db
from app.models import ContactSettings, NoticeChannel, NoticeLevel, Person
from app.security import access
from app.security.access import Scope
from app.selectors import audit as audit_reads
from app.selectors import fullmakt as fullmakt_reads
from app.selectors.people import person_by_id
from app.services import fullmakt as fullmakt_service
from app.services.fullmakt import FullmaktRefused
from app.services.people import SettingsRefused, contact_settings_update
from app.web.citizen.forms import ContactForm, GranteeForm, GrantForm, PeriodFilterForm
from app.web.citizen.routes import bp
from app.web.forms import SimpleForm
from app.web.htmx import render
from app.web.profile_text import fullmakt_refusal, settings_refusal

GRANTEE_KEY = "fullmakt_grantee"


@bp.get("/profile")
def profile() -> Response:
    rep = access.require_scope(current_user, Scope.PROFILE)
    person = db.session.scalars(person_by_id(rep.subject.id)).one()
    return render("citizen/profile.html", person=person, may_grant=Scope.FULLMAKT in rep.scopes)


# --- Kontaktinformasjon og varseloppsett ------------------------------------------------------


@bp.route("/profile/contact", methods=["GET", "POST"])
def contact() -> Response:
    rep = access.require_scope(current_user, Scope.PROFILE)
    form = ContactForm()
    if request.method == "GET":
        settings = db.session.get(ContactSettings, rep.subject.id)
        form.mobile.data = settings.mobile if settings else ""
        form.email.data = settings.email if settings else ""
        form.channel.data = (settings.channel if settings else NoticeChannel.SMS).value
        form.level.data = (settings.level if settings else NoticeLevel.NORMAL).value
        form.same_for_represented.data = bool(settings and settings.same_for_represented)
    elif form.validate_on_submit():
        try:
            contact_settings_update(
                db.session,
                current_user,
                mobile=form.mobile.data,
                email=form.email.data,
                channel=NoticeChannel(form.channel.data),
                level=NoticeLevel(form.level.data),
                same_for_represented=form.same_for_represented.data,
                now=utcnow(),
            )
        except SettingsRefused as refused:
            getattr(form, refused.field).errors.append(
                settings_refusal(refused.field, refused.code)
            )
        else:
            flash(_("Your contact information and notices are saved."), "success")
            return redirect(url_for("citizen.contact"), code=303)
    status = 422 if form.is_submitted() else 200
    return render("citizen/contact.html", status=status, form=form, subject=rep.subject)


# --- Fullmakter --------------------------------------------------------------------------------


@bp.get("/profile/fullmakter")
def fullmakter() -> Response:
    rep = access.require_scope(current_user, Scope.FULLMAKT)
    lists = fullmakt_reads.fullmakt_lists(db.session, rep.subject.id, utcnow())
    return render(
        "citizen/fullmakter.html", lists=lists, me=rep.subject, form=SimpleForm(formdata=None)
    )


@bp.route("/profile/fullmakter/new", methods=["GET", "POST"])
def fullmakt_new() -> Response:
    """Step one: whom. The person found is kept in the session, never put in a URL."""
    rep = access.require_scope(current_user, Scope.FULLMAKT)
    family = db.session.scalars(fullmakt_reads.family_of(rep.subject.id)).all()
    form = GranteeForm()
    error = None
    if form.validate_on_submit():
        try:
            grantee = _chosen(form, family)
            fullmakt_service.grantee_check(db.session, current_user, grantee, utcnow())
        except FullmaktRefused as refused:
            error = fullmakt_refusal(refused.code)
        else:
            session[GRANTEE_KEY] = grantee.id
            return redirect(url_for("citizen.fullmakt_details"), code=303)
    elif form.is_submitted():
        abort(400)
    status = 422 if error else 200
    return render("citizen/fullmakt_new.html", status=status, form=form, family=family, error=error)


def _chosen(form: GranteeForm, family: list[Person]) -> Person:
    number = (form.fodselsnummer.data or "").strip()
    if number:
        return fullmakt_service.find_by_fodselsnummer(
            db.session, number, allow_synthetic=current_app.config["ALLOW_SYNTHETIC_FNR"]
        )
    chosen = next((p for p in family if p.id == form.person_id.data), None)
    if chosen is None:
        raise FullmaktRefused("choose_someone")
    return chosen


def _area_choices(form: GrantForm) -> None:
    language = str(get_locale())
    areas = db.session.scalars(fullmakt_reads.areas()).all()
    form.areas.choices = [SelectChoice(a.code, a.name(language)) for a in areas]


@bp.route("/profile/fullmakter/new/details", methods=["GET", "POST"])
def fullmakt_details() -> Response:
    """Step two: for how long, and for what; then the fullmakt is given."""
    access.require_scope(current_user, Scope.FULLMAKT)
    grantee = db.session.get(Person, session.get(GRANTEE_KEY) or 0)
    if grantee is None:
        return redirect(url_for("citizen.fullmakt_new"))
    form = GrantForm()
    _area_choices(form)
    error = None
    if form.validate_on_submit():
        try:
            fullmakt_service.fullmakt_grant(
                db.session,
                current_user,
                grantee_id=grantee.id,
                all_areas=form.scope.data == "all",
                area_codes=form.areas.data or [],
                valid_to=form.valid_to.data if form.duration.data == "until" else None,
                now=utcnow(),
            )
        except FullmaktRefused as refused:
            error = fullmakt_refusal(refused.code)
        else:
            session.pop(GRANTEE_KEY, None)
            flash(_("%(name)s now has a fullmakt from you.", name=grantee.full_name), "success")
            return redirect(url_for("citizen.fullmakter"), code=303)
    status = 422 if form.is_submitted() else 200
    return render(
        "citizen/fullmakt_details.html", status=status, form=form, grantee=grantee, error=error
    )


@bp.route("/profile/fullmakter/<id:fullmakt_id>/edit", methods=["GET"])
def fullmakt_edit(fullmakt_id: int) -> Response:
    """Changing a fullmakt gives a new one that replaces it: start step two for the same person."""
    rep = access.require_scope(current_user, Scope.FULLMAKT)
    fullmakt = db.session.scalars(fullmakt_reads.fullmakt_by_id(fullmakt_id)).unique().one_or_none()
    if fullmakt is None:
        abort(404)
    access.require_fullmakt_grantor(current_user, fullmakt, rep.subject)
    session[GRANTEE_KEY] = fullmakt.grantee_id
    return redirect(url_for("citizen.fullmakt_details"), code=303)


@bp.post("/profile/fullmakter/<id:fullmakt_id>/end")
def fullmakt_end(fullmakt_id: int) -> Response:
    access.require_scope(current_user, Scope.FULLMAKT)
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        ended = fullmakt_service.fullmakt_end(
            db.session, current_user, fullmakt_id=fullmakt_id, now=utcnow()
        )
    except FullmaktRefused:
        abort(404)
    other = ended.grantee if ended.grantor_id == current_user.person.id else ended.grantor
    flash(_("The fullmakt with %(name)s is ended.", name=other.full_name), "success")
    return redirect(url_for("citizen.fullmakter"), code=303)


# --- Logg over bruk ----------------------------------------------------------------------------


@bp.get("/profile/log")
def usage_log() -> Response:
    rep = access.require_scope(current_user, Scope.PROFILE)
    form = PeriodFilterForm(request.args)
    valid = form.validate()
    start = _day_start(form.start.data)
    end = _day_start(form.end.data + timedelta(days=1)) if form.end.data else None
    page = audit_reads.usage_log(
        db.session, rep.subject.id, start=start, end=end, cursor=request.args.get("after")
    )
    return render(
        "citizen/usage_log.html",
        "citizen/_usage_rows.html",
        status=200 if valid else 422,
        page=page,
        form=form,
        subject=rep.subject,
    )


def _day_start(day) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=OSLO) if day else None
