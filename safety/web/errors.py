"""Error pages: HTML for people, JSON for the API.

The choice is made by path: a request under ``/api/`` gets the API's own JSON answer (the
handler the API registered for ``HTTPException``, flask-smorest's by default), everything
else a page in the site's style. The path, not the Accept header, because the API's clients
may send any Accept (or none), and a page's address says what it is.

The pages' handlers are registered per status code, which Flask consults before handlers
registered per exception class, so the API may register its class handler before or after
``register_web`` and both keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Flask, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, default_exceptions

from safety.web.security import is_api, login_manager

# What a person can do about each error; otherwise werkzeug's description is shown.
ADVICE = {
    400: "The request could not be used. If you were sending a form, reload its page and "
         "send it again.",
    403: "Your role does not allow this.",
    404: "There is nothing at this address.",
    405: "This address does not take that kind of request.",
    413: "What was sent is larger than this server accepts.",
    429: "Too many requests. Wait a little and try again.",
    503: "The service is unavailable for a moment (its database is restarting). Wait a few "
         "seconds and reload the page.",
    500: "Something went wrong on our side; it has been logged. Try again, and tell your "
         "administrator if it keeps happening.",
}


# The app's handler of unexpected errors (``safety.app``) answers the API's 500s itself and
# hands a page's 500 to the function stored under this key.
PAGE_ERROR_PAGE = "safety.page_error_page"


def register_error_pages(app: Flask) -> None:
    for code in sorted(default_exceptions):
        if code >= 400 and code != 500:
            app.register_error_handler(code, _error_page)
    app.extensions[PAGE_ERROR_PAGE] = _error_page


def _error_page(error: HTTPException) -> ResponseReturnValue:
    if is_api(request.path):
        return _api_answer(error)
    code = error.code or 500
    if code == 503:
        # The database may be what is away: the page is rendered without loading the signed-in
        # account (the template context would load it, and fail again).
        g._login_user = login_manager.anonymous_user()
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    # A 400 says what was wrong with the request (a missing CSRF token, a malformed form); a
    # 403 given with a reason of its own (a blinded study's document) says why.
    own_reason = error.description != type(error).description
    detail = error.description if code == 400 or (code == 403 and own_reason) else None
    page = render_template("web/error.html", code=code, name=error.name,
                           advice=ADVICE.get(code, error.description), detail=detail)
    return page, code, headers


def _api_answer(error: HTTPException) -> ResponseReturnValue:
    """What the API's own handler for this exception class says (werkzeug's default if the
    API registered none)."""
    handlers = current_app.error_handler_spec.get(None, {}).get(None, {})
    for cls in type(error).__mro__:
        handler = handlers.get(cast(Any, cls))
        if handler is not None:
            return cast(Callable[[HTTPException], ResponseReturnValue], handler)(error)
    return error
