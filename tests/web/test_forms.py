"""Form helpers of app/web/forms.py."""

from __future__ import annotations

from wtforms import Form, SelectChoice, SelectField
from wtforms.widgets import Select

from app.web.forms import LongSelect, choice_id, with_prompt


def test_a_long_select_writes_what_wtforms_writes(app):
    choices = with_prompt(
        "Alle beboere",
        [
            SelectChoice(7, 'Kari "K" <Nordmann> & co'),
            SelectChoice(12, "Ola Nordmann"),
            SelectChoice(3, "Åse Ødegård", render_kw={"disabled": True}),
        ],
    )

    class Plain(Form):
        person = SelectField("Beboer", coerce=choice_id, choices=choices, widget=Select())

    class Long(Form):
        person = SelectField("Beboer", coerce=choice_id, choices=choices, widget=LongSelect())

    for chosen in (None, 12, 7):
        plain, long = Plain(data={"person": chosen}), Long(data={"person": chosen})
        assert str(long.person()) == str(plain.person())
        assert str(long.person(class_="wide")) == str(plain.person(class_="wide"))
    html = str(Long(data={"person": 7}).person())
    assert '<option selected value="7">Kari &#34;K&#34; &lt;Nordmann&gt; &amp; co</option>' in html
