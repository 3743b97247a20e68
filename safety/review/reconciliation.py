"""The reconciliation of an import: every report that went in is accounted for by what came out.

A migration is trusted only when its counts close: reports in (each file's forms or messages)
= new cases + follow-ups + identical re-sends + held + rejected (with their reasons) + failed.
Anything else (a report still waiting, a file whose stored count differs from what it held)
is *unaccounted* and ``safety import`` exits non-zero. Duplicates flagged (the pipeline's
suspected duplicates) and the obligations a historical case was recorded as already having
met are counted alongside: they say what the team will find, not where a report went.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.store import CaseVersion
from safety.cases.workflow import PipelineStatus
from safety.dedup.store import DedupCandidate
from safety.intake.status import ReportStatus
from safety.intake.store import Report
from safety.rules.obligations import OPEN_STATUSES, ObligationStatus
from safety.rules.store import ObligationRow

OUTCOMES = ("new_case", "follow_up", "resend", "held", "rejected", "failed")


@dataclass
class FileIn:
    """One file as read: how many reports it held, the ids of those stored, and those refused
    before storing (an invalid form, a batch refused whole), each with its reason."""

    path: str
    reports_in: int
    stored: list[uuid.UUID] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@dataclass
class Reconciliation:
    files: int
    reports_in: int
    outcomes: Counter[str]
    duplicates_flagged: int
    historical_submitted: int
    open_obligations: int
    overdue: int
    dates_changed: int  # versions whose receipt differs from their report's (must be 0)
    rejected: list[dict[str, str]]
    unaccounted: list[dict[str, str]]

    @property
    def accounted(self) -> int:
        return sum(self.outcomes[o] for o in OUTCOMES)

    @property
    def closes(self) -> bool:
        return not self.unaccounted and self.accounted == self.reports_in \
            and self.dates_changed == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files, "reports_in": self.reports_in,
            "cases_out": {o: self.outcomes[o] for o in OUTCOMES},
            "accounted": self.accounted, "unaccounted": len(self.unaccounted),
            "duplicates_flagged": self.duplicates_flagged,
            "historical_obligations_submitted": self.historical_submitted,
            "open_obligations": self.open_obligations, "overdue_obligations": self.overdue,
            "dates_changed": self.dates_changed,
            "rejected": self.rejected, "unaccounted_reports": self.unaccounted,
            "reconciled": self.closes,
        }


def reconcile(session: Session, files: Sequence[FileIn], today: date) -> Reconciliation:
    """What became of every report of ``files`` (read after processing)."""
    ids = [rid for f in files for rid in f.stored]
    where: dict[uuid.UUID, str] = {rid: f.path for f in files for rid in f.stored}
    reports: dict[uuid.UUID, Report] = {}
    for chunk in _chunks(ids):
        reports.update({r.id: r for r in session.scalars(
            select(Report).where(Report.id.in_(chunk)))})
    version_ids = [r.case_version_id for r in reports.values() if r.case_version_id]
    versions: dict[uuid.UUID, CaseVersion] = {}
    flagged: set[uuid.UUID] = set()
    obligations: list[ObligationRow] = []
    for chunk in _chunks(version_ids):
        versions.update({v.id: v for v in session.scalars(
            select(CaseVersion).where(CaseVersion.id.in_(chunk)))})
        flagged.update(session.scalars(select(DedupCandidate.case_version_id).where(
            DedupCandidate.case_version_id.in_(chunk), DedupCandidate.suspected.is_(True))))
        obligations.extend(session.scalars(select(ObligationRow).where(
            ObligationRow.case_version_id.in_(chunk))))
    outcomes: Counter[str] = Counter()
    rejected: list[dict[str, str]] = []
    unaccounted: list[dict[str, str]] = []
    dates_changed = 0
    for f in files:
        for reason in f.refused:
            outcomes["rejected"] += 1
            rejected.append({"file": f.path, "reason": reason})
        if len(f.stored) + len(f.refused) != f.reports_in:
            unaccounted.append({"file": f.path, "reason": (
                f"{f.reports_in} reports in the file, {len(f.stored)} stored and "
                f"{len(f.refused)} refused")})
    for rid in ids:
        report = reports.get(rid)
        if report is None:
            unaccounted.append({"file": where[rid], "report_id": str(rid),
                                "reason": "not found"})
            continue
        status = ReportStatus(report.status)
        if status is ReportStatus.PROCESSED:
            v = versions.get(report.case_version_id) if report.case_version_id else None
            if v is None:
                unaccounted.append({"file": where[rid], "report_id": str(rid),
                                    "reason": "processed without a case version"})
                continue
            if v.report_id == rid and PipelineStatus(v.pipeline) is PipelineStatus.PENDING:
                unaccounted.append({"file": where[rid], "report_id": str(rid), "reason":
                                    "processed, but its stages (duplicates, rules, drafting) "
                                    "have not finished"})
                continue
            if v.report_id != rid:
                outcomes["resend"] += 1
            else:
                outcomes["new_case" if v.version == 1 else "follow_up"] += 1
                dates_changed += v.received_at != report.received_at
        elif status in (ReportStatus.HELD, ReportStatus.REJECTED, ReportStatus.FAILED):
            outcomes[status.value] += 1
            if status is not ReportStatus.HELD:
                rejected.append({"file": where[rid], "report_id": str(rid),
                                 "reason": report.last_error or status.value})
        else:
            unaccounted.append({"file": where[rid], "report_id": str(rid),
                                "reason": f"still {status.value}: not processed"})
    open_rows = [o for o in obligations if ObligationStatus(o.status) in OPEN_STATUSES]
    return Reconciliation(
        files=len(files), reports_in=sum(f.reports_in for f in files), outcomes=outcomes,
        duplicates_flagged=len(flagged),
        historical_submitted=sum(1 for o in obligations
                                 if ObligationStatus(o.status) is ObligationStatus.SUBMITTED),
        open_obligations=len(open_rows), overdue=sum(1 for o in open_rows if o.due < today),
        dates_changed=dates_changed, rejected=rejected, unaccounted=unaccounted)


def settled(session: Session, ids: Sequence[uuid.UUID]) -> int:
    """How many of the reports are done with: processed with their version's stages finished
    (or failed), held, rejected or failed. What ``safety import`` waits for before it
    reconciles."""
    done = 0
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Report.status, CaseVersion.pipeline, CaseVersion.report_id, Report.id)
            .outerjoin(CaseVersion, CaseVersion.id == Report.case_version_id)
            .where(Report.id.in_(chunk))).all()
        for status, pipeline, made_by, rid in rows:
            if status == ReportStatus.RECEIVED:
                continue
            if status == ReportStatus.PROCESSED and made_by == rid \
                    and pipeline == PipelineStatus.PENDING:
                continue
            done += 1
    return done


def _chunks(ids: Sequence[uuid.UUID], size: int = 1000) -> list[list[uuid.UUID]]:
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]
