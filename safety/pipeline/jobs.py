"""rq job entry points. Each takes ids, opens its own transaction, and enqueues the next step
only after that transaction has committed."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from rq import get_current_job
from sqlalchemy import select

from safety.cases.store import CaseVersion
from safety.db.base import utcnow
from safety.db.session import session_scope
from safety.intake.processing import process_report as process
from safety.intake.store import Report
from safety.pipeline import stages as stage_chain
from safety.pipeline.context import current_settings
from safety.queue.enqueue import (
    enqueue_report,
    enqueue_stage,
    get_queue,
    job_pending,
    report_job_id,
)

log = logging.getLogger(__name__)


def _final_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


def process_report(report_id: str) -> dict[str, Any]:
    settings = current_settings()
    rid = uuid.UUID(report_id)
    try:
        with session_scope(settings.effective_database_url) as session:
            outcome = process(session, rid, settings)
    except Exception as exc:
        _record_failure(rid, exc)
        raise
    if outcome.case_version_id is not None and (first := stage_chain.first_stage()):
        enqueue_stage(settings, first.name, outcome.case_version_id)
    return {"status": outcome.status, "case_id": str(outcome.case_id or "") or None}


def _record_failure(report_id: uuid.UUID, exc: Exception) -> None:
    """Make the failure visible on the report: attempts, last error, and 'failed' when rq has
    no retries left (a later sweep or an operator can requeue it)."""
    settings = current_settings()
    final = _final_attempt()
    try:
        with session_scope(settings.effective_database_url) as session:
            report = session.get(Report, report_id)
            if report is None or report.status in ("processed", "held"):
                return
            report.attempts += 1
            report.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if final:
                report.status = "failed"
    except Exception:
        log.exception("could not record failure of report %s", report_id)


def run_stage(stage: str, case_version_id: str) -> dict[str, Any] | None:
    settings = current_settings()
    cv_id = uuid.UUID(case_version_id)
    current = stage_chain.stage_named(stage)
    with session_scope(settings.effective_database_url) as session:
        cv = session.execute(
            select(CaseVersion).where(CaseVersion.id == cv_id).with_for_update()
        ).scalar_one()
        state = dict(cv.stages or {})
        if state.get(stage, {}).get("status") == "done":
            summary = state[stage].get("summary")
        else:
            try:
                summary = current.load()(session, cv, settings)
            except Exception as exc:
                if _final_attempt():
                    _mark_stage(cv_id, stage, "failed", error=f"{type(exc).__name__}: {exc}")
                raise
            state[stage] = {"status": "done", "at": utcnow().isoformat(), "summary": summary}
            cv.stages = state
        nxt = stage_chain.next_stage(stage)
        if nxt is None:
            cv.pipeline = "done"
    if nxt is not None:
        enqueue_stage(settings, nxt.name, cv_id)
    return summary


def _mark_stage(cv_id: uuid.UUID, stage: str, status: str, error: str) -> None:
    settings = current_settings()
    with session_scope(settings.effective_database_url) as session:
        cv = session.get(CaseVersion, cv_id)
        if cv is not None:
            state = dict(cv.stages or {})
            state[stage] = {"status": status, "at": utcnow().isoformat(), "error": error[:2000]}
            cv.stages = state
            cv.pipeline = "failed"


def sweep() -> dict[str, int]:
    """Enqueue every report that is stored but not yet processed (Redis was down, a worker
    died, Redis lost its data). Safe to run anywhere, any time: enqueueing is deduplicated and
    processing is idempotent."""
    settings = current_settings()
    cutoff = utcnow() - timedelta(seconds=settings.sweep_grace_seconds)
    with session_scope(settings.effective_database_url) as session:
        ids = session.execute(
            select(Report.id).where(Report.status == "received", Report.received_at <= cutoff)
            .order_by(Report.received_at).limit(10_000)
        ).scalars().all()
        versions = session.execute(
            select(CaseVersion.id, CaseVersion.stages)
            .where(CaseVersion.pipeline == "pending", CaseVersion.created_at <= cutoff)
            .order_by(CaseVersion.created_at).limit(10_000)
        ).all()
    queue = get_queue(settings)
    enqueued = 0
    for rid in ids:
        if not job_pending(queue, report_job_id(rid)) and enqueue_report(settings, rid):
            enqueued += 1
    stalled = 0
    for cv_id, state in versions:
        pending = _first_unfinished(state or {})
        if pending is not None and enqueue_stage(settings, pending, cv_id):
            stalled += 1
    return {"reports": enqueued, "stages": stalled}


def _first_unfinished(state: dict[str, Any]) -> str | None:
    for s in stage_chain.STAGES:
        status = state.get(s.name, {}).get("status")
        if status != "done":
            return None if status == "failed" else s.name
    return None
