"""Dead letters: the reports and case-version stages that gave up after their retries, and
the reports of their streams waiting behind them, for an operator to see and act on
(``safety reports``, the operations page); and, on the same page, how long the stages take.

A failed report holds up only its own stream (the same sponsor, sender and sender's case id:
versions are made in receipt order); every other report goes on. Retrying moves it back to
``received`` through its status machine (audited, with who retried it) for the caller to
enqueue after the commit; discarding holds it for good with the operator's reason, and its
stream goes on without it. What is shown of an error is its public reason
(``intake.failure.public_reason``), never the database's text.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from safety.cases.store import Case, CaseVersion, NotFailed
from safety.cases.store import retry_stage as reset_stage
from safety.cases.workflow import PipelineStatus, Stage
from safety.intake.failure import public_reason
from safety.intake.processing import next_in_stream, refresh_waiting, waiting_reason
from safety.intake.status import ReportStatus
from safety.intake.store import Report, set_status


class DeadLetterError(LookupError):
    """Nothing failed answers to the id given (or not for the sponsors in scope)."""


class NoSuchLetter(DeadLetterError):
    """No report or case version answers to the id within the sponsors in scope: another
    sponsor's is answered exactly as one that does not exist."""


@dataclass(frozen=True)
class FailedReport:
    report_id: uuid.UUID
    sponsor_id: int
    channel: str
    sender: str
    sender_case_id: str | None
    received_at: datetime
    attempts: int
    reason: str | None
    held_back: int  # later reports of its stream waiting for it


@dataclass(frozen=True)
class WaitingReport:
    report_id: uuid.UUID
    sponsor_id: int
    sender: str
    sender_case_id: str | None
    received_at: datetime
    waiting_for: uuid.UUID
    reason: str


@dataclass(frozen=True)
class FailedStage:
    case_version_id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    version: int
    sponsor_id: int
    stage: str
    failed_at: str | None
    reason: str | None


@dataclass(frozen=True)
class DeadLetters:
    reports: list[FailedReport] = field(default_factory=list)
    waiting: list[WaitingReport] = field(default_factory=list)
    stages: list[FailedStage] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.reports or self.waiting or self.stages)


@dataclass(frozen=True)
class Retried:
    """What a retry reset, for the caller to enqueue once committed."""

    reports: list[uuid.UUID] = field(default_factory=list)
    stages: list[tuple[uuid.UUID, Stage]] = field(default_factory=list)


def _in(sponsor_ids: frozenset[int] | None, sponsor_id: int) -> bool:
    return sponsor_ids is None or sponsor_id in sponsor_ids


def dead_letters(session: Session, sponsor_ids: frozenset[int] | None = None) -> DeadLetters:
    """Every failed report (oldest first) with how many of its stream wait for it, every
    report waiting behind a failed one with the reason, and every failed stage."""
    stmt = select(Report).where(Report.status == ReportStatus.FAILED)
    if sponsor_ids is not None:
        stmt = stmt.where(Report.sponsor_id.in_(sponsor_ids))
    failed = list(session.execute(stmt.order_by(Report.received_at)).scalars())
    waiting: list[WaitingReport] = []
    reports: list[FailedReport] = []
    seen: set[uuid.UUID] = set()
    for report in failed:
        behind = _behind(session, report) if report.sender_case_id else []
        # Reports behind two failed ones are shown once, with the first they wait for.
        new = [r for r in behind if r.id not in seen]
        seen.update(r.id for r in new)
        reports.append(FailedReport(
            report.id, report.sponsor_id, report.channel, report.sender, report.sender_case_id,
            report.received_at, report.attempts, public_reason(report.last_error),
            len(behind)))
        waiting += [WaitingReport(r.id, r.sponsor_id, r.sender, r.sender_case_id,
                                  r.received_at, report.id, waiting_reason(report))
                    for r in new]
    return DeadLetters(reports, sorted(waiting, key=lambda w: w.received_at),
                       _failed_stages(session, sponsor_ids))


def _behind(session: Session, report: Report) -> list[Report]:
    later = aliased(Report)
    return list(session.execute(
        select(later).where(later.sponsor_id == report.sponsor_id,
                            later.sender == report.sender,
                            later.sender_case_id == report.sender_case_id,
                            later.received_at > report.received_at,
                            later.status == ReportStatus.RECEIVED)
        .order_by(later.received_at)).scalars())


def _failed_stages(session: Session, sponsor_ids: frozenset[int] | None) -> list[FailedStage]:
    stmt = (select(CaseVersion, Case.case_number).join(Case, Case.id == CaseVersion.case_id)
            .where(CaseVersion.pipeline == PipelineStatus.FAILED))
    if sponsor_ids is not None:
        stmt = stmt.where(CaseVersion.sponsor_id.in_(sponsor_ids))
    out = []
    for cv, number in session.execute(stmt.order_by(CaseVersion.created_at)):
        for stage in Stage:
            entry = (cv.stages or {}).get(stage.value, {})
            if entry.get("status") == PipelineStatus.FAILED:
                out.append(FailedStage(cv.id, cv.case_id, number, cv.version, cv.sponsor_id,
                                       stage.value, entry.get("at"),
                                       public_reason(entry.get("error"))))
                break
    return out


