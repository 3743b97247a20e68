"""What the workflow guards may know about a case, read from what the pipeline stored.

Every count is taken only once the stage that produces it has finished for the current
version; before that (or when the stage failed) it is ``None`` and the guards that depend on
it block (``safety.cases.workflow``: fail closed). The E2B messages of a version are bound into
its signature, so their bytes are read here too.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safety.cases.store import Case, CaseVersion, latest_view, stage_done
from safety.cases.workflow import PipelineStatus, ReviewFacts, Stage
from safety.dedup.decisions import DECIDED
from safety.dedup.store import DedupCandidate, decided_with, open_candidates
from safety.review.store import signature_status, signatures
from safety.rules.obligations import OPEN_STATUSES
from safety.rules.store import ObligationRow
from safety.submissions.states import UNSENT, SubmissionState
from safety.submissions.store import Submission

QUEUE_FLAGS: dict[str, str] = {
    "coding_review": "Needs coding review",
    "suspected_duplicate": "Suspected duplicate",
    "rejected_by_regulator": "Rejected by regulator",
}


def review_facts(session: Session, case: Case, current: CaseVersion) -> ReviewFacts:
    signed = None
    message = message_sha256(session, current)
    for sig in reversed(signatures(session, case.id)):
        if signature_status(case, current, sig, message).valid:
            signed = sig.version
            break
    return ReviewFacts(
        state=case.state, current_version=case.current_version, signed_version=signed,
        pipeline=PipelineStatus(current.pipeline), pipeline_detail=pipeline_detail(current),
        reactions=len((current.data or {}).get("reactions") or []),
        unconfirmed_coding=unconfirmed_coding(session, current),
        open_duplicates=open_duplicates(session, case, current),
        conformance_errors=conformance_errors(session, current),
        message_errors=message_errors(session, current),
        open_obligations=open_obligations(session, case, current),
    )


def pipeline_detail(cv: CaseVersion) -> str | None:
    """The stage a version waits for, or the one that failed and why."""
    for stage in Stage:
        entry = (cv.stages or {}).get(stage.value, {})
        if entry.get("status") == PipelineStatus.FAILED:
            return f"stage {stage.value} failed: {entry.get('error') or 'no error recorded'}"
        if entry.get("status") != PipelineStatus.DONE:
            return f"stage {stage.value} pending"
    return None


def unconfirmed_coding(session: Session, version: CaseVersion) -> int | None:
    """Events the autocoder was not sure of. Event codes drive expectedness, the IME list and
    E2B E.i.2.1, so they must be confirmed; drug, indication and history codes are offered
    as suggestions and do not hold the case."""
    view = latest_view(session, version.id)
    if view is None or not stage_done(version, Stage.CODING):
        return None
    return sum(1 for p in (view.review or []) if p.startswith("reactions["))


def open_duplicates(session: Session, case: Case, version: CaseVersion) -> int | None:
    if not stage_done(version, Stage.DEDUP):
        return None
    decided = decided_with(session, case.id, DECIDED)
    return len(open_candidates(session, case.id, decided, suspected_only=True))


def open_obligations(session: Session, case: Case, version: CaseVersion) -> int | None:
    if not stage_done(version, Stage.RULES):
        return None
    return session.execute(
        select(func.count()).select_from(ObligationRow)
        .where(ObligationRow.case_id == case.id, ObligationRow.status.in_(OPEN_STATUSES))
    ).scalar_one()


def _messages(session: Session, version: CaseVersion) -> list[Submission]:
    return list(session.scalars(select(Submission).where(
        Submission.case_version_id == version.id, Submission.xml.is_not(None))
        .order_by(Submission.destination)))


def messages(session: Session, version: CaseVersion) -> bytes | None:
    """The version's messages, bound into the signature. A version that owes no regulator a
    report has none to bind (empty); one whose messages are not drafted yet, or all failed the
    checker, cannot be signed (None)."""
    if not stage_done(version, Stage.SUBMISSIONS):
        return None
    subs = _messages(session, version)
    if subs:
        return b"".join(s.xml or b"" for s in subs)
    owed = session.scalar(select(Submission.id).where(Submission.case_version_id == version.id)
                          .limit(1))
    return None if owed is not None else b""


def message_sha256(session: Session, version: CaseVersion) -> str | None:
    message = messages(session, version)
    return None if message is None else hashlib.sha256(message).hexdigest()


def _unsent(session: Session, version: CaseVersion) -> list[Submission]:
    """The version's messages that approval would send, with or without XML: a message that
    could not even be written (no gateway for its regulator) blocks approval like one that
    fails the checker."""
    return list(session.scalars(select(Submission).where(
        Submission.case_version_id == version.id, Submission.state.in_(UNSENT))
        .order_by(Submission.destination)))


def conformance_errors(session: Session, version: CaseVersion) -> int | None:
    """Error findings of the version's unsent messages (the checker's, the routing's and the
    obligation's: ``safety.submissions.conformity``)."""
    if not stage_done(version, Stage.SUBMISSIONS):
        return None
    return sum(1 for s in _unsent(session, version) for f in (s.findings or [])
               if f.get("severity") == "error")


def message_errors(session: Session, version: CaseVersion) -> tuple[str, ...]:
    """Each error as the signature panel shows it: the regulator, the element, the reason."""
    if not stage_done(version, Stage.SUBMISSIONS):
        return ()
    return tuple(f"{s.destination}: {f.get('element')} {f.get('message')}"
                 for s in _unsent(session, version) for f in (s.findings or [])
                 if f.get("severity") == "error")


def flags(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """Per case, which of :data:`QUEUE_FLAGS` apply (queue filters and badges)."""
    out: dict[uuid.UUID, set[str]] = {}
    if not case_ids:
        return out
    wanted = set(case_ids)
    pairs = session.execute(select(DedupCandidate.case_id, DedupCandidate.candidate_case_id)
                            .where(DedupCandidate.suspected.is_(True))).all()
    for cid in {c for pair in pairs for c in pair} & wanted:
        decided = decided_with(session, cid, DECIDED)
        if open_candidates(session, cid, decided, suspected_only=True):
            out.setdefault(cid, set()).add("suspected_duplicate")
    for cid in session.scalars(select(Submission.case_id).where(
            Submission.state == SubmissionState.REJECTED).distinct()):
        if cid in wanted:
            out.setdefault(cid, set()).add("rejected_by_regulator")
    stmt = select(CaseVersion.case_id, CaseVersion.id).join(
        Case, (Case.id == CaseVersion.case_id) & (Case.current_version == CaseVersion.version))
    if len(case_ids) <= 500:
        stmt = stmt.where(Case.id.in_(case_ids))
    for cid, cv_id in session.execute(stmt):
        if cid in wanted:
            view = latest_view(session, cv_id)
            if view is not None and view.review:
                out.setdefault(cid, set()).add("coding_review")
    return out
