"""Passnøkler: a staff member's own passkeys (list, add, remove), after a password log-in."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.extensions import db
from app.security import passkeys
from app.web.edge import takes_json
from app.web.forms import SimpleForm
from app.web.htmx import render
from app.web.staff.forms import PasskeyNameForm
from app.web.staff.routes import bp

NEEDS_BROWSER = _l("Adding a passkey needs a browser with passkeys and JavaScript.")
NOT_ADDED = _l("The passkey was not added. Try again.")


def _page(form: PasskeyNameForm, *, error: str | None = None, status: int = 200) -> Response:
    return render(
        "staff/passkeys.html",
        form=form,
        error=error,
        passkeys=passkeys.staff_passkeys(db.session, current_user.staff.id),
        remove_form=SimpleForm(formdata=None),
        status=status,
    )


@bp.get("/passkeys")
def passkey_list() -> Response:
    return _page(PasskeyNameForm(formdata=None))


@bp.post("/passkeys/options")
def passkey_options() -> Response:
    """A fresh challenge for navigator.credentials.create (JSON)."""
    options = passkeys.registration_options(db.session, current_user.staff, utcnow())
    return Response(options, mimetype="application/json")


@bp.post("/passkeys")
@takes_json
def passkey_add() -> Response:
    """The authenticator's answer and the passkey's name (JSON).

    Without JavaScript the form posts here as a plain form: the page explains what is needed.
    """
    if not request.is_json:
        form = PasskeyNameForm()
        form.validate_on_submit()
        return _page(form, error=str(NEEDS_BROWSER), status=400)
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    name = body.get("name")
    form = PasskeyNameForm(
        formdata=MultiDict({"name": name if isinstance(name, str) else ""}), meta={"csrf": False}
    )
    if not form.validate():
        response = jsonify(error="name", message=" ".join(str(e) for e in form.name.errors))
        response.status_code = 422
        return response
    credential = body.get("credential")
    try:
        if not isinstance(credential, dict):
            raise passkeys.PasskeyRefused("unreadable")
        passkeys.register(db.session, current_user.staff, credential, form.name.data, utcnow())
    except passkeys.PasskeyRefused:
        response = jsonify(error="refused", message=str(NOT_ADDED))
        response.status_code = 400
        return response
    flash(_("The passkey %(name)s was added.", name=form.name.data), "success")
    return jsonify(redirect=url_for("staff.passkey_list"))


@bp.post("/passkeys/<id:passkey_id>/remove")
def passkey_remove(passkey_id: int) -> Response:
    if not SimpleForm().validate_on_submit():
        abort(400)
    if not passkeys.remove(db.session, current_user.staff, passkey_id):
        abort(404)
    flash(_("The passkey was removed. Remember to remove it from the device too."), "success")
    return redirect(url_for("staff.passkey_list"), code=303)
