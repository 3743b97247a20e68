"""Questions to sites, the use cases: the team asks on a case, the site answers (text and/or a
follow-up report), the team closes or asks again; a held report's missing minimum criteria
become questions of the same kind. Each call works in the caller's transaction; every change
is audited by the store."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from safety.accounts.scope import Scope
from safety.questions.status import (
    CRITERION_FIELDS,
    QuestionError,
    QuestionSource,
    QuestionStatus,
)
from safety.questions.store import (
    Question,
    acted_on_by_a_version,
    add_question,
    attach_to_case,
    find_questions,
    get_question,
    open_in_stream,
    set_status,
)

TEXT_LIMIT = 4000
# A form field a question may point at: a section and its key, list items by index
# (``events.0.verbatim``), as the portal form names them.
FIELD_NAME = re.compile(r"^[a-z_]+(\.(\d{1,3}|[a-z_]+)){0,3}$")


class CaseLike(Protocol):
    """What a question needs of the case it is asked on."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def sponsor_id(self) -> int: ...
    @property
    def site_id(self) -> int | None: ...
    @property
    def sender_case_id(self) -> str: ...


@dataclass(frozen=True)
class HeldReport:
    """What a question needs of a held report (``intake`` hands it over)."""

    id: uuid.UUID
    sponsor_id: int
    site_id: int | None
    sender_case_id: str | None


def _text(value: str | None, field: str, *, required: bool = True) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise QuestionError(field, "is required")
        return None
    if len(text) > TEXT_LIMIT:
        raise QuestionError(field, f"is {len(text)} characters long; at most {TEXT_LIMIT}")
    if "\x00" in text:
        raise QuestionError(field, "must not contain NUL characters")
    return text


def parse_fields(raw: str | Sequence[str] | None) -> list[str]:
    """Field names given as a list or comma/space-separated text, each checked."""
    if raw is None:
        return []
    names = re.split(r"[\s,]+", raw) if isinstance(raw, str) else list(raw)
    out = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        if not FIELD_NAME.match(name) or len(name) > 100:
            raise QuestionError("fields", f"{name!r} is not a form field name "
                                          "(e.g. subject.birth_date, events.0.onset_date)")
        if name not in out:
            out.append(name)
    return out


def ask(session: Session, case: CaseLike, *, actor: str, text: str | None,
        fields: str | Sequence[str] | None, due: date | None, today: date,
        default_days: int) -> Question:
    """The team asks the site of ``case`` a question; due on ``due`` (a calendar date, not in
    the past) or ``default_days`` from today."""
    body = _text(text, "text")
    assert body is not None
    names = parse_fields(fields)
    if case.site_id is None:
        raise QuestionError("case", "this case did not come from a site; ask its sender "
                                    "through its own channel")
    if due is None:
        due = today + timedelta(days=default_days)
    elif due < today:
        raise QuestionError("due", f"{due.isoformat()} is in the past")
    return add_question(session, actor=actor, sponsor_id=case.sponsor_id, site_id=case.site_id,
                        case_id=case.id, report_id=None, sender_case_id=case.sender_case_id,
                        source=QuestionSource.TEAM, text=body, fields=names, due=due)


def answer(session: Session, q: Question, *, actor: str, text: str | None,
           report_id: uuid.UUID | None = None) -> None:
    """The site answers an open question with text, a follow-up report, or both."""
    body = _text(text, "answer", required=report_id is None)
    if q.status != QuestionStatus.OPEN:
        raise QuestionError("question", f"is {q.status}, not open: it cannot be answered")
    set_status(session, q, QuestionStatus.ANSWERED, actor=actor, answer_text=body,
               answer_report_id=report_id)


def close(session: Session, q: Question, *, actor: str, reason: str | None) -> None:
    """The team accepts an answer, or withdraws an open question (a reason is required then:
    the site was asked something and is told it no longer needs to answer)."""
    why = _text(reason, "reason", required=q.status == QuestionStatus.OPEN)
    if q.status == QuestionStatus.CLOSED:
        raise QuestionError("question", "is already closed")
    set_status(session, q, QuestionStatus.CLOSED, actor=actor, reason=why)


