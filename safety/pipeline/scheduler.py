"""Periodic jobs, run by rq's own cron scheduler (``safety scheduler``), kept alive.

rq's ``CronScheduler.start`` lets any Redis error end the process (and then fails again
registering its death). ``SafetyCronScheduler`` runs the same steps (enqueue what is due,
persist the timings, heartbeat) but waits for Redis with capped exponential backoff when
it is away, logs it, and carries on in the same process; only SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import signal
import time
from types import FrameType

import structlog
from redis import Redis
from redis.exceptions import RedisError
from rq.cron import CronScheduler

from safety.backoff import Backoff
from safety.config import Settings
from safety.logging import configure_logging
from safety.pipeline import jobs
from safety.queue.connection import get_redis

log = structlog.get_logger("safety.scheduler")

# (function, seconds between runs or None to use the settings' sweep interval)
PERIODIC = [(jobs.sweep, None), (jobs.refresh_due_alerts, 900)]


class SafetyCronScheduler(CronScheduler):
    def __init__(self, connection: Redis, logging_level: str | int = "INFO",
                 name: str = "") -> None:
        super().__init__(connection, logging_level=logging_level, name=name)
        self.stop_requested = False

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("scheduler.stop_requested", signal=signum)
        self.stop_requested = True

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stop_requested and time.monotonic() < end:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))

    def start(self) -> None:
        self._install_signal_handlers()
        backoff = Backoff()
        registered = False
        while not self.stop_requested:
            try:
                if not registered:
                    self.register_birth()
                    registered = True
                if self.enqueue_jobs():
                    self.save()
                self.heartbeat()
            except RedisError as exc:
                delay = backoff.next_delay()
                log.warning("scheduler.redis_unavailable", error=f"{type(exc).__name__}: {exc}",
                            retry_in=round(delay, 2))
                self._sleep(delay)
                continue
            if backoff.attempts:
                log.info("scheduler.redis_back", attempts=backoff.attempts)
                backoff.reset()
            self._sleep(self.calculate_sleep_interval())
        try:
            self.register_death()
        except RedisError as exc:
            log.warning("scheduler.death_not_registered", error=type(exc).__name__)
        log.info("scheduler.stopped", name=self.name)


def build_scheduler(settings: Settings) -> SafetyCronScheduler:
    cron = SafetyCronScheduler(connection=get_redis(settings), logging_level=settings.log_level)
    for func, interval in PERIODIC:
        cron.register(func, queue_name=settings.queue_name,
                      interval=interval or settings.sweep_interval_seconds, job_timeout=600)
    return cron


def run_cron(settings: Settings) -> None:
    configure_logging(settings.log_level)
    build_scheduler(settings).start()
