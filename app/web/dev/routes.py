"""Development only: what the notice worker would have sent (registered with the test provider)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from app.extensions import db
from app.selectors.notices import dev_outbox
from app.web.htmx import render

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.get("/outbox")
def outbox() -> Response:
    messages = db.session.scalars(dev_outbox()).all()
    return render("dev_idp/outbox.html", messages=messages)
