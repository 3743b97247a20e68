"""Handing stored reports to the queue off the request thread, in batches.

The intake API answers 202 once the report is committed; enqueueing its processing job
one Redis transaction per request was about a fifth of the request's CPU. The request instead
hands the committed id to this relay, whose thread enqueues whatever has accumulated in one
pipeline (a third of the cost per job, and none of it on the request's latency). Woken by an
id, the thread lingers ``LINGER`` seconds before it takes the batch, so that the reports of
concurrent requests share one: a batch of one cost 0.32 ms of CPU per job, of sixteen 0.12 ms
(issue 20), and the thread's wake-ups compete with the request threads for the interpreter.
A flush (tests, shutdown) cuts the linger short.

Nothing is lost if the relay cannot do its job: the report is already committed with status
``received``, and the periodic sweep enqueues every such report (a process killed between the
commit and the relay's next batch, Redis down). Job ids are deterministic, so the sweep and the
relay enqueueing the same report refer to one job.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from collections.abc import Callable

from redis.exceptions import RedisError

from safety.config import Settings
from safety.queue.connection import before_leaving
from safety.queue.enqueue import JobFunction, enqueue_batch

log = logging.getLogger(__name__)

BATCH = 500
# Seconds a woken relay waits for more ids before it enqueues (at most this much added to a
# report's way to a worker; nothing to the request, which was answered at its commit).
LINGER = 0.05


class EnqueueRelay:
    """One per process, queue and job; its thread starts on the first id handed to it.
    ``bulk``: it enqueues on the migrations' low-priority queue."""

    def __init__(self, settings: Settings, func: JobFunction,
                 job_id: Callable[[str], str], *, bulk: bool = False) -> None:
        self.settings = settings
        self.func = func
        self.job_id = job_id
        self.bulk = bulk
        self._pending: deque[str] = deque()
        self._cond = threading.Condition()
        self._submitted = 0
        self._done = 0
        self._thread: threading.Thread | None = None
        self._hurry = threading.Event()  # set while someone waits in flush(): no lingering
        self._flushers = 0

    def submit(self, report_id: object) -> None:
        with self._cond:
            self._pending.append(str(report_id))
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="safety-enqueue-relay",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every report handed over so far has been through a batch (enqueued, or
        left to the sweep because Redis failed). False on timeout."""
        with self._cond:
            target = self._submitted
            self._flushers += 1
            self._hurry.set()
            try:
                return self._cond.wait_for(lambda: self._done >= target, timeout)
            finally:
                self._flushers -= 1
                if not self._flushers:
                    self._hurry.clear()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending))
            self._hurry.wait(LINGER)
            with self._cond:
                batch = [self._pending.popleft()
                         for _ in range(min(BATCH, len(self._pending)))]
            try:
                enqueue_batch(self.settings, self.func,
                              [(self.job_id(rid), (rid,)) for rid in batch], bulk=self.bulk)
            except RedisError as exc:
                log.warning("could not enqueue %d reports: %s (the sweep will)", len(batch), exc)
            except Exception:  # the thread must survive anything; the sweep covers the batch
                log.exception("enqueue relay failed on %d reports (the sweep will)", len(batch))
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()


# The relay threads of this process: one per (pid, settings, job, queue), started on first use.
_relays: dict[tuple[int, Settings, JobFunction, bool], EnqueueRelay] = {}
_lock = threading.Lock()


def relay_for(settings: Settings, func: JobFunction,
              job_id: Callable[[str], str], *, bulk: bool = False) -> EnqueueRelay:
    """This process's relay for these settings, job and queue (``bulk``: the migrations').
    Keyed by pid: a forked web worker must not share its parent's thread (threads do not
    survive a fork)."""
    key = (os.getpid(), settings, func, bulk)
    relay = _relays.get(key)
    if relay is None:
        with _lock:
            relay = _relays.get(key)
            if relay is None:
                relay = _relays[key] = EnqueueRelay(settings, func, job_id, bulk=bulk)
    return relay


def flush_all(timeout: float = 10.0) -> bool:
    """Wait for every relay of this process (tests before a burst worker; shutdown)."""
    pid = os.getpid()
    return all(r.flush(timeout) for (p, *_), r in list(_relays.items()) if p == pid)


atexit.register(flush_all, 5.0)
before_leaving(lambda: flush_all(5.0))
