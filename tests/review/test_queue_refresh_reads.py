"""Issue 20: a job's commit rewrites the case's queue row from the version and the coded view
the job just wrote, held by the session until the transaction ends, without reading them
back; a later transaction holds nothing of an earlier one's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from factories.cases import post_report
from factories.forms import sae_form
from sqlalchemy import event, select

from safety.cases.store import CaseVersion, CodedView
from safety.db.session import get_engine, session_scope
from safety.pipeline import jobs
from safety.review import queue_index
from safety.review.store import HELD, QueueEntry, QueueTerm


def test_a_jobs_commit_does_not_read_back_what_it_wrote(client, sites, settings):  # type: ignore[no-untyped-def]
    token = sites.token()
    rid = post_report(client, sites.headers(token), sae_form())["report_id"]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = get_engine(settings.effective_database_url)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert jobs.process_report(rid)["status"] == "processed"
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    upsert = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO queue_entries"))
    assert any(s.startswith("INSERT INTO case_coded_views") for s in statements[:upsert])
    # The rewrite's own reads of documents it does not hold (``_held_or_loaded``).
    reads = [s[:60] for s in statements[:upsert]
             if "WHERE case_versions.id IN" in s or "WHERE case_coded_views.id IN" in s]
    assert reads == []  # both documents came from the session
    with session_scope(settings.effective_database_url) as s:
        entry = s.scalars(select(QueueEntry)).one()
        view = s.scalars(select(CodedView)).one()
        terms = set(s.execute(select(QueueTerm.kind, QueueTerm.value)).all())
    # The row is what the coded view as stored gives (the same derivation, read back).
    assert entry.products == "\n".join(queue_index.suspect_products(view.data.get("drugs")))
    assert entry.coding_review == bool(view.review)
    assert {v for k, v in terms if k == "event"} == set(
        queue_index.event_terms(view.data.get("reactions")))
    assert entry.products and terms


def test_what_a_transaction_held_is_let_go_when_it_ends(client, sites, settings):  # type: ignore[no-untyped-def]
    token = sites.token()
    rid = post_report(client, sites.headers(token), sae_form())["report_id"]
    jobs.process_report(rid)
    url = settings.effective_database_url
    with session_scope(url) as s:
        cv = s.scalars(select(CaseVersion)).one()
        cv_id = cv.id
        cv.stages = {**(cv.stages or {}), "extra": {"status": "done"}}  # dirty, then flushed
        s.flush()
        assert [o.id for o in s.info[HELD]] == [cv_id]
        s.commit()
        assert HELD not in s.info  # the commit ended the transaction: nothing held
        s.scalars(select(CaseVersion)).one()
        assert HELD not in s.info  # a read holds nothing
    with pytest.raises(RuntimeError), session_scope(url) as s:
        cv = s.get(CaseVersion, cv_id)
        cv.stages = {**cv.stages, "other": {"status": "done"}}
        s.flush()
        assert HELD in s.info
        raise RuntimeError("give up")
    with session_scope(url) as s:  # a fresh transaction sees the committed row
        fresh = s.get(CaseVersion, uuid.UUID(str(cv_id)))
        assert fresh.stages["extra"] == {"status": "done"} and "other" not in fresh.stages
        assert HELD not in s.info
