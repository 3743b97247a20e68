"""Periodic jobs, run by rq's own cron scheduler (``safety scheduler``)."""

from __future__ import annotations

from collections.abc import Callable

from rq.cron import CronScheduler

from safety.config import Settings
from safety.logging import configure_logging
from safety.pipeline import jobs
from safety.queue.connection import get_redis

# (function, seconds between runs, or the name of the setting that says how many)
PERIODIC: list[tuple[Callable[[], object], int | str]] = [
    (jobs.sweep, "sweep_interval_seconds"), (jobs.refresh_due_alerts, 900),
    (jobs.seal_audit_trail, "audit_seal_seconds")]


def build_scheduler(settings: Settings) -> CronScheduler:
    cron = CronScheduler(connection=get_redis(settings), logging_level=settings.log_level)
    for func, interval in PERIODIC:
        seconds = int(getattr(settings, interval)) if isinstance(interval, str) else interval
        cron.register(func, queue_name=settings.queue_name, interval=seconds, job_timeout=600)
    return cron


def run_cron(settings: Settings) -> None:
    configure_logging(settings.log_level)
    build_scheduler(settings).start()
