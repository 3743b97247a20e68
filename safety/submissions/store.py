"""Submissions: one E2B message per obligation destination and case version, and its fate.

The only code that changes a submission's state (:func:`set_state`, checked by
``safety.submissions.states.SUBMISSION_STATE``, audited) and the queries the other
submission modules share.

Lifecycle (ICH E2B(R3) C.1.5, C.1.8.1, C.1.11; ``safety.e2b.lifecycle``): a message to a
regulator that already holds a transmission of the case (``sent`` or ``acknowledged``) is
derived from the last one transmitted, as the regulator has it (the stored XML read back): a
follow-up keeps C.1.8.1 and moves C.1.5 on, an amendment keeps C.1.5 and says why in C.1.11.2, a
nullification ends the case. A submission's kind is in its message (C.1.11.1) and its
timeline, so no column records it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from safety.audit.store import record
from safety.cases.model import CaseVersionData
from safety.db.base import Base, JSONDoc, UTCDateTime, UuidKey, enum_type, utcnow
from safety.db.created import CASE, none_yet
from safety.db.tenancy import SponsorOwned
from safety.e2b.lifecycle import AMENDED, NULLIFIED, LifecycleError, ReportKind
from safety.e2b.reader import read_admin, read_batch
from safety.submissions.states import SUBMISSION_STATE, TRANSMITTED, SubmissionState


class Submission(SponsorOwned, Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_state", "state"),
        Index("ix_submissions_batch", "batch_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UuidKey, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_versions.id"))
    obligation_id: Mapped[uuid.UUID | None] = mapped_column(UuidKey)
    destination: Mapped[str] = mapped_column(String(100))  # the regulator, as in obligations
    e2b_destination: Mapped[str | None] = mapped_column(String(40))
    profile: Mapped[str] = mapped_column(String(40))
    due: Mapped[date | None] = mapped_column()
    batch_id: Mapped[str | None] = mapped_column(String(100))
    message_id: Mapped[str | None] = mapped_column(String(100))
    receiver: Mapped[str | None] = mapped_column(String(100))
    xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    findings: Mapped[Any] = mapped_column(JSONDoc, default=list)
    notes: Mapped[Any] = mapped_column(JSONDoc, default=list)
    state: Mapped[SubmissionState] = mapped_column(
        enum_type(SubmissionState, "submission_state", 20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_code: Mapped[str | None] = mapped_column(String(4))
    ack_text: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Stated by the physician who approves the message for sending: whether it carries the
    # complete information (None: not stated). An incomplete initial EU CTR report owes the
    # completed report within 8 days of its filing (Reg. 536/2014 Art. 42(2)).
    complete: Mapped[bool | None] = mapped_column(Boolean)


# The columns a drafted message sets (``safety.submissions.drafting.build_message``).
MESSAGE_COLUMNS = frozenset({"e2b_destination", "profile", "xml", "batch_id", "message_id",
                             "receiver", "findings", "notes"})


def new_submission(session: Session, *, actor: str, reason: str, state: SubmissionState,
                   sponsor_id: int, **columns: Any) -> Submission:
    """A new message in its first state (drafted: ``draft`` or ``invalid``), audited."""
    sub = Submission(state=state, sponsor_id=sponsor_id, **columns)
    session.add(sub)
    session.flush()
    record(session, actor=actor, action="submission.drafted", entity=sub,
           changes=[{"field": "state", "from": None, "to": SubmissionState(state).value}],
           reason=reason)
    return sub


def set_state(session: Session, sub: Submission, to: SubmissionState, *, actor: str,
              reason: str, action: str | None = None) -> None:
    """Move a submission on, with its audit event (``submission.<state>`` unless ``action``
    names the event); a move the state machine does not allow is refused."""
    before = SubmissionState(sub.state)
    SUBMISSION_STATE.check(before, to)
    sub.state = to
    if to is SubmissionState.SENT:
        sub.sent_at = utcnow()
    record(session, actor=actor, action=action or f"submission.{to.value}", entity=sub,
           changes=[{"field": "state", "from": before.value, "to": to.value}], reason=reason)


def discard(session: Session, sub: Submission, *, actor: str, reason: str) -> None:
    """Delete an unsent message that no longer says what the case says (it is drafted again),
    audited: what it was and why it went."""
    state = SubmissionState(sub.state)
    if state not in (SubmissionState.DRAFT, SubmissionState.INVALID):
        raise ValueError(f"a {state.value} message is part of the record: never discarded")
    record(session, actor=actor, action="submission.discarded", entity=sub,
           changes=[{"field": "state", "from": state.value, "to": None}], reason=reason)
    session.delete(sub)


def rewrite(session: Session, sub: Submission, columns: dict[str, Any], *, actor: str,
            reason: str, action: str) -> None:
    """Replace an unsent message by a newly drafted one (the case changed under it): its
    content, then its verdict (``draft`` or ``invalid``) through :func:`set_state`."""
    for name, value in columns.items():
        if name in MESSAGE_COLUMNS:
            setattr(sub, name, value)
    set_state(session, sub, columns["state"], actor=actor, reason=reason, action=action)


def transmitted_case(sub: Submission) -> CaseVersionData:
    """The case as the regulator holds it: the transmitted message read back."""
    if not sub.xml:
        raise LifecycleError(f"C.1.11: submission {sub.id} has no message to derive from")
    return read_batch(sub.xml)[0].case


def last_transmitted(session: Session, case_id: uuid.UUID, destination: str
                     ) -> Submission | None:
    """The last message this regulator holds for the case (sent or acknowledged)."""
    return session.scalar(select(Submission).where(
        Submission.case_id == case_id, Submission.destination == destination,
        Submission.state.in_(TRANSMITTED), Submission.xml.is_not(None))
        .order_by(Submission.sent_at.desc().nulls_last(), Submission.created_at.desc())
        .limit(1))


def last_transmitted_each(session: Session, case_id: uuid.UUID) -> dict[str, Submission]:
    """``last_transmitted`` for every regulator holding the case, in one statement (drafting
    asked once per regulator owed a report)."""
    if none_yet(session, Submission, (CASE, case_id), case_id=case_id):
        return {}
    return {s.destination: s for s in session.scalars(_last_transmitted_each(),
                                                      {"case_id": case_id})}


@cache
def _last_transmitted_each() -> Select[Submission]:
    """Built once: every job of a follow-up version asks (issue 20)."""
    ranked = select(Submission.id, func.row_number().over(
        partition_by=Submission.destination,
        order_by=(Submission.sent_at.desc().nulls_last(), Submission.created_at.desc()),
    ).label("n")).where(
        Submission.case_id == bindparam("case_id"), Submission.state.in_(TRANSMITTED),
        Submission.xml.is_not(None)).subquery()
    return select(Submission).join(ranked, ranked.c.id == Submission.id).where(ranked.c.n == 1)


def message_lifecycle(sub: Submission) -> tuple[str | None, str | None]:
    """C.1.11.1 and C.1.11.2 of a stored message (None, None when it has none)."""
    if not sub.xml:
        return None, None
    admin = read_admin(sub.xml)
    reason = admin.nullification_reason
    return admin.nullification_code, reason if isinstance(reason, str) else None


def report_kind(session: Session, sub: Submission) -> str:
    """initial, follow-up, amendment or nullification, as the regulator will read it."""
    code, _ = message_lifecycle(sub)
    if code == NULLIFIED:
        return ReportKind.NULLIFICATION.value
    if code == AMENDED:
        return ReportKind.AMENDMENT.value
    earlier = session.scalar(select(Submission.id).where(
        Submission.case_id == sub.case_id, Submission.destination == sub.destination,
        Submission.id != sub.id, Submission.state.in_(TRANSMITTED),
        Submission.sent_at.is_not(None),
        Submission.sent_at <= (sub.sent_at or utcnow())).limit(1))
    return (ReportKind.FOLLOW_UP if earlier is not None else ReportKind.INITIAL).value


def obligation_days(session: Session, sub: Submission) -> int | None:
    """The reporting clock of the obligation a submission answered (FDA.C.1.7.1, C.1.7)."""
    from safety.rules.store import ObligationRow

    ob = session.get(ObligationRow, sub.obligation_id) if sub.obligation_id else None
    return ob.days if ob is not None else None
