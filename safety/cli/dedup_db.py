"""The ``safety dedup`` commands over the database (``--input FILE`` still reads a file)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import click
from sqlalchemy import select

from safety.cases.model import CaseVersionData
from safety.cases.store import CaseVersion, working_data
from safety.cli.dedup import make_group
from safety.config import load_settings
from safety.db.session import session_scope
from safety.dedup.matching import MatchResult
from safety.dedup.scoring import Model
from safety.dedup.store import match_stored
from safety.intake.store import Report


def _reports() -> Iterator[tuple[str, CaseVersionData]]:
    """Every processed report, in receipt order, as its case version's working data."""
    settings = load_settings()
    with session_scope(settings.effective_database_url) as session:
        rows = session.execute(
            select(Report.id, CaseVersion).join(CaseVersion, CaseVersion.report_id == Report.id)
            .where(Report.status == "processed").order_by(Report.received_at)
            .execution_options(yield_per=1000))
        for rid, cv in rows:
            yield str(rid), working_data(session, cv)


def _candidates(report_id: str, model: Model) -> MatchResult:
    settings = load_settings()
    try:
        rid = uuid.UUID(report_id)
    except ValueError:
        raise click.ClickException(f"{report_id!r} is not a report id") from None
    with session_scope(settings.effective_database_url) as session:
        report = session.get(Report, rid)
        if report is None or report.case_version_id is None:
            raise click.ClickException(f"report {report_id} is not processed into a case")
        cv = session.get(CaseVersion, report.case_version_id)
        return match_stored(session, working_data(session, cv), model,
                            case_id=str(cv.case_id))


dedup = make_group(load_reports=_reports, find_candidates=_candidates)
