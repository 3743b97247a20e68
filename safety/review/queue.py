"""The review queue: which case to work next, and why it is where it is.

Order: the earliest open reporting obligation due date first (what a regulator will hold us
to); cases without one follow, serious before non-serious, oldest receipt first. Due dates are
the open obligations' (``safety.rules.store``); no due date is ever invented: a case without an
open obligation shows none.

Product and study live in the case JSON, so those filters run in Python over the open
cases' current versions; state, assignee and seriousness are filtered in SQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from safety.accounts.store import Site, User
from safety.cases.store import Case, CaseVersion
from safety.review.facts import flags as case_flags
from safety.review.store import CaseAssignment
from safety.rules.store import obligation_due_dates
from safety.sponsors.store import Sponsor


@dataclass(frozen=True)
class QueueFilters:
    states: tuple[str, ...] = ()
    product: str | None = None
    study: str | None = None
    serious: bool | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    overdue: bool = False
    due_within_days: int | None = None
    site_id: int | None = None
    flag: str | None = None
    sponsor: str | None = None  # a sponsor's code


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

    @property
    def overdue(self) -> bool:
        return self.due_in_days is not None and self.due_in_days < 0


@dataclass
class QueuePage:
    rows: list[QueueRow]
    products: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)
    has_due_dates: bool = False


def suspect_products(drugs: Any) -> tuple[str, ...]:
    """Suspect and interacting drugs (G.k.1 = 1 or 3) by reported name, in form order."""
    names: list[str] = []
    for drug in drugs if isinstance(drugs, list) else []:
        if drug.get("role", "1") in ("1", "3") and isinstance(drug.get("name"), str):
            if drug["name"] not in names:
                names.append(drug["name"])
    return tuple(names)


def study_of(study: Any) -> str | None:
    if not isinstance(study, dict):
        return None
    value = study.get("sponsor_study_number") or study.get("name")
    return value if isinstance(value, str) else None


def queue_rows(session: Session, filters: QueueFilters, *, today: date) -> QueuePage:
    """The queue under ``filters``, most urgent first; ``today`` in the organisation's zone."""
    # Versions follow receipt order (docs/architecture.md), so version 1 is the first receipt.
    first = aliased(CaseVersion)
    # Columns, not entities, and only the two JSON subdocuments the queue shows: loading
    # whole case documents and ORM objects dominated the time (bench/web_queue.py).
    stmt = (
        select(Case.id, Case.case_number, Case.sender_case_id, Case.state, Case.serious,
               Case.current_version, CaseVersion.data["drugs"], CaseVersion.data["study"],
               first.received_at, Site.name, User.id, User.printed_name, Sponsor.code)
        .join(CaseVersion, and_(CaseVersion.case_id == Case.id,
                                CaseVersion.version == Case.current_version))
        .join(first, and_(first.case_id == Case.id, first.version == 1))
        .join(Sponsor, Sponsor.id == Case.sponsor_id)
        .outerjoin(Site, Site.id == Case.site_id)
        .outerjoin(CaseAssignment, CaseAssignment.case_id == Case.id)
        .outerjoin(User, User.id == CaseAssignment.user_id)
    )
    if filters.states:
        stmt = stmt.where(Case.state.in_(filters.states))
    if filters.serious is not None:
        stmt = stmt.where(Case.serious.is_(filters.serious))
    if filters.assignee_id is not None:
        stmt = stmt.where(CaseAssignment.user_id == filters.assignee_id)
    if filters.unassigned:
        stmt = stmt.where(CaseAssignment.user_id.is_(None))
    if filters.site_id is not None:
        stmt = stmt.where(Case.site_id == filters.site_id)
    if filters.sponsor is not None:
        stmt = stmt.where(Sponsor.code == filters.sponsor)
    found = session.execute(stmt).all()

    ids = [r[0] for r in found]
    dues = obligation_due_dates(session, ids)
    flags = case_flags(session, ids)
    page = QueuePage(rows=[], has_due_dates=bool(dues))
    products: set[str] = set()
    studies: set[str] = set()
    for (case_id, number, sender_case_id, state, serious, version, drugs, study_doc,
         received_at, site_name, user_id, user_name, sponsor_code) in found:
        prods, study = suspect_products(drugs), study_of(study_doc)
        products.update(prods)
        if study:
            studies.add(study)
        due = dues.get(case_id)
        row = QueueRow(
            case_id=case_id, case_number=number, sender_case_id=sender_case_id,
            state=state, serious=serious, version=version,
            received_at=received_at, age_days=(today - received_at.date()).days,
            due=due, due_in_days=(due - today).days if due else None,
            products=prods, study=study, site=site_name, sponsor=sponsor_code,
            assignee=user_name, assignee_id=user_id,
            flags=tuple(sorted(flags.get(case_id, ()))),
        )
        if _keep(row, filters):
            page.rows.append(row)
    page.rows.sort(key=urgency)
    page.products, page.studies = sorted(products, key=str.lower), sorted(studies)
    return page


def urgency(row: QueueRow) -> tuple[Any, ...]:
    return (row.due is None, row.due or date.max, row.serious is not True, row.received_at,
            row.case_number)


def _keep(row: QueueRow, f: QueueFilters) -> bool:
    if f.product and f.product.lower() not in (p.lower() for p in row.products):
        return False
    if f.study and row.study != f.study:
        return False
    if f.overdue and not row.overdue:
        return False
    if f.flag and f.flag not in row.flags:
        return False
    return not (f.due_within_days is not None
                and (row.due_in_days is None or row.due_in_days > f.due_within_days))


def state_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Case.state, func.count()).group_by(Case.state))
    return {state: n for state, n in rows}
