"""Periodic jobs, run by rq's own cron scheduler (``safety scheduler``)."""

from __future__ import annotations

from rq.cron import CronScheduler

from safety.config import Settings
from safety.logging import configure_logging
from safety.pipeline import jobs
from safety.queue.connection import get_redis

# (function, seconds between runs or None to use the settings' sweep interval)
PERIODIC = [(jobs.sweep, None), (jobs.refresh_due_alerts, 900)]


def build_scheduler(settings: Settings) -> CronScheduler:
    cron = CronScheduler(connection=get_redis(settings), logging_level=settings.log_level)
    for func, interval in PERIODIC:
        cron.register(func, queue_name=settings.queue_name,
                      interval=interval or settings.sweep_interval_seconds, job_timeout=600)
    return cron


def run_cron(settings: Settings) -> None:
    configure_logging(settings.log_level)
    build_scheduler(settings).start()
