"""WTForms' own messages ("Not a valid choice", "This field is required") come from the app's
catalog, in the user's language (app/web/forms.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.i18n import messages_path

from app.web.citizen.forms import ActForForm, ContactForm
from app.web.forms import WTFORMS_MESSAGES, WTFORMS_PLURALS, Form
from app.web.staff.forms import AssignForm, SeriesChangeForm
from tests.support import csrf_token


def app_forms() -> list[type]:
    found, pending = [], list(FlaskForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        if form_class.__module__.startswith("app."):
            found.append(form_class)
    return found


def test_every_form_of_the_app_takes_its_messages_from_the_catalog(app):
    forms = app_forms()
    assert len(forms) > 20
    assert [f.__qualname__ for f in forms if not issubclass(f, Form)] == []


def test_the_marked_messages_are_wtforms_own_words():
    """A WTForms upgrade that rewords a message makes this fail, not a page go English."""
    with (Path(messages_path()) / "wtforms.pot").open("rb") as f:
        wtforms_ids = {m.id for m in read_po(f) if m.id}
    marked = set(WTFORMS_MESSAGES) | set(WTFORMS_PLURALS)
    assert marked - wtforms_ids == set()


SAID = {
    "nb": (
        "Det valget er ikke gyldig. Last inn siden på nytt og prøv igjen.",
        "«XX» er ikke et gyldig valg. Last inn siden på nytt og prøv igjen.",
        "Fyll ut dette feltet.",
        "Feltet kan ha maks 20 tegn.",
    ),
    "nn": (
        "Det valet er ikkje gyldig. Last inn sida på nytt og prøv igjen.",
        "«XX» er ikkje eit gyldig val. Last inn sida på nytt og prøv igjen.",
        "Fyll ut dette feltet.",
        "Feltet kan ha maks 20 teikn.",
    ),
    "en": (
        "That choice is not valid. Reload the page and try again.",
        "“XX” is not a valid choice. Reload the page and try again.",
        "Fill in this field.",
        "This field takes at most 20 characters.",
    ),
}


@pytest.mark.parametrize("lang", SAID)
def test_wtforms_speaks_the_users_language(app, lang):
    invalid_choice, invalid_value, required, too_long = SAID[lang]
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        series = SeriesChangeForm(
            MultiDict({"interval": "7", "weekdays": "XX", "window_start": "08:00"}),
            meta={"csrf": False},
        )
        series.validate()
        assert series.interval.errors == [invalid_choice]
        assert series.weekdays.errors == [invalid_value]
        assign = AssignForm(MultiDict({"assignee_id": "abc"}), meta={"csrf": False})
        assign.assignee_id.choices = [(1, "Siri")]
        assign.validate()
        assert assign.assignee_id.errors == [invalid_choice]
        act_for = ActForForm(MultiDict(), meta={"csrf": False})
        act_for.validate()
        assert act_for.person_id.errors == [required]
        contact = ContactForm(MultiDict({"mobile": "9" * 21}), meta={"csrf": False})
        contact.validate()
        assert contact.mobile.errors == [too_long]


def test_a_refused_form_shows_wtforms_messages_in_nynorsk(client, login, world):
    login.resident(world.resident)
    with client.session_transaction() as flask_session:
        flask_session["lang"] = "nn"
    response = client.post(
        "/profile/contact",
        data={
            "csrf_token": csrf_token(client, "/profile/contact"),
            "mobile": "9" * 21,
            "channel": "brevdue",
            "level": "normal",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Feltet kan ha maks 20 teikn." in html
    assert "Det valet er ikkje gyldig. Last inn sida på nytt og prøv igjen." in html
    assert "Not a valid choice" not in html and "Field cannot be longer" not in html
