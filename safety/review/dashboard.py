"""What the safety lead's dashboard counts: intake volume, queue age, open obligations by due
date and the on-time submission rate, in the organisation's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safety.cases.store import Case, CaseVersion
from safety.cases.workflow import OPEN_STATES
from safety.rules.obligations import OPEN_STATUSES
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


def obligations_by_due(session: Session, today: date) -> list[tuple[str, float]] | None:
    """Open obligations: overdue, then by week due; ``None`` while none are stored."""
    dues = [d for (d,) in session.execute(
        select(ObligationRow.due).where(ObligationRow.status.in_(OPEN_STATUSES)))]
    if not dues:
        return None
    bars: dict[str, float] = {"overdue": 0.0}
    labels = ["this week", "next week", "in 2 weeks", "later"]
    bars.update(dict.fromkeys(labels, 0.0))
    for due in dues:
        if due < today:
            bars["overdue"] += 1
        else:
            weeks = (week_start(due) - week_start(today)).days // 7
            bars[labels[min(weeks, 3)]] += 1
    return list(bars.items())


def on_time_rate(session: Session) -> tuple[int, int] | None:
    """(on time, submitted) over obligations marked submitted; ``None`` while none are."""
    rows = session.execute(select(ObligationRow.due, ObligationRow.submitted_on)
                           .where(ObligationRow.submitted_on.is_not(None))).all()
    if not rows:
        return None
    return sum(1 for due, on in rows if on is not None and on <= due), len(rows)
