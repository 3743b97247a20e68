"""Issue 20: what a pipeline job reads more than once is read once (``safety.db.memo``),
for that transaction only, and never outside a job."""

from __future__ import annotations

from factories.database import Statements
from sqlalchemy import select

from safety.db.memo import job_memo, once, remember
from safety.db.session import session_scope
from safety.sponsors.service import profile
from safety.sponsors.store import Sponsor


def _default_id(url: str) -> int:
    with session_scope(url) as s:
        return s.scalars(select(Sponsor.id).where(Sponsor.code == "DEFAULT")).one()


def test_a_job_reads_a_lookup_once_and_outside_a_job_every_time(settings):  # type: ignore[no-untyped-def]
    url = settings.effective_database_url
    sponsor_id = _default_id(url)
    counted = Statements(url)
    try:
        with session_scope(url) as s:
            before = counted.n
            first = profile(s, sponsor_id)
            profile(s, sponsor_id)
            outside = counted.n - before
            with job_memo(s):
                before = counted.n
                again = profile(s, sponsor_id)
                assert profile(s, sponsor_id) is again
                inside = counted.n - before
        assert outside == 2 and inside == 1
        assert again == first
    finally:
        counted.close()


def test_the_memo_ends_with_the_transaction(settings):  # type: ignore[no-untyped-def]
    url = settings.effective_database_url
    with session_scope(url) as s, job_memo(s):
        calls: list[int] = []

        def load() -> int:
            calls.append(1)
            return len(calls)

        assert once(s, "k", load) == 1
        assert once(s, "k", load) == 1
        s.commit()  # the transaction ended: what it read may have changed since
        assert once(s, "k", load) == 2
        s.rollback()
        remember(s, "k", 7)
        assert once(s, "k", load) == 7
    with session_scope(url) as s:  # no memo outside a job: every call loads
        assert once(s, "k", load) == 3
        assert once(s, "k", load) == 4


def test_a_memo_inside_another_goes_on_and_ends_with_the_outer(settings):  # type: ignore[no-untyped-def]
    """A report's processing and its stages share one memo (the stages' block inside the
    report's): what the report read, the stages do not read again; it ends with the outer."""
    url = settings.effective_database_url
    calls: list[int] = []

    def load() -> int:
        calls.append(1)
        return len(calls)

    with session_scope(url) as s:
        with job_memo(s):
            assert once(s, "k", load) == 1
            with job_memo(s):
                assert once(s, "k", load) == 1  # the outer block's answer
            assert once(s, "k", load) == 1  # the inner block did not end the memo
        assert once(s, "k", load) == 2  # no memo after the outer block
