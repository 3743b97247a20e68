"""Enqueueing with deterministic job ids, retries with backoff, and nothing before the commit.

Job ids name the work (``report-<uuid>``, ``stage-coding-<uuid>``), so enqueueing the same work
twice (a retried request, the sweep, a second worker) refers to one job, and the jobs
themselves are idempotent besides. Jobs are given by function reference
(``safety.pipeline.jobs``); this module knows none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus

from safety.config import Settings
from safety.queue.connection import get_redis

log = logging.getLogger(__name__)

# Backoff in seconds between attempts: transient failures (a database restart, a lock
# timeout) get a few minutes to clear before the report is marked failed.
BACKOFF = [5, 30, 120, 600, 1800]
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600  # a failed job stays inspectable for a week
JOB_TIMEOUT = 600
PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}

JobFunction = Callable[..., Any]


def get_queue(settings: Settings, connection: Redis | None = None) -> Queue:
    return Queue(settings.queue_name, connection=connection or get_redis(settings))


def job_pending(queue: Queue, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except Exception:  # noqa: BLE001 - rq raises NoSuchJobError or a deserialisation error
        return False
    return job.get_status(refresh=False) in PENDING


def _retry(settings: Settings) -> Retry | None:
    retries = settings.job_retries
    return Retry(max=retries, interval=BACKOFF[:retries]) if retries else None


def enqueue_unique(settings: Settings, func: JobFunction, job_id: str, *args: Any,
                   queue: Queue | None = None, fresh: bool = False) -> bool:
    """Enqueue unless the same job is already waiting or running; False if Redis is down.

    ``fresh`` skips the look-up for work that cannot have a job yet (a report just stored).
    """
    try:
        q = queue or get_queue(settings)
        if not fresh and job_pending(q, job_id):
            return True
        q.enqueue(func, *args, job_id=job_id, retry=_retry(settings), result_ttl=RESULT_TTL,
                  failure_ttl=FAILURE_TTL, job_timeout=JOB_TIMEOUT)
        return True
    except RedisError as exc:
        log.warning("could not enqueue %s: %s (the sweep will retry)", job_id, exc)
        return False


def requeue(settings: Settings, func: JobFunction, job_id: str, *args: Any) -> bool:
    """Enqueue work again that a person retried: a job of that id that has ended (failed,
    stopped, finished) is deleted first, so that the id names the new attempt and the old one
    leaves the failed registry; a job still pending is left to run. False if Redis is down
    (the sweep enqueues a retried report later)."""
    try:
        q = get_queue(settings)
        try:
            job = Job.fetch(job_id, connection=q.connection)
        except Exception:  # noqa: BLE001 - rq raises NoSuchJobError or a deserialisation error
            job = None
        if job is not None:
            if job.get_status(refresh=False) in PENDING:
                return True
            job.delete()
        q.enqueue(func, *args, job_id=job_id, retry=_retry(settings), result_ttl=RESULT_TTL,
                  failure_ttl=FAILURE_TTL, job_timeout=JOB_TIMEOUT)
        return True
    except RedisError as exc:
        log.warning("could not enqueue %s: %s (the sweep will retry)", job_id, exc)
        return False


def enqueue_batch(settings: Settings, func: JobFunction,
                  jobs: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    """Enqueue fresh work (no job can exist yet) in one Redis round trip; raises RedisError
    for the caller to log."""
    q = get_queue(settings)
    retry = _retry(settings)
    datas = [Queue.prepare_data(func, args, job_id=job_id, retry=retry, result_ttl=RESULT_TTL,
                                failure_ttl=FAILURE_TTL, timeout=JOB_TIMEOUT)
             for job_id, args in jobs]
    with q.connection.pipeline() as pipe:
        q.enqueue_many(datas, pipeline=pipe)
        pipe.execute()
