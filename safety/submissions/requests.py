"""Amendments and nullifications of what a regulator already holds (API, CLI and web share it).

ICH E2B(R3) C.1.11: an amendment (C.1.11.1 = 2) corrects a transmitted report without new
information, so C.1.5 stays as transmitted; a nullification (C.1.11.1 = 1) withdraws the case
for good. Both need a specific reason (C.1.11.2), which the regulator reads.

An amendment is drafted on the version it corrects and goes out like any other message of that
version: once the version is approved with an electronic signature (the signature binds the
version's messages, so the earlier one no longer matches). A nullification is decided by the
person nullifying (a medical reviewer, with the reason); a nullified case cannot be signed any
more, so a conformant nullification goes straight to the outbox and a non-conformant one never
does. Messages not yet sent when a case is nullified are withdrawn: the regulator never held
them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.audit.store import record
from safety.cases.store import Case, CaseVersion, change_state
from safety.cases.workflow import CaseState, TransitionError, system_change
from safety.config import Settings
from safety.e2b.lifecycle import AMENDED, NULLIFIED, ReportKind
from safety.rules.store import close_for_nullified_case, close_open_obligations
from safety.submissions.drafting import build_message
from safety.submissions.routing import region_for
from safety.submissions.states import TRANSMITTED, UNSENT, SubmissionState
from safety.submissions.store import (
    Submission,
    last_transmitted,
    message_lifecycle,
    new_submission,
    obligation_days,
    rewrite,
    set_state,
)


class LifecycleRequestError(ValueError):
    """A lifecycle request that cannot be done now; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Nullification:
    case_number: str
    state_from: str
    messages: list[Submission]
    withdrawn: list[Submission]


def _reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise LifecycleRequestError(f"C.1.11.2: {what} needs a specific reason", status=422)
    return text


def request_amendment(session: Session, sub: Submission, reason: str | None, actor: str,
                      settings: Settings) -> Submission:
    """Draft an amendment of a transmitted message: the corrected version without new
    information (C.1.5 as transmitted, C.1.11.1 = 2, C.1.11.2 = reason). Asking again before it
    is sent replaces the draft, so there is one amendment per version and regulator."""
    reason = _reason(reason, "an amendment")
    case = session.get_one(Case, sub.case_id)
    session.flush()
    session.refresh(case, with_for_update=True)  # one lifecycle change of a case at a time
    if case.state == CaseState.NULLIFIED:
        raise LifecycleRequestError(
            f"C.1.11.1: case {case.case_number} is nullified; nothing may follow it")
    if sub.state not in TRANSMITTED:
        raise LifecycleRequestError(
            f"submission {sub.id} is {sub.state}: only a message the regulator holds (sent or "
            "acknowledged) can be amended")
    latest = last_transmitted(session, sub.case_id, sub.destination)
    if latest is None or latest.id != sub.id:
        raise LifecycleRequestError(
            f"{sub.destination} holds a later message for case {case.case_number} (batch "
            f"{latest.batch_id if latest else '?'}): amend that one")
    cv = session.get_one(CaseVersion, sub.case_version_id)
    if cv.version != case.current_version:
        raise LifecycleRequestError(
            f"version {cv.version} is not the current version {case.current_version} of case "
            f"{case.case_number}: version {case.current_version} brings new information and "
            f"goes to {sub.destination} as a follow-up")
    pending = [s for s in session.scalars(select(Submission).where(
        Submission.case_version_id == cv.id, Submission.destination == sub.destination,
        Submission.state.in_(UNSENT)))]
    if any(s.state == SubmissionState.READY for s in pending):
        raise LifecycleRequestError(
            f"a message of version {cv.version} for {sub.destination} is approved and waiting "
            "in the outbox; send it first")
    cols = build_message(session, cv, case, region_for(sub.destination),
                         obligation_days(session, sub), settings, previous=sub,
                         kind=ReportKind.AMENDMENT, reason=reason)
    cols["notes"] = [*cols["notes"], f"goes out once version {cv.version} is approved with an "
                     "electronic signature"]
    replaced = next((s for s in pending if message_lifecycle(s)[0] == AMENDED), None)
    if replaced is not None:
        rewrite(session, replaced, cols, actor=actor, reason=reason,
                action="submission.redrafted")
        target = replaced
        changes = [{"field": "C.1.11.2", "from": None, "to": reason}]
    else:
        target = new_submission(session, actor=actor, reason=reason, case_id=case.id,
                                sponsor_id=case.sponsor_id,
                                case_version_id=cv.id, obligation_id=None,
                                destination=sub.destination, due=None, **cols)
        changes = [{"field": "C.1.11.1", "from": None, "to": AMENDED}]
    record(session, actor=actor, action="submission.amendment_drafted", entity=target,
           changes=[*changes, {"field": "amends", "from": None, "to": sub.batch_id}],
           reason=reason)
    return target


