"""A worker process: the settings once, caches warm, then rq's worker loop, kept alive.

Jobs run in this process, one after the other (rq's ``SimpleWorker``: no fork per job). The
terminology indexes, the duplicate model, the compiled rules and the database pool are built
once, at start, and every job uses them warm; forking a work-horse per job and redoing what the
child could not inherit (connections, lazily built caches) cost most of each job's time
(issue 20: 0.93 reports/s forking, against 25-110 ms of real work per job). What a job may keep
between jobs is in ``docs/decisions.md`` ("Workers run jobs in their own process").

One bad job cannot wedge the worker: rq's per-job timeout (``SAFETY_JOB_TIMEOUT_SECONDS``,
SIGALRM in this process) fails a job that runs too long, as an attempt with its retries, and
the worker takes the next; the memory guard (``SAFETY_WORKER_MEMORY_MB``) caps the address
space, so a job that would allocate past it fails with ``MemoryError``, and a worker whose
resident memory has grown past half of it after a job starts afresh (``exec`` of the same
command: same pid for the supervisor, caches rebuilt).

The process outlives its servers. rq's work loop quits on most Redis errors (a heartbeat or
a state change that fails while a job runs, a timeout), and its teardown then waits on Redis
too; this process instead waits for Redis with capped exponential backoff, logs it, and starts
a fresh rq worker (a new name; the old one's registration expires) in the same process. A
database that is down at start is waited for the same way; jobs wait for it themselves
(``safety.pipeline.jobs``). Only a stop request (SIGTERM, SIGINT) ends the process.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time
from contextlib import suppress
from types import FrameType
from typing import Any, cast

import structlog
from redis import Redis
from redis.client import PubSub, PubSubWorkerThread
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, Worker
from rq.job import Job

from safety.backoff import Backoff
from safety.coding.service import warm_up
from safety.config import Settings
from safety.db.session import (
    get_engine,
    import_all_models,
    is_database_unavailable,
    unit_of_work,
)
from safety.dedup.service import model
from safety.e2b.export import export_case
from safety.e2b.hl7 import destinations
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader
from safety.logging import configure_logging
from safety.queue.enqueue import get_queue, get_queues
from safety.rules.regime import load_regimes

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


class SafetyWorker(SimpleWorker):
    """rq's in-process worker, made to stop promptly, to survive a lost Redis mid-job and to
    guard its memory.

    - Its command channel (rq's stop/kill commands by pub/sub) is polled every second and its
      thread stopped with a bounded wait: with rq 2.12 and redis-py 8.2, rq's own teardown
      unsubscribes and joins a thread that polls every 60 s, so a stopping worker hung for up
      to a minute (and for ever when Redis was gone).
    - A heartbeat that fails while a job runs is logged and the job left to finish, instead of
      rq's loop quitting and abandoning it.
    - Teardown does what it can when Redis is away (registering the death is best effort).
    """

    def __init__(self, *args: Any, stop: _StopSignal | None = None,
                 recycle_above_mb: int = 0, **kwargs: Any) -> None:
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        super().__init__(*args, **kwargs)
        self.stop_requested = False
        self.recycle = False
        self._process_stop = stop
        self._recycle_above_mb = recycle_above_mb

    def execute_job(self, job: Job, queue: Queue) -> None:
        """The job in this process (rq's timeout around it); then, if this process has grown
        past its memory guard, stop after it so that the process starts afresh."""
        super().execute_job(job, queue)
        if self._recycle_above_mb and resident_mb() > self._recycle_above_mb:
            log.warning("worker.memory_recycle", job_id=job.id, resident_mb=resident_mb(),
                        limit_mb=self._recycle_above_mb)
            self.recycle = True
            self._stop_requested = True

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
        if self.scheduler:
            self.stop_scheduler()
        try:
            cast(Any, self).register_death()
        except RedisError as exc:
            log.warning("worker.death_not_registered", error=type(exc).__name__)
        self.unsubscribe()
        # rq's scheduler keeps a connection pool of its own in this process (it took the lock
        # with it); closing it lets the embedded Redis see this process gone at exit.
        own = getattr(self.scheduler, "_connection", None)
        if own is not None:
            own.connection_pool.disconnect()


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


def resident_mb() -> float:
    """This process's resident memory now, in MiB (Linux ``/proc``; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def guard_memory(limit_mb: int) -> None:
    """Cap this process's address space at ``limit_mb`` (never above a hard limit already
    set): an allocation past it raises ``MemoryError`` in the job that made it, which fails
    as an attempt, instead of the kernel's OOM killer taking the worker (or a neighbour)."""
    if limit_mb <= 0:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limit_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def warm_rules(settings: Settings) -> None:
    """The reporting regimes, and the E2B writer and conformance rules of every destination,
    compiled now (each is cached per folder for the life of the process), by exporting the
    demo case once per destination: the first real job would otherwise pay for it."""
    load_regimes()
    for destination in sorted(destinations()):
        export_case(sample_case(), ExportHeader(sender_id="WARMUP", destination=destination),
                    schemas=settings.schemas_dir, xsd_dir=settings.e2b_xsd_dir)


def warm_caches(settings: Settings) -> None:
    # Every table known before the first job: a job's flush orders its inserts by foreign
    # key, and a table whose module no import of the job's happened to load (``sites``,
    # referenced by ``cases.site_id``) failed it with NoReferencedTableError.
    import_all_models()
    with unit_of_work(settings) as session:
        warm_up(session, settings)
    model()
    warm_rules(settings)
    # rq's scheduler runs in a process forked from this one: it must not share the pool.
    engine = get_engine(settings.effective_database_url)
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


def run_worker(settings: Settings, *, burst: bool = False, with_scheduler: bool = True) -> bool:
    """Process reports and case stages until stopped (or, with ``burst``, until the queue is
    empty); ``with_scheduler`` also runs rq's scheduler for the delayed retries (each worker
    competes for its lock, so one of them always runs it). True when the worker stopped
    because its memory grew past the guard: the caller starts the process afresh
    (``restart_process``)."""
    configure_logging(settings.log_level)
    stop = _StopSignal()
    stop.install()
    if not _warm_when_database_answers(settings, stop):
        return False
    _guard(settings)
    # The live queue first, then the migrations' (rq takes queues in the order given): a live
    # report never waits behind a migration's backlog; a migrated report's stages still run
    # in its own job, right after its intake.
    queues = get_queues(settings)
    queue = queues[0]
    backoff = Backoff()
    while not stop.requested:
        worker: SafetyWorker | None = None
        started = time.monotonic()
        try:
            worker = SafetyWorker(queues, connection=queue.connection, stop=stop,
                                  recycle_above_mb=settings.worker_memory_mb // 2)
            worker.work(burst=burst, with_scheduler=with_scheduler,
                        logging_level=settings.log_level)
        except RedisError as exc:
            log.warning("worker.redis_lost", error=f"{type(exc).__name__}: {exc}")
        if worker is not None and worker.recycle:
            return not burst
        if stop.requested or (worker is not None and worker.stop_requested):
            return False
        stop.install()  # rq's handlers belong to the worker that just ended
        if burst and worker is not None and _answers(queue.connection):
            return False
        if time.monotonic() - started > 60:
            backoff.reset()  # it ran a good while: this is a new outage, not the same one
        log.warning("worker.loop_ended", name=worker.name if worker else None)
        if _answers(queue.connection):
            stop.sleep(backoff.next_delay())  # ended for another reason: no hot loop
        else:
            _wait_for_redis(queue.connection, stop, backoff)
        if not stop.requested:
            log.info("worker.restarting", attempts=backoff.attempts)
    return False


def _guard(settings: Settings) -> None:
    """The memory guard, unless the warm process is already past it (then it is said, and
    the worker runs unguarded rather than failing every job)."""
    limit = settings.worker_memory_mb
    if not limit:
        return
    mapped = _address_space_mb()
    if mapped is not None and mapped >= limit * 0.8:
        log.warning("worker.memory_guard_off", address_space_mb=round(mapped),
                    limit_mb=limit, reason="the warm worker already maps most of it")
        return
    guard_memory(limit)


def _address_space_mb() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


def restart_process() -> None:
    """Replace this process by a fresh run of the same command (same pid, so a supervisor
    sees nothing die); what grew in memory is gone, and the caches are built again."""
    log.info("worker.restarting_process", argv=sys.orig_argv)
    os.execv(sys.executable, sys.orig_argv)


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
