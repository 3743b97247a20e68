"""Who works a case now: one assignee per case, every change audited."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from safety.accounts.store import User
from safety.audit.store import record
from safety.cases.store import Case
from safety.db.base import utcnow
from safety.review.store import CaseAssignment


def assignee_of(session: Session, case_id: uuid.UUID) -> User | None:
    row = session.get(CaseAssignment, case_id)
    return row.user if row else None


def assign(session: Session, case: Case, user: User, *, actor: str) -> None:
    row = session.get(CaseAssignment, case.id)
    before = row.user.email if row else None
    if row is not None and row.user_id == user.id:
        return
    if row is None:
        session.add(CaseAssignment(case_id=case.id, user_id=user.id))
    else:
        row.user_id, row.assigned_at = user.id, utcnow()
    record(session, actor=actor, action="case.assigned", entity=case,
           changes=[{"field": "assignee", "from": before, "to": user.email}])
