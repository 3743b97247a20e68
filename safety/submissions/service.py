"""Messages as people and clients read them, and the one-off export of a case for a
regulator (``safety export e2b``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.scope import Scope
from safety.audit.store import record
from safety.cases.store import Case, current_version, stage_done
from safety.cases.workflow import FINAL_STATES, CaseState, Stage
from safety.config import Settings
from safety.submissions.drafting import build_message, redraft
from safety.submissions.routing import REGION_OF
from safety.submissions.states import TRANSMITTED, SubmissionState
from safety.submissions.store import Submission, message_lifecycle, report_kind


def case_submission(session: Session, case_id: uuid.UUID,
                    submission_id: uuid.UUID) -> Submission | None:
    sub = session.get(Submission, submission_id)
    return sub if sub is not None and sub.case_id == case_id else None


def visible_submission(session: Session, submission_id: uuid.UUID,
                       scope: Scope) -> Submission | None:
    """The submission, unless the caller may not see its case (then ``None``: no leak)."""
    sub = session.get(Submission, submission_id)
    if sub is None:
        return None
    case = session.get(Case, sub.case_id)
    return sub if case is not None and scope.can_see(case.sponsor_id, case.site_id) else None


def case_submissions(session: Session, case: Case) -> list[dict[str, Any]]:
    """Every message drafted or sent for the case, newest version first."""
    rows = session.scalars(select(Submission).where(Submission.case_id == case.id)
                           .order_by(Submission.created_at.desc()))
    return [submission_view(session, s) for s in rows]


def all_submissions(session: Session, state: SubmissionState | None) -> list[dict[str, Any]]:
    stmt = select(Submission).order_by(Submission.due)
    if state:
        stmt = stmt.where(Submission.state == state)
    return [submission_view(session, s) for s in session.scalars(stmt)]


class ExportRefused(ValueError):
    pass


def export_for(session: Session, case: Case, region: str, settings: Settings) -> dict[str, Any]:
    """The current version as an E2B(R3) message for a regulator's region, checked for
    conformance (not stored). When the regulator holds an earlier version, it is the follow-up
    of the last one transmitted (C.1.8.1 kept, C.1.5 moved on)."""
    if case.state == CaseState.NULLIFIED:
        raise ExportRefused(
            f"case {case.case_number} is nullified: nothing may follow its nullification "
            "(C.1.11.1 = 1); its messages are in 'safety submissions list'")
    cv = current_version(session, case)
    previous = session.scalar(select(Submission).where(
        Submission.case_id == case.id, Submission.case_version_id != cv.id,
        Submission.state.in_(TRANSMITTED), Submission.xml.is_not(None),
        Submission.destination.in_([k for k, v in REGION_OF.items() if v == region]))
        .order_by(Submission.sent_at.desc().nulls_last()).limit(1))
    return build_message(session, cv, case, region, 15, settings, previous=previous)


def redraft_messages(session: Session, case: Case, actor: str, reason: str,
                     settings: Settings) -> dict[str, Any]:
    """Draft the current version's unsent messages again, on a person's request: after what
    the drafting reads changed outside the case (a gateway configured, the registry's IND
    numbers), which no case event would redraft. Sent messages are never touched; a changed
    draft no longer matches an earlier signature (the signature binds the messages)."""
    if case.state in FINAL_STATES:
        raise ExportRefused(f"case {case.case_number} is {case.state}: its messages are final")
    cv = current_version(session, case)
    if not stage_done(cv, Stage.SUBMISSIONS):
        raise ExportRefused(f"the messages of version {cv.version} are not drafted yet")
    record(session, actor=actor, action="case.messages_redrafted", entity=case,
           changes=[{"field": "messages", "from": None, "to": f"version {cv.version}"}],
           reason=reason)
    return redraft(session, cv, settings)


def submission_json(sub: Submission) -> dict[str, Any]:
    return {
        "id": str(sub.id), "case_id": str(sub.case_id),
        "case_version_id": str(sub.case_version_id),
        "obligation_id": str(sub.obligation_id) if sub.obligation_id else None,
        "destination": sub.destination, "e2b_destination": sub.e2b_destination,
        "profile": sub.profile, "due": sub.due, "batch_id": sub.batch_id,
        "message_id": sub.message_id, "receiver": sub.receiver, "state": sub.state,
        "findings": sub.findings or [], "notes": sub.notes or [],
        "created_at": sub.created_at, "sent_at": sub.sent_at, "acked_at": sub.acked_at,
        "ack_code": sub.ack_code, "ack_text": sub.ack_text, "complete": sub.complete,
    }


def submission_view(session: Session, sub: Submission) -> dict[str, Any]:
    """``submission_json`` with the report kind and, for amendments and nullifications, the
    reason the regulator will read (C.1.11.2)."""
    out = submission_json(sub)
    out["kind"] = report_kind(session, sub)
    out["reason"] = message_lifecycle(sub)[1]
    return out
