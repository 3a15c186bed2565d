from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.services.fullmakt import ASSESSMENT_MAX, DOCUMENT_MAX
from app.web.forms import DateField, Form


class AssignedFullmaktForm(Form):
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
            Length(max=DOCUMENT_MAX, message=_l("The document reference is too long.")),
        ],
        render_kw={"maxlength": DOCUMENT_MAX},
    )
    lacks_consent_competence = BooleanField(
        _l("The person has been assessed to lack consent competence"),
        validators=[
            DataRequired(
                _l(
                    "Confirm that the person has been assessed to lack consent competence. "
                    "Without that assessment the municipality cannot register a fullmakt "
                    "for them."
                )
            )
        ],
    )
    assessment = TextAreaField(
        _l("Who assessed it, and on what basis"),
        validators=[
            DataRequired(_l("Say who assessed the consent competence, and on what basis.")),
            Length(max=ASSESSMENT_MAX, message=_l("The assessment is too long.")),
        ],
        render_kw={"maxlength": ASSESSMENT_MAX, "rows": 3},
    )
    valid_from = DateField(_l("Valid from"), validators=[InputRequired(_l("Give the first day."))])
    valid_to = DateField(_l("Valid to (optional)"), validators=[Optional()])
