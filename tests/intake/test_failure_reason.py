"""A failed processing attempt is shown to API callers as a short reason: the exception's class
and a sanitised message, never the SQL text, its parameters or the schema."""

from __future__ import annotations

import uuid

import pytest
from factories.forms import sae_form
from sqlalchemy import select, text

from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.intake.failure import public_reason
from safety.intake.processing import processing_failed

SECRET = "Jane Doe 1961-04-02"


def _sql_error(session) -> str:  # type: ignore[no-untyped-def]
    """A real database error as the pipeline records it (``ClassName: message``)."""
    try:
        with session.begin_nested():
            session.execute(text("SELECT * FROM no_such_table WHERE patient = :p"),
                            {"p": SECRET})
    except Exception as exc:  # noqa: BLE001 - whichever class the database raises
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError("the statement did not fail")


def test_last_error_returned_by_the_api_contains_no_sql_text_or_parameters(
        client, sites, settings):
    token = sites.token()
    accepted = client.post("/api/v1/reports", json=sae_form(), headers=sites.headers(token)).json
    report_id = uuid.UUID(accepted["report_id"])
    with session_scope(settings.effective_database_url) as session:
        error = _sql_error(session)
        assert "[SQL:" in error and SECRET in error  # what used to be returned
        processing_failed(session, report_id, error, final=True)
    rep = client.get(accepted["status_url"], headers=sites.headers(token)).json
    assert rep["status"] == "failed"
    shown = rep["last_error"]
    assert shown.split(":")[0] in ("ProgrammingError", "OperationalError")
    for leak in (SECRET, "SELECT", "no_such_table", "[SQL", "parameters", "psycopg",
                 "sqlite3", "sqlalche.me"):
        assert leak not in shown, shown
    with session_scope(settings.effective_database_url) as session:
        reasons = session.scalars(select(AuditEvent.reason).where(
            AuditEvent.entity_id == str(report_id), AuditEvent.reason.is_not(None))).all()
        assert reasons and not any(SECRET in r or "SELECT" in r for r in reasons)


@pytest.mark.parametrize(("error", "shown"), [
    (None, None),
    ("CodecError: $.study: expected a string", "CodecError: $.study: expected a string"),
    ("KeyError: 'reactions'", "KeyError: 'reactions'"),
    ("RuntimeError", "RuntimeError"),
    ("ValueError: first line\nsecond line with data", "ValueError: first line"),
    ("IntegrityError: (psycopg.errors.NotNullViolation) null value in column \"a\" of "
     "relation \"t\"\nDETAIL:  Failing row contains (x).\n[SQL: INSERT INTO t VALUES (%(p)s)]"
     "\n[parameters: {'p': None}]",
     "IntegrityError: a database error (the details are in the worker's log)"),
    ("UniqueViolation: duplicate key\nDETAIL:  Key (id)=(1) already exists.",
     "UniqueViolation: a database error (the details are in the worker's log)"),
    ("psycopg.OperationalError: connection failed",
     "OperationalError: a database error (the details are in the worker's log)"),
    ("  not an exception line  ", "processing failed (the details are in the worker's log)"),
])
def test_public_reason(error: str | None, shown: str | None) -> None:
    assert public_reason(error) == shown


def test_public_reason_is_short() -> None:
    reason = public_reason("ValueError: " + "x" * 5000)
    assert reason is not None and len(reason) <= len("ValueError: ") + 200
