"""Handing stored reports to processing: the intake service's dispatcher, over rq.

The web app hands fresh reports to its process's relay thread (batched enqueues, off the
request); commands enqueue directly. A report that is not fresh (a retry with the same
Idempotency-Key while it still waits) is enqueued only if no job for it is pending. A
migration's dispatcher (``bulk``) enqueues on the low-priority queue, which workers take only
when the live one is empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from safety.config import Settings
from safety.pipeline.jobs import enqueue_report, process_report, report_job_id
from safety.queue.relay import relay_for


class QueueDispatch:
    def __init__(self, settings: Settings, *, relay: bool = False, bulk: bool = False) -> None:
        self.settings = settings
        self.relay = relay
        self.bulk = bulk

    def __call__(self, report_ids: Sequence[uuid.UUID], *, fresh: bool) -> None:
        if fresh and self.relay:
            relay = relay_for(self.settings, process_report, report_job_id, bulk=self.bulk)
            for rid in report_ids:
                relay.submit(rid)
            return
        for rid in report_ids:
            enqueue_report(self.settings, rid, fresh=fresh, bulk=self.bulk)
