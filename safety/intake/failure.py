"""What a caller is told about a failed processing attempt: the exception's class and a short
message with nothing of the database in it (no SQL, no bound parameters, no table, column or
constraint names, no row values from a DETAIL line).

The full error stays where operators look: the worker's log (``report.attempt_failed``) and the
report's ``last_error`` column. The report status view shows only :func:`public_reason`.
"""

from __future__ import annotations

import re

MAX_MESSAGE = 200

# SQLAlchemy's and the DB-API's (PEP 249) exception classes: their messages quote the failing
# statement, its parameters and the schema, so only the class is shown.
DATABASE_ERRORS = frozenset({
    "SQLAlchemyError", "DBAPIError", "StatementError", "PendingRollbackError",
    "InvalidRequestError", "NoResultFound", "MultipleResultsFound", "ResourceClosedError",
    "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
})
# What a database's message carries, whatever class wraps it.
_DATABASE_MARKERS = ("[SQL:", "[parameters:", "(psycopg", "(sqlite3", "DETAIL:", "LINE 1:",
                     "sqlalche.me")
_ERROR = re.compile(r"(?P<cls>[A-Za-z_][\w.]*)(?::\s*(?P<message>.*))?", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def public_reason(error: str | None) -> str | None:
    """``"<ExceptionClass>: <first line of its message>"``, at most about 200 characters, or
    a fixed sentence in place of the message of a database error. ``error`` is the text the
    pipeline records (``f"{type(exc).__name__}: {exc}"``)."""
    if error is None:
        return None
    match = _ERROR.fullmatch(error.strip())
    if match is None:
        return "processing failed (the details are in the worker's log)"
    cls = match["cls"].rsplit(".", 1)[-1]
    message = match["message"] or ""
    if cls in DATABASE_ERRORS or any(m in message for m in _DATABASE_MARKERS):
        return f"{cls}: a database error (the details are in the worker's log)"
    first = _CONTROL.sub(" ", message.split("\n", 1)[0]).strip()
    if len(first) > MAX_MESSAGE:
        first = first[:MAX_MESSAGE - 1] + "…"
    return f"{cls}: {first}" if first else cls
