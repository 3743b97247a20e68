"""The audit trail: every change to a report or case, attributable and time-stamped.

21 CFR 11.10(e) and EU GMP Annex 11 §9 ask for secure, computer-generated, time-stamped audit
trails that record who changed what, from what to what, and why, without obscuring the previous
value. Rows are append-only (guarded in the ORM and, on PostgreSQL, by a trigger and by the
application's database role, which may only insert them: README, "Two database roles"), and
chained by hash (``safety.audit.chain``), so that an event changed or removed by someone who
could bypass both is found by ``safety audit verify``.

Sealing (``seq``, ``prev_hash``, ``hash``): on PostgreSQL an event is inserted unsealed and
sealed within seconds, with the others written meanwhile, by :func:`seal_pending` in a short
transaction of its own (the scheduler's sealing job, and ``safety audit verify`` first): a
writer never waits for a chain, so concurrent writers keep committing together (sealing each
event as it commits would queue a sponsor's writers one commit at a time). On SQLite, whose
writers are serialised by the database anyway, this store seals each event as it writes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    cast,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Result
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from safety.audit.chain import Link, StoredLink, canonical_changes, link_hash
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, utcnow


class AuditEvent(Base):
    """Append-only record of every change: who, when (UTC), what changed from → to, and why."""

    __updatable__ = frozenset()
    __keep_rows__ = True
    __set_by_database__ = frozenset({"seq", "prev_hash", "hash"})  # the seal (PostgreSQL)

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_entity", "entity_type", "entity_id"),
        # An event about a case is its sponsor's; events about accounts may belong to none.
        CheckConstraint("case_id IS NULL OR sponsor_id IS NOT NULL", name="case_has_sponsor"),
        # One chain per sponsor and one for the events of no sponsor: a place is taken once.
        Index("uq_audit_events_chain_seq", "sponsor_id", "seq", unique=True,
              postgresql_where=text("sponsor_id IS NOT NULL"),
              sqlite_where=text("sponsor_id IS NOT NULL")),
        Index("uq_audit_events_global_seq", "seq", unique=True,
              postgresql_where=text("sponsor_id IS NULL"),
              sqlite_where=text("sponsor_id IS NULL")),
        # The events awaiting their seal, which the sealer looks for.
        Index("ix_audit_events_unsealed", "id", postgresql_where=text("hash IS NULL"),
              sqlite_where=text("hash IS NULL")),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[uuid.UUID | None] = mapped_column(UuidKey, index=True)
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsors.id"), index=True)
    changes: Mapped[Any] = mapped_column(JSONDoc, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    # The hash chain (safety.audit.chain): set once, when the event is sealed. On PostgreSQL
    # the database sets them (FetchedValue: an INSERT leaves them out, as the application
    # role may not write them; seal_pending).
    seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                            server_default=FetchedValue())
    prev_hash: Mapped[str | None] = mapped_column(String(64), server_default=FetchedValue())
    hash: Mapped[str | None] = mapped_column(String(64), server_default=FetchedValue())


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: Any,
    changes: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    case_id: uuid.UUID | None = None,
    sponsor_id: int | None = None,
) -> None:
    """Add an audit event in the caller's transaction, so it commits with the change itself.
    The event belongs to the entity's sponsor (a sponsor's own events to that sponsor)."""
    entity_type = getattr(entity, "__tablename__", type(entity).__name__)
    if sponsor_id is None:
        sponsor_id = entity.id if entity_type == "sponsors" else getattr(entity, "sponsor_id",
                                                                          None)
    if case_id is None and entity_type == "cases":
        case_id = entity.id
    if case_id is None:
        case_id = getattr(entity, "case_id", None)
    mapped = inspect(entity, raiseerr=False)
    key = mapped.identity if mapped is not None and mapped.identity else (entity.id,)
    values = audit_values(actor=actor, action=action, entity_type=entity_type,
                          entity_id="/".join(str(k) for k in key), changes=changes,
                          reason=reason, case_id=case_id, sponsor_id=sponsor_id)
    if not _sealed_by_database(session.get_bind()):
        values = _sealed(session.execute, values)
    buffered: list[dict[str, Any]] | None = session.info.get(_BUFFER)
    if buffered is not None and not session.in_nested_transaction():
        buffered.append(values)  # written, in this order, just before the commit
        return
    session.add(AuditEvent(**values))


# ``Session.info`` key: the audit rows of this transaction not written yet (``buffer_events``).
_BUFFER = "safety.audit.buffered"


def buffer_events(session: Session) -> None:
    """Until this transaction ends, write its audit events in one statement just before it
    commits (in the order they were recorded), instead of one INSERT at each flush that
    follows an event: a report's stages record five to ten events between their queries
    (issue 20). Only where nothing in the transaction reads the audit trail back (the
    pipeline's stage transaction). They commit with the changes they describe, or are
    dropped with them; an event recorded inside a savepoint is added as before (a rolled
    back savepoint takes it away). PostgreSQL only: SQLite seals each event as it is
    written."""
    if _sealed_by_database(session.get_bind()):
        session.info.setdefault(_BUFFER, [])  # asked again later in the transaction: kept


def _write_buffered(session: Session) -> None:
    buffered: list[dict[str, Any]] | None = session.info.get(_BUFFER)
    if buffered:
        session.execute(_INSERT, list(buffered))
        buffered.clear()


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _write_buffered(session)


@event.listens_for(Session, "after_transaction_end")
def _drop_buffer(session: Session, transaction: Any) -> None:
    """Nothing buffered outlives its transaction (a rollback drops it with the changes)."""
    if transaction.parent is None and _BUFFER in session.info:
        session.info.pop(_BUFFER)


def append(conn: Connection, values: dict[str, Any]) -> None:
    """Insert one audit row given by :func:`audit_values` without the ORM (the intake's hot
    path), sealed like :func:`record`'s."""
    if not _sealed_by_database(conn):
        values = _sealed(conn.execute, values)
    conn.execute(_INSERT, values)


_INSERT = insert(AuditEvent.__table__)


def _sealed_by_database(bind: Any) -> bool:
    return bool(bind.dialect.name == "postgresql")


def _in_chain(sponsor_id: int | None) -> ColumnElement[bool]:
    if sponsor_id is None:
        return AuditEvent.sponsor_id.is_(None)
    return AuditEvent.sponsor_id == sponsor_id


def _sealed(execute: Callable[..., Result[Any]], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with their place in their chain and their hash (SQLite: one writer at a
    time, so the last event read is still the last when this one is written)."""
    last = execute(select(AuditEvent.seq, AuditEvent.hash)
                   .where(_in_chain(values["sponsor_id"]), AuditEvent.seq.is_not(None))
                   .order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq: int = 1 if last is None else int(last.seq) + 1
    prev: str | None = None if last is None else last.hash
    link = Link(seq=seq, prev_hash=prev, at=values["at"], actor=values["actor"],
                action=values["action"], entity_type=values["entity_type"],
                entity_id=values["entity_id"], case_id=values["case_id"],
                sponsor_id=values["sponsor_id"],
                changes_text=canonical_changes(values["changes"]), reason=values["reason"])
    return {**values, "seq": seq, "prev_hash": prev, "hash": link_hash(link)}


def seal_pending(session: Session) -> int:
    """Seal every committed event still unsealed, in its chain (PostgreSQL: the database's
    ``audit_events_seal()``, with the owner's rights; SQLite: nothing is ever pending).
    Returns how many were sealed; the caller commits."""
    if not _sealed_by_database(session.get_bind()):
        return 0
    return int(session.execute(text("SELECT audit_events_seal()")).scalar_one())


def chain_links(session: Session, sponsor_ids: Collection[int] | None = None
                ) -> Iterator[tuple[int | None, StoredLink]]:
    """Every audit event with its chain (its sponsor id, None for no sponsor), chain by chain
    in ``seq`` order (events never sealed last), as the chain walk reads them; streamed, the
    trail may be long. ``sponsor_ids`` given: only those sponsors' chains."""
    postgres = _sealed_by_database(session.get_bind())
    changes = cast(AuditEvent.changes, Text) if postgres else AuditEvent.changes
    query = select(AuditEvent.id, AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash,
                   AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.entity_type,
                   AuditEvent.entity_id, AuditEvent.case_id, AuditEvent.sponsor_id, changes,
                   AuditEvent.reason)
    if sponsor_ids is not None:
        query = query.where(AuditEvent.sponsor_id.in_(list(sponsor_ids)))
    query = query.order_by(func.coalesce(AuditEvent.sponsor_id, 0),
                           AuditEvent.seq.is_(None), AuditEvent.seq, AuditEvent.id)
    for row in session.execute(query.execution_options(yield_per=1000)):
        (id_, seq, prev, hash_, at, actor, action, etype, eid, case_id, sponsor, ch,
         reason) = row
        changes_text = ch if postgres else canonical_changes(ch)
        yield sponsor, StoredLink(id_, Link(
            seq=seq, prev_hash=prev, at=at, actor=actor, action=action, entity_type=etype,
            entity_id=eid, case_id=case_id, sponsor_id=sponsor, changes_text=changes_text,
            reason=reason), hash_)


def audit_values(*, actor: str, action: str, entity_type: str, entity_id: Any,
                 changes: list[dict[str, Any]] | None = None, reason: str | None = None,
                 case_id: uuid.UUID | None = None,
                 sponsor_id: int | None = None) -> dict[str, Any]:
    """The column values of one audit row, for callers that insert without the ORM."""
    return {
        "at": utcnow(), "actor": actor, "action": action, "entity_type": entity_type,
        "entity_id": str(entity_id), "case_id": case_id, "sponsor_id": sponsor_id,
        "changes": _jsonable(changes or []), "reason": reason,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
