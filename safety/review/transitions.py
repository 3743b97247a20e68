"""A person moves a case through the workflow (everything but the signature).

The transition is planned against the facts the pipeline stored (``safety.review.facts``),
applied by the case's state owner, and followed by what it entails: nullifying a case tells
every regulator holding it (C.1.11.1 = 1 with the reason).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from safety.accounts.grants import role_for
from safety.accounts.store import User
from safety.cases.store import Case, change_state, current_version
from safety.cases.workflow import Change, TransitionError, plan
from safety.config import Settings
from safety.review.facts import review_facts
from safety.submissions.requests import draft_nullifications


def move(session: Session, case: Case, user: User, name: str, reason: str | None,
         settings: Settings) -> Change:
    """Make transition ``name`` (``case`` locked by the caller); raises ``TransitionError``
    with the reason it may not happen."""
    role = role_for(session, user, case.sponsor_id)
    if role is None:
        raise TransitionError(f"you do not work for the sponsor of case {case.case_number}")
    facts = review_facts(session, case, current_version(session, case))
    change = plan(facts, role, name, reason)
    change_state(session, case, change, actor=user.actor)
    if change.transition == "nullify":
        draft_nullifications(session, case, change.reason or "", user.actor, settings)
    return change
