"""What the safety lead's dashboard counts: intake volume, queue age, open cases by their next
reporting due date and the on-time submission rate, in the organisation's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safety.cases.store import Case, CaseVersion
from safety.cases.workflow import OPEN_STATES
from safety.questions.status import QuestionStatus
from safety.questions.store import Question
from safety.review.store import QueueEntry, apply_pending
from safety.rules.store import ObligationRow

WEEKS = 12
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-2 d", 0, 2), ("3-7 d", 3, 7), ("8-14 d", 8, 14), ("15-30 d", 15, 30), (">30 d", 31, None),
)


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def received_per_week(session: Session, today: date, zone: Any) -> list[tuple[str, float]]:
    """Initial versions by ISO week (Monday) of receipt, in the organisation's zone."""
    first = week_start(today) - timedelta(weeks=WEEKS - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    counts: dict[date, int] = {}
    for (received_at,) in session.execute(
            select(CaseVersion.received_at).where(CaseVersion.version == 1,
                                                  CaseVersion.received_at >= since)):
        week = week_start(received_at.astimezone(zone).date())
        counts[week] = counts.get(week, 0) + 1
    return [((first + timedelta(weeks=i)).strftime("%d %b"),
             float(counts.get(first + timedelta(weeks=i), 0))) for i in range(WEEKS)]


def queue_age(session: Session, today: date, zone: Any) -> list[tuple[str, float]]:
    """Open cases by days since the case was first received."""
    first = (select(CaseVersion.case_id, func.min(CaseVersion.received_at).label("at"))
             .group_by(CaseVersion.case_id).subquery())
    rows = session.execute(
        select(first.c.at).join(Case, Case.id == first.c.case_id)
        .where(Case.state.in_([s.value for s in OPEN_STATES])))
    buckets = dict.fromkeys((b[0] for b in AGE_BUCKETS), 0.0)
    for (at,) in rows:
        age = (today - at.astimezone(zone).date()).days
        for label, low, high in AGE_BUCKETS:
            if age >= low and (high is None or age <= high):
                buckets[label] += 1
                break
    return list(buckets.items())


@dataclass(frozen=True)
class DueBucket:
    """Open cases whose next reporting due date is ``low``..``high`` days from today (``None``:
    unbounded); ``query`` is the queue's filter showing exactly those cases."""

    label: str
    low: int | None
    high: int | None
    count: int = 0

    @property
    def query(self) -> dict[str, Any]:
        if self.high is not None and self.high < 0:
            return {"overdue": "1"}
        out = {} if self.low is None else {"due_from": str(self.low)}
        return out | ({} if self.high is None else {"due_within": str(self.high)})


# Days, not calendar weeks: "due this week" was all zeros on a Sunday (issue 17). The 15-day
# edge is the longest common expedited clock (EU and FDA 15-day reports).
DUE_BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("overdue", None, -1), ("0–2 d", 0, 2), ("3–7 d", 3, 7), ("8–15 d", 8, 15),
    ("> 15 d", 16, None),
)


def cases_by_due(session: Session, today: date) -> list[DueBucket] | None:
    """Open cases by the due date of their earliest open obligation (the date the queue sorts
    by); ``None`` while no open case owes a report."""
    apply_pending(session)
    rows = session.execute(
        select(QueueEntry.next_due, func.count()).where(
            QueueEntry.next_due.is_not(None),
            QueueEntry.case_state.in_([s.value for s in OPEN_STATES]))
        .group_by(QueueEntry.next_due)).all()
    if not rows:
        return None
    counts = dict.fromkeys((label for label, _, _ in DUE_BUCKETS), 0)
    for due, n in rows:
        if due is None:
            continue  # not selected; the type does not know it
        days = (due - today).days
        for label, low, high in DUE_BUCKETS:
            if (low is None or days >= low) and (high is None or days <= high):
                counts[label] += n
                break
    return [DueBucket(label, low, high, counts[label]) for label, low, high in DUE_BUCKETS]


def on_time_rate(session: Session) -> tuple[int, int] | None:
    """(on time, submitted) over obligations marked submitted; ``None`` while none are."""
    rows = session.execute(select(ObligationRow.due, ObligationRow.submitted_on)
                           .where(ObligationRow.submitted_on.is_not(None))).all()
    if not rows:
        return None
    return sum(1 for due, on in rows if on is not None and on <= due), len(rows)


@dataclass(frozen=True)
class QuestionCounts:
    """Questions to sites still waiting for an answer: open cases with one (the queue's
    ``question`` filter lists exactly those) and the overdue ones; questions on held reports
    have no case yet and are counted apart (the questions page lists them)."""

    open_cases: int
    overdue_cases: int
    overdue_on_held_reports: int


def questions_to_sites(session: Session, today: date) -> QuestionCounts:
    apply_pending(session)
    open_states = [s.value for s in OPEN_STATES]

    def cases(*where: Any) -> int:
        asked = select(Question.case_id).where(Question.status == QuestionStatus.OPEN,
                                               Question.case_id.is_not(None), *where)
        return session.scalar(select(func.count()).select_from(QueueEntry).where(
            QueueEntry.case_state.in_(open_states), QueueEntry.case_id.in_(asked))) or 0

    held = session.scalar(select(func.count()).select_from(Question).where(
        Question.status == QuestionStatus.OPEN, Question.case_id.is_(None),
        Question.due < today)) or 0
    return QuestionCounts(open_cases=cases(), overdue_cases=cases(Question.due < today),
                          overdue_on_held_reports=held)
