from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.web.forms import DateField


class AssignedFullmaktForm(FlaskForm):
    """A fullmakt the municipality registers for a person who lacks consent competence."""

    grantor = StringField(
        _l("Fødselsnummer of the person it is for"),
        validators=[DataRequired(_l("Give the fødselsnummer.")), Length(max=13)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    grantee = StringField(
        _l("Fødselsnummer of the person who gets the fullmakt"),
        validators=[DataRequired(_l("Give the fødselsnummer.")), Length(max=13)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    document_reference = StringField(
        _l("Document reference"),
        validators=[
            DataRequired(_l("Give the reference to the decision document.")),
            Length(max=200),
        ],
    )
    valid_from = DateField(_l("Valid from"), validators=[InputRequired(_l("Give the first day."))])
    valid_to = DateField(_l("Valid to (optional)"), validators=[Optional()])
