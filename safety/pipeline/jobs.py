"""rq jobs: each takes ids, loads the settings (``safety.config``), opens its own transaction,
calls one service and enqueues the next step only after that transaction has committed.

Every job logs with a structlog logger bound to its job id and the ids it works on, so a
report's way through the workers can be followed in the logs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from rq import get_current_job

from safety.cases.progress import run_stage as run_version_stage
from safety.cases.progress import stage_failed, waiting
from safety.cases.workflow import Stage, next_stage
from safety.config import Settings, load_settings
from safety.db.base import utcnow
from safety.db.session import session_scope
from safety.intake.processing import process_report as process
from safety.intake.processing import processing_failed, waiting_reports
from safety.pipeline.stages import FIRST_STAGE, STAGE_FUNCTIONS
from safety.queue.enqueue import enqueue_unique, get_queue, job_pending, requeue
from safety.rules.evaluation import refresh_due_alerts as refresh_alerts


def report_job_id(report_id: object) -> str:
    return f"report-{report_id}"


def stage_job_id(stage: str, case_version_id: object) -> str:
    return f"stage-{stage}-{case_version_id}"


def _log(**ids: Any) -> Any:
    job = get_current_job()
    return structlog.get_logger("safety.jobs").bind(job_id=job.id if job else None, **ids)


def _final_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


def process_report(report_id: str) -> dict[str, Any]:
    """A stored report becomes a case version (or is held); its first stage follows."""
    settings = load_settings()
    log = _log(report_id=report_id)
    rid = uuid.UUID(report_id)
    try:
        with session_scope(settings.effective_database_url) as session:
            outcome = process(session, rid, settings)
    except Exception as exc:
        final = _final_attempt()
        log.warning("report.attempt_failed", error=f"{type(exc).__name__}: {exc}", final=final)
        with session_scope(settings.effective_database_url) as session:
            processing_failed(session, rid, f"{type(exc).__name__}: {exc}", final=final)
        raise
    if outcome.waiting_for is not None:
        log.info("report.waiting", waiting_for=str(outcome.waiting_for))
        return {"status": str(outcome.status), "waiting_for": str(outcome.waiting_for)}
    log.info("report.done", status=str(outcome.status), case_id=str(outcome.case_id or ""),
             case_version_id=str(outcome.case_version_id or ""))
    if outcome.case_version_id is not None:
        enqueue_stage(settings, FIRST_STAGE, outcome.case_version_id)
    if outcome.next_in_stream is not None:
        enqueue_report(settings, outcome.next_in_stream)
    return {"status": str(outcome.status), "case_id": str(outcome.case_id or "") or None}


def run_stage(stage: str, case_version_id: str) -> dict[str, Any] | None:
    """One processing stage of a case version; the next stage follows."""
    settings = load_settings()
    current = Stage(stage)
    log = _log(stage=stage, case_version_id=case_version_id)
    cv_id = uuid.UUID(case_version_id)
    try:
        with session_scope(settings.effective_database_url) as session:
            summary = run_version_stage(session, cv_id, current, STAGE_FUNCTIONS[current],
                                        settings)
    except Exception as exc:
        final = _final_attempt()
        log.warning("stage.attempt_failed", error=f"{type(exc).__name__}: {exc}", final=final)
        if final:
            with session_scope(settings.effective_database_url) as session:
                stage_failed(session, cv_id, current, f"{type(exc).__name__}: {exc}")
        raise
    log.info("stage.done", summary=summary)
    nxt = next_stage(current)
    if nxt is not None:
        enqueue_stage(settings, nxt, cv_id)
    return summary


def sweep() -> dict[str, int]:
    """Enqueue every report that is stored but not yet processed, and every version whose
    processing stopped short (Redis was down, a worker died, Redis lost its data). Safe to
    run anywhere, any time: enqueueing is deduplicated and processing is idempotent."""
    settings = load_settings()
    cutoff = utcnow() - timedelta(seconds=settings.sweep_grace_seconds)
    with session_scope(settings.effective_database_url) as session:
        reports = waiting_reports(session, cutoff)
        versions = waiting(session, cutoff)
    queue = get_queue(settings)
    enqueued = sum(1 for rid in reports if not job_pending(queue, report_job_id(rid))
                   and enqueue_report(settings, rid))
    stalled = sum(1 for cv_id, stage in versions if enqueue_stage(settings, stage, cv_id))
    _log().info("sweep.done", reports=enqueued, stages=stalled)
    return {"reports": enqueued, "stages": stalled}


def refresh_due_alerts() -> dict[str, int]:
    """Mark open obligations due soon or overdue, in the organisation's time zone."""
    settings = load_settings()
    today = datetime.now(settings.zone).date()
    with session_scope(settings.effective_database_url) as session:
        changed = refresh_alerts(session, today)
    _log().info("alerts.done", changed=changed)
    return {"changed": changed}


def enqueue_report(settings: Settings, report_id: object, fresh: bool = False) -> bool:
    return enqueue_unique(settings, process_report, report_job_id(report_id), str(report_id),
                          fresh=fresh)


def enqueue_stage(settings: Settings, stage: Stage, case_version_id: object) -> bool:
    return enqueue_unique(settings, run_stage, stage_job_id(stage.value, case_version_id),
                          stage.value, str(case_version_id))


def requeue_report(settings: Settings, report_id: object) -> bool:
    """A retried report's job, under its usual id (the ended job of that id is replaced)."""
    return requeue(settings, process_report, report_job_id(report_id), str(report_id))


def requeue_stage(settings: Settings, stage: Stage, case_version_id: object) -> bool:
    """A retried stage's job, under its usual id (the ended job of that id is replaced)."""
    return requeue(settings, run_stage, stage_job_id(stage.value, case_version_id),
                   stage.value, str(case_version_id))
