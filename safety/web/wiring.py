"""The review workspace's sources, wired to what the pipeline stores.

Coding: terms the autocoder left for review in the latest coded view. Submissions: the drafted
E2B messages of the version (their bytes are bound into the signature; their conformance
errors block approval; approval puts them in the outbox); nullifying a case drafts its
nullifications. Regulators' rejections flag the case.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.store import Case, CaseVersion, latest_view
from safety.cases.workflow import Change
from safety.submissions.store import Submission, approve_for_sending
from safety.web.sources import ReviewSources


def unconfirmed_coding(session: Session, case: Case, version: CaseVersion) -> int | None:
    """Events the autocoder was not sure of. Event codes drive expectedness, the IME list and
    E2B E.i.2.1, so they must be confirmed; drug, indication and history codes are offered
    as suggestions and do not hold the case."""
    view = latest_view(session, version.id)
    if view is None:
        return None
    return sum(1 for p in (view.review or []) if p.startswith("reactions["))


def _messages(session: Session, version: CaseVersion) -> list[Submission]:
    return list(session.scalars(select(Submission).where(
        Submission.case_version_id == version.id, Submission.xml.is_not(None))
        .order_by(Submission.destination)))


def message(session: Session, case: Case, version: CaseVersion) -> bytes | None:
    """The version's messages, bound into the signature. A version that owes no regulator a
    report has none to bind (empty); one whose messages all failed the checker cannot be
    signed (None)."""
    subs = _messages(session, version)
    if subs:
        return b"".join(s.xml or b"" for s in subs)
    owed = session.scalar(select(Submission.id).where(Submission.case_version_id == version.id)
                          .limit(1))
    return None if owed is not None else b""


def conformance_errors(session: Session, case: Case, version: CaseVersion) -> int | None:
    subs = _messages(session, version)
    if not subs:
        return None
    return sum(1 for s in subs for f in (s.findings or []) if f.get("severity") == "error")


def flags(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    out: dict[uuid.UUID, set[str]] = {}
    if not case_ids:
        return out
    wanted = set(case_ids)
    from safety.dedup.store import DedupCandidate

    pairs = session.execute(select(DedupCandidate.case_id, DedupCandidate.candidate_case_id)
                            .where(DedupCandidate.suspected.is_(True))).all()
    for cid in {c for pair in pairs for c in pair} & wanted:
        if open_duplicates(session, session.get(Case, cid), None):  # type: ignore[arg-type]
            out.setdefault(cid, set()).add("suspected_duplicate")
    for cid in session.scalars(select(Submission.case_id).where(
            Submission.state == "rejected").distinct()):
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


def open_duplicates(session: Session, case: Case, version: CaseVersion) -> int | None:
    from safety.dedup.store import decided_with, open_candidates

    decided = decided_with(session, case.id, ("rejected", "confirmed"))
    return len(open_candidates(session, case.id, decided, suspected_only=True))


def on_approved(session: Session, case: Case, version: CaseVersion, actor: str) -> None:
    approve_for_sending(session, version.id, actor)


def on_transition(session: Session, case: Case, change: Change, actor: str) -> None:
    """Nullifying a case tells every regulator holding it (C.1.11.1 = 1 with the reason)."""
    if change.transition == "nullify":
        from safety.pipeline.context import current_settings
        from safety.submissions.requests import draft_nullifications

        draft_nullifications(session, case, change.reason or "", actor, current_settings())


SOURCES = ReviewSources(
    message=message,
    unconfirmed_coding=unconfirmed_coding,
    conformance_errors=conformance_errors,
    open_duplicates=open_duplicates,
    flags=flags,
    on_approved=on_approved,
    on_transition=on_transition,
)
