"""Storing what arrives: one committed row per report before anyone is told "accepted"."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safety.audit import audit_values
from safety.db.base import utcnow
from safety.db.models import AuditEvent, Report

# Built once: statements with bound parameters are compiled once and cached.
_INSERT_REPORT = insert(Report.__table__)
_INSERT_AUDIT = insert(AuditEvent.__table__)


@dataclass(frozen=True)
class StoredReport:
    id: uuid.UUID
    status: str


class IdempotencyConflict(ValueError):
    """The same Idempotency-Key was used before with a different body."""


@dataclass(frozen=True)
class Incoming:
    channel: str
    content_type: str
    raw: bytes
    payload: Any
    sender: str
    sender_case_id: str | None
    site_id: int | None
    idempotency_key: str | None = None


def store_report(session: Session, incoming: Incoming, client_id: int | None,
                 actor: str) -> tuple[StoredReport, bool]:
    """Insert and commit the report with its audit row; return it and whether it is new.

    A retried submission with the same ``Idempotency-Key`` returns the first report. Two
    concurrent retries race on the unique constraint; the loser returns the winner's row.
    Written with two plain INSERTs: this is the hottest write path of the service.
    """
    digest = hashlib.sha256(incoming.raw).hexdigest()
    if incoming.idempotency_key and client_id is not None:
        existing = _by_key(session, client_id, incoming.idempotency_key)
        if existing is not None:
            return _same_or_conflict(existing, digest), False
    report_id = uuid.uuid4()
    try:
        conn = session.connection()
        conn.execute(_INSERT_REPORT, dict(
            id=report_id,
            received_at=utcnow(),
            channel=incoming.channel,
            content_type=incoming.content_type,
            raw=incoming.raw,
            payload=incoming.payload,
            payload_sha256=digest,
            sender=incoming.sender,
            sender_case_id=incoming.sender_case_id,
            site_id=incoming.site_id,
            api_client_id=client_id,
            idempotency_key=incoming.idempotency_key,
            status="received",
            findings=[],
            attempts=0,
        ))
        conn.execute(_INSERT_AUDIT, audit_values(
            actor=actor, action="report.received", entity_type="reports", entity_id=report_id,
            changes=[{"field": "status", "from": None, "to": "received"}]))
        session.commit()
    except IntegrityError:
        session.rollback()
        if incoming.idempotency_key and client_id is not None:
            existing = _by_key(session, client_id, incoming.idempotency_key)
            if existing is not None:
                return _same_or_conflict(existing, digest), False
        raise
    return StoredReport(report_id, "received"), True


def _by_key(session: Session, client_id: int, key: str) -> Any:
    return session.execute(
        select(Report.id, Report.status, Report.payload_sha256)
        .where(Report.api_client_id == client_id, Report.idempotency_key == key)
    ).one_or_none()


def _same_or_conflict(existing: Any, digest: str) -> StoredReport:
    if existing.payload_sha256 != digest:
        raise IdempotencyConflict(
            "Idempotency-Key was already used for a different submission"
        )
    return StoredReport(existing.id, existing.status)
