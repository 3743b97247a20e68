"""Run a real rq worker, in burst mode, in this process."""

from __future__ import annotations

from redis import Redis
from rq import Queue, SimpleWorker

from safety.config import Settings
from safety.queue.connection import redis_url
from safety.queue.relay import flush_all


def run_worker(settings: Settings) -> int:
    """Process every queued job (no fork) and return how many finished."""
    flush_all()  # reports the API handed to its enqueue relay
    conn = Redis.from_url(redis_url(settings))
    queue = Queue(settings.queue_name, connection=conn)
    before = queue.finished_job_registry.count
    SimpleWorker([queue], connection=conn).work(burst=True, with_scheduler=False)
    return queue.finished_job_registry.count - before
