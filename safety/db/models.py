"""Core tables: who sends (organisations, sites, API clients), what arrived (reports), what it
became (cases and their immutable versions), and the append-only audit trail.

Feature areas keep their own tables next to their code (``safety/<area>/store.py``); all share
:class:`safety.db.base.Base` so Alembic sees one metadata.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="organisation")


class Site(Base):
    """A clinical site (or a partner) that submits reports; the unit of data scoping."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="sites")


class ApiClient(Base):
    """A bearer token holder. Only the SHA-256 of the token is stored; the token is shown once.

    ``role`` is ``site`` (sees and submits for its own site only) or ``safety`` (the safety
    team's integrations: sees every case).
    """

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="site")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site | None] = relationship()


class Report(Base):
    """A submission exactly as received. Immutable once stored, except its processing status.

    The regulatory clock can start at ``received_at``, so the row is committed before the API
    answers; processing happens later and only fills in the status columns.
    """

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("api_client_id", "idempotency_key"),
        Index("ix_reports_status_received", "status", "received_at"),
        Index("ix_reports_sender_case", "sender", "sender_case_id"),
    )

    IMMUTABLE = frozenset(
        {"channel", "content_type", "raw", "payload", "payload_sha256", "sender",
         "sender_case_id", "site_id", "api_client_id", "received_at", "idempotency_key"}
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    channel: Mapped[str] = mapped_column(String(20))  # site_form | e2b | literature | spontaneous
    content_type: Mapped[str] = mapped_column(String(100))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    payload: Mapped[Any] = mapped_column(JSONDoc)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(200))
    sender_case_id: Mapped[str | None] = mapped_column(String(200))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    status: Mapped[str] = mapped_column(String(20), default="received")
    findings: Mapped[Any] = mapped_column(JSONDoc, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_versions.id", use_alter=True)
    )


class Case(Base):
    """A case: one patient's adverse experience, across all reports that describe it."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("sender", "sender_case_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_number: Mapped[str] = mapped_column(String(40), unique=True)
    worldwide_case_id: Mapped[str] = mapped_column(String(100), unique=True)
    sender: Mapped[str] = mapped_column(String(200))
    sender_case_id: Mapped[str] = mapped_column(String(200))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    state: Mapped[str] = mapped_column(String(30), default="triage")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    serious: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list[CaseVersion]] = relationship(
        back_populates="case", order_by="CaseVersion.version"
    )


class CaseVersion(Base):
    """An immutable snapshot of the case after one initial or follow-up report.

    ``data`` is the JSON form of :class:`safety.cases.model.CaseVersionData`. Worker stages
    (coding, dedup, rules) record their progress in ``stages`` and their results in their own
    tables, so the snapshot itself is never rewritten.
    """

    __tablename__ = "case_versions"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # initial | followup
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"))
    data: Mapped[Any] = mapped_column(JSONDoc)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stages: Mapped[Any] = mapped_column(JSONDoc, default=dict)
    pipeline: Mapped[str] = mapped_column(String(20), default="pending", index=True)

    case: Mapped[Case] = relationship(back_populates="versions")


class AuditEvent(Base):
    """Append-only record of every change: who, when (UTC), what changed from → to, and why."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    changes: Mapped[Any] = mapped_column(JSONDoc, default=list)
    reason: Mapped[str | None] = mapped_column(Text)


class Counter(Base):
    """Named counters for human-readable numbers (case numbers), portable across databases."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class ImmutableRowError(RuntimeError):
    """An attempt to change a row (or a column) that the audit rules make immutable."""


@event.listens_for(Session, "before_flush")
def _guard_immutables(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, AuditEvent | CaseVersion) and session.is_modified(obj):
            changed = _changed_columns(obj)
            if isinstance(obj, CaseVersion):
                changed -= {"stages", "pipeline"}
            if changed:
                raise ImmutableRowError(f"{type(obj).__name__} is immutable: {sorted(changed)}")
        if isinstance(obj, Report):
            changed = _changed_columns(obj) & Report.IMMUTABLE
            if changed:
                raise ImmutableRowError(f"report fields are immutable: {sorted(changed)}")
    for obj in session.deleted:
        if isinstance(obj, AuditEvent | Report | CaseVersion):
            raise ImmutableRowError(f"{type(obj).__name__} rows are never deleted")


def _changed_columns(obj: Any) -> set[str]:
    from sqlalchemy import inspect

    state = inspect(obj)
    return {a.key for a in state.attrs if a.history.has_changes()}
