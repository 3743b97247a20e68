"""Capped exponential backoff: how long a process waits before trying again something that
failed for a reason outside it (Redis or PostgreSQL away, a child process that died).

Plain Python: the callers (the worker, the scheduler, ``safety serve``, the jobs) decide what
to retry and log each wait; this only says how long. The delay doubles from ``first`` up to
``cap`` and carries up to a tenth of jitter, so processes that lost the same server do not come
back in lockstep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    first: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    attempts: int = field(default=0, init=False)

    def next_delay(self) -> float:
        """The wait before the next attempt (and one attempt more counted)."""
        delay = min(self.cap, self.first * self.factor ** self.attempts)
        self.attempts += 1
        return delay * (1 + random.uniform(0, 0.1))

    def reset(self) -> None:
        self.attempts = 0

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> float:
        """Sleep the next delay; returns it (for the log line)."""
        delay = self.next_delay()
        sleep(delay)
        return delay
