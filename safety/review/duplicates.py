"""Recording a physician's duplicate decision (API and web share it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.store import Case, current_version, working_data
from safety.config import Settings
from safety.dedup.decisions import (
    DECIDED,
    SHOWN_AS_ZERO,
    PairDecision,
    confirm,
    offers_confirmation,
)
from safety.dedup.store import (
    DedupCandidate,
    decided_with,
    open_candidates,
    other_case,
    record_decision,
)
from safety.submissions.drafting import redraft
from safety.submissions.requests import close_as_duplicate, nullify_case
from safety.submissions.states import TRANSMITTED, SubmissionState
from safety.submissions.store import Submission


class DuplicateRefused(ValueError):
    """A decision the case page would not offer; names the field and why (a 4xx)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def candidate_between(session: Session, case: Case, other: Case) -> DedupCandidate | None:
    """The undecided candidate pair of ``case`` and ``other`` as a case page lists it: on
    ``case``'s page, or else on ``other``'s (the page of either case may be the one used)."""
    for here, there in ((case, other), (other, case)):
        decided = decided_with(session, here.id, DECIDED)
        for c in open_candidates(session, here.id, decided):
            if other_case(c, here.id) == there.id:
                return c
    return None


def confirmation_refusal(session: Session, case: Case, other: Case) -> str | None:
    """Why "Confirm duplicate" is not offered for this pair (None: it is). The rule is the
    case page's (``safety.dedup.decisions.offers_confirmation``), so the API refuses exactly
    what the page hides."""
    c = candidate_between(session, case, other)
    if c is None:
        return (f"{other.case_number} is not an open duplicate candidate of "
                f"{case.case_number}: only a listed candidate can be confirmed")
    if not offers_confirmation(c.score, c.suspected):
        return (f"the duplicate model gives {other.case_number} a probability of "
                f"{c.score:.2f} (below {SHOWN_AS_ZERO}): it can only be rejected")
    return None


@dataclass(frozen=True)
class DuplicateDecision:
    decision: str  # confirm | reject
    master_case_id: str | None
    duplicate_case_id: str | None
    nullification_ids: tuple[str, ...] = ()  # submissions nullifying a submitted duplicate


def decide_duplicate(session: Session, case: Case, other: Case, decision: str, actor: str,
                     reason: str, settings: Settings) -> DuplicateDecision:
    """Confirm (linked under the more complete case) or reject (never offered again); both
    cases get an audit event with the reason. A confirmation the case page would not offer is
    refused (:class:`DuplicateRefused`) before anything is written. Confirming nullifies a
    duplicate the regulators already hold (one nullification per regulator, C.1.11.2 naming
    the master) and the master's next message cites it (``safety.submissions.store``)."""
    if decision not in ("confirm", "reject"):
        raise ValueError(f"decision must be confirm or reject, not {decision!r}")
    if case.sponsor_id != other.sponsor_id:
        raise ValueError("cases of two sponsors are never duplicates of each other")
    master = None
    to_nullify: tuple[str, ...] = ()
    if decision == "confirm":
        refusal = confirmation_refusal(session, case, other)
        if refusal is not None:
            raise DuplicateRefused("decision", refusal)
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
