"""Templates' _() and ngettext(): the user's language, Jinja's newstyle rules (the text is a
format string whose variables are escaped), and a language forced for part of a request."""

from __future__ import annotations

import pytest
from flask import render_template_string
from flask_babel import force_locale


def _render(app, source: str, language: str = "nb", **context) -> str:
    with app.test_request_context("/", headers={"Accept-Language": language}):
        return render_template_string(source, **context)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nb", "Du bruker nå Hjemmedialog på vegne av Kari &lt;b&gt;Hansen&lt;/b&gt;."),
        ("nn", "Du brukar no Hjemmedialog på vegner av Kari &lt;b&gt;Hansen&lt;/b&gt;."),
        ("en", "You are acting on behalf of Kari &lt;b&gt;Hansen&lt;/b&gt;."),
    ],
)
def test_translated_text_escapes_its_variables(app, language, expected):
    source = '{{ _("You are acting on behalf of %(name)s.", name=who) }}'
    assert _render(app, source, language, who="Kari <b>Hansen</b>") == expected


def test_plural_follows_the_number_in_the_users_language(app):
    source = '{{ ngettext("%(num)d working day", "%(num)d working days", n) }}'
    assert _render(app, source, "en", n=1) == "1 working day"
    assert _render(app, source, "en", n=2) == "2 working days"
    assert _render(app, source, "nn", n=2) == "2 vyrkedagar"


def test_text_is_a_format_string_even_without_variables(app):
    # Jinja's newstyle gettext: "%%" is a percent sign, with or without variables.
    assert _render(app, '{{ _("100%% done") }}') == "100% done"


def test_a_forced_language_holds_for_its_part_of_the_request(app):
    source = '{{ _("Back to yourself") }}'
    with app.test_request_context("/", headers={"Accept-Language": "nb"}):
        assert render_template_string(source) == "Tilbake til deg selv"
        with force_locale("en"):
            assert render_template_string(source) == "Back to yourself"
        assert render_template_string(source) == "Tilbake til deg selv"
