"""A worker process: the settings once, caches warm, then rq's worker loop.

Work done once per worker process, before rq forks a child per job: rq runs each job in a
forked child, so anything a job builds dies with it. Building the terminology indexes and
loading the duplicate model in the parent lets every child inherit them (copy-on-write)
instead of rebuilding them per job. Database connections must not cross the fork: the
parent's pool is emptied and each child opens its own.
"""

from __future__ import annotations

import os

from rq import Worker

from safety.coding.service import warm_up
from safety.config import Settings
from safety.db.session import get_engine, session_scope
from safety.dedup.service import model
from safety.logging import configure_logging
from safety.queue.enqueue import get_queue


def warm_caches(settings: Settings) -> None:
    with session_scope(settings.effective_database_url) as session:
        warm_up(session, settings)
    model()
    engine = get_engine(settings.effective_database_url)
    engine.dispose()
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


def run_worker(settings: Settings, *, burst: bool = False, with_scheduler: bool = True) -> None:
    """Process reports and case stages until stopped (or, with ``burst``, until the queue is
    empty); ``with_scheduler`` also runs rq's scheduler for the delayed retries."""
    configure_logging(settings.log_level)
    warm_caches(settings)
    queue = get_queue(settings)
    Worker([queue], connection=queue.connection).work(
        burst=burst, with_scheduler=with_scheduler, logging_level=settings.log_level)


def listening_workers(settings: Settings) -> int | None:
    """How many workers are registered on the queue (each keeps its registration alive with a
    heartbeat, so a worker that died drops out within its TTL); ``None`` when Redis cannot be
    reached."""
    from redis.exceptions import RedisError

    try:
        queue = get_queue(settings)
        return Worker.count(connection=queue.connection, queue=queue)
    except RedisError:
        return None
