"""The audit trail: every change to a report or case, attributable and time-stamped.

21 CFR 11.10(e) and EU GMP Annex 11 §9 ask for secure, computer-generated, time-stamped audit
trails that record who changed what, from what to what, and why, without obscuring the previous
value. Rows are append-only (guarded in the ORM and, on PostgreSQL, by a trigger).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow


class AuditEvent(Base):
    """Append-only record of every change: who, when (UTC), what changed from → to, and why."""

    __updatable__ = frozenset()
    __keep_rows__ = True

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_entity", "entity_type", "entity_id"),
        # An event about a case is its sponsor's; events about accounts may belong to none.
        CheckConstraint("case_id IS NULL OR sponsor_id IS NOT NULL", name="case_has_sponsor"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsors.id"), index=True)
    changes: Mapped[Any] = mapped_column(JSONDoc, default=list)
    reason: Mapped[str | None] = mapped_column(Text)


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
) -> AuditEvent:
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
    event = AuditEvent(**audit_values(actor=actor, action=action, entity_type=entity_type,
                                      entity_id="/".join(str(k) for k in key), changes=changes,
                                      reason=reason, case_id=case_id, sponsor_id=sponsor_id))
    session.add(event)
    return event


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
