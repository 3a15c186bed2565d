"""No input makes any route answer 5xx (docs/quality.md R6).

Hypothesis drives every rule of `app.url_map`, as every role of the access table
(tests/web/test_route_access.py: the same scene, the same log-ins), with hostile values
for every query parameter and form field the route reads, and for the ids in its URL.

Nothing about a route is listed here; it is found out. Before fuzzing, every route gets
its valid request from the access table, as every role that may use it, while
`request.args` and `request.form` record each key looked up (WTForms looks up each of its
fields, views call `.get`). A view marked `takes_json` mostly gets JSON bodies. The pages
those requests return are read like a browser reads them: each form's fields, their
defaults and the options offered (radio buttons, checkboxes, selects), by the form's
action. A field's kind (date, time, id, text) comes from its input type or from the
WTForms field of that name. A new route is fuzzed without anyone adding it here; a
route whose URL the fuzzer cannot build fails.

Each example changes a valid request in one of these ways: one field gets a hostile value
of its kind; every field of one kind gets one while the choices get any offered option
(so a year-9999 date meets "Periode" rather than "Enkeltavtale"); everything is random;
or the ids in the URL are hostile. The body may also come as JSON or with a file, with
or without htmx, and may be sent twice. Every request carries a valid CSRF token.

The scene is built once per module and every request runs in a savepoint that is rolled
back. The run is repeatable (derandomised, no example database) and bounded: a fixed number
of examples per route and role (most for the first role that gets past access control, a
few for those refused before the route reads anything), and a time budget after which
the remaining pairs get one example each. Any 5xx, or an exception, fails the test and
prints the request.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import flask
import pytest
import wtforms
from flask import Flask, Request
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter, Rule
from wtforms.fields.core import UnboundField

from app.clock import oslo_today, utcnow
from app.extensions import db as flask_db
from app.web.forms import choice_id
from tests import factories
from tests.conftest import bound_session, forward_to_idp
from tests.support import LoginHelper
from tests.web.test_route_access import ROLES, ROUTES, Scene, _sign_in, build_scene

# Examples per (route, role): the first role that gets past access control, the others
# that do, and those refused before the route reads anything.
EXAMPLES_FIRST = int(os.environ.get("FUZZ_EXAMPLES", "12"))
EXAMPLES_OTHERS = 4
EXAMPLES_REFUSED = 2
# After this many seconds of fuzzing, the remaining pairs get one example each.
BUDGET_SECONDS = float(os.environ.get("FUZZ_BUDGET_SECONDS", "90"))

# Statuses that mean the role never got to the route's own logic.
REFUSED = {302, 403, 404}

# --- recording what a route reads ------------------------------------------------------

_reads: set[tuple[str, str]] | None = None


def _note(where: str, key: object) -> None:
    if _reads is not None and isinstance(key, str):
        _reads.add((where, key))


class _RecordingDict(ImmutableMultiDict):
    """request.args / request.form that remember which keys were looked up."""

    where = "?"

    def __getitem__(self, key):
        _note(self.where, key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        _note(self.where, key)
        return super().get(key, default=default, type=type)

    def getlist(self, key, type=None):  # noqa: A002
        _note(self.where, key)
        return super().getlist(key, type=type)

    def __contains__(self, key):
        _note(self.where, key)
        return super().__contains__(key)


class _Args(_RecordingDict):
    where = "args"


class _Form(_RecordingDict):
    where = "form"


class RecordingRequest(Request):
    @property
    def args(self):
        return _Args(super().args)

    @property
    def form(self):
        return _Form(super().form)


# --- reading forms off the pages ---------------------------------------------------------


@dataclass
class FieldSeen:
    kind: str = "text"
    defaults: list[str] = field(default_factory=list)
    options: set[str] = field(default_factory=set)


class FormReader(HTMLParser):
    """The forms of a page: per (method, action path), its fields as a browser sends them."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: dict[tuple[str, str], dict[str, FieldSeen]] = {}
        self._form: dict[str, FieldSeen] | None = None
        self._select: FieldSeen | None = None
        self._textarea: FieldSeen | None = None

    def _field(self, name: str) -> FieldSeen:
        assert self._form is not None
        return self._form.setdefault(name, FieldSeen())

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urlsplit(a.get("action") or self.page_path).path
            key = ((a.get("method") or "get").upper(), action)
            self._form = self.forms.setdefault(key, {})
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = a.get("type", "text")
            seen = self._field(a["name"])
            if kind in ("date", "time", "number"):
                seen.kind = "int" if kind == "number" else kind
            if kind in ("radio", "checkbox"):
                seen.options.add(a.get("value", "on"))
                if "checked" in a:
                    seen.defaults.append(a.get("value", "on"))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                seen.defaults.append(a.get("value", ""))
        elif tag == "button" and "value" in a:
            seen = self._field(a["name"])
            seen.options.add(a["value"])
            if not seen.defaults:
                seen.defaults.append(a["value"])
        elif tag == "select":
            self._select = self._field(a["name"])
        elif tag == "option" and self._select is not None:
            self._select.options.add(a.get("value", ""))
            if "selected" in a:
                self._select.defaults.append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = self._field(a["name"])
            self._textarea.defaults.append("")

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.defaults[-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            if self._select is not None and not self._select.defaults and self._select.options:
                self._select.defaults.append(sorted(self._select.options)[0])
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def wtforms_kinds() -> dict[str, str]:
    """The kind of each field name in the app's forms (date, time, int), from WTForms."""
    from flask_wtf import FlaskForm

    kinds: dict[str, str] = {}
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        for name in dir(form_class):
            unbound = getattr(form_class, name, None)
            if not isinstance(unbound, UnboundField):
                continue
            field_class = unbound.field_class
            if issubclass(field_class, wtforms.DateField):
                kinds[name] = "date"
            elif issubclass(field_class, wtforms.TimeField):
                kinds[name] = "time"
            elif issubclass(field_class, wtforms.IntegerField) or unbound.kwargs.get("coerce") in (
                int,
                choice_id,
            ):
                kinds.setdefault(name, "int")
    return kinds


# --- values --------------------------------------------------------------------------------


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


HOSTILE = {
    "text": [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\x1b[2J",
        "\x7f",
        "\x85",
        "\r\n",
        "one\nline",
        "\u202eevil\u202c",
        "\u2066isolate\u2069",
        "\u200b",
        "\u200b\u200c\u2060\ufeff",
        "\u00a0\u3000",
        "\u3164",
        "x" * 6000,
        "\u00f8" * 300,
        "\U0001f642" * 40,
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "../../etc/passwd",
        "%00",
        "{}",
        "[]",
        "null",
        "//evil.example/",
        "javascript:alert(1)",
    ],
    "int": [
        "",
        "0",
        "-1",
        "2147483647",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "9223372036854775808",
        "1" * 40,
        "1e309",
        "Infinity",
        "NaN",
        "1.5",
        "0x1f",
        "\u0661\u0662",  # Arabic-Indic digits: int() takes them
        " 7 ",
    ],
    "date": [
        "",
        "0001-01-01",
        "9999-12-31",
        "1899-12-31",
        "2101-01-01",
        "1900-01-01",
        "2100-12-31",
        "2026-02-30",
        "99999-01-01",
        "-0001-01-01",
        "2026-1-1",
        "Infinity",
    ],
    "time": ["", "00:00", "23:59", "24:00", "23:59:60", "25:61", "-1:00", "9:5", "12:00:00.5"],
    "cursor": [
        "Infinity",
        "1e400",
        _cursor("Infinity"),
        _cursor('["2026-01-01T00:00:00+00:00", 1e400]'),
        _cursor('["2026-01-01T00:00:00+00:00", 9223372036854775808]'),
        _cursor('["9999-12-31T23:59:59-14:00", 1]'),
        _cursor('[true, false, "0001-01-01T00:00:00+14:00", 1]'),
        _cursor('[true, true, "2026-01-01T00:00:00+00:00", 1]'),
        _cursor('[false, false, "2026-01-01T00:00:00+00:00", 2147483647]'),
    ],
}
HOSTILE_ANY = sorted({v for values in HOSTILE.values() for v in values})
# The sweep: the extremes of each kind, given to every field of that kind at once.
EXTREMES = {
    "date": ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01", ""],
    "time": ["", "24:00", "00:00", "23:59"],
    "int": ["2147483648", "9223372036854775808", "-1", "0", ""],
    "cursor": HOSTILE["cursor"],
    "text": ["\x00", "\u200b\u3164", "\u202eevil", ""],
}
EXTREME_IDS = ["2147483648", "9223372036854775808", "99999999999999999999", "0", "00001"]
MOST_OPTIONS = 8  # a choice with more options is swept through its first ones only
HOSTILE_IDS = HOSTILE["int"] + ["00001", "4294967296"]
JSON_NON_OBJECTS = ["[]", "[1, 2]", '"text"', "1", "null", "true", "1e999", "NaN", "{", "\x00"]
JSON_DEEP = "[" * 5000 + "]" * 5000

_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=24)
_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_ANY),
    _TEXT,
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


