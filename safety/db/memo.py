"""What one pipeline job reads more than once, read once (issue 20).

A report's job runs every stage of its version in one transaction, and each stage looked up
again what the stage before it had just read: the sponsor's profile, its product registry and
RSI, the active terminology releases, the version's latest coded view and its decoded data
(about 40 of the 100 statements of a report, and four decodes of the same JSON). A job opens
a memo on its session (``job_memo``); the lookups below ask ``once`` and get the first
answer of that transaction.

Only inside a job, only for one transaction: a session without a memo (a web request, a
command) reads every time, as before, and the memo is dropped when the transaction ends
(commit or rollback), so nothing is kept between jobs or after a retry. What is memoised is
what no stage writes (sponsor, registry, RSI, terminology releases) or what the writer keeps
current itself (``remember`` after ``add_view``); see docs/decisions.md ("What a job may
keep").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")

_KEY = "safety.job_memo"


@contextmanager
def job_memo(session: Session) -> Iterator[None]:
    """Memoise ``once`` lookups on ``session`` until the block or its transaction ends. Inside
    another block on the same session (a report's processing around its stages), the outer
    block's memo goes on, and ends with the outer block."""
    if _KEY in session.info:
        yield
        return
    session.info[_KEY] = {}
    try:
        yield
    finally:
        session.info.pop(_KEY, None)


def once(session: Session, key: Hashable, load: Callable[[], T]) -> T:
    """``load()``, or what it returned earlier in this job's transaction."""
    memo: dict[Hashable, Any] | None = session.info.get(_KEY)
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return cast(T, memo[key])


def remember(session: Session, key: Hashable, value: object) -> None:
    """Set what ``once(key)`` answers from now on (a writer keeping its lookup current)."""
    memo: dict[Hashable, Any] | None = session.info.get(_KEY)
    if memo is not None:
        memo[key] = value


def recalled(session: Session, key: Hashable) -> object | None:
    """What was remembered under ``key`` in this job's transaction (None if nothing, or
    outside a job)."""
    memo: dict[Hashable, Any] | None = session.info.get(_KEY)
    return None if memo is None else memo.get(key)


def memoising(session: Session) -> bool:
    return _KEY in session.info


@event.listens_for(Session, "after_transaction_end")
def _drop_memo(session: Session, transaction: Any) -> None:
    """A memo never outlives the transaction whose rows it holds, nor a savepoint (a rolled
    back one may have undone what was remembered). A flush's own inner transaction ends
    after every flush and leaves the memo as it is."""
    if _KEY in session.info and (transaction.parent is None or transaction.nested):
        session.info[_KEY] = {}
