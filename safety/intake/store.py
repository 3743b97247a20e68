"""Storing what arrives: one committed row per report before anyone is told "accepted"."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safety.audit import record
from safety.db.base import utcnow
from safety.db.models import Report


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
                 actor: str) -> tuple[Report, bool]:
    """Insert and commit the report; return it and whether it is new.

    A retried submission with the same ``Idempotency-Key`` returns the first report. Two
    concurrent retries race on the unique constraint; the loser returns the winner's row.
    """
    digest = hashlib.sha256(incoming.raw).hexdigest()
    if incoming.idempotency_key and client_id is not None:
        existing = _by_key(session, client_id, incoming.idempotency_key)
        if existing is not None:
            return _same_or_conflict(existing, digest), False
    report = Report(
        id=uuid.uuid4(),
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
    )
    session.add(report)
    try:
        record(session, actor=actor, action="report.received", entity=report,
               changes=[{"field": "status", "from": None, "to": "received"}])
        session.commit()
    except IntegrityError:
        session.rollback()
        if incoming.idempotency_key and client_id is not None:
            existing = _by_key(session, client_id, incoming.idempotency_key)
            if existing is not None:
                return _same_or_conflict(existing, digest), False
        raise
    return report, True


def _by_key(session: Session, client_id: int, key: str) -> Report | None:
    return session.execute(
        select(Report).where(Report.api_client_id == client_id, Report.idempotency_key == key)
    ).scalar_one_or_none()


def _same_or_conflict(existing: Report, digest: str) -> Report:
    if existing.payload_sha256 != digest:
        raise IdempotencyConflict(
            "Idempotency-Key was already used for a different submission"
        )
    return existing
