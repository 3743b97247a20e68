"""The queue's tabs (cases by state) are kept in ``queue_counts`` with the queue's index, not
counted on every page (issue 17: 75 ms of every page at 100,000 cases). Kept means: equal to
counting the index, after every kind of change — the session's objects, UPDATE statements,
a rollback, commits racing each other — and per sponsor."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from factories.cases import case_in_session
from factories.sponsors import DEFAULT_ID, sponsor_id
from sqlalchemy import func, select, update

from safety.cases.store import Case
from safety.db.session import session_scope
from safety.db.tenancy import restrict_to_sponsors
from safety.review.queue import state_counts
from safety.review.store import QueueCount, QueueEntry


def _counted(session) -> dict[str, int]:
    """What the tabs must say: the index's rows counted (as the queue did before)."""
    return dict(session.execute(select(QueueEntry.case_state, func.count())
                                .group_by(QueueEntry.case_state)).all())


def _set_state(session, case_id: str, state: str) -> None:
    session.execute(update(Case).where(Case.id == uuid.UUID(case_id)).values(state=state))


def test_counts_follow_objects_statements_and_rollbacks(settings):
    url = settings.effective_database_url
    with session_scope(url) as s:
        ids = [case_in_session(s, settings, stages=False, sae_id=f"C-{i}") for i in range(4)]
        assert state_counts(s) == _counted(s) == {"triage": 4}  # before the commit too
    with session_scope(url) as s:
        assert state_counts(s) == {"triage": 4}
        assert s.scalar(select(func.count()).select_from(QueueCount)) == 1
        case = s.get(Case, uuid.UUID(ids[0]))
        case.state = "data_entry"  # through the session's object
        _set_state(s, ids[1], "medical_review")  # an UPDATE statement on one case
        s.execute(update(Case).where(Case.id.in_([uuid.UUID(i) for i in ids[2:]]))
                  .values(state="closed"))  # a bulk statement on several
        assert state_counts(s) == _counted(s) == {"data_entry": 1, "medical_review": 1,
                                                  "closed": 2}
    with session_scope(url) as s:
        assert state_counts(s) == _counted(s)
    s2 = session_scope(url)
    with pytest.raises(RuntimeError), s2 as s:  # changed, then rolled back: counted as before
        _set_state(s, ids[0], "closed")
        assert state_counts(s)["closed"] == 3
        raise RuntimeError("give up")
    with session_scope(url) as s:
        assert state_counts(s) == _counted(s) == {"data_entry": 1, "medical_review": 1,
                                                  "closed": 2}
        _set_state(s, ids[0], "data_entry")  # no move: nothing to count
        assert state_counts(s) == _counted(s)


def test_counts_are_per_sponsor_and_a_caller_sees_only_its_own(settings):
    url = settings.effective_database_url
    other = sponsor_id(url, "OTHER")
    with session_scope(url) as s:
        case_in_session(s, settings, stages=False, sae_id="MINE-1")
        theirs = case_in_session(s, settings, stages=False, sae_id="THEIRS-1", sponsor=other)
        case_in_session(s, settings, stages=False, sae_id="THEIRS-2", sponsor=other)
        _set_state(s, theirs, "closed")
    with session_scope(url) as s:
        assert state_counts(s) == {"triage": 2, "closed": 1}
        restrict_to_sponsors(s, [DEFAULT_ID])
        assert state_counts(s) == _counted(s) == {"triage": 1}
    with session_scope(url) as s:
        restrict_to_sponsors(s, [other])
        assert state_counts(s) == _counted(s) == {"triage": 1, "closed": 1}


def test_racing_commits_lose_no_count(settings):
    """Writers moving the same cases concurrently (each commit rewrites the rows it changed,
    under the per-case lock; the counts are added at commit): the counts equal the index."""
    url = settings.effective_database_url
    if not url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers")
    with session_scope(url) as s:
        ids = [case_in_session(s, settings, stages=False, sae_id=f"R-{i}") for i in range(6)]
    states = ["triage", "data_entry", "medical_review", "closed"]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for step in range(12):
                with session_scope(url) as s:
                    # Two cases per transaction, overlapping between writers (taken in id
                    # order, as the application locks cases, so the test makes no deadlock
                    # of its own on the cases' rows).
                    picked = sorted({ids[(n + step) % len(ids)],
                                     ids[(n * 5 + step * 2 + 1) % len(ids)]})
                    for k, case_id in enumerate(picked):
                        _set_state(s, case_id, states[(n + step + k) % len(states)])
                    state_counts(s)  # a read in the transaction rewrites its rows early
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with session_scope(url) as s:
        kept = state_counts(s)
        assert kept == _counted(s)
        assert sum(kept.values()) == 6
        assert kept == dict(Counter(s.scalars(select(Case.state)).all()))
        assert s.scalar(select(func.min(QueueCount.cases))) >= 0
