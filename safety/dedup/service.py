"""The duplicate-screening stage: index the version and find suspected duplicates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.model import CaseVersionData
from safety.cases.store import Case, CaseVersion, shared_working_data, working_data
from safety.config import Settings
from safety.dedup.decisions import DECIDED
from safety.dedup.matching import MatchResult
from safety.dedup.scoring import Model, load_model
from safety.dedup.store import (
    decided_with,
    index_case,
    match_stored,
    open_candidates,
    other_case,
    save_candidates,
)
from safety.intake.status import ReportStatus
from safety.intake.store import Report


@cache
def model() -> Model:
    return load_model(None)


def screen_stage(session: Session, cv: CaseVersion, settings: Settings) -> dict[str, Any]:
    data = shared_working_data(session, cv)  # read only
    result = match_stored(session, data, model(), cv.sponsor_id, case_id=str(cv.case_id))
    save_candidates(session, cv.case_id, cv.id, result, cv.sponsor_id)
    index_case(session, cv.case_id, data, cv.sponsor_id, cv.id)
    return {"candidates": len(result.candidates),
            "suspected": sum(1 for c in result.candidates if c.suspected)}


def open_candidates_of(session: Session, case: Case) -> list[dict[str, Any]]:
    """Candidates not yet decided, highest score first, with their explanation."""
    decided = decided_with(session, case.id, DECIDED)
    out = []
    for c in open_candidates(session, case.id, decided):
        other = session.get(Case, other_case(c, case.id))
        out.append({"candidate_case_id": str(other_case(c, case.id)),
                    "candidate_case_number": other.case_number if other else None,
                    "score": c.score, "suspected": c.suspected, "rule": c.rule,
                    "explanation": c.explanation})
    return out


def processed_reports(session: Session,
                      sponsor_id: int) -> Iterator[tuple[str, CaseVersionData]]:
    """Every processed report of the sponsor, in receipt order, as its case version's working
    data (a scan never mixes two sponsors' cases)."""
    rows = session.execute(
        select(Report.id, CaseVersion).join(CaseVersion, CaseVersion.report_id == Report.id)
        .where(Report.status == ReportStatus.PROCESSED, Report.sponsor_id == sponsor_id)
        .order_by(Report.received_at)
        .execution_options(yield_per=1000))
    for rid, cv in rows:
        yield str(rid), working_data(session, cv)


def report_candidates(session: Session, report_id: uuid.UUID, model: Model) -> MatchResult | None:
    """Candidates of one processed report against the cases held now (``None``: the report
    is not processed into a case)."""
    report = session.get(Report, report_id)
    if report is None or report.case_version_id is None:
        return None
    cv = session.get_one(CaseVersion, report.case_version_id)
    return match_stored(session, working_data(session, cv), model, cv.sponsor_id,
                        case_id=str(cv.case_id))
