"""Drafts of one version's obligations due on the same day are written in one order (due,
destination, regime, rule), whichever way drafting found the obligations: from the job that
wrote them (``safety.db.created``) or a query. Before, ties came in the order PostgreSQL
returned them, and the audit trail's ``submission.drafted`` events with them (issue 20;
``bench/compare_trees.py`` found it)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from safety.audit.store import AuditEvent
from safety.db.session import session_scope
from safety.rules.store import ObligationRow
from safety.submissions.store import Submission


def _drafted(url: str, case_id: str) -> list[tuple[Any, ...]]:
    """(due, destination, regime, rule) of each draft, in the order its event was written."""
    with session_scope(url) as s:
        events = [e.entity_id for e in s.scalars(
            select(AuditEvent).where(AuditEvent.case_id == uuid.UUID(case_id),
                                     AuditEvent.action == "submission.drafted")
            .order_by(AuditEvent.id))]
        rows = s.execute(select(Submission.id, ObligationRow.due, ObligationRow.destination,
                                ObligationRow.regime, ObligationRow.rule_id)
                         .join(ObligationRow, ObligationRow.id == Submission.obligation_id)
                         .where(Submission.case_id == uuid.UUID(case_id))).all()
    by_id = {str(r[0]): tuple(r[1:]) for r in rows}
    return [by_id[e] for e in events]


def test_reports_owed_the_same_day_are_drafted_in_one_order(desk):  # type: ignore[no-untyped-def]
    # A SUSAR of a UK trial under a US IND: the FDA, the EMA and the MHRA owed, 15 days each.
    case_id = desk.report()
    drafted = _drafted(desk.settings.effective_database_url, case_id)
    dues = [d[0] for d in drafted]
    assert len(dues) > len(set(dues)), f"no two drafts due the same day: {drafted}"
    assert drafted == sorted(drafted)
