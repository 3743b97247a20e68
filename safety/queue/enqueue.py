"""Enqueueing with deterministic job ids, retries with backoff, and nothing before the commit.

Job ids name the work (``report-<uuid>``, ``stage-coding-<uuid>``), so enqueueing the same work
twice (a retried request, the sweep, a second worker) refers to one job, and the jobs
themselves are idempotent besides. Jobs are given by function reference
(``safety.pipeline.jobs``); this module knows none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, cast

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.utils import as_text, current_timestamp, parse_composite_key

from safety.config import Settings
from safety.queue.connection import get_redis

log = logging.getLogger(__name__)

# Backoff in seconds between attempts: transient failures (a database restart, a lock
# timeout) get a few minutes to clear before the report is marked failed.
BACKOFF = [5, 30, 120, 600, 1800]
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600  # a failed job stays inspectable for a week
PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}

JobFunction = Callable[..., Any]


def get_queue(settings: Settings, connection: Redis | None = None, *,
              bulk: bool = False) -> Queue:
    """The live queue, or with ``bulk`` the migrations' low-priority one
    (``Settings.effective_bulk_queue``): workers take the live queue first."""
    name = settings.effective_bulk_queue if bulk else settings.queue_name
    return Queue(name, connection=connection or get_redis(settings))


def get_queues(settings: Settings, connection: Redis | None = None) -> list[Queue]:
    """Every queue of the pipeline in the order a worker takes them: live, then bulk."""
    conn = connection or get_redis(settings)
    return [Queue(name, connection=conn) for name in settings.queue_names]


def _origin(queue: Queue, job: Job) -> Queue:
    """The queue a job was enqueued on (its registries are that queue's), which may be the
    other queue of the pipeline than the one the caller looked at."""
    if not job.origin or job.origin == queue.name:
        return queue
    return Queue(job.origin, connection=queue.connection)


def job_pending(queue: Queue, job_id: str) -> bool:
    """Whether the job will run without anyone enqueueing it again: queued; scheduled and in
    the queue's schedule; started by a worker that is still alive. A job whose status says
    ``scheduled`` or ``started`` but that nobody will ever run (its schedule entry lost, its
    worker dead) is not pending, so the sweep enqueues it again."""
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except Exception:  # noqa: BLE001 - rq raises NoSuchJobError or a deserialisation error
        return False
    status = job.get_status(refresh=False)
    queue = _origin(queue, job)
    if status == JobStatus.SCHEDULED:
        return queue.connection.zscore(queue.scheduled_job_registry.key, job_id) is not None
    if status == JobStatus.STARTED:
        entries = cast(list[tuple[bytes, float]], list(queue.connection.zscan_iter(
            queue.started_job_registry.key, match=f"{job_id}:*")))
        return any(not _stalled(queue, key, score) for key, score in entries)
    return status in PENDING


def _stalled(queue: Queue, execution_key: bytes | str, expires: float) -> bool:
    """Whether a started job's execution has no live worker: its heartbeat expired, its
    execution record is gone, or its worker's key is gone or says it died."""
    if expires < current_timestamp():
        return True
    conn = queue.connection
    worker_name = conn.hget(f"rq:execution:{as_text(execution_key)}", "worker_name")
    if not worker_name:
        return True
    worker_key = f"rq:worker:{as_text(worker_name)}"
    return not conn.exists(worker_key) or bool(conn.hexists(worker_key, "death"))


def requeue_stalled(queue: Queue) -> list[str]:
    """Put back on the queue every started job whose worker is gone (killed, or lost Redis
    mid-job and gave up), instead of leaving it ``started`` until rq's own clean-up, which
    runs only at a worker's maintenance. Jobs are idempotent, so a job that turns out to be
    still running elsewhere (a long Redis outage kept its heartbeat from arriving) merely runs
    twice. Returns the ids of the jobs put back."""
    conn = queue.connection
    registry = queue.started_job_registry
    requeued = []
    entries = cast(list[tuple[bytes, float]], conn.zrange(registry.key, 0, -1, withscores=True))
    for key, expires in entries:
        if not _stalled(queue, key, expires):
            continue
        composite = as_text(key)
        job_id, _execution_id = parse_composite_key(composite)
        with conn.pipeline() as pipe:
            pipe.zrem(registry.key, composite)
            pipe.delete(f"rq:execution:{composite}")
            pipe.execute()
        # Not in the same transaction: if this process dies here, the job is neither running
        # nor pending, and the sweep enqueues its report or stage from the database.
        try:
            queue.enqueue_job(Job.fetch(job_id, connection=conn))
        except NoSuchJobError:
            continue
        log.warning("requeued %s: its worker is gone", job_id)
        requeued.append(job_id)
    return requeued


def promote_due_scheduled(queues: Sequence[Queue]) -> int:
    """Move the delayed retries that are due onto their queues, if no live scheduler holds
    the queues' scheduler locks (rq's scheduler runs inside one worker; when that worker
    dies, the others take the lock over only at their maintenance). Returns how many were
    due."""
    # rq's scheduler has no type information: Any.
    scheduler: Any = RQScheduler([q.name for q in queues], connection=queues[0].connection)
    if not scheduler.acquire_locks():
        return 0  # a live scheduler has them, and does this every second
    try:
        now = current_timestamp()
        due = sum(len(q.scheduled_job_registry.get_jobs_to_schedule(now)) for q in queues
                  if q.name in scheduler.acquired_locks)
        if due:
            scheduler.enqueue_scheduled_jobs()
        return due
    finally:
        scheduler.release_locks()
        scheduler.connection.connection_pool.disconnect()


def _retry(settings: Settings, used: int = 0) -> Retry | None:
    """The retries left after ``used`` attempts made elsewhere, with the backoff that
    follows them."""
    retries = settings.job_retries - used
    return Retry(max=retries, interval=BACKOFF[used:settings.job_retries]) if retries > 0 \
        else None


def enqueue_unique(settings: Settings, func: JobFunction, job_id: str, *args: Any,
                   queue: Queue | None = None, fresh: bool = False, delay: float = 0,
                   attempts_used: int = 0, bulk: bool = False) -> bool:
    """Enqueue unless the same job is already waiting or running; False if Redis is down.

    ``fresh`` skips the look-up for work that cannot have a job yet (a report just stored);
    ``delay`` (seconds) schedules it instead (rq's scheduler moves it onto the queue);
    ``attempts_used``: attempts already made elsewhere, taken off its retries; ``bulk``: on
    the migrations' low-priority queue.
    """
    try:
        q = queue or get_queue(settings, bulk=bulk)
        if not fresh and job_pending(q, job_id):
            return True
        options: dict[str, Any] = {
            "job_id": job_id, "retry": _retry(settings, attempts_used), "result_ttl": RESULT_TTL,
            "failure_ttl": FAILURE_TTL, "job_timeout": settings.job_timeout_seconds}
        if delay > 0:
            q.enqueue_in(timedelta(seconds=delay), func, *args, **options)
        else:
            q.enqueue(func, *args, **options)
        return True
    except RedisError as exc:
        log.warning("could not enqueue %s: %s (the sweep will retry)", job_id, exc)
        return False


def requeue(settings: Settings, func: JobFunction, job_id: str, *args: Any) -> bool:
    """Enqueue work again that a person retried: a job of that id that has ended (failed,
    stopped, finished) is deleted first, so that the id names the new attempt and the old one
    leaves the failed registry; a job still pending is left to run. The new attempt goes on
    the queue the ended one was on (a migrated report's retry stays behind live work); the
    live queue when no job is left. False if Redis is down (the sweep enqueues a retried
    report later)."""
    try:
        q = get_queue(settings)
        try:
            job = Job.fetch(job_id, connection=q.connection)
        except Exception:  # noqa: BLE001 - rq raises NoSuchJobError or a deserialisation error
            job = None
        if job is not None:
            if job.get_status(refresh=False) in PENDING:
                return True
            if job.origin in settings.queue_names:
                q = _origin(q, job)
            job.delete()
        q.enqueue(func, *args, job_id=job_id, retry=_retry(settings), result_ttl=RESULT_TTL,
                  failure_ttl=FAILURE_TTL, job_timeout=settings.job_timeout_seconds)
        return True
    except RedisError as exc:
        log.warning("could not enqueue %s: %s (the sweep will retry)", job_id, exc)
        return False


def enqueue_batch(settings: Settings, func: JobFunction,
                  jobs: Sequence[tuple[str, tuple[Any, ...]]], *, bulk: bool = False) -> None:
    """Enqueue fresh work (no job can exist yet) in one Redis round trip (``bulk``: on the
    migrations' queue); raises RedisError for the caller to log."""
    q = get_queue(settings, bulk=bulk)
    retry = _retry(settings)
    datas = [Queue.prepare_data(func, args, job_id=job_id, retry=retry, result_ttl=RESULT_TTL,
                                failure_ttl=FAILURE_TTL,
                                timeout=settings.job_timeout_seconds)
             for job_id, args in jobs]
    with q.connection.pipeline() as pipe:
        q.enqueue_many(datas, pipeline=pipe)
        pipe.execute()
