"""A nullification racing the outbox export (PostgreSQL: row locks)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from factories.submissions import EMA
from sqlalchemy import select, text

from safety.cases.store import Case
from safety.db.session import normalise_url, session_scope
from safety.submissions.store import Submission


def test_nullifying_while_the_export_sends_a_message_still_nullifies_it(settings, request):
    """The export wrote the EMA's file and is committing 'sent' when the case is nullified:
    the EMA holds the case, so the nullification must reach it, and the message must not be
    recorded as withdrawn."""
    from safety.submissions.requests import nullify_case

    url = settings.effective_database_url
    if not normalise_url(url).startswith("postgresql"):
        pytest.skip("row locks")
    desk = request.getfixturevalue("desk")
    case_id = desk.report()
    desk.approve(case_id)
    ema = next(s for s in desk.submissions(case_id) if s["destination"] == EMA)
    assert ema["state"] == "ready"

    done: list[object] = []

    def nullify() -> None:
        try:
            with session_scope(url) as s:
                case = s.get(Case, uuid.UUID(case_id))
                done.append(nullify_case(s, case, "Reported in error", "user:physician",
                                         settings))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            done.append(exc)

    with session_scope(url) as export:
        # what export_outbox does once the file is written: the message is now sent
        sub = export.scalars(select(Submission).where(Submission.id == uuid.UUID(ema["id"]))
                             .with_for_update()).one()
        sub.state = "sent"
        from safety.db.base import utcnow
        sub.sent_at = utcnow()
        export.flush()
        t = threading.Thread(target=nullify)
        t.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and t.is_alive():
            with session_scope(url) as probe:
                waiting = probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar_one()
            if waiting:
                break
            time.sleep(0.05)
    t.join(20)
    assert done and not isinstance(done[0], Exception), done
    states = {(s["destination"], s["kind"]): s["state"] for s in desk.submissions(case_id)}
    assert states[(EMA, "initial")] == "sent"
    assert states.get((EMA, "nullification")) == "ready"
