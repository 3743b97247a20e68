"""Obligations as people and clients read them: a case's current obligations with their
recommendations, and the due-date list across the cases a caller may see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safety.accounts.scope import Scope
from safety.cases.store import Case
from safety.rules.obligations import ObligationAlert, ObligationStatus
from safety.rules.store import ObligationRow, RecommendationRow


def obligation_json(row: ObligationRow, case_number: str | None = None) -> dict[str, Any]:
    return {
        "id": str(row.id), "case_id": str(row.case_id), "case_number": case_number,
        "version": row.version, "destination": row.destination, "regime": row.regime,
        "rule": row.rule_id, "report_type": row.report_type, "day0": row.day0, "due": row.due,
        "days": row.days, "status": row.status, "alert": row.alert, "citation": row.citation,
        "anchor": row.anchor, "explanation": row.explanation, "basis": row.basis or [],
        "submitted_on": row.submitted_on, "complete": row.complete,
    }


def latest_obligations(session: Session, case_id: uuid.UUID) -> list[ObligationRow]:
    """The obligations of the case's latest evaluated version (older ones are history)."""
    latest = session.scalar(select(ObligationRow.version).where(ObligationRow.case_id == case_id)
                            .order_by(ObligationRow.version.desc()).limit(1))
    if latest is None:
        return []
    return list(session.scalars(select(ObligationRow).where(
        ObligationRow.case_id == case_id, ObligationRow.version == latest)
        .order_by(ObligationRow.due, ObligationRow.destination)))


def case_obligations(session: Session, case: Case) -> dict[str, Any]:
    rows = latest_obligations(session, case.id)
    recs = session.scalars(select(RecommendationRow).where(
        RecommendationRow.case_id == case.id)).all()
    return {
        "case_id": str(case.id),
        "obligations": [obligation_json(r, case.case_number) for r in rows],
        "recommendations": [
            {"kind": r.kind, "destination": r.destination, "regime": r.regime,
             "rule": r.rule_id, "reason": r.reason, "citation": r.citation} for r in recs],
    }


def due_list(session: Session, scope: Scope, *, due_before: date | None = None,
             statuses: Sequence[ObligationStatus] = (),
             alert: ObligationAlert | None = None) -> list[dict[str, Any]]:
    """Obligations across the cases the caller may see, ordered by due date; only each
    case's current evaluation (older versions' rows are history)."""
    stmt = select(ObligationRow, Case.case_number).join(Case, Case.id == ObligationRow.case_id)
    if scope.sponsor_ids is not None:
        stmt = stmt.where(Case.sponsor_id.in_(scope.sponsor_ids))
    if not scope.all_sites:
        stmt = stmt.where(Case.site_id == scope.site_id)
    if due_before:
        stmt = stmt.where(ObligationRow.due < due_before)
    if statuses:
        stmt = stmt.where(ObligationRow.status.in_(list(statuses)))
    if alert:
        stmt = stmt.where(ObligationRow.alert == alert)
    rows = session.execute(stmt.order_by(ObligationRow.due, ObligationRow.destination)).all()
    current = _current_versions(session, {r[0].case_id for r in rows})
    return [obligation_json(r, n) for r, n in rows if current.get(r.case_id) == r.version]


def _current_versions(session: Session, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not case_ids:
        return {}
    return {cid: v for cid, v in session.execute(
        select(ObligationRow.case_id, func.max(ObligationRow.version))
        .where(ObligationRow.case_id.in_(case_ids)).group_by(ObligationRow.case_id)).all()}
