"""The audit trail as a test looks at it: events written directly, the owner's tampering,
``safety audit verify`` run in-process, and every status checked against its events."""

from __future__ import annotations

import types
import uuid
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import select, text

from safety.audit.store import AuditEvent, record
from safety.cases.store import Case, CaseVersion
from safety.db.session import get_engine, session_scope
from safety.intake.store import Report
from safety.rules.store import ObligationRow
from safety.submissions.store import Submission

# Every status column (the statuses table of docs/architecture.md) and the audited field.
STATUS_COLUMNS: list[tuple[Any, str]] = [
    (Report, "status"), (Case, "state"), (CaseVersion, "pipeline"), (Submission, "state"),
    (ObligationRow, "status"), (ObligationRow, "alert"),
]
_MISSING = object()


def write_events(url: str, events: list[dict[str, Any]]) -> None:
    """Record each event (``sponsor_id``, ``changes``, ``reason``, ``actor`` ...) through the
    audit store, each in a transaction of its own."""
    for e in events:
        with session_scope(url) as session:
            entity = types.SimpleNamespace(id=e.get("entity_id", uuid.uuid4()),
                                           sponsor_id=e.get("sponsor_id"))
            record(session, actor=e.get("actor", "test"), action=e.get("action", "test.event"),
                   entity=entity, changes=e.get("changes"), reason=e.get("reason"))


def event_ids(url: str) -> list[int]:
    with session_scope(url) as session:
        return list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def as_owner(url: str, sql: str, **params: Any) -> None:
    """What the owner role can do to the audit trail: lift the append-only trigger (it owns
    the table), run ``sql``, put the trigger back."""
    with get_engine(url).begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update"))
        conn.execute(text(sql), params)
        if postgres:
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update"))


def verify(*args: str) -> Result:
    """``safety audit verify`` in-process (the settings come from the test's environment)."""
    from safety.cli import main

    return CliRunner().invoke(main, [*args, "audit", "verify"])


def unaudited_statuses(url: str) -> list[str]:
    """Every status whose row's value is not what its last audited change made it: each
    transition, the system's and the failures included, must have written its event."""
    problems = []
    with session_scope(url) as session:
        last: dict[tuple[str, str, str], Any] = {}
        for etype, eid, changes in session.execute(select(
                AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.changes)
                .order_by(AuditEvent.id)):
            for change in changes or []:
                last[(etype, eid, change.get("field"))] = change.get("to")
        for model, column in STATUS_COLUMNS:
            for row in session.scalars(select(model)):
                value = getattr(row, column)
                value = None if value is None else str(value)
                audited = last.get((model.__tablename__, str(row.id), column), _MISSING)
                if audited is _MISSING and value is None:
                    continue  # never set (an obligation that was never due soon)
                if audited != value:
                    said = "nothing" if audited is _MISSING else repr(audited)
                    problems.append(f"{model.__tablename__} {row.id} {column}={value!r}, "
                                    f"last audited {said}")
    return problems
