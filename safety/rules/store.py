"""Persistence of rule results: anchors per case version, obligations, recommendations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.db.base import Base, JSONDoc, UTCDateTime, utcnow
from safety.rules.day0 import Anchor, AnchorKind
from safety.rules.facts import CaseFacts
from safety.rules.obligations import (
    Evaluation,
    Obligation,
    ObligationStatus,
    monitor_status,
)


class CaseAnchorRow(Base):
    """One clock anchor of a case version: the UTC instant, the zone, and the derived date."""

    __tablename__ = "case_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"),
                                                       index=True)
    kind: Mapped[str] = mapped_column(String(30))
    instant: Mapped[datetime | None] = mapped_column(UTCDateTime)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)


class ObligationRow(Base):
    __tablename__ = "obligations"
    __table_args__ = (Index("ix_obligations_status_due", "status", "due"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"),
                                                       index=True)
    version: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(100))
    regime: Mapped[str] = mapped_column(String(50))
    rule_id: Mapped[str] = mapped_column(String(80))
    report_type: Mapped[str] = mapped_column(String(200))
    grp: Mapped[str] = mapped_column("report_group", String(20), default="initial")
    day0: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date, index=True)
    days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    alert: Mapped[str | None] = mapped_column(String(20))  # due_soon | overdue (monitor job)
    citation: Mapped[str] = mapped_column(Text)
    anchor: Mapped[str] = mapped_column(String(30))
    explanation: Mapped[str] = mapped_column(Text)
    basis: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RecommendationRow(Base):
    """Amendment or nullification the rules recommend for an already submitted report."""

    __tablename__ = "obligation_recommendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    destination: Mapped[str] = mapped_column(String(100))
    regime: Mapped[str] = mapped_column(String(50))
    rule_id: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    citation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _to_domain(row: ObligationRow) -> Obligation:
    return Obligation(
        case_id=str(row.case_id), version=row.version, destination=row.destination,
        regime=row.regime, rule_id=row.rule_id, report_type=row.report_type, day0=row.day0,
        due=row.due, days=row.days, status=ObligationStatus(row.status),
        citation=row.citation, anchor=AnchorKind(row.anchor), explanation=row.explanation,
        basis=tuple(row.basis or ()), group=row.grp, submitted_on=row.submitted_on,
    )


def save_anchors(session: Session, case_version_id: uuid.UUID, facts: CaseFacts) -> None:
    a = facts.anchors
    for anchor in (a.first_receipt, a.significant_followup, a.sponsor_determination,
                   a.fatal_lt_awareness):
        if isinstance(anchor, Anchor):
            session.add(CaseAnchorRow(case_version_id=case_version_id, kind=anchor.kind.value,
                                      instant=anchor.instant, zone=anchor.zone, day=anchor.day))


def save_evaluation(
    session: Session, case_id: uuid.UUID, case_version_id: uuid.UUID, facts: CaseFacts,
    ev: Evaluation,
) -> list[ObligationRow]:
    """Store the anchors, obligations and recommendations of one evaluated case version."""
    save_anchors(session, case_version_id, facts)
    rows = []
    for o in ev.obligations:
        row = ObligationRow(
            case_id=case_id, case_version_id=case_version_id, version=ev.version,
            destination=o.destination, regime=o.regime, rule_id=o.rule_id,
            report_type=o.report_type, grp=o.group, day0=o.day0, due=o.due, days=o.days,
            status=o.status.value, citation=o.citation, anchor=o.anchor.value,
            explanation=o.explanation, basis=list(o.basis), submitted_on=o.submitted_on,
        )
        session.add(row)
        rows.append(row)
    for r in ev.recommendations:
        session.add(RecommendationRow(
            case_id=case_id, case_version_id=case_version_id, kind=r.kind.value,
            destination=r.destination, regime=r.regime, rule_id=r.rule_id, reason=r.reason,
            citation=r.citation,
        ))
    return rows


def previous_obligations(session: Session, case_id: uuid.UUID) -> list[Obligation]:
    """Obligations of the latest evaluated version of the case, with their current status."""
    latest = session.scalar(select(ObligationRow.version).where(ObligationRow.case_id == case_id)
                            .order_by(ObligationRow.version.desc()).limit(1))
    if latest is None:
        return []
    rows = session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case_id, ObligationRow.version == latest))
    return [_to_domain(r) for r in rows]


def mark_submitted(session: Session, obligation_id: uuid.UUID, on: date) -> ObligationRow:
    row = session.get(ObligationRow, obligation_id)
    if row is None:
        raise LookupError(f"obligation {obligation_id}: not found")
    row.status, row.submitted_on, row.alert = ObligationStatus.SUBMITTED.value, on, None
    return row


def list_obligations(
    session: Session, due_before: date | None = None, statuses: Sequence[str] | None = None,
    alert: str | None = None,
) -> list[ObligationRow]:
    """For ``GET /api/v1/obligations?due_before=&status=``, ordered by due date."""
    q = select(ObligationRow)
    if due_before is not None:
        q = q.where(ObligationRow.due < due_before)
    if statuses:
        q = q.where(ObligationRow.status.in_(list(statuses)))
    if alert is not None:
        q = q.where(ObligationRow.alert == alert)
    return list(session.scalars(q.order_by(ObligationRow.due, ObligationRow.destination)))


def refresh_alerts(session: Session, today: date, soon_days: int = 3) -> int:
    """Monitor job body: set ``alert`` to due_soon/overdue on open obligations; returns count."""
    changed = 0
    open_states = (ObligationStatus.OPEN.value, ObligationStatus.AWAITING_UNBLINDING.value)
    for row in session.scalars(select(ObligationRow).where(ObligationRow.status.in_(open_states))):
        state = monitor_status(_to_domain(row), today, soon_days)
        alert = state if state in ("due_soon", "overdue") else None
        if row.alert != alert:
            row.alert = alert
            changed += 1
    return changed


def close_for_nullified_case(session: Session, case_id: uuid.UUID, reason: str,
                             actor: str) -> list[ObligationRow]:
    """A nullified case owes no further reports: its open obligations become ``not_required``
    (the nullification messages to regulators that hold it are drafted by submissions), so the
    due-date monitor and the queue stop counting them. Submitted ones are history and stay."""
    return close_open_obligations(session, case_id, f"case nullified ({reason})", actor)


def close_open_obligations(session: Session, case_id: uuid.UUID, cause: str,
                           actor: str) -> list[ObligationRow]:
    """Open obligations of a case that will send nothing more become ``not_required``, with
    ``cause`` in their explanation and audit events."""
    from safety.audit.store import record

    open_states = (ObligationStatus.OPEN.value, ObligationStatus.AWAITING_UNBLINDING.value)
    rows = list(session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case_id, ObligationRow.status.in_(open_states))))
    for row in rows:
        before = row.status
        row.status, row.alert = ObligationStatus.NOT_REQUIRED.value, None
        row.explanation = f"{row.explanation}\nNot required: {cause}."
        record(session, actor=actor, action="obligation.not_required", entity=row,
               case_id=case_id,
               changes=[{"field": "status", "from": before, "to": row.status}],
               reason=cause)
    return rows
