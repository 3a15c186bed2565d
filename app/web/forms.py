"""Form pieces shared by the resident and staff sides."""

from __future__ import annotations

from uuid import uuid4

from flask_wtf import FlaskForm
from wtforms import HiddenField


def new_key() -> str:
    return uuid4().hex


def submission_key_field() -> HiddenField:
    """A key per rendered form: sending it twice (double tap, retry) acts once."""
    return HiddenField(default=new_key)


class SimpleForm(FlaskForm):
    """A button that changes state: only the CSRF token."""
