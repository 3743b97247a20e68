"""The API's error replies: flask-smorest's ``abort``, declared as never returning.

flask-smorest ships no type information (no ``py.typed``), so to the type checker its ``abort``
is an untyped function that returns, and the code after ``abort(404)`` would be checked as
reachable with the value it was guarding against. Every view aborts through this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from flask_smorest import abort as _smorest_abort


def abort(status: int, message: str | None = None, *,
          errors: Mapping[str, Any] | None = None,
          headers: Mapping[str, str] | None = None) -> NoReturn:
    """Stop the request with ``status`` and a JSON body holding ``message`` and ``errors``
    (the keys flask-smorest's error handler reads); ``headers`` are added to the reply.
    Arguments left out are not passed on, so the body has no null ``message``."""
    given = {"message": message, "errors": errors, "headers": headers}
    _smorest_abort(status, **{k: v for k, v in given.items() if v is not None})
    raise AssertionError("flask_smorest.abort returned")  # pragma: no cover
