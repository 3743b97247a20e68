"""What a job knows without asking the database: the rows its own transaction created
(issue 20).

A report's job makes the case (when it is new) and its version, then runs the stages, and
each stage asks the database for rows that point at them: the case's earlier versions, the
receipts, assessments, filings and reveals its rules replay, its duplicate profile and
candidates, the version's obligations and submissions. For a case or version created in this
very transaction, no other transaction can have written such a row (it cannot see the case
before the commit), so the only ones that exist are those this transaction inserted. Each
table asked about here is written through the session (no Core insert writes them), and
while a job's memo is open every object the session inserts is kept in it (the session's own
identity map holds objects weakly: an inserted row nobody refers to any more leaves it). A
row deleted since (through the session, or by an ORM-enabled ``delete(Model)``, which marks
the objects it matches) no longer counts. About 11 of a new case's 50 statements asked that
question and always heard "none".

Only inside a job's memo (``safety.db.memo``): a creation is remembered there, and so
forgotten at the end of the transaction or of a savepoint (a rolled back savepoint may have
undone it); a session without a memo (a web request, a command) always asks the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from safety.db.memo import memoising, recalled, remember

T = TypeVar("T")

# What can be created: a case, a case version.
CASE = "case"
VERSION = "version"


def mark_created(session: Session, kind: str, row_id: uuid.UUID) -> None:
    """``row_id`` (a ``kind``) was inserted by this transaction."""
    remember(session, ("created", kind, row_id), True)


def created_here(session: Session, kind: str, row_id: uuid.UUID) -> bool:
    """Whether ``row_id`` was inserted by this transaction (known only inside a job's memo)."""
    return recalled(session, ("created", kind, row_id)) is True


def held_rows(session: Session, model: type[T], parent: tuple[str, uuid.UUID],
              **equal: Any) -> list[T] | None:
    """Every row of ``model`` whose attributes equal ``equal`` (one of them naming
    ``parent``), when ``parent`` was created by this transaction: then they are all in the
    session. None when that is not known (ask the database), also when a held row's attribute
    was expired (reading it would be a query)."""
    if not created_here(session, *parent):
        return None
    out: list[T] = []
    for obj in _inserted(session):
        if not isinstance(obj, model) or _gone(obj):
            continue
        state = obj.__dict__
        if any(name not in state for name in equal):
            return None
        if all(state[name] == value for name, value in equal.items()):
            out.append(obj)
    return out


def none_yet(session: Session, model: type[Any], parent: tuple[str, uuid.UUID],
             **equal: Any) -> bool:
    """Whether it is certain without a query that no row of ``model`` matches ``equal``:
    ``parent`` was created by this transaction and the session holds no such row."""
    return held_rows(session, model, parent, **equal) == []


_INSERTED = ("created", "inserted rows")


def _inserted(session: Session) -> Iterator[object]:
    """Every object this transaction inserted, or will at its next flush."""
    yield from recalled(session, _INSERTED) or ()  # type: ignore[misc]
    yield from session.new


def _gone(obj: object) -> bool:
    state = inspect(obj)
    return bool(state.deleted or state.was_deleted or state.detached)


@event.listens_for(Session, "pending_to_persistent")
def _keep_inserted(session: Session, instance: object) -> None:
    if memoising(session):
        kept = recalled(session, _INSERTED)
        if not isinstance(kept, list):
            kept = []
            remember(session, _INSERTED, kept)
        kept.append(instance)
