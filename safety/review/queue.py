"""The review queue: which case to work next, and why it is where it is; and the reports that
never became a case version (held, rejected, failed), which a team must see too.

Default order: the earliest open reporting obligation due date first (what a regulator will
hold us to); cases without one follow, serious before non-serious, oldest receipt first. Due
dates are the open obligations' (``safety.rules.store``); no due date is ever invented: a case
without an open obligation shows none.

Everything — filters, search, sort and paging — runs in SQL over the queue's index
(``safety.review.store.QueueEntry``: one row per case, kept up to date as the case changes),
so a page costs the same with 400 open cases or 100,000 (``bench/web_queue.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from safety.accounts.store import Site, User
from safety.cases.store import Case
from safety.db.tenancy import sponsors_of
from safety.intake.status import ReportStatus
from safety.intake.store import Report
from safety.questions.status import QuestionStatus
from safety.questions.store import Question
from safety.review import queue_index
from safety.review.store import (
    CaseAssignment,
    QueueCount,
    QueueEntry,
    QueueTerm,
    apply_pending,
    hand_off,
    pending_counts,
    refresh_entries,
    take_over,
)
from safety.sponsors.store import Sponsor

PER_PAGE = 50
MAX_PER_PAGE = 200

# What the search box looks in. Ids match from their start (``SD-2026-00`` finds every case
# numbered so); an event term matches anywhere in the reported or coded term. "Everything"
# looks for an id first and for an event term when no case has that id.
SEARCH_FIELDS: dict[str, str] = {
    "any": "everything",
    "case_number": "case number",
    "sender_case_id": "sender's case id",
    "subject": "subject id",
    "event": "event term",
}

# Questions to the site (``safety.questions``): cases with one still open, or open past its
# due date (the site has not answered in time: chase it).
QUESTION_FILTERS: dict[str, str] = {
    "open": "Open question to the site",
    "overdue": "Overdue question to the site",
}

E = QueueEntry
# Sortable columns: key -> (label, columns in ascending order). The case number breaks ties,
# so paging never shows a row twice or skips one.
SORTS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "urgency": ("Urgency", (E.next_due, E.urgent, E.first_received_at, E.case_number)),
    "case": ("Case", (E.case_number,)),
    "due": ("Due", (E.next_due, E.case_number)),
    "received": ("Received", (E.first_received_at, E.case_number)),
    "state": ("State", (E.case_state, E.next_due, E.case_number)),
    "serious": ("Serious", (E.urgent, E.next_due, E.case_number)),
}


@dataclass(frozen=True)
class QueueFilters:
    states: tuple[str, ...] = ()
    product: str | None = None
    study: str | None = None
    serious: bool | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    overdue: bool = False
    due_within_days: int | None = None  # due no later than in this many days (overdue too)
    due_from_days: int | None = None  # due no earlier than in this many days
    site_id: int | None = None
    flag: str | None = None
    sponsor: str | None = None  # a sponsor's code
    question: str | None = None  # a key of QUESTION_FILTERS
    q: str | None = None  # search text
    search_in: str = "any"  # a key of SEARCH_FIELDS
    sort: str = "urgency"  # a key of SORTS
    descending: bool = False
    page: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class QueueRow:
    case_id: uuid.UUID
    case_number: str
    sender_case_id: str
    state: str
    serious: bool | None
    version: int
    received_at: datetime
    age_days: int
    due: date | None
    due_in_days: int | None
    products: tuple[str, ...]
    study: str | None
    site: str | None
    sponsor: str
    assignee: str | None
    assignee_id: int | None
    flags: tuple[str, ...] = ()
    subject: str | None = None
    open_questions: int = 0  # questions to the site not answered yet
    overdue_questions: int = 0  # of those, past their due date

    @property
    def overdue(self) -> bool:
        return self.due_in_days is not None and self.due_in_days < 0


@dataclass
class QueuePage:
    rows: list[QueueRow]
    products: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)
    has_due_dates: bool = False
    total: int = 0
    page: int = 1
    per_page: int = PER_PAGE
    state_counts: dict[str, int] = field(default_factory=dict)  # every case, by state

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like_prefix(text: str) -> str:
    return _escape(text) + "%"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(session: Session, q: str, search_in: str) -> ColumnElement[bool]:
    k = queue_index.key(q)
    prefix = _like_prefix(k)
    ids: dict[str, ColumnElement[bool]] = {
        "case_number": E.number_key.like(prefix, escape="\\"),
        "sender_case_id": E.sender_key.like(prefix, escape="\\"),
        "subject": E.subject_key.like(prefix, escape="\\"),
    }
    event = E.case_id.in_(select(QueueTerm.case_id).where(
        QueueTerm.kind == "event", QueueTerm.key.like(f"%{_escape(k)}%", escape="\\")))
    if search_in in ids:
        return ids[search_in]
    if search_in == "event":
        return event
    # Everything: what was typed is an id when some case has it (an indexed lookup), and only
    # otherwise an event term, which is matched anywhere in the term (every term is read).
    by_id = or_(*ids.values())
    if session.scalar(select(E.case_id).where(by_id).limit(1)) is not None:
        return by_id
    return event


def _conditions(session: Session, f: QueueFilters, today: date) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.states:
        where.append(E.case_state.in_(f.states))
    if f.serious is not None:
        where.append(E.serious.is_(f.serious))
    if f.assignee_id is not None:
        where.append(E.case_id.in_(select(CaseAssignment.case_id)
                                   .where(CaseAssignment.user_id == f.assignee_id)))
    if f.unassigned:
        where.append(E.case_id.not_in(select(CaseAssignment.case_id)))
    if f.site_id is not None:
        where.append(E.case_id.in_(select(Case.id).where(Case.site_id == f.site_id)))
    if f.sponsor is not None:
        where.append(E.sponsor_id.in_(select(Sponsor.id).where(Sponsor.code == f.sponsor)))
    if f.product:
        where.append(E.case_id.in_(select(QueueTerm.case_id).where(
            QueueTerm.kind == "product", QueueTerm.key == queue_index.key(f.product))))
    if f.study:
        where.append(E.study == f.study)
    if f.overdue:
        where.append(E.next_due < today)
    if f.due_within_days is not None:
        where.append(E.next_due <= today + timedelta(days=f.due_within_days))
    if f.due_from_days is not None:
        where.append(E.next_due >= today + timedelta(days=f.due_from_days))
    if f.flag in ("coding_review", "suspected_duplicate", "rejected_by_regulator"):
        where.append(getattr(E, f.flag).is_(True))
    if f.question in QUESTION_FILTERS:
        asked = select(Question.case_id).where(Question.status == QuestionStatus.OPEN,
                                               Question.case_id.is_not(None))
        if f.question == "overdue":
            asked = asked.where(Question.due < today)
        where.append(E.case_id.in_(asked))
    if f.q and f.q.strip():
        where.append(_search(session, f.q, f.search_in))
    return where


def _order(sort: str, descending: bool) -> list[Any]:
    _, columns = SORTS.get(sort, SORTS["urgency"])
    out = []
    for col in columns:
        ordered = col.desc() if descending else col.asc()
        # No due date sorts last both ways: "no deadline" is never the most urgent.
        out.append(ordered.nulls_last() if col is E.next_due else ordered)
    return out


def distinct_values(session: Session, column: Any, *where: ColumnElement[bool],
                    display: Any = None, limit: int = 500) -> list[str]:
    """The distinct values of an indexed column, one index probe each (a "loose index scan"):
    a filter's list of choices costs what the number of choices costs, not the number of
    cases (``SELECT DISTINCT`` read all 100,000 rows). ``display`` is shown for each value."""
    out: list[str] = []
    last: Any = None
    for _ in range(limit):
        stmt = select(column, display if display is not None else column).where(
            column.is_not(None), *where)
        if last is not None:
            stmt = stmt.where(column > last)
        row = session.execute(stmt.order_by(column).limit(1)).first()
        if row is None:
            break
        last = row[0]
        out.append(row[1])
    return out


def queue_rows(session: Session, filters: QueueFilters, *, today: date) -> QueuePage:
    """One page of the queue under ``filters``; ``today`` in the organisation's zone."""
    apply_pending(session)  # what this transaction changed, before it is read
    where = _conditions(session, filters, today)
    per_page = min(max(filters.per_page, 1), MAX_PER_PAGE)
    counts = state_counts(session)
    if _only_states(filters):
        # Filtered by state alone (the default view): the total is the states' counts.
        total = sum(n for state, n in counts.items()
                    if not filters.states or state in filters.states)
    else:
        total = session.scalar(select(func.count()).select_from(E).where(*where)) or 0
    page = min(max(filters.page, 1), max(1, -(-total // per_page)))
    stmt = (
        select(E, Case.sender_case_id, Case.current_version, Site.name, User.id,
               User.printed_name, Sponsor.code)
        .join(Case, Case.id == E.case_id)
        .join(Sponsor, Sponsor.id == E.sponsor_id)
        .outerjoin(Site, Site.id == Case.site_id)
        .outerjoin(CaseAssignment, CaseAssignment.case_id == E.case_id)
        .outerjoin(User, User.id == CaseAssignment.user_id)
        .where(*where)
        .order_by(*_order(filters.sort, filters.descending))
        .offset((page - 1) * per_page).limit(per_page)
    )
    rows = []
    for entry, sender_case_id, version, site, user_id, user_name, sponsor in session.execute(stmt):
        due = entry.next_due
        rows.append(QueueRow(
            case_id=entry.case_id, case_number=entry.case_number,
            sender_case_id=sender_case_id, state=entry.case_state, serious=entry.serious,
            version=version, received_at=entry.first_received_at,
            age_days=(today - entry.first_received_at.date()).days,
            due=due, due_in_days=(due - today).days if due else None,
            products=tuple(p for p in entry.products.split("\n") if p),
            study=entry.study, site=site, sponsor=sponsor, assignee=user_name,
            assignee_id=user_id, flags=entry.flags(), subject=entry.subject))
    rows = _with_questions(session, rows, today)
    products = distinct_values(session, QueueTerm.key, QueueTerm.kind == "product",
                               display=QueueTerm.value)
    studies = distinct_values(session, E.study)
    has_due = session.scalar(select(E.case_id).where(E.next_due.is_not(None)).limit(1))
    return QueuePage(rows=rows, products=sorted(set(products), key=str.casefold),
                     studies=studies, has_due_dates=has_due is not None,
                     total=total, page=page, per_page=per_page, state_counts=counts)


def open_questions(session: Session, case_ids: list[uuid.UUID],
                   today: date) -> dict[uuid.UUID, tuple[int, int]]:
    """Per case: (open questions to the site, of which overdue), in one query."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Question.case_id, func.count(),
               func.sum(case((Question.due < today, 1), else_=0)))
        .where(Question.case_id.in_(case_ids), Question.status == QuestionStatus.OPEN)
        .group_by(Question.case_id))
    return {cid: (n, int(late or 0)) for cid, n, late in rows if cid is not None}


def _with_questions(session: Session, rows: list[QueueRow], today: date) -> list[QueueRow]:
    asked = open_questions(session, [r.case_id for r in rows], today)
    return [replace(r, open_questions=asked[r.case_id][0],
                    overdue_questions=asked[r.case_id][1]) if r.case_id in asked else r
            for r in rows]


def _only_states(f: QueueFilters) -> bool:
    """Whether ``f`` filters by nothing but state (and the caller's sponsors)."""
    return f == QueueFilters(states=f.states, sort=f.sort, descending=f.descending,
                             page=f.page, per_page=f.per_page)


def state_counts(session: Session) -> dict[str, int]:
    """Cases by state, of the sponsors the session may see (``safety.db.tenancy``): read from
    the kept counts (``QueueCount``), one row per sponsor and state, plus what this
    transaction changed and has not committed yet, never by counting the queue's rows."""
    apply_pending(session)
    visible = sponsors_of(session)
    out: dict[str, int] = {}
    for state, n in session.execute(select(QueueCount.case_state, QueueCount.cases)):
        out[state] = out.get(state, 0) + n
    for (sponsor_id, state), n in pending_counts(session).items():
        if visible is None or sponsor_id in visible:
            out[state] = out.get(state, 0) + n
    return {state: n for state, n in out.items() if n}


def hand_off_refresh(session: Session, into: set[uuid.UUID]) -> None:
    """The queue rows of the cases this transaction changes are rewritten by a later one of
    the same job, not at this commit: their ids go to ``into`` (``take_over_refresh``). A
    report's job commits the version, then runs its stages in a second transaction that
    changes the same case: one rewrite instead of two (issue 20)."""
    hand_off(session, into)


def take_over_refresh(session: Session, case_ids: set[uuid.UUID]) -> None:
    """Rewrite, at this transaction's commit, the rows of cases handed off to it."""
    take_over(session, case_ids)


def index_missing_cases(session: Session) -> int:
    """Index the cases the queue has no row for (cases stored before the index existed); how
    many were indexed. One query when there are none."""
    missing = list(session.scalars(select(Case.id).where(
        Case.id.not_in(select(E.case_id)))))
    refresh_entries(session, missing)
    return len(missing)


# --- reports that are not (yet) a case version ----------------------------------------------

# Held: not a valid case yet, or naming a nullified case; rejected: not a readable ICSR;
# failed: processing gave up after its retries (retried or discarded on /operations).
REPORT_TABS: dict[str, str] = {
    ReportStatus.HELD.value: "Held reports",
    ReportStatus.REJECTED.value: "Rejected reports",
    ReportStatus.FAILED.value: "Failed reports",
}


@dataclass(frozen=True)
class ReportRow:
    report_id: uuid.UUID
    received_at: datetime
    channel: str
    sender: str
    sender_case_id: str | None
    site: str | None
    reasons: tuple[str, ...]
    attempts: int
    case_id: uuid.UUID | None
    case_number: str | None


@dataclass
class ReportPage:
    status: str
    rows: list[ReportRow]
    total: int = 0
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def report_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Report.status, func.count())
                           .where(Report.status.in_(list(REPORT_TABS)))
                           .group_by(Report.status))
    return {str(status): n for status, n in rows}


def _reasons(findings: Any, last_error: str | None) -> tuple[str, ...]:
    """Why the report stopped: its findings, and the last error of a failed one (first line;
    the worker's log has the rest)."""
    out = [str(f.get("message") or f.get("code") or "") for f in findings or []
           if isinstance(f, dict)]
    if last_error and last_error.strip():
        out.append(last_error.strip().splitlines()[0])
    return tuple(r for r in out if r)


def report_rows(session: Session, status: str, *, q: str | None = None, page: int = 1,
                per_page: int = PER_PAGE) -> ReportPage:
    """Reports in one of :data:`REPORT_TABS`, newest first; ``q`` finds a sender's case id
    by its start."""
    if status not in REPORT_TABS:
        raise ValueError(f"status must be one of {', '.join(REPORT_TABS)}, not {status!r}")
    where: list[ColumnElement[bool]] = [Report.status == status]
    if q and q.strip():
        where.append(func.lower(Report.sender_case_id).like(
            _like_prefix(q.strip().lower()), escape="\\"))
    total = session.scalar(select(func.count()).select_from(Report).where(*where)) or 0
    page = min(max(page, 1), max(1, -(-total // per_page)))
    stmt = (select(Report.id, Report.received_at, Report.channel, Report.sender,
                   Report.sender_case_id, Report.findings, Report.last_error, Report.attempts,
                   Report.case_id, Site.name, Case.case_number)
            .outerjoin(Site, Site.id == Report.site_id)
            .outerjoin(Case, Case.id == Report.case_id)
            .where(*where).order_by(Report.received_at.desc(), Report.id)
            .offset((page - 1) * per_page).limit(per_page))
    rows = [ReportRow(report_id=rid, received_at=at, channel=channel, sender=sender,
                      sender_case_id=sender_case_id, site=site,
                      reasons=_reasons(findings, error), attempts=attempts, case_id=case_id,
                      case_number=number)
            for (rid, at, channel, sender, sender_case_id, findings, error, attempts, case_id,
                 site, number) in session.execute(stmt)]
    return ReportPage(status=status, rows=rows, total=total, page=page, per_page=per_page)
