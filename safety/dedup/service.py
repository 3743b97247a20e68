"""Recording a physician's duplicate decision (API and web share it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from safety.audit import record
from safety.cases.store import current_version, working_data
from safety.db.models import Case
from safety.dedup.decisions import choose_master
from safety.dedup.store import record_decision


@dataclass(frozen=True)
class DuplicateDecision:
    decision: str  # confirm | reject
    master_case_id: str | None
    duplicate_case_id: str | None


def decide_duplicate(session: Session, case: Case, other: Case, decision: str, actor: str,
                     reason: str) -> DuplicateDecision:
    """Confirm (linked under the more complete case) or reject (never offered again); both
    cases get an audit event with the reason."""
    if decision not in ("confirm", "reject"):
        raise ValueError(f"decision must be confirm or reject, not {decision!r}")
    master = None
    if decision == "confirm":
        master = choose_master({str(c.id): working_data(session, current_version(session, c))
                                for c in (case, other)})
    record_decision(session, str(case.id), str(other.id),
                    "confirmed" if master else "rejected", actor, master)
    duplicate = (str(other.id) if master == str(case.id) else str(case.id)) if master else None
    for c, o in ((case, other), (other, case)):
        if master:
            change = {"field": "duplicate_of", "from": None,
                      "to": master if duplicate == str(c.id) else None}
        else:
            change = {"field": "not_duplicate_of", "from": None, "to": o.case_number}
        record(session, actor=actor, action=f"duplicate.{decision}ed", entity=c,
               changes=[change], reason=reason)
    return DuplicateDecision(decision, master, duplicate)
