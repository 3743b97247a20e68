"""Finding and listing cases, within what the caller may see."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from safety.accounts.scope import Scope
from safety.cases.store import Case, CaseVersion, versions


def find_case(session: Session, case_id: uuid.UUID, *, lock: bool = False,
              scope: Scope | None = None) -> Case | None:
    """The case, or ``None`` when there is none the caller may see. ``lock`` holds its row
    until commit so two people changing the same case serialise (PostgreSQL ``FOR UPDATE``;
    SQLite serialises writers anyway)."""
    stmt = select(Case).where(Case.id == case_id)
    case = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if case is None or (scope is not None and not scope.can_see(case.sponsor_id, case.site_id)):
        return None
    return case


def find_case_by_reference(session: Session, ref: str) -> Case | None:
    """A case by its id, case number or worldwide case id (the command line's way)."""
    conditions = [Case.case_number == ref, Case.worldwide_case_id == ref]
    try:
        conditions.append(Case.id == uuid.UUID(ref))
    except ValueError:
        pass
    return session.scalar(select(Case).where(or_(*conditions)))


def visible(scope: Scope) -> Select[Case]:
    stmt = select(Case)
    if scope.sponsor_ids is not None:
        stmt = stmt.where(Case.sponsor_id.in_(scope.sponsor_ids))
    if not scope.all_sites:
        stmt = stmt.where(Case.site_id == scope.site_id)
    return stmt


def list_cases(session: Session, scope: Scope, *, state: str | None, page: int,
               per_page: int) -> tuple[list[Case], int]:
    """One page of the cases the caller may see, newest first, and how many there are."""
    stmt = visible(scope)
    if state:
        stmt = stmt.where(Case.state == state)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(Case.created_at.desc()).offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return list(rows), total


def summary(case: Case) -> dict[str, Any]:
    return {
        "case_id": str(case.id),
        "case_number": case.case_number,
        "worldwide_case_id": case.worldwide_case_id,
        "sender_case_id": case.sender_case_id,
        "state": case.state,
        "serious": case.serious,
        "current_version": case.current_version,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def detail(session: Session, case: Case) -> dict[str, Any]:
    """The case with its versions and the data of the current version."""
    vs: list[CaseVersion] = versions(session, case.id)
    out = summary(case)
    out["versions"] = [
        {"version": v.version, "kind": v.kind,
         "report_id": str(v.report_id) if v.report_id else None,
         "received_at": v.received_at, "pipeline": v.pipeline, "stages": v.stages or {}}
        for v in vs
    ]
    out["data"] = vs[-1].data if vs else {}
    return out
