"""What a process may keep between transactions: a value read from the database, keyed by a
generation number the database itself bumps whenever what the value was read from changes
(issue 20: each sponsor's product registry and RSI, ``sponsors.registry_generation``).

A value is kept under the generation it was read at, and answered only to a transaction that
reads that same generation. That is never stale if every committed generation of an owner
was committed once, with one content: the database's triggers add one to it in the
transaction of every write (every writer, the application or not), and the writers of one
owner commit one after the other (PostgreSQL's row lock on the number; SQLite's single
writer), so the committed numbers only grow.

What is kept must be what that committed generation says. A transaction may see more than
any committed state: its own writes, not yet committed (and perhaps rolled back later,
leaving their number to the next writer with other content). A value read on a miss is
therefore kept only if, once it has been read, (1) the transaction still reads the
generation it was asked for (no write of its own since, and, on statement snapshots, no
commit in between), and (2) a connection of its own reads the same committed generation
(what the transaction read was not its own writes: those bump its number past the committed
one, which no other writer can move while they are pending). Then the statements that read
the value saw that committed state, and nothing else. Otherwise the value is answered to
this one call and not kept; a miss costs these two statements more, once per generation.

Not kept either: anything read by a session limited to some sponsors (the tenancy filter
may have hidden rows; such a session reads as before, and is never answered from here), or
on an in-memory SQLite database (no second connection sees the same database). A database
restored from a backup, or one emptied and filled again, reuses numbers: a process that
outlives that must :func:`forget` (the test harness does after each reset).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from safety.db.tenancy import sponsors_of

T = TypeVar("T")

_caches: list[GenerationCache[Any]] = []


class GenerationCache(Generic[T]):
    """One kind of value per owner (a sponsor id) and database, only the newest generation
    kept: bounded by the number of sponsors. Values are shared by every caller of the
    process: they must never be changed (freeze them before they are returned)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, int], tuple[int, T]] = {}
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, session: Session, owner: int, generation: int,
            generation_now: Select[int], load: Callable[[], T]) -> T:
        """The value of ``owner`` at ``generation`` (which ``session``'s transaction read):
        kept, or ``load()``-ed and kept if it is that committed generation's.
        ``generation_now`` reads the owner's generation (one row, one column)."""
        restricted = sponsors_of(session)
        engine = session.get_bind().engine
        if restricted is not None or engine.url.database in (None, "", ":memory:"):
            return load()
        key = (engine.url.render_as_string(hide_password=True), owner)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == generation:
            return kept[1]
        value = load()
        if session.scalar(generation_now) == generation:
            with engine.connect() as other:
                committed = other.scalar(generation_now)
            if committed == generation:
                with self._lock:
                    newest = self._kept.get(key)
                    if newest is None or newest[0] < generation:
                        self._kept[key] = (generation, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


def forget() -> None:
    """Drop every kept value (the database was emptied or restored under this process)."""
    for cache in _caches:
        cache.clear()
