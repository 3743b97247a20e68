"""Case numbers: two workers making a sponsor's first cases at once (a bulk import, issue 21)
both found no counter row and both inserted one; the second failed its report with a unique
violation on ``counters``."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session

from safety.cases.store import next_number
from safety.db.session import get_engine


def test_two_first_numbers_taken_at_once_are_one_and_two(settings: Any) -> None:
    engine = get_engine(settings.effective_database_url)
    got: list[int] = []
    with Session(engine) as first:
        assert next_number(first, "case:race") == 1  # inserted, not committed yet

        def second() -> None:
            with Session(engine) as s:
                got.append(next_number(s, "case:race"))  # waits for the first's commit
                s.commit()

        t = threading.Thread(target=second)
        t.start()
        t.join(1.0)
        assert t.is_alive()  # blocked on the first's row
        first.commit()
    t.join(30)
    assert got == [2]
    with Session(engine) as s:
        assert next_number(s, "case:race") == 3
        s.rollback()