def reopen(session: Session, q: Question, *, actor: str, reason: str | None) -> None:
    """The answer is not enough: the question is open again, with why (the site sees it)."""
    why = _text(reason, "reason")
    if q.status != QuestionStatus.ANSWERED:
        raise QuestionError("question", f"is {q.status}; only an answered question reopens")
    set_status(session, q, QuestionStatus.OPEN, actor=actor, reason=why)


def visible_question(session: Session, question_id: uuid.UUID, scope: Scope, *,
                     lock: bool = False) -> Question | None:
    """The question, or None when ``scope`` may not see it (as if it did not exist)."""
    q = get_question(session, question_id, lock=lock)
    if q is None or not scope.can_see(q.sponsor_id, q.site_id):
        return None
    return q


def questions_for(session: Session, scope: Scope, *, case_id: uuid.UUID | None = None,
                  sender_case_id: str | None = None,
                  statuses: Sequence[QuestionStatus] = (), overdue_on: date | None = None,
                  limit: int = 500) -> list[Question]:
    """What ``scope`` may see, most urgent first; ``overdue_on``: only open questions due
    before that day."""
    if overdue_on is not None:
        statuses = (QuestionStatus.OPEN,)
    return find_questions(session, sponsor_ids=scope.sponsor_ids, site_id=scope.site_id,
                          case_id=case_id, sender_case_id=sender_case_id, statuses=statuses,
                          due_before=overdue_on, limit=limit)


def is_overdue(q: Question, today: date) -> bool:
    return q.status == QuestionStatus.OPEN and q.due < today


def raise_findings(session: Session, report: HeldReport, findings: Sequence[dict[str, str]],
                   *, actor: str, today: date, days: int) -> list[Question]:
    """A held report's missing minimum criteria as questions to its sender (one per
    finding), unless the same criterion is already asked on the same SAE."""
    asked = {q.code for q in open_in_stream(
        session, sponsor_id=report.sponsor_id, site_id=report.site_id,
        sender_case_id=report.sender_case_id or "", source=QuestionSource.MINIMUM_CRITERIA)} \
        if report.sender_case_id else set()
    out = []
    for f in findings:
        code = f.get("code", "")
        if code not in CRITERION_FIELDS or code in asked:
            continue
        out.append(add_question(
            session, actor=actor, sponsor_id=report.sponsor_id, site_id=report.site_id,
            case_id=None, report_id=report.id, sender_case_id=report.sender_case_id,
            source=QuestionSource.MINIMUM_CRITERIA, code=code,
            text=f"Missing {f.get('criterion', code)}: {f.get('message', '')} Please send a "
                 f"follow-up with it.",
            fields=CRITERION_FIELDS[code], due=today + timedelta(days=days)))
    return out


def version_made(session: Session, *, sponsor_id: int, site_id: int | None,
                 sender_case_id: str, case_id: uuid.UUID, report_id: uuid.UUID,
                 actor: str) -> None:
    """A report of the SAE became a version of ``case_id``: questions raised on its held
    reports join the case, and its open minimum-criteria questions are answered by that
    report (it meets the criteria, or it would have been held)."""
    why = f"report {report_id} made a version of the case"
    unattached, answered = acted_on_by_a_version(
        session, sponsor_id=sponsor_id, site_id=site_id, sender_case_id=sender_case_id,
        answered_by=QuestionSource.MINIMUM_CRITERIA)
    for q in unattached:
        attach_to_case(session, q, case_id, actor=actor, reason=why)
    for q in answered:
        set_status(session, q, QuestionStatus.ANSWERED, actor=actor,
                   answer_text=None, answer_report_id=report_id, reason=why)


def question_dict(q: Question, today: date) -> dict[str, Any]:
    """A question as the API shows it."""
    return {
        "id": str(q.id), "case_id": str(q.case_id) if q.case_id else None,
        "report_id": str(q.report_id) if q.report_id else None,
        "sae_id": q.sender_case_id, "source": q.source, "code": q.code, "text": q.text,
        "fields": list(q.fields or []), "asked_by": q.asked_by, "asked_at": q.asked_at,
        "due": q.due, "overdue": is_overdue(q, today), "status": q.status,
        "answer_text": q.answer_text, "answered_by": q.answered_by,
        "answered_at": q.answered_at,
        "answer_report_id": str(q.answer_report_id) if q.answer_report_id else None,
        "closed_by": q.closed_by, "closed_at": q.closed_at, "close_reason": q.close_reason,
    }