@dataclass
class Target:
    """One (rule, method): the valid request, what the route read, the fields of its form."""

    rule: Rule
    method: str
    path_values: dict[str, str]
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    roles: list[str]
    takes_json: bool  # the view says so (app.web.edge.takes_json)
    reads: set[tuple[str, str]] = field(default_factory=set)
    fields: dict[tuple[str, str], FieldSeen] = field(default_factory=dict)

    def names(self) -> list[tuple[str, str]]:
        """Every (where, name) the route reads or its form sends, but the CSRF token."""
        found = {k for k in self.reads if k[0] in ("args", "form")}
        found |= {("args", k) for k in self.query} | {("form", k) for k in self.form}
        found |= set(self.fields)
        return sorted(k for k in found if k[1] != "csrf_token")

    def valid(self, key: tuple[str, str]) -> list[str] | None:
        where, name = key
        sent = (self.query if where == "args" else self.form).get(name)
        if sent is not None:
            return sent
        seen = self.fields.get(key)
        return list(seen.defaults) if seen and seen.defaults else None


@dataclass
class Fuzzer:
    app: Flask
    client: FlaskClient
    connection: object
    scene: Scene
    sessions: dict[str, dict[str, object]]
    csrf: str
    kinds: dict[str, str]
    targets: dict[tuple[str, str], Target] = field(default_factory=dict)
    pages: dict[tuple[str, str], dict[str, FieldSeen]] = field(default_factory=dict)
    started: float = 0.0
    requests: int = 0

    # -- one request --------------------------------------------------------------------

    def restore(self, role: str) -> None:
        """The role's log-in and CSRF token, as after signing in; nothing else."""
        self.client._cookies.clear()
        with self.client.session_transaction() as flask_session:
            flask_session.clear()
            flask_session.update(self.sessions[role])

    def send(self, role: str, method: str, path: str, **kwargs) -> tuple[int, str]:
        """One request in a savepoint that is rolled back: its status and text."""
        self.restore(role)
        headers = {"X-CSRFToken": self.csrf, **kwargs.pop("headers", {})}
        savepoint = self.connection.begin_nested()
        try:
            response = self.client.open(path, method=method, headers=headers, **kwargs)
            status = response.status_code
            text = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
            response.close()
        finally:
            savepoint.rollback()
        self.requests += 1
        return status, text

    # -- finding out what a route reads ---------------------------------------------------

    def discover(self, rules: list[tuple[Rule, str]]) -> None:
        """Every route's valid request as each role that may use it; GET pages first, so
        the forms they show are known when the routes those forms post to are looked at."""
        global _reads
        ordered = sorted(rules, key=lambda rm: (rm[1] != "GET", rm[0].endpoint))
        for rule, method in ordered:
            target = self._target(rule, method)
            for role in target.roles:
                _reads = set()
                try:
                    path = self.build_path(target, {})
                    status, html = self.send(role, method, path, **self.body(target, {}))
                finally:
                    target.reads |= _reads
                    _reads = None
                if method == "GET" and status == 200 and html:
                    reader = FormReader(urlsplit(path).path)
                    reader.feed(html)
                    for key, fields in reader.forms.items():
                        merged = self.pages.setdefault(key, {})
                        for name, seen in fields.items():
                            into = merged.setdefault(name, FieldSeen(kind=seen.kind))
                            into.options |= seen.options
                            into.defaults = into.defaults or seen.defaults
            self.targets[(rule.endpoint, method)] = target
        for target in self.targets.values():
            action = urlsplit(self.build_path(target, {})).path
            for where, form_method in (("args", "GET"), ("form", "POST")):
                if (target.method == "GET") != (where == "args"):
                    continue
                for name, seen in self.pages.get((form_method, action), {}).items():
                    target.fields[(where, name)] = seen

    def _target(self, rule: Rule, method: str) -> Target:
        baseline = ROUTES.get((rule.endpoint, method))
        if baseline is None:
            if rule.arguments:
                pytest.fail(
                    f"cannot build a URL for {rule.rule} ({rule.endpoint}): give it a valid "
                    "request in tests/web/test_route_access.py ROUTES"
                )
            path, data, roles = rule.rule, None, list(ROLES)
        else:
            path, data = baseline[0](self.scene)
            roles = [r for r in ROLES if baseline[1][r] - REFUSED] or list(ROLES)
        parts = urlsplit(path)
        endpoint, values = self.app.url_map.bind("localhost").match(parts.path, method=method)
        if endpoint != rule.endpoint:
            pytest.fail(f"the valid path {path} does not reach {rule.endpoint}")
        target = Target(
            rule=rule,
            method=method,
            path_values={k: str(v) for k, v in values.items()},
            query=_multi(parse_qsl(parts.query, keep_blank_values=True)),
            form=_multi((k, str(v)) for k, v in (data or {}).items()),
            roles=roles,
            takes_json=getattr(self.app.view_functions[rule.endpoint], "takes_json", False),
        )
        if method != "GET":
            target.form.setdefault("submission_key", ["fuzz-valid-key"])
        return target

    def kind(self, target: Target, key: tuple[str, str]) -> str:
        seen = target.fields.get(key)
        if seen is not None and seen.kind != "text":
            return seen.kind
        name = key[1]
        if name == "after":
            return "cursor"
        if name in self.kinds:
            return self.kinds[name]
        return "int" if name.endswith(("_id", "_ids")) else "text"

    # -- building requests ----------------------------------------------------------------

    def build_path(self, target: Target, values: dict[str, str]) -> str:
        """The rule's URL with the given (possibly hostile) text for its arguments."""
        placeholders = {}
        build_values: dict[str, object] = {}
        for i, (name, converter) in enumerate(target.rule._converters.items()):
            if isinstance(converter, IntegerConverter):
                build_values[name] = 987_650_000 + i
            else:
                build_values[name] = f"fuzzarg{i}"
            placeholders[name] = str(build_values[name])
        built = target.rule.build(build_values, append_unknown=False)
        if built is None:
            pytest.fail(f"cannot build a URL for {target.rule.rule}")
        path = built[1]
        for name, placeholder in placeholders.items():
            text = values.get(name, target.path_values.get(name, ""))
            safe = "/" if target.rule._converters[name].part_isolating is False else ""
            path = path.replace(placeholder, quote(text, safe=safe), 1)
        return path

    def body(self, target: Target, drawn: dict[str, object]) -> dict[str, object]:
        """Keyword arguments for the test client: query string and body."""
        fields = drawn.get("fields")
        if fields is None:
            fields = {k: v for k in target.names() if (v := target.valid(k)) is not None}
        query = MultiDict([(k, v) for (w, k), vs in fields.items() if w == "args" for v in vs])
        kwargs: dict[str, object] = {"query_string": query}
        if target.method == "GET":
            return kwargs
        form = MultiDict([(k, v) for (w, k), vs in fields.items() if w == "form" for v in vs])
        form.add("csrf_token", self.csrf)
        kind = drawn.get("kind", "form")
        if kind == "form":
            kwargs["data"] = form
        elif kind == "file":
            form.add(next(iter(form)), (io.BytesIO(b"\x00binary"), "file.bin"))
            kwargs["data"] = form
            kwargs["content_type"] = "multipart/form-data"
        else:
            kwargs["data"] = drawn["json"]
            kwargs["content_type"] = "application/json"
        return kwargs

    def draw_fields(self, data: st.DataObject, target: Target) -> dict:
        """The request's fields: valid ones with some made hostile (see the module's text)."""
        keys = target.names()
        valid = {k: target.valid(k) for k in keys}
        fields = {k: v for k, v in valid.items() if v is not None}
        if not keys:
            return fields
        mode = data.draw(st.sampled_from(["one", "one", "storm", "storm", "chaos"]), "mode")
        if mode == "one":
            key = data.draw(st.sampled_from(keys), "field")
            fields[key] = [data.draw(st.sampled_from(HOSTILE[self.kind(target, key)]), "value")]
        elif mode == "storm":
            kinds = sorted({self.kind(target, k) for k in keys})
            storm = data.draw(st.sampled_from(kinds), "kind")
            value = data.draw(st.sampled_from(HOSTILE[storm]), "value")
            for key in keys:
                seen = target.fields.get(key)
                if self.kind(target, key) == storm:
                    fields[key] = [value]
                elif seen is not None and seen.options:
                    options = sorted(seen.options)
                    fields[key] = data.draw(
                        st.lists(st.sampled_from(options), min_size=1, max_size=2), repr(key)
                    )
        else:
            for key in keys:
                seen = target.fields.get(key)
                choices = [st.sampled_from(HOSTILE_ANY), _TEXT, st.none()]
                if valid[key] is not None:
                    choices += [st.just(valid[key][0])] * 2
                if seen is not None and seen.options:
                    choices.append(st.sampled_from(sorted(seen.options)))
                values = data.draw(st.lists(st.one_of(choices), min_size=1, max_size=3), repr(key))
                fields[key] = [v for v in values if v is not None]
        return {k: v for k, v in fields.items() if v}

    def sweep(self, target: Target) -> Iterator[tuple[dict[str, str], dict]]:
        """Deterministic requests: each extreme of each kind in every field of that kind at
        once, with each option of each choice in turn (the others valid); then each extreme
        id in the URL."""
        names = target.names()
        valid = {k: v for k in names if (v := target.valid(k)) is not None}
        choices = [
            (key, sorted(seen.options)[:MOST_OPTIONS])
            for key in names
            if (seen := target.fields.get(key)) is not None and len(seen.options) > 1
        ]
        variants = [{}] + [{key: [o]} for key, options in choices for o in options]
        for kind in sorted({self.kind(target, k) for k in names}):
            for value in EXTREMES[kind]:
                stormed = {k: [value] for k in names if self.kind(target, k) == kind}
                for variant in variants:
                    yield {}, {**valid, **variant, **stormed}
        for value in EXTREME_IDS:
            if target.rule.arguments:
                yield {name: value for name in target.rule.arguments}, valid

    def check(self, target, role, path_values, fields, *, headers=None, **body) -> None:
        """One request: it must not fail, nor answer 5xx; else the request is printed."""
        path = self.build_path(target, path_values)
        kwargs = self.body(target, {"fields": fields, **body})
        headers = headers or {}
        described = f"{role} {target.method} {path} {kwargs!r} {headers!r}"
        try:
            status, _ = self.send(role, target.method, path, headers=headers, **kwargs)
        except Exception as error:
            raise AssertionError(f"{described} raised {error!r}") from error
        assert status < 500, f"{described} answered {status}"

    def example(self, data: st.DataObject, target: Target, role: str) -> None:
        path_values = {}
        if target.rule.arguments and data.draw(st.integers(0, 5), "hostile path?") == 0:
            for name, converter in target.rule._converters.items():
                pool = HOSTILE_IDS if isinstance(converter, IntegerConverter) else HOSTILE_ANY
                path_values[name] = data.draw(st.sampled_from(pool), f"path {name}")
        fields = self.draw_fields(data, target)
        body: dict[str, object] = {"kind": "form"}
        if target.method != "GET":
            kinds = ["form"] * 6 + ["file", "json"]
            if target.takes_json:
                kinds = ["form", "file"] + ["json"] * 6
            body["kind"] = data.draw(st.sampled_from(kinds), "body")
            if body["kind"] == "json":
                body["json"] = data.draw(self.json_body(target), "json")
        headers = {}
        if data.draw(st.booleans(), "htmx"):
            headers["HX-Request"] = "true"
        if target.takes_json:
            headers["Accept"] = "application/json"
            headers["Idempotency-Key"] = data.draw(
                st.sampled_from(["", "k", "fuzz-key-00000001", "x" * 100, "\u00f8" * 10]), "key"
            )
        twice = data.draw(st.sampled_from([False, False, False, True]), "twice")
        for _ in range(2 if twice else 1):  # the body is built afresh: a file is read once
            self.check(target, role, path_values, fields, headers=headers, **body)

    def json_body(self, target: Target) -> st.SearchStrategy[str]:
        names = sorted({k for w, k in target.names() if w == "form"} | {"registered_at"})
        now = utcnow().isoformat()
        return st.one_of(
            st.dictionaries(st.sampled_from(names), _JSON_VALUES, max_size=4).map(json.dumps),
            st.fixed_dictionaries(
                {"registered_at": st.sampled_from([now, *HOSTILE["date"], *HOSTILE["text"]])}
            ).map(json.dumps),
            st.sampled_from(
                [*JSON_NON_OBJECTS, JSON_DEEP, f'{{"registered_at": "{now}", "registered_at": []}}']
            ),
        )