def retry_report(session: Session, report_id: uuid.UUID, *, actor: str,
                 sponsor_ids: frozenset[int] | None = None) -> uuid.UUID:
    """Move a failed report back to ``received`` (audited: who retried it, and the error it
    had), for the caller to enqueue after the commit."""
    report = _failed_report(session, report_id, sponsor_ids)
    set_status(session, report, ReportStatus.RECEIVED, actor=actor,
               reason=f"retried by {actor} after {report.attempts} attempt(s): "
                      f"{public_reason(report.last_error)}")
    refresh_waiting(session, report)
    return report.id


def _failed_report(session: Session, report_id: uuid.UUID,
                   sponsor_ids: frozenset[int] | None) -> Report:
    """The failed report, locked for its move; another sponsor's is answered as none."""
    report = session.execute(
        select(Report).where(Report.id == report_id).with_for_update()
    ).scalar_one_or_none()
    if report is None or not _in(sponsor_ids, report.sponsor_id):
        raise NoSuchLetter(f"no report {report_id}")
    if report.status != ReportStatus.FAILED:
        raise DeadLetterError(f"report {report_id} is {report.status}, not failed")
    return report


def discard_report(session: Session, report_id: uuid.UUID, *, actor: str, reason: str,
                   sponsor_ids: frozenset[int] | None = None) -> uuid.UUID | None:
    """Give up a failed report for good: it is ``held`` with a ``discarded`` finding naming who
    and why (the report itself, as received, is kept), and its stream goes on. Returns the
    next report of the stream, for the caller to enqueue after the commit."""
    if not reason.strip():
        raise ValueError("a reason is required to discard a report")
    report = _failed_report(session, report_id, sponsor_ids)
    message = f"discarded by {actor}: {reason.strip()}"
    set_status(session, report, ReportStatus.HELD, actor=actor, reason=message,
               findings=[{"code": "discarded", "criterion": "", "message": message}])
    return next_in_stream(session, report)


def retry_stage(session: Session, case_version_id: uuid.UUID, *, actor: str,
                sponsor_ids: frozenset[int] | None = None) -> Stage:
    """Make the failed stage of a case version pending again (audited), for the caller to
    enqueue after the commit."""
    cv = session.execute(
        select(CaseVersion).where(CaseVersion.id == case_version_id).with_for_update()
    ).scalar_one_or_none()
    if cv is None or not _in(sponsor_ids, cv.sponsor_id):
        raise NoSuchLetter(f"no case version {case_version_id}")
    try:
        return reset_stage(session, cv, actor=actor, reason=f"retried by {actor}")
    except NotFailed as exc:
        raise DeadLetterError(str(exc)) from None


def retry(session: Session, ref: uuid.UUID, *, actor: str,
          sponsor_ids: frozenset[int] | None = None) -> Retried:
    """Retry whatever failed answers to ``ref``: a report, or a case version's stage."""
    report = session.get(Report, ref)
    if report is not None and _in(sponsor_ids, report.sponsor_id):
        return Retried(reports=[retry_report(session, ref, actor=actor,
                                             sponsor_ids=sponsor_ids)])
    cv = session.get(CaseVersion, ref)
    if cv is None or not _in(sponsor_ids, cv.sponsor_id):
        raise NoSuchLetter(f"no report or case version {ref}")
    stage = retry_stage(session, ref, actor=actor, sponsor_ids=sponsor_ids)
    return Retried(stages=[(ref, stage)])


def retry_all(session: Session, *, actor: str,
              sponsor_ids: frozenset[int] | None = None) -> Retried:
    """Retry every failed report and every failed stage in scope, oldest first."""
    letters = dead_letters(session, sponsor_ids)
    return Retried(
        reports=[retry_report(session, r.report_id, actor=actor, sponsor_ids=sponsor_ids)
                 for r in letters.reports],
        stages=[(s.case_version_id, retry_stage(session, s.case_version_id, actor=actor,
                                                sponsor_ids=sponsor_ids))
                for s in letters.stages])


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def stage_timings(session: Session, sponsor_ids: Collection[int], since: datetime,
                  limit: int = 5000) -> dict[str, Any]:
    """How long each stage took (ms, p50/p95) and how long versions took from their report's
    receipt to their last stage done (s, p50/p95), over the versions of these sponsors
    created since ``since`` (the newest ``limit``), from the timings each version keeps."""
    rows = session.execute(
        select(CaseVersion.stages, CaseVersion.pipeline, Report.received_at)
        .join(Report, Report.id == CaseVersion.report_id)
        .where(CaseVersion.sponsor_id.in_(sponsor_ids), CaseVersion.created_at >= since)
        .order_by(CaseVersion.created_at.desc()).limit(limit)).all()
    per_stage: dict[str, list[float]] = {stage.value: [] for stage in Stage}
    through: list[float] = []
    for stages, pipeline, received in rows:
        for name, entry in (stages or {}).items():
            if name in per_stage and "ms" in entry:
                per_stage[name].append(float(entry["ms"]))
        if pipeline == PipelineStatus.DONE and stages:
            end = max(datetime.fromisoformat(e["at"]) for e in stages.values() if "at" in e)
            through.append((end - received).total_seconds())
    return {
        "versions": len(rows),
        "stages": [{"stage": name, "runs": len(v), "p50_ms": _percentile(v, 0.5),
                    "p95_ms": _percentile(v, 0.95)} for name, v in per_stage.items()],
        "received_to_done": {"versions": len(through), "p50_s": _percentile(through, 0.5),
                             "p95_s": _percentile(through, 0.95)},
    }
