"""The edge: what every request must be before a view, a form or the database sees it.

- The path, the query string, the form and JSON strings hold no control characters (C0,
  DEL and C1): a zero byte makes PostgreSQL refuse the statement, and the others have no
  place in what people write. Tab is allowed everywhere; line breaks only in the app's
  multi-line fields (the TextAreaFields of its forms, found by looking at the forms, so a
  new one is covered without a list to keep).
- No files are uploaded, except by a view that says it takes one (`takes_file`): that
  one file field only, and a request at most the view's size limit (plus the form).
- JSON is read only by views that say they take it (`takes_json`): elsewhere a JSON body
  would reach the forms as data of any shape.
- Ids in URLs are `<id:...>` (IdConverter): a number the database cannot hold is 404.
- The size of a request is limited by Flask itself (MAX_CONTENT_LENGTH,
  MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS; see app.config), which answers 413.

The check runs before every other `before_request` function, so before log-in, CSRF and
rate limits, and before any query. A refused request gets 400 (415 for JSON where it is
not taken) with a page in the user's language; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.routing import IntegerConverter, Map
from wtforms.fields.core import UnboundField

from app.models.base import ID_MAX
from app.text import has_control_characters

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTROL_CHARACTERS = _l(
    "What you sent contains characters that cannot be used here, such as control "
    "characters, or a line break in a field that takes one line. Remove them and try again."
)
NO_FILES = _l("Files cannot be sent here.")
UNREADABLE = _l("What you sent could not be read.")

View = TypeVar("View", bound=Callable[..., Any])


class InvalidInput(BadRequest):
    """400 with a message for the user, in their language."""

    def __init__(self, message: object) -> None:
        super().__init__()
        self.message = message


FORM_ALLOWANCE = 64 * 1024  # the other fields of a form that takes a file


def takes_file(field: str, max_bytes: int) -> Callable[[View], View]:
    """Mark a view that takes one file in `field`, of at most `max_bytes` (the view checks
    the file's size and tells; a request much larger is refused with 413 unread)."""

    def mark(view: View) -> View:
        view.takes_file = (field, max_bytes)  # type: ignore[attr-defined]
        return view

    return mark


def takes_json(view: View) -> View:
    """Mark a view that reads a JSON body; other views never get one."""
    view.takes_json = True  # type: ignore[attr-defined]
    return view


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: a database id, 1 to ID_MAX in plain digits; else no match (404)."""

    regex = r"[1-9][0-9]{0,9}"

    def __init__(self, map: Map) -> None:  # noqa: A002 - werkzeug's signature
        super().__init__(map, min=1, max=ID_MAX)


def register_converters(app: Flask) -> None:
    """Call before the blueprints are registered: their rules use the converters."""
    app.url_map.converters["id"] = IdConverter


def init_app(app: Flask) -> None:
    """Register the check first of all; call after the blueprints (their forms) are loaded."""
    app.extensions["multiline_fields"] = multiline_fields()
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)


def multiline_fields() -> frozenset[str]:
    """Names of the multi-line fields (TextAreaField) of every form of the app."""
    from flask_wtf import FlaskForm
    from wtforms import TextAreaField

    names: set[str] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        for name in dir(form_class):
            unbound = getattr(form_class, name, None)
            if isinstance(unbound, UnboundField) and issubclass(unbound.field_class, TextAreaField):
                names.add(unbound.kwargs.get("name") or name)
    return frozenset(names)


def _refuse_controls(text: str, *, allow_line_breaks: bool = False) -> None:
    if has_control_characters(text, allow_line_breaks=allow_line_breaks):
        raise InvalidInput(CONTROL_CHARACTERS)


def check_request() -> None:
    _refuse_controls(request.path)
    for key, value in request.args.items(multi=True):
        _refuse_controls(key)
        _refuse_controls(value)
    if request.method not in BODY_METHODS:
        return
    if request.is_json:
        _check_json()
        return
    upload = getattr(current_app.view_functions.get(request.endpoint or ""), "takes_file", None)
    if upload is not None:
        request.max_content_length = upload[1] + FORM_ALLOWANCE
    if request.files and (upload is None or set(request.files.keys()) != {upload[0]}):
        raise InvalidInput(NO_FILES)
    if upload is not None and len(request.files.getlist(upload[0])) > 1:
        raise InvalidInput(NO_FILES)
    multiline = current_app.extensions["multiline_fields"]
    for key, value in request.form.items(multi=True):
        _refuse_controls(key)
        _refuse_controls(value, allow_line_breaks=key in multiline)


def _check_json() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "takes_json", False):
        raise UnsupportedMediaType()
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON decoder goes
        raise InvalidInput(UNREADABLE) from None
    for key, value in _strings(payload):
        _refuse_controls(key)
        _refuse_controls(value, allow_line_breaks=True)


def _strings(payload: object) -> Iterator[tuple[str, str]]:
    """Every (key, string value) in a decoded JSON document, without recursion."""
    pending: list[tuple[str, object]] = [("", payload)]
    while pending:
        key, value = pending.pop()
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, dict):
            for inner_key, inner in value.items():
                pending.append((inner_key, inner))
                yield inner_key, ""
        elif isinstance(value, list):
            pending.extend((key, inner) for inner in value)
