from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired


class ChooseUnitForm(FlaskForm):
    unit_id = IntegerField(validators=[InputRequired()])
