"""Administration of a municipality (kommuneadministrator)."""

from __future__ import annotations

from flask import Blueprint, g
from flask_login import current_user
from werkzeug.wrappers import Response

from app.extensions import db, login_manager
from app.security import access
from app.selectors.staff import municipality_staff, municipality_with_services
from app.web.htmx import render
from app.web.staff.shell import StaffShell

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admin_only() -> Response | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    access.require_municipal_admin(current_user)
    g.shell = StaffShell(actor=current_user)
    return None


@bp.get("/")
def index() -> Response:
    municipality_id = current_user.staff.municipality_id
    municipality = db.session.scalars(municipality_with_services(municipality_id)).one()
    staff = db.session.scalars(municipality_staff(municipality_id)).unique().all()
    return render("admin/index.html", municipality=municipality, staff=staff)
