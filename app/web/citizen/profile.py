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
from app.selectors.paging import Page
from app.selectors.people import person_by_id
from app.services import fullmakt as fullmakt_service
from app.services.fullmakt import SEARCH_LIMIT, FullmaktRefused, FullmaktTerms, SearchLimited
from app.services.people import SettingsRefused, contact_settings_update, mobile_for_display
from app.web.citizen.forms import (
    ChangeGrantForm,
    ContactForm,
    EndFullmaktForm,
    GranteeForm,
    GrantForm,
    PeriodFilterForm,
)
from app.web.citizen.routes import bp
from app.web.forms import SimpleForm
from app.web.fullmakt_text import change_lines
from app.web.htmx import render
from app.web.profile_text import (
    fullmakt_refusal_to_form,
    search_limited,
    settings_refusal,
)

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
    settings = db.session.get(ContactSettings, rep.subject.id)
    # "Samme varsler for andre du representerer" only for someone who represents anyone.
    represents = rep.is_self and any(
        not r.is_self and Scope.NOTICES in r.scopes for r in current_user.representations
    )
    if not represents:
        del form.same_for_represented
    if request.method == "GET":
        form.mobile.data = mobile_for_display(settings.mobile if settings else None)
        form.email.data = settings.email if settings else ""
        form.channel.data = (settings.channel if settings else NoticeChannel.SMS).value
        form.level.data = (settings.level if settings else NoticeLevel.NORMAL).value
        if represents:
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
                same_for_represented=form.same_for_represented.data
                if represents
                else bool(settings and settings.same_for_represented),
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
    """Step one: whom. A family member from the register, or someone else by fødselsnummer
    and family name. The person found is kept in the session, never put in a URL."""
    rep = access.require_scope(current_user, Scope.FULLMAKT)
    family = db.session.scalars(fullmakt_reads.family_of(rep.subject.id)).all()
    form = GranteeForm()
    error = None
    retry_after = None
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        now = utcnow()
        try:
            grantee = _chosen(form, family, now)
        except SearchLimited as limited:
            error, status = search_limited(limited.retry_at, SEARCH_LIMIT), 429
            retry_after = max(int((limited.retry_at - now).total_seconds()) + 1, 1)
        except FullmaktRefused as refused:
            error = fullmakt_refusal_to_form(form, refused.code)
        else:
            given = db.session.scalars(
                fullmakt_reads.ordinary_in_force(rep.subject.id, grantee.id, now)
            ).first()
            if given is not None:
                flash(
                    _(
                        "%(name)s already has a fullmakt from you. Here you can change it.",
                        name=grantee.full_name,
                    ),
                    "info",
                )
                return redirect(url_for("citizen.fullmakt_edit", fullmakt_id=given.id), code=303)
            session[GRANTEE_KEY] = grantee.id
            return redirect(url_for("citizen.fullmakt_details"), code=303)
    response = render(
        "citizen/fullmakt_new.html", status=status, form=form, family=family, error=error
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _chosen(form: GranteeForm, family: list[Person], now: datetime) -> Person:
    if form.is_search:
        return fullmakt_service.grantee_search(
            db.session,
            current_user,
            fodselsnummer=form.fodselsnummer.data,
            family_name=form.family_name.data,
            allow_synthetic=current_app.config["ALLOW_SYNTHETIC_FNR"],
            now=now,
        )
    chosen = next((p for p in family if p.id == form.person_id.data), None)
    if chosen is None:
        raise FullmaktRefused("choose_someone")
    fullmakt_service.grantee_check(db.session, current_user, chosen, now)
    return chosen


def _area_choices(form: GrantForm) -> dict[str, str]:
    """The areas to choose from, in order; returns their names by code."""
    language = str(get_locale())
    areas = db.session.scalars(fullmakt_reads.areas()).all()
    form.areas.choices = [SelectChoice(a.code, a.name(language)) for a in areas]
    return {a.code: a.name(language) for a in areas}


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
        terms = form.terms()
        try:
            fullmakt_service.fullmakt_grant(
                db.session,
                current_user,
                grantee_id=grantee.id,
                all_areas=terms.all_areas,
                area_codes=sorted(terms.area_codes),
                valid_to=terms.last_day,
                now=utcnow(),
            )
        except FullmaktRefused as refused:
            error = fullmakt_refusal_to_form(form, refused.code)
        else:
            session.pop(GRANTEE_KEY, None)
            flash(_("%(name)s now has a fullmakt from you.", name=grantee.full_name), "success")
            return redirect(url_for("citizen.fullmakter"), code=303)
    status = 422 if form.is_submitted() else 200
    return render(
        "citizen/fullmakt_details.html", status=status, form=form, grantee=grantee, error=error
    )


@bp.route("/profile/fullmakter/<id:fullmakt_id>/edit", methods=["GET", "POST"])
def fullmakt_edit(fullmakt_id: int) -> Response:
    """Endre: the form starts from the fullmakt as it is; what the change does is shown in
    plain words and confirmed before it is saved; nothing changed saves nothing."""
    access.require_scope(current_user, Scope.FULLMAKT)
    now = utcnow()
    try:
        fullmakt = fullmakt_service.fullmakt_for_change(db.session, current_user, fullmakt_id, now)
    except FullmaktRefused:
        abort(404)
    form = ChangeGrantForm()
    names = _area_choices(form)
    current = FullmaktTerms.of(fullmakt)
    if request.method == "GET":
        form.fill(current)
        return _edit_page(form, fullmakt, 200)
    if not form.validate_on_submit():
        return _edit_page(form, fullmakt, 422)
    changes = fullmakt_service.fullmakt_changes(current, form.terms())
    if not changes:
        flash(_("Nothing was changed: the fullmakt is as it was."), "info")
        return redirect(url_for("citizen.fullmakter"), code=303)
    if form.step.data == "back":
        return _edit_page(form, fullmakt, 200)
    if form.step.data != "confirm":
        return render(
            "citizen/fullmakt_confirm.html",
            form=form,
            fullmakt=fullmakt,
            changes=change_lines(changes, names),
        )
    try:
        _new, changes = fullmakt_service.fullmakt_change(
            db.session, current_user, fullmakt_id=fullmakt.id, terms=form.terms(), now=now
        )
    except FullmaktRefused as refused:
        return _edit_page(form, fullmakt, 422, fullmakt_refusal_to_form(form, refused.code))
    flash(
        " ".join(
            [
                _("The fullmakt to %(name)s is changed.", name=fullmakt.grantee.full_name),
                *change_lines(changes, names),
            ]
        ),
        "success",
    )
    return redirect(url_for("citizen.fullmakter"), code=303)


def _edit_page(form: ChangeGrantForm, fullmakt, status: int, error: str | None = None):
    return render(
        "citizen/fullmakt_edit.html", status=status, form=form, fullmakt=fullmakt, error=error
    )


@bp.post("/profile/fullmakter/<id:fullmakt_id>/end")
def fullmakt_end(fullmakt_id: int) -> Response:
    """Avslutt fullmakt: asks first, then ends it at once."""
    access.require_scope(current_user, Scope.FULLMAKT)
    form = EndFullmaktForm()
    if not form.validate_on_submit():
        abort(400)
    if form.step.data != "confirm":
        try:
            fullmakt = fullmakt_service.fullmakt_for_ending(db.session, current_user, fullmakt_id)
        except FullmaktRefused:
            abort(404)
        if fullmakt.ended_at is not None:
            return redirect(url_for("citizen.fullmakter"), code=303)
        mine = fullmakt.grantor_id == current_user.person.id
        return render(
            "citizen/fullmakt_end.html",
            form=EndFullmaktForm(formdata=None),
            fullmakt=fullmakt,
            other=fullmakt.grantee if mine else fullmakt.grantor,
            mine=mine,
        )
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
    page = Page(items=[], next_cursor=None)  # a period that cannot be read shows nothing
    if valid:
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
