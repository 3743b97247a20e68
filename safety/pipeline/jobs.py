"""rq jobs: each takes ids, loads the settings (``safety.config``), opens its own transaction,
calls one service and enqueues the next step only after that transaction has committed.

Every job logs with a structlog logger bound to its job id and the ids it works on, so a
report's way through the workers can be followed in the logs.

A job that finds the database unreachable (restarting, a dropped connection) waits for it with
backoff and runs its unit of work again (a fresh transaction; the work is idempotent); if the
database stays away longer, the job fails as an attempt but never marks its report or stage
failed: nothing was wrong with the work, and a later attempt or the sweep runs it again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from rq import get_current_job
from rq.timeouts import JobTimeoutException

from safety.backoff import Backoff
from safety.cases.progress import run_stage as run_version_stage
from safety.cases.progress import run_stages as run_version_stages
from safety.cases.progress import stage_failed, waiting
from safety.cases.workflow import Stage, next_stage
from safety.config import Settings, load_settings
from safety.db.base import utcnow
from safety.db.memo import job_memo
from safety.db.session import is_database_unavailable, unit_of_work
from safety.intake.acks import ack_report, write_pending
from safety.intake.processing import (
    ProcessingResult,
    migrated_among,
    migrated_versions,
    not_done,
    processing_failed,
    waiting_reports,
)
from safety.intake.processing import process_report as process
from safety.integrity.service import seal_audit_trail as seal_trail
from safety.pipeline.stages import FIRST_STAGE, STAGE_FUNCTIONS
from safety.queue.enqueue import (
    BACKOFF,
    enqueue_unique,
    get_queues,
    job_pending,
    promote_due_scheduled,
    requeue,
    requeue_stalled,
)
from safety.queue.metrics import observe_stage, observe_stages
from safety.review.queue import hand_off_refresh, take_over_refresh
from safety.rules.evaluation import refresh_due_alerts as refresh_alerts

# How far back the sweep looks for batches whose ACK is not written yet.
ACK_WINDOW = timedelta(days=2)

def report_job_id(report_id: object) -> str:
    return f"report-{report_id}"


def stage_job_id(stage: str, case_version_id: object) -> str:
    return f"stage-{stage}-{case_version_id}"


def _log(**ids: Any) -> Any:
    job = get_current_job()
    return structlog.get_logger("safety.jobs").bind(job_id=job.id if job else None, **ids)


def _on_bulk(settings: Settings) -> bool:
    """Whether the running job came off the migrations' low-priority queue: what it hands on
    (a stage's own job after an inline failure) goes there too."""
    job = get_current_job()
    return job is not None and job.origin == settings.effective_bulk_queue


def _final_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


T = TypeVar("T")

# How long a job waits for an unreachable database before giving up the attempt (well within
# the job timeout): a restart takes seconds.
DATABASE_WAIT_SECONDS = 120.0


def _with_database(log: Any, unit: Callable[[], T]) -> T:
    """Run ``unit`` (one transaction of its own), again after a backoff while the database is
    unreachable, for up to ``DATABASE_WAIT_SECONDS``."""
    backoff = Backoff(first=0.5, cap=10.0)
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    while True:
        try:
            return unit()
        except Exception as exc:
            if not is_database_unavailable(exc) or time.monotonic() > deadline:
                raise
            delay = backoff.next_delay()
            log.warning("database.unavailable", error=type(exc).__name__,
                        retry_in=round(delay, 2))
            time.sleep(delay)


class _StagesFailed(Exception):
    """The stages (or the commit) of a report's one transaction failed: the whole transaction
    is rolled back, and the job goes the long way (``process_report``)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


Ran = list[tuple[Stage, dict[str, Any] | None, float]]


def process_report(report_id: str) -> dict[str, Any]:
    """A stored report becomes a case version (or is held); its stages follow.

    The short way, taken by nearly every report: the report's processing and its version's
    stages in ONE transaction (one commit, and what the stages would read again after the
    report's commit — the sponsor, the case, the version's coded view — read once). If the
    stages or that commit fail, it is all rolled back and the job goes the long way, as it
    went before (issue 20): the report in a transaction of its own, committed, then the
    stages (``_run_stages``: together, else one by one), so a stage that fails never undoes
    the report, and each stage's failure is handled as its own."""
    settings = load_settings()
    log = _log(report_id=report_id)
    rid = uuid.UUID(report_id)
    # The cases whose queue rows the stages' transaction rewrites, not this one's commit: it
    # changes the same case right after (one rewrite per job, not two; review.queue).
    queue_cases: set[uuid.UUID] = set()
    stage_list = [(s, STAGE_FUNCTIONS[s]) for s in _from(FIRST_STAGE)]

    def unit() -> tuple[ProcessingResult, bool]:
        """The report alone (the long way), with whether its successor is a migrated one."""
        with unit_of_work(settings) as session:
            outcome = process(session, rid, settings)
            if outcome.case_version_id is not None:
                hand_off_refresh(session, queue_cases)
            return outcome, _next_is_migrated(session, outcome)

    def short() -> tuple[ProcessingResult, bool, float, Ran | None]:
        """The report and its stages in one transaction (``Ran``: None when it has none)."""
        with unit_of_work(settings) as session, job_memo(session):
            outcome = process(session, rid, settings, events_at_commit=True)
            bulk = _next_is_migrated(session, outcome)
            seconds = time.monotonic() - started
            if outcome.case_version_id is None or outcome.waiting_for is not None:
                return outcome, bulk, seconds, None
            try:
                ran = run_version_stages(session, outcome.case_version_id, stage_list,
                                         settings)
                session.commit()
            except Exception as exc:  # any failure: the long way finds which
                raise _StagesFailed(exc) from exc
            return outcome, bulk, seconds, ran

    def waited_for_nothing(outcome: ProcessingResult) -> bool:
        if outcome.waiting_for is None:
            return False
        with unit_of_work(settings) as session:
            return not not_done(session, outcome.waiting_for)

    def attempt() -> tuple[ProcessingResult, bool, float, Ran | None, Exception | None]:
        """The short way; if its stages failed, the long way's report transaction, with what
        they raised."""
        try:
            outcome, bulk, seconds, ran = _with_database(log, short)
            return outcome, bulk, seconds, ran, None
        except _StagesFailed as failed:
            log.info("report.long_way", error=str(failed),
                     seconds=round(time.monotonic() - started, 3))
            outcome, bulk = _with_database(log, unit)
            # The database gone meanwhile: the stages are tried together again (waiting for
            # it), as after the report's own commit; anything else is theirs to handle.
            error = None if is_database_unavailable(failed.error) else failed.error
            return outcome, bulk, time.monotonic() - started, None, error

    started = time.monotonic()
    try:
        outcome, bulk, intake_seconds, ran, stages_failed = attempt()
        # The report ahead may have been done while this one was put to wait (its hand-over
        # found this job still running, so enqueued nothing): then go on now, in this job.
        for _ in range(3):
            if not waited_for_nothing(outcome):
                break
            outcome, bulk, intake_seconds, ran, stages_failed = attempt()
    except Exception as exc:
        observe_stage(settings, "intake", time.monotonic() - started, ok=False)
        if is_database_unavailable(exc):
            log.warning("report.database_unavailable", error=type(exc).__name__)
            raise
        final = _final_attempt()
        log.warning("report.attempt_failed", error=f"{type(exc).__name__}: {exc}", final=final)
        with unit_of_work(settings) as session:
            processing_failed(session, rid, f"{type(exc).__name__}: {exc}", final=final)
        raise
    if outcome.waiting_for is not None:
        observe_stage(settings, "intake", intake_seconds, ok=True)
        log.info("report.waiting", waiting_for=str(outcome.waiting_for))
        return {"status": str(outcome.status), "waiting_for": str(outcome.waiting_for)}
    log.info("report.done", status=str(outcome.status), case_id=str(outcome.case_id or ""),
             case_version_id=str(outcome.case_version_id or ""))
    if ran is not None:  # the short way: the stages are committed with the report
        observe_stages(settings, [("intake", intake_seconds, True),
                                  *((done.value, seconds, True) for done, _, seconds in ran)])
        stage_log = _log(case_version_id=str(outcome.case_version_id))
        for done, summary, _ in ran:
            stage_log.info("stage.done", stage=done.value, summary=summary)
    try:
        if outcome.from_batch:  # only a partner's batch is acknowledged (safety.intake.acks)
            _acknowledge(settings, rid, log)
        if outcome.next_in_stream is not None:
            enqueue_report(settings, outcome.next_in_stream, bulk=bulk)
    except BaseException:
        if ran is None:
            _refresh_queue(settings, queue_cases, log)  # the stages will not run in this job
        raise
    if ran is not None:
        pass  # done with the report
    elif outcome.case_version_id is not None:
        # The long way: the stages after the report's commit, tried together unless they
        # just failed together with it (a timeout then fails the job, as it would have).
        _run_stages(settings, FIRST_STAGE, outcome.case_version_id, queue_cases,
                    intake_seconds, failed=stages_failed)
    else:
        observe_stage(settings, "intake", intake_seconds, ok=True)
    return {"status": str(outcome.status), "case_id": str(outcome.case_id or "") or None}


def _from(first: Stage) -> list[Stage]:
    """``first`` and the stages after it, in order."""
    out: list[Stage] = []
    stage: Stage | None = first
    while stage is not None:
        out.append(stage)
        stage = next_stage(stage)
    return out


def _next_is_migrated(session: Any, outcome: ProcessingResult) -> bool:
    """Whether the report to hand over to came by a migration (its job goes on the
    low-priority queue), asked in the report's own transaction."""
    nxt = outcome.next_in_stream
    return nxt is not None and bool(migrated_among(session, [nxt]))


def _refresh_queue(settings: Settings, case_ids: set[uuid.UUID], log: Any) -> None:
    """Rewrite the queue rows handed off by a report's commit, in a transaction of their own,
    when the stages that were to rewrite them did not commit. Best effort: the next commit
    that changes the case (its stage job, the sweep's) rewrites them anyway."""
    if not case_ids:
        return
    try:
        with unit_of_work(settings) as session:
            take_over_refresh(session, case_ids)
    except Exception as exc:  # noqa: BLE001 - never fail the job for a derived index
        log.warning("queue.refresh_failed", error=f"{type(exc).__name__}: {exc}")


def _acknowledge(settings: Settings, report_id: uuid.UUID, log: Any) -> None:
    """The partner's ACK once the last message of its batch is done. The report is processed
    whatever happens here: a failure is logged and the sweep writes the ACK later."""
    try:
        with unit_of_work(settings) as session:
            written = ack_report(session, report_id, settings.partner_ack_dir)
    except Exception as exc:  # noqa: BLE001 - never undo a processed report for its ACK
        log.warning("report.ack_failed", error=f"{type(exc).__name__}: {exc}")
        return
    if written is not None:
        log.info("report.ack_written", ack=str(written))


def run_stage(stage: str, case_version_id: str) -> dict[str, Any] | None:
    """One processing stage of a case version (a retry, a stage the sweep found stopped
    short), then the stages after it in the same job."""
    settings = load_settings()
    current = Stage(stage)
    log = _log(stage=stage, case_version_id=case_version_id)
    cv_id = uuid.UUID(case_version_id)
    try:
        summary = _stage_unit(settings, current, cv_id, log)
    except Exception as exc:
        if is_database_unavailable(exc):
            log.warning("stage.database_unavailable", error=type(exc).__name__)
            raise
        final = _final_attempt()
        log.warning("stage.attempt_failed", error=f"{type(exc).__name__}: {exc}", final=final)
        if final:
            with unit_of_work(settings) as session:
                stage_failed(session, cv_id, current, f"{type(exc).__name__}: {exc}")
        raise
    nxt = next_stage(current)
    if nxt is not None:
        _run_stages(settings, nxt, cv_id)
    return summary


def _stage_unit(settings: Settings, stage: Stage, cv_id: uuid.UUID,
                log: Any) -> dict[str, Any] | None:
    """One stage in a transaction of its own (waiting for the database if need be), its
    timing counted in the metrics."""
    started = time.monotonic()

    def unit() -> dict[str, Any] | None:
        with unit_of_work(settings) as session:
            return run_version_stage(session, cv_id, stage, STAGE_FUNCTIONS[stage], settings)

    try:
        summary = _with_database(log, unit)
    except Exception:
        observe_stage(settings, stage.value, time.monotonic() - started, ok=False)
        raise
    observe_stage(settings, stage.value, time.monotonic() - started, ok=True)
    log.info("stage.done", stage=stage.value, summary=summary)
    return summary


def _run_stages(settings: Settings, first: Stage, cv_id: uuid.UUID,
                queue_cases: set[uuid.UUID] | None = None,
                intake_seconds: float | None = None,
                failed: Exception | None = None) -> None:
    """The stages of a version from ``first`` on, in this job: nothing waits between them,
    so a separate job per stage bought only queueing, and a report's chain finishes before
    the queue moves on to the next report (fair in a bulk load).

    All of them first go in one transaction (one row lock, one commit), each recording its
    own status, timing and audit event. If any raises, that transaction is rolled back and
    they run again one by one, each in its own transaction, as before; a stage that fails
    there does not fail the job that ran it (the report is processed, the stages before it
    are done): its own job takes over, with the usual retries and backoff, after the first
    delay. The database staying away leaves it to that job too (or the sweep).

    ``queue_cases``: cases whose queue rows the report's commit handed to this transaction
    (rewritten here, or in one of their own if it does not commit); ``intake_seconds``: the
    report's own time, counted in the metrics with the stages' (one round trip); ``failed``:
    what the stages raised when they ran together with the report (``process_report``'s
    short way): they are not tried together again, the failure is handled as theirs."""
    queue_cases = queue_cases or set()
    intake = [("intake", intake_seconds, True)] if intake_seconds is not None else []
    remaining = _from(first)
    log = _log(case_version_id=str(cv_id))
    started = time.monotonic()

    def together() -> list[tuple[Stage, dict[str, Any] | None, float]]:
        with unit_of_work(settings) as session:
            take_over_refresh(session, queue_cases)
            return run_version_stages(session, cv_id,
                                      [(s, STAGE_FUNCTIONS[s]) for s in remaining], settings)

    try:
        if failed is not None:
            raise failed
        ran = _with_database(log, together)
    except JobTimeoutException:
        observe_stages(settings, intake)
        _refresh_queue(settings, queue_cases, log)
        enqueue_stage(settings, first, cv_id, delay=BACKOFF[0], attempts_used=1,
                      bulk=_on_bulk(settings))
        raise  # the job's time is up: it fails visibly, its worker takes the next
    except Exception as exc:  # noqa: BLE001 - any failure: find the stage, one by one
        observe_stages(settings, intake)
        if is_database_unavailable(exc):  # the stage job's commit rewrites the queue rows
            log.warning("stage.database_unavailable", error=type(exc).__name__,
                        handed_to=stage_job_id(first.value, cv_id))
            enqueue_stage(settings, first, cv_id, delay=BACKOFF[0], bulk=_on_bulk(settings))
            return
        log.info("stages.one_by_one", error=f"{type(exc).__name__}: {exc}",
                 seconds=round(time.monotonic() - started, 3))
        _refresh_queue(settings, queue_cases, log)
    else:
        observe_stages(settings, [*intake, *((done.value, seconds, True)
                                             for done, _, seconds in ran)])
        for done, summary, _ in ran:
            log.info("stage.done", stage=done.value, summary=summary)
        return
    for one in remaining:
        stage_log = _log(stage=one.value, case_version_id=str(cv_id))
        try:
            _stage_unit(settings, one, cv_id, stage_log)
        except Exception as exc:
            _inline_attempt_failed(settings, one, cv_id, stage_log, exc)
            if isinstance(exc, JobTimeoutException):
                raise
            return


def _inline_attempt_failed(settings: Settings, stage: Stage, cv_id: uuid.UUID, log: Any,
                           exc: Exception) -> None:
    """A stage run inside another job failed: that was its first attempt. Its own job makes
    the retries left, after the backoff that follows a first attempt; with none left (or a
    database that stays away) as a stage job would have: failed, or left to the sweep."""
    error = f"{type(exc).__name__}: {exc}"
    if settings.job_retries == 0 and not is_database_unavailable(exc):
        log.warning("stage.attempt_failed", error=error, final=True)
        with unit_of_work(settings) as session:
            stage_failed(session, cv_id, stage, error)
        return
    log.warning("stage.attempt_failed", error=error, final=False,
                handed_to=stage_job_id(stage.value, cv_id))
    enqueue_stage(settings, stage, cv_id, delay=BACKOFF[0], attempts_used=1,
                  bulk=_on_bulk(settings))


def sweep() -> dict[str, int]:
    """Enqueue every report that is stored but not yet processed, and every version whose
    processing stopped short (Redis was down, a worker died, Redis lost its data); put back
    on the queue the jobs whose worker died mid-job, and the delayed retries that are due
    when no live scheduler moves them. Safe to run anywhere, any time: enqueueing is
    deduplicated and processing is idempotent. Both queues: a migrated report, or a version
    a migrated report made, goes back on the low-priority one."""
    settings = load_settings()
    queues = get_queues(settings)
    queue = queues[0]
    requeued = [job for q in queues for job in requeue_stalled(q)]
    promoted = promote_due_scheduled(queues)
    cutoff = utcnow() - timedelta(seconds=settings.sweep_grace_seconds)
    with unit_of_work(settings) as session:
        reports = waiting_reports(session, cutoff)
        versions = waiting(session, cutoff)
        bulk_reports = migrated_among(session, reports)
        bulk_versions = migrated_versions(session, [cv_id for cv_id, _ in versions])
    with unit_of_work(settings) as session:
        acks = write_pending(session, utcnow() - ACK_WINDOW, settings.partner_ack_dir)
    enqueued = sum(1 for rid in reports if not job_pending(queue, report_job_id(rid))
                   and enqueue_report(settings, rid, bulk=rid in bulk_reports))
    stalled = sum(1 for cv_id, stage in versions
                  if enqueue_stage(settings, stage, cv_id, bulk=cv_id in bulk_versions))
    _log().info("sweep.done", reports=enqueued, stages=stalled, requeued=len(requeued),
                retries_due=promoted, acks=len(acks))
    return {"reports": enqueued, "stages": stalled, "requeued": len(requeued),
            "retries_due": promoted, "acks": len(acks)}


def refresh_due_alerts() -> dict[str, int]:
    """Mark open obligations due soon or overdue, in the organisation's time zone."""
    settings = load_settings()
    today = datetime.now(settings.zone).date()
    with unit_of_work(settings) as session:
        changed = refresh_alerts(session, today)
    _log().info("alerts.done", changed=changed)
    return {"changed": changed}


def seal_audit_trail() -> dict[str, int]:
    """Seal the audit events written since the last run into their hash chains."""
    settings = load_settings()
    with unit_of_work(settings) as session:
        sealed = seal_trail(session)
    if sealed:
        _log().info("audit.sealed", events=sealed)
    return {"sealed": sealed}


def enqueue_report(settings: Settings, report_id: object, fresh: bool = False, *,
                   bulk: bool = False) -> bool:
    """A report's job (``bulk``: on the migrations' low-priority queue)."""
    return enqueue_unique(settings, process_report, report_job_id(report_id), str(report_id),
                          fresh=fresh, bulk=bulk)


def enqueue_stage(settings: Settings, stage: Stage, case_version_id: object,
                  delay: float = 0, attempts_used: int = 0, *, bulk: bool = False) -> bool:
    """A version's stage job (``bulk``: on the migrations' low-priority queue)."""
    return enqueue_unique(settings, run_stage, stage_job_id(stage.value, case_version_id),
                          stage.value, str(case_version_id), delay=delay,
                          attempts_used=attempts_used, bulk=bulk)


def requeue_report(settings: Settings, report_id: object) -> bool:
    """A retried report's job, under its usual id (the ended job of that id is replaced)."""
    return requeue(settings, process_report, report_job_id(report_id), str(report_id))


def requeue_stage(settings: Settings, stage: Stage, case_version_id: object) -> bool:
    """A retried stage's job, under its usual id (the ended job of that id is replaced)."""
    return requeue(settings, run_stage, stage_job_id(stage.value, case_version_id),
                   stage.value, str(case_version_id))
