from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired


class ActForForm(FlaskForm):
    person_id = IntegerField(validators=[InputRequired()])
    next = HiddenField()
