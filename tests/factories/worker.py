"""Run a real rq worker, in burst mode, in this process."""

from __future__ import annotations

from redis import Redis
from rq import Queue, SimpleWorker

from safety.config import Settings
from safety.queue.connection import redis_url
from safety.queue.relay import flush_all


class BurstWorker(SimpleWorker):
    """rq's in-process worker without its command channel.

    A worker subscribes to a pub/sub channel for ``rq``'s stop/kill commands, served by a
    thread that waits up to 60 s per poll. redis-py 8.2 made ``PubSubWorkerThread.stop()``
    join that thread, so every burst run ended with a wait of up to a minute in rq 2.12's
    ``unsubscribe``. A burst run in a test receives no commands: it does not subscribe.
    """

    def subscribe(self) -> None:
        return None


def run_worker(settings: Settings) -> int:
    """Process every queued job (no fork), the live queue first, then the migrations', as
    ``safety worker`` does, and return how many finished."""
    flush_all()  # reports the API handed to its enqueue relay
    conn = Redis.from_url(redis_url(settings))
    queues = [Queue(name, connection=conn) for name in settings.queue_names]
    before = sum(q.finished_job_registry.count for q in queues)
    BurstWorker(queues, connection=conn).work(burst=True, with_scheduler=False)
    return sum(q.finished_job_registry.count for q in queues) - before