def _multi(pairs) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, value in pairs:
        result.setdefault(key, []).append(value)
    return result


# --- the scene, once per module ---------------------------------------------------------


def _rules(app: Flask) -> list[tuple[Rule, str]]:
    pairs = (
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )
    return sorted(pairs, key=lambda rm: (rm[0].endpoint, rm[1]))


@pytest.fixture(scope="module")
def fuzzer(app: Flask) -> Iterator[Fuzzer]:
    original_request_class = app.request_class
    app.request_class = RecordingRequest
    try:
        with bound_session(app) as session, forward_to_idp(app):
            connection = flask_db._app_engines[app][None]
            client = app.test_client()
            world = factories.build_world(session)
            sessions: dict[str, dict[str, object]] = {}
            login = LoginHelper(client, session)
            secret = "fuzz-csrf-secret"
            for role in ROLES:
                with client.session_transaction() as flask_session:
                    flask_session.clear()
                _sign_in(role, session, login, world)
                session.flush()
                with client.session_transaction() as flask_session:
                    sessions[role] = {**flask_session, "csrf_token": secret}
            scene = build_scene(session, world)
            scene.ids["today"] = oslo_today().isoformat()
            with app.test_request_context():
                flask.session["csrf_token"] = secret
                token = generate_csrf()
            fuzzer = Fuzzer(app, client, connection, scene, sessions, token, wtforms_kinds())
            fuzzer.discover(_rules(app))
            fuzzer.started = time.monotonic()
            yield fuzzer
            elapsed = time.monotonic() - fuzzer.started
            print(f"\nfuzz: {fuzzer.requests} requests, {elapsed:.0f} s after discovery")
    finally:
        app.request_class = original_request_class


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every (endpoint, method) of the app's url_map, as every role."""
    if "fuzz_route" not in metafunc.fixturenames:
        return
    from app import create_app
    from tests.databases import make_config

    # The rules depend only on the configuration, not on the database.
    with tempfile.TemporaryDirectory() as tmp:
        probe = create_app(make_config("sqlite://", Path(tmp)))
        routes = [(rule.endpoint, method) for rule, method in _rules(probe)]
    metafunc.parametrize("fuzz_route", routes, ids=[f"{e}-{m}" for e, m in routes])
    if "fuzz_role" in metafunc.fixturenames:
        metafunc.parametrize("fuzz_role", ROLES)


FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
    # No shrinking: the failing request is printed whole, and shrinking would spend the
    # budget of the routes after it.
    phases=(Phase.explicit, Phase.generate),
)


def test_every_extreme_of_every_kind(fuzzer: Fuzzer, fuzz_route: tuple[str, str]):
    """The deterministic sweep (Fuzzer.sweep), as the first role that reaches the route."""
    target = fuzzer.targets[fuzz_route]
    role = target.roles[0]
    for path_values, fields in fuzzer.sweep(target):
        fuzzer.check(target, role, path_values, fields)


def test_no_input_answers_5xx(fuzzer: Fuzzer, fuzz_route: tuple[str, str], fuzz_role: str):
    target = fuzzer.targets.get(fuzz_route)
    assert target is not None, f"{fuzz_route} is not in the url_map of the test app"
    if fuzz_role not in target.roles:
        examples = EXAMPLES_REFUSED
    elif fuzz_role == target.roles[0]:
        examples = EXAMPLES_FIRST
    else:
        examples = EXAMPLES_OTHERS
    if time.monotonic() - fuzzer.started > BUDGET_SECONDS:
        examples = 1

    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(data=st.data())
    def run(data):
        fuzzer.example(data, target, fuzz_role)

    run()


def test_the_fuzzer_reads_the_forms(fuzzer: Fuzzer):
    """The discovery works: fields, kinds and options of a form deep in the app are known."""
    cancel = fuzzer.targets[("citizen.cancel", "POST")]
    assert fuzzer.kind(cancel, ("form", "end_date")) == "date"
    assert fuzzer.kind(cancel, ("form", "end_time")) == "time"
    assert {"single", "period"} <= cancel.fields[("form", "kind")].options
    assert cancel.fields[("form", "service_ids")].options
    queue = fuzzer.targets[("staff.queue", "GET")]
    assert ("args", "after") in queue.names()
    assert fuzzer.targets[("staff.visit_complete", "POST")].takes_json
