"""Work done once per worker process, before rq forks a child per job.

rq runs each job in a forked child, so anything a job builds dies with it. Building the
terminology indexes and loading the duplicate model in the parent lets every child inherit
them (copy-on-write) instead of rebuilding them per job. Database connections must not cross
the fork: the parent's pool is emptied and each child opens its own.
"""

from __future__ import annotations

import os

from safety.config import Settings
from safety.db.session import get_engine, session_scope


def warm_caches(settings: Settings) -> None:
    from safety.coding.store import active_autocoder
    from safety.dedup.service import model

    with session_scope(settings.effective_database_url) as session:
        active_autocoder(session, "events")
        active_autocoder(session, "drugs")
    model()
    engine = get_engine(settings.effective_database_url)
    engine.dispose()
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