def nullify_case(session: Session, case: Case, reason: str | None, actor: str,
                 settings: Settings, *, as_duplicate: bool = False) -> Nullification:
    """Nullify a case and draft its nullification for every regulator that holds it
    (workflow transition ``nullify``, or ``nullify_as_duplicate`` for a confirmed duplicate,
    which may already be closed). Asking again for a nullified case drafts what is missing."""
    reason = _reason(reason, f"nullifying case {case.case_number}")
    session.flush()
    session.refresh(case, with_for_update=True)  # one lifecycle change of a case at a time
    before = case.state
    if before != CaseState.NULLIFIED:
        name = "nullify_as_duplicate" if as_duplicate else "nullify"
        try:
            change = system_change(before, name, reason)
        except TransitionError:
            raise LifecycleRequestError(
                f"case {case.case_number} is {before}: 'Nullify the case' is not possible from "
                "that state (reopen it first)") from None
        change_state(session, case, change, actor=actor)
    # Submissions first (their row locks), then obligations: the order the outbox export takes
    withdrawn, messages = draft_nullifications(session, case, reason, actor, settings)
    close_for_nullified_case(session, case.id, reason, actor)
    return Nullification(case.case_number, before, messages, withdrawn)


def close_as_duplicate(session: Session, dup: Case, master: Case, reason: str,
                       actor: str) -> list[Submission]:
    """A confirmed duplicate that no regulator holds sends nothing: what it says is reported
    under the master (which cites it). Its unsent messages are withdrawn, its open obligations
    closed and the case closed, so nobody approves and sends it later as a case of its own."""
    cause = (f"duplicate of {master.worldwide_case_id} ({master.case_number}), reported under "
             f"that case: {reason}")
    session.flush()
    session.refresh(dup, with_for_update=True)
    withdrawn = _withdraw(session, session.scalars(
        select(Submission).where(Submission.case_id == dup.id, Submission.state.in_(UNSENT))
        .with_for_update().execution_options(populate_existing=True)), actor, cause)
    close_open_obligations(session, dup.id, cause, actor)
    if dup.state not in (CaseState.CLOSED, CaseState.NULLIFIED):
        change_state(session, dup, system_change(dup.state, "close_as_duplicate", cause),
                     actor=actor)
    return withdrawn


def _withdraw(session: Session, subs: Iterable[Submission], actor: str,
              reason: str) -> list[Submission]:
    """Unsent messages that must never go out, kept (state ``withdrawn``) for the record."""
    done = []
    for s in subs:
        set_state(session, s, SubmissionState.WITHDRAWN, actor=actor, reason=reason)
        done.append(s)
    return done


def draft_nullifications(session: Session, case: Case, reason: str, actor: str,
                         settings: Settings) -> tuple[list[Submission], list[Submission]]:
    """For a nullified case: withdraw what was never sent and draft one nullification per
    regulator holding the case, derived from what it holds. Idempotent: a regulator that
    already has a nullification drafted, ready or sent gets no second one."""
    # Locked and read afresh: a message the outbox export is sending is found sent (the
    # regulator holds it), not withdrawn behind the export's back.
    subs = list(session.scalars(select(Submission).where(Submission.case_id == case.id)
                                .order_by(Submission.created_at).with_for_update()
                                .execution_options(populate_existing=True)))
    nullifications = {s.id for s in subs if message_lifecycle(s)[0] == NULLIFIED}
    withdrawn = _withdraw(
        session, [s for s in subs if s.state in UNSENT and s.id not in nullifications], actor,
        f"case nullified before sending: {reason}")
    messages = []
    for dest in sorted({s.destination for s in subs if s.state in TRANSMITTED}):
        done = [s for s in subs if s.id in nullifications and s.destination == dest]
        if any(s.state in (SubmissionState.DRAFT, SubmissionState.READY, *TRANSMITTED)
               for s in done):
            continue
        previous = last_transmitted(session, case.id, dest)
        if previous is None:
            continue
        cv = session.get_one(CaseVersion, previous.case_version_id)
        cols = build_message(session, cv, case, region_for(dest),
                             obligation_days(session, previous), settings, previous=previous,
                             kind=ReportKind.NULLIFICATION, reason=reason)
        retry = next((s for s in done if s.state == SubmissionState.INVALID), None)
        if retry is not None:
            rewrite(session, retry, cols, actor=actor, reason=reason,
                    action="submission.redrafted")
            sub = retry
        else:
            sub = new_submission(session, actor=actor, reason=reason, case_id=case.id,
                                 sponsor_id=case.sponsor_id,
                                 case_version_id=cv.id, obligation_id=None, destination=dest,
                                 due=None, **cols)
        record(session, actor=actor, action="submission.nullification_drafted", entity=sub,
               changes=[{"field": "C.1.11.1", "from": None, "to": NULLIFIED},
                        {"field": "nullifies", "from": None, "to": previous.batch_id}],
               reason=reason)
        if sub.state == SubmissionState.DRAFT:
            set_state(session, sub, SubmissionState.READY, actor=actor,
                      reason=f"nullification decided by {actor}: {reason}")
        messages.append(sub)
    return withdrawn, messages
