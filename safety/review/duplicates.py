"""Recording a physician's duplicate decision (API and web share it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.store import Case, current_version, working_data
from safety.config import Settings
from safety.dedup.decisions import PairDecision, confirm
from safety.dedup.store import record_decision
from safety.submissions.drafting import redraft
from safety.submissions.requests import close_as_duplicate, nullify_case
from safety.submissions.states import TRANSMITTED, SubmissionState
from safety.submissions.store import Submission


@dataclass(frozen=True)
class DuplicateDecision:
    decision: str  # confirm | reject
    master_case_id: str | None
    duplicate_case_id: str | None
    nullification_ids: tuple[str, ...] = ()  # submissions nullifying a submitted duplicate


def decide_duplicate(session: Session, case: Case, other: Case, decision: str, actor: str,
                     reason: str, settings: Settings) -> DuplicateDecision:
    """Confirm (linked under the more complete case) or reject (never offered again); both
    cases get an audit event with the reason. Confirming nullifies a duplicate the regulators
    already hold (one nullification per regulator, C.1.11.2 naming the master) and the
    master's next message cites it (``safety.submissions.store``)."""
    if decision not in ("confirm", "reject"):
        raise ValueError(f"decision must be confirm or reject, not {decision!r}")
    if case.sponsor_id != other.sponsor_id:
        raise ValueError("cases of two sponsors are never duplicates of each other")
    master = None
    to_nullify: tuple[str, ...] = ()
    if decision == "confirm":
        submitted = set(map(str, session.scalars(select(Submission.case_id).where(
            Submission.case_id.in_((case.id, other.id)),
            # "ready" too: approved and in the outbox, it would otherwise still be sent
            Submission.state.in_((*TRANSMITTED, SubmissionState.READY))).distinct())))
        in_receipt_order = sorted((case, other), key=lambda c: (c.created_at, c.case_number))
        confirmation = confirm({str(c.id): working_data(session, current_version(session, c))
                                for c in in_receipt_order}, submitted)
        master, to_nullify = confirmation.master, confirmation.nullify
    record_decision(session, str(case.id), str(other.id),
                    PairDecision.CONFIRMED if master else PairDecision.REJECTED, actor,
                    case.sponsor_id, master)
    duplicate = (str(other.id) if master == str(case.id) else str(case.id)) if master else None
    for c, o in ((case, other), (other, case)):
        # Each side names the other by its case number: the duplicate "duplicate_of" its
        # master, the master "master_of" its duplicate (issue 17: the master's row read
        # "duplicate_of: ∅ → ∅", the duplicate's a bare id).
        if not master:
            change = {"field": "not_duplicate_of", "from": None, "to": o.case_number}
        elif duplicate == str(c.id):
            change = {"field": "duplicate_of", "from": None, "to": o.case_number}
        else:
            change = {"field": "master_of", "from": None, "to": o.case_number}
        record(session, actor=actor, action=f"duplicate.{decision}ed", entity=c,
               changes=[change], reason=reason)
    if master is None:
        return DuplicateDecision(decision, None, None)
    master_case = case if master == str(case.id) else other
    nullified: list[str] = []
    for cid in to_nullify:
        dup = case if cid == str(case.id) else other
        done = nullify_case(session, dup, f"duplicate of {master_case.worldwide_case_id} "
                            f"({master_case.case_number}): {reason}", actor, settings,
                            as_duplicate=True)
        nullified += [str(s.id) for s in done.messages]
    dup_case = other if master == str(case.id) else case
    if str(dup_case.id) not in to_nullify:
        close_as_duplicate(session, dup_case, master_case, reason, actor)
    session.flush()
    redraft(session, current_version(session, master_case), settings)  # unsent drafts cite it
    return DuplicateDecision(decision, master, duplicate, tuple(nullified))
