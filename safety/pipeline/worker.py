"""A worker process: the settings once, caches warm, then rq's worker loop, kept alive.

Work done once per worker process, before rq forks a child per job: rq runs each job in a
forked child, so anything a job builds dies with it. Building the terminology indexes and
loading the duplicate model in the parent lets every child inherit them (copy-on-write)
instead of rebuilding them per job. Database connections must not cross the fork: the
parent's pool is emptied and each child opens its own.

The process outlives its servers. rq's work loop quits on most Redis errors (a heartbeat or
a state change that fails while a job runs, a timeout), and its teardown then waits on Redis
too; this process instead waits for Redis with capped exponential backoff, logs it, and starts
a fresh rq worker (a new name; the old one's registration expires) in the same process. A
database that is down at start is waited for the same way; jobs wait for it themselves
(``safety.pipeline.jobs``). Only a stop request (SIGTERM, SIGINT) ends the process.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress
from types import FrameType
from typing import Any, cast

import structlog
from redis import Redis
from redis.client import PubSub, PubSubWorkerThread
from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job

from safety.backoff import Backoff
from safety.coding.service import warm_up
from safety.config import Settings
from safety.db.session import (
    get_engine,
    import_all_models,
    is_database_unavailable,
    session_scope,
)
from safety.dedup.service import model
from safety.logging import configure_logging
from safety.queue.enqueue import get_queue

log = structlog.get_logger("safety.worker")

# rq's defaults are for long-lived, well-connected workers: a worker blocks on the queue for
# worker_ttl - 15 s (405 s) and runs its maintenance (restart its scheduler process if it holds
# the lock, requeue abandoned jobs) every 10 minutes. Shorter, a worker notices within a
# minute or two that the scheduler died or a job was abandoned.
WORKER_TTL = 60
MAINTENANCE_INTERVAL = 60
# How long teardown waits for the command-channel thread (it polls every second) and for the
# scheduler process; neither may hold a stopping worker for long.
PUBSUB_POLL_SECONDS = 1.0
THREAD_STOP_WAIT = 2.0
SCHEDULER_STOP_WAIT = 5.0


class SafetyWorker(Worker):
    """rq's forking worker, made to stop promptly and to survive a lost Redis mid-job.

    - Its command channel (rq's stop/kill commands by pub/sub) is polled every second and its
      thread stopped with a bounded wait: with rq 2.12 and redis-py 8.2, rq's own teardown
      unsubscribes and joins a thread that polls every 60 s, so a stopping worker hung for up
      to a minute (and for ever when Redis was gone).
    - A heartbeat that fails while a job runs is logged and the job left to finish, instead of
      rq's loop quitting and abandoning it.
    - Teardown does what it can when Redis is away (registering the death is best effort).
    """

    def __init__(self, *args: Any, stop: _StopSignal | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        super().__init__(*args, **kwargs)
        self.stop_requested = False
        self._process_stop = stop

    def _install_signal_handlers(self) -> None:
        """rq's handlers; a stop that arrived while this worker was being set up (under the
        process's own handler) stops it at the top of its loop."""
        cast(Any, super())._install_signal_handlers()
        if self._process_stop is not None and self._process_stop.requested:
            self.stop_requested = True
            self._stop_requested = True

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True
        cast(Any, super()).request_stop(signum, frame)

    def subscribe(self) -> None:
        pubsub = self.connection.pubsub()
        pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub = pubsub
        # rq declares the attribute as None only: Any.
        cast(Any, self).pubsub_thread = pubsub.run_in_thread(
            sleep_time=PUBSUB_POLL_SECONDS, daemon=True, exception_handler=self._pubsub_error)

    def _pubsub_error(self, exc: BaseException, pubsub: PubSub,
                      thread: PubSubWorkerThread) -> None:
        """Keep polling through a Redis outage (redis-py resubscribes on reconnection); stop
        the thread on anything else."""
        if isinstance(exc, RedisError):
            time.sleep(PUBSUB_POLL_SECONDS)
            return
        log.warning("worker.command_channel_stopped", error=f"{type(exc).__name__}: {exc}")
        thread.stop()

    def unsubscribe(self) -> None:
        thread: PubSubWorkerThread | None = cast(Any, self).pubsub_thread
        if thread is None:
            return
        thread.stop(timeout=THREAD_STOP_WAIT)
        if not thread.is_alive() and self.pubsub is not None:
            with suppress(RedisError):
                self.pubsub.close()
        self.pubsub_thread = None

    def maintain_heartbeats(self, job: Job) -> None:
        try:
            super().maintain_heartbeats(job)
        except RedisError as exc:
            log.warning("worker.heartbeat_failed", job_id=job.id,
                        error=f"{type(exc).__name__}: {exc}")

    def stop_scheduler(self) -> None:
        process: Any = getattr(self.scheduler, "_process", None)
        if process is None or not process.pid:
            return
        with suppress(OSError):
            os.kill(process.pid, signal.SIGTERM)
        process.join(SCHEDULER_STOP_WAIT)
        if process.is_alive():
            process.kill()
            process.join(THREAD_STOP_WAIT)

    def teardown(self) -> None:
        if self.is_horse:
            return
        if self.scheduler:
            self.stop_scheduler()
        try:
            cast(Any, self).register_death()
        except RedisError as exc:
            log.warning("worker.death_not_registered", error=type(exc).__name__)
        self.unsubscribe()


class _StopSignal:
    """SIGTERM/SIGINT while no rq worker is running (waiting for Redis or the database)."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.requested and time.monotonic() < end:
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))


def warm_caches(settings: Settings) -> None:
    # Every table known before the fork: a job's flush orders its inserts by foreign key, and
    # a table whose module no import of the job's happened to load (``sites``, referenced by
    # ``cases.site_id``) failed it with NoReferencedTableError.
    import_all_models()
    with session_scope(settings.effective_database_url) as session:
        warm_up(session, settings)
    model()
    engine = get_engine(settings.effective_database_url)
    engine.dispose()
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


def _warm_when_database_answers(settings: Settings, stop: _StopSignal) -> bool:
    """Warm the caches, waiting for the database with backoff; False if stopped meanwhile."""
    backoff = Backoff()
    while not stop.requested:
        try:
            warm_caches(settings)
            if backoff.attempts:
                log.info("worker.database_back", attempts=backoff.attempts)
            return True
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            delay = backoff.next_delay()
            log.warning("worker.database_unavailable", error=type(exc).__name__,
                        retry_in=round(delay, 2))
            stop.sleep(delay)
    return False


def _wait_for_redis(connection: Redis, stop: _StopSignal, backoff: Backoff) -> None:
    """Until Redis answers (or a stop is requested), with backoff, each wait logged."""
    while not stop.requested:
        try:
            connection.ping()
            return
        except RedisError as exc:
            delay = backoff.next_delay()
            log.warning("worker.redis_unavailable", error=f"{type(exc).__name__}: {exc}",
                        retry_in=round(delay, 2))
            stop.sleep(delay)


def run_worker(settings: Settings, *, burst: bool = False, with_scheduler: bool = True) -> None:
    """Process reports and case stages until stopped (or, with ``burst``, until the queue is
    empty); ``with_scheduler`` also runs rq's scheduler for the delayed retries (each worker
    competes for its lock, so one of them always runs it)."""
    configure_logging(settings.log_level)
    stop = _StopSignal()
    stop.install()
    if not _warm_when_database_answers(settings, stop):
        return
    queue = get_queue(settings)
    backoff = Backoff()
    while not stop.requested:
        worker: SafetyWorker | None = None
        started = time.monotonic()
        try:
            worker = SafetyWorker([queue], connection=queue.connection, stop=stop)
            worker.work(burst=burst, with_scheduler=with_scheduler,
                        logging_level=settings.log_level)
        except RedisError as exc:
            log.warning("worker.redis_lost", error=f"{type(exc).__name__}: {exc}")
        if stop.requested or (worker is not None and worker.stop_requested):
            return
        stop.install()  # rq's handlers belong to the worker that just ended
        if burst and worker is not None and _answers(queue.connection):
            return
        if time.monotonic() - started > 60:
            backoff.reset()  # it ran a good while: this is a new outage, not the same one
        log.warning("worker.loop_ended", name=worker.name if worker else None)
        if _answers(queue.connection):
            stop.sleep(backoff.next_delay())  # ended for another reason: no hot loop
        else:
            _wait_for_redis(queue.connection, stop, backoff)
        if not stop.requested:
            log.info("worker.restarting", attempts=backoff.attempts)


def _answers(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except RedisError:
        return False


def listening_workers(settings: Settings) -> int | None:
    """How many workers are registered on the queue (each keeps its registration alive with a
    heartbeat, so a worker that died drops out within its TTL); ``None`` when Redis cannot be
    reached."""
    try:
        queue = get_queue(settings)
        return Worker.count(connection=queue.connection, queue=queue)
    except RedisError:
        return None
