"""The ``questions`` table and the one place a question's status changes (:func:`set_status`),
each change with its audit event in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    bindparam,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.audit.store import record
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, enum_type, utcnow
from safety.db.tenancy import SponsorOwned
from safety.questions.status import QUESTION_STATUS, QuestionSource, QuestionStatus


class Question(SponsorOwned, Base):
    """A question to the site about one SAE (its sender's case id), on a case or, for a
    held report that made none, on the report. Never deleted; the text never changes."""

    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_status_due", "status", "due"),
                      Index("ix_questions_stream", "sponsor_id", "site_id", "sender_case_id"))
    __updatable__ = frozenset({"status", "answer_text", "answered_by", "answered_at",
                               "answer_report_id", "closed_by", "closed_at", "close_reason",
                               "case_id"})
    __keep_rows__ = True

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"))
    sender_case_id: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[QuestionSource] = mapped_column(
        enum_type(QuestionSource, "question_source", 30))
    code: Mapped[str | None] = mapped_column(String(50))  # a finding's code
    text: Mapped[str] = mapped_column(Text)
    fields: Mapped[Any] = mapped_column(JSONDoc, default=list)  # form fields it is about
    asked_by: Mapped[str] = mapped_column(String(200))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due: Mapped[date] = mapped_column(Date)
    status: Mapped[QuestionStatus] = mapped_column(
        enum_type(QuestionStatus, "question_status", 20), default=QuestionStatus.OPEN)
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"))
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(Text)


def add_question(session: Session, *, actor: str, sponsor_id: int, site_id: int | None,
                 case_id: uuid.UUID | None, report_id: uuid.UUID | None,
                 sender_case_id: str | None, source: QuestionSource, text: str,
                 fields: Sequence[str], due: date, code: str | None = None) -> Question:
    """A new open question, audited (``question.asked``)."""
    q = Question(id=uuid.uuid4(), sponsor_id=sponsor_id, site_id=site_id, case_id=case_id,
                 report_id=report_id, sender_case_id=sender_case_id, source=source,
                 code=code, text=text, fields=list(fields), asked_by=actor, asked_at=utcnow(),
                 due=due, status=QuestionStatus.OPEN)
    session.add(q)
    session.flush()
    record(session, actor=actor, action="question.asked", entity=q, case_id=case_id,
           changes=[{"field": "status", "from": None, "to": QuestionStatus.OPEN.value},
                    {"field": "text", "from": None, "to": text},
                    {"field": "due", "from": None, "to": due.isoformat()}])
    return q


def set_status(session: Session, q: Question, to: QuestionStatus, *, actor: str,
               reason: str | None = None, answer_text: str | None = None,
               answer_report_id: uuid.UUID | None = None) -> None:
    """Move a question on (``safety.questions.status``), with who and why, audited."""
    before = QuestionStatus(q.status)
    QUESTION_STATUS.check(before, to)
    changes: list[dict[str, Any]] = [{"field": "status", "from": before.value,
                                      "to": to.value}]
    now = utcnow()
    q.status = to
    if to is QuestionStatus.ANSWERED:
        changes.append({"field": "answer_text", "from": q.answer_text, "to": answer_text})
        changes.append({"field": "answer_report_id",
                        "from": str(q.answer_report_id) if q.answer_report_id else None,
                        "to": str(answer_report_id) if answer_report_id else None})
        q.answer_text, q.answer_report_id = answer_text, answer_report_id
        q.answered_by, q.answered_at = actor, now
    elif to is QuestionStatus.CLOSED:
        q.closed_by, q.closed_at, q.close_reason = actor, now, reason
    record(session, actor=actor, action=f"question.{to.value}", entity=q, case_id=q.case_id,
           changes=changes, reason=reason)


def attach_to_case(session: Session, q: Question, case_id: uuid.UUID, *, actor: str,
                   reason: str) -> None:
    """A question raised on a held report joins the case its SAE became, audited."""
    if q.case_id == case_id:
        return
    before = q.case_id
    q.case_id = case_id
    record(session, actor=actor, action="question.case", entity=q, case_id=case_id,
           changes=[{"field": "case_id", "from": str(before) if before else None,
                     "to": str(case_id)}], reason=reason)


def get_question(session: Session, question_id: uuid.UUID, *,
                 lock: bool = False) -> Question | None:
    stmt = select(Question).where(Question.id == question_id)
    if lock:
        stmt = stmt.with_for_update()
    found: Question | None = session.execute(stmt).scalar_one_or_none()
    return found


def find_questions(session: Session, *, sponsor_ids: frozenset[int] | None,
                   site_id: int | None = None, case_id: uuid.UUID | None = None,
                   sender_case_id: str | None = None,
                   statuses: Sequence[QuestionStatus] = (),
                   due_before: date | None = None, limit: int = 500) -> list[Question]:
    """Questions by due date (the most urgent first), filtered in SQL."""
    stmt = select(Question)
    if sponsor_ids is not None:
        stmt = stmt.where(Question.sponsor_id.in_(sponsor_ids))
    if site_id is not None:
        stmt = stmt.where(Question.site_id == site_id)
    if case_id is not None:
        stmt = stmt.where(Question.case_id == case_id)
    if sender_case_id is not None:
        stmt = stmt.where(Question.sender_case_id == sender_case_id)
    if statuses:
        stmt = stmt.where(Question.status.in_(list(statuses)))
    if due_before is not None:
        stmt = stmt.where(Question.due < due_before)
    return list(session.execute(
        stmt.order_by(Question.due, Question.asked_at).limit(limit)).scalars())


def open_in_stream(session: Session, *, sponsor_id: int, site_id: int | None,
                   sender_case_id: str, source: QuestionSource | None = None) -> list[Question]:
    """The open questions on one SAE of one site (what a later report of it may answer)."""
    stmt = select(Question).where(
        Question.sponsor_id == sponsor_id, Question.sender_case_id == sender_case_id,
        Question.status == QuestionStatus.OPEN)
    stmt = stmt.where(Question.site_id == site_id) if site_id is not None \
        else stmt.where(Question.site_id.is_(None))
    if source is not None:
        stmt = stmt.where(Question.source == source)
    return list(session.execute(stmt.with_for_update()).scalars())


@cache
def _acted_on(of_a_site: bool) -> Select[Question]:
    """``acted_on_by_a_version``'s statement, built once per shape (every report's job runs
    it: building and keying it cost about what running it did, issue 20)."""
    return (select(Question).where(
        Question.sponsor_id == bindparam("sponsor_id"),
        Question.sender_case_id == bindparam("sender_case_id"),
        Question.case_id.is_(None) | ((Question.status == QuestionStatus.OPEN)
                                      & (Question.source == bindparam("answered_by"))),
        Question.site_id == bindparam("site_id") if of_a_site else Question.site_id.is_(None))
        .order_by(Question.asked_at, Question.id).with_for_update())


def acted_on_by_a_version(session: Session, *, sponsor_id: int, site_id: int | None,
                          sender_case_id: str, answered_by: QuestionSource
                          ) -> tuple[list[Question], list[Question]]:
    """The questions on one SAE of one site that a new version of it acts on, in one
    statement (issue 20: it was two, for every report): those not attached to a case yet,
    and the open ones of source ``answered_by`` (a question may be both), locked."""
    found = list(session.execute(_acted_on(site_id is not None), {
        "sponsor_id": sponsor_id, "sender_case_id": sender_case_id, "site_id": site_id,
        "answered_by": answered_by}).scalars())
    return ([q for q in found if q.case_id is None],
            [q for q in found if q.status == QuestionStatus.OPEN and q.source == answered_by])
