"""What the API accepts before any view runs: JSON that PostgreSQL can store, and query and
path values without NUL characters.

Every ``/api/`` request with a JSON body is parsed once, strictly, before its view (the view
and webargs read the same text again, or Flask's cached parse through ``request.get_json``):

* not JSON, JSON nested deeper than the parser's recursion allows, ``NaN`` or ``Infinity``
  (not JSON, and not storable in ``jsonb``): **400**, with the parser's reason;
* a string or key holding a NUL character or a lone UTF-16 surrogate (``"\\u0000"``,
  ``"\\ud800"``; neither can be stored in PostgreSQL text or ``jsonb``, nor encoded as UTF-8),
  or a character XML 1.0 cannot carry (other control characters, U+FFFE, U+FFFF; an E2B
  message could not be written):
  **422** naming each place (``{"json": {"events": {"0": {"verbatim": [reason]}}}}``), as a
  schema's validation error would.

A query parameter or a text path parameter holding such a character (in its value or its
name) is a 422 naming it (``{"query": {"q": [reason]}}``, ``{"path": {"code": [reason]}}``),
by the same test the pages apply to their forms and query strings
(``safety.intake.schemas.bad_fields``): a NUL reached PostgreSQL (a 500), the others reached
searches, filters and exports.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider

from safety.api.errors import abort
from safety.intake.schemas import BAD_CHARACTERS, NOT_TEXT, bad_fields

_BAD_CHARACTERS = BAD_CHARACTERS


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but reading only what RFC 8259 allows (no ``NaN``/``Infinity``), and a
    document nested too deeply for the parser is a ``ValueError`` (as any other bad JSON is,
    so ``request.get_json`` answers 400) rather than a ``RecursionError`` (a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def loads(s: str | bytes, **kwargs: Any) -> Any:
    """:func:`json.loads`, strict: raises ``ValueError`` with the reason for anything that is
    not JSON, including nesting too deep to parse."""
    kwargs.setdefault("parse_constant", _refuse_constant)
    try:
        return json.loads(s, **kwargs)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def text_problems(value: Any) -> dict[str, Any]:
    """Where ``value`` (decoded JSON) holds a string or key that is not storable text, as a
    nested dict of field names and list indexes down to ``[reason]``, like marshmallow's
    errors. Iterative, so any depth the parser produced is walked."""
    problems: dict[str, Any] = {}
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _BAD_CHARACTERS.search(node):
                _put(problems, path, NOT_TEXT)
        elif isinstance(node, dict):
            for key, child in node.items():
                where = (*path, _BAD_CHARACTERS.sub("?", key))
                if _BAD_CHARACTERS.search(key):
                    _put(problems, where, "Field name: " + NOT_TEXT)
                stack.append((child, where))
        elif isinstance(node, list):
            stack.extend((child, (*path, str(i))) for i, child in enumerate(node))
    return problems


def _put(tree: dict[str, Any], path: tuple[str, ...], reason: str) -> None:
    if not path:
        tree.setdefault("_schema", []).append(reason)
        return
    for key in path[:-1]:
        child = tree.setdefault(key, {})
        if not isinstance(child, dict):  # a reason already stands here
            return
        tree = child
    reasons = tree.setdefault(path[-1], [])
    if isinstance(reasons, list):
        reasons.append(reason)


def check_request() -> None:
    """``before_request`` for ``/api/`` paths (see the module's docstring)."""
    if not request.path.startswith("/api/"):
        return
    problems: dict[str, Any] = {}
    for location, given in (("query", request.args.items(multi=True)),
                            ("path", (request.view_args or {}).items())):
        for bad in bad_fields(given):
            reasons = problems.setdefault(location, {}).setdefault(bad.name, [])
            reason = "Field name: " + NOT_TEXT if bad.in_name else NOT_TEXT
            if reason not in reasons:  # a parameter repeated, each value bad
                reasons.append(reason)
    if problems:
        abort(422, errors=problems)
    if not request.is_json:
        return
    data = request.get_data(cache=True)
    if not data:
        return
    try:
        body = loads(data)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too deep, NaN
        abort(400, message=f"Body is not valid JSON: {exc}")
    found = text_problems(body) if may_hold_bad_text(data) else {}
    if found:
        abort(422, errors={"json": found})
    g.json_body = body


def may_hold_bad_text(data: bytes) -> bool:
    """Whether the JSON text ``data`` can decode to a NUL character or a lone surrogate, so
    that its strings must be looked at (the intake's hot path mostly skips the walk). In UTF-8
    JSON only an escape (``\\u0000``, ``\\ud800``) or a UTF-8-encoded surrogate (``ED A0..BF``,
    which Python's JSON reader lets through) can: a raw NUL is refused by the parser. Any
    other encoding (UTF-16, UTF-32: a NUL byte among the first four) is always walked."""
    return (b"\\u" in data or b"\xed" in data or b"\x00" in data[:4]
            or b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data  # U+FFFE, U+FFFF
            or data.startswith((b"\xff\xfe", b"\xfe\xff")))


def json_body() -> Any:
    """The request's JSON body as :func:`check_request` parsed it (parsed here otherwise)."""
    if "json_body" in g:
        return g.json_body
    try:
        return loads(request.get_data(cache=True))
    except ValueError as exc:
        abort(400, message=f"Body is not valid JSON: {exc}")


def init_app(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
    app.before_request(check_request)
