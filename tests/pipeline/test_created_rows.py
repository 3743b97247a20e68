"""Issue 20: a job does not ask the database for rows pointing at a case or version it created
itself (``safety.db.created``), and answers exactly what the database would have."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from factories.cases import case_in_session, only_version
from factories.database import statements_sent
from factories.sponsors import DEFAULT_ID
from sqlalchemy import delete

from safety.blinding.store import UnblindingKind, open_request, request_unblinding
from safety.db.created import CASE, VERSION, created_here, held_rows
from safety.db.memo import job_memo
from safety.db.session import session_scope
from safety.dedup.decisions import DECIDED, PairDecision
from safety.dedup.store import DedupCandidate, decided_with, record_decision
from safety.rules.causality import Relatedness
from safety.rules.day0 import Receipt, ReceiverRole
from safety.rules.history import SponsorAssessment
from safety.rules.store import (
    filings,
    record_assessment,
    record_receipts,
    stored_assessments,
    stored_receipts,
)
from safety.submissions.store import last_transmitted_each

_MEMO = "safety.job_memo"  # safety.db.memo's key in session.info


@contextmanager
def asking_the_database(session: Any) -> Iterator[None]:
    """The same lookups as if no job were running (every one a query), in the same
    transaction: what the database answers."""
    memo = session.info.pop(_MEMO)
    try:
        yield
    finally:
        session.info[_MEMO] = memo


def _lookups(s: Any, case_id: uuid.UUID, version_id: uuid.UUID) -> tuple[Any, ...]:
    return (stored_assessments(s, case_id), filings(s, case_id),
            stored_receipts(s, [version_id]), open_request(s, case_id),
            last_transmitted_each(s, case_id), decided_with(s, case_id, DECIDED))


def test_a_new_case_in_a_job_is_answered_without_a_query(settings):  # type: ignore[no-untyped-def]
    url = settings.effective_database_url
    with session_scope(url) as s, job_memo(s):
        case_id = uuid.UUID(case_in_session(s, settings, stages=False))
        version_id = only_version(s, case_id).id
        assert created_here(s, CASE, case_id) and created_here(s, VERSION, version_id)
        with statements_sent(url) as n:
            answers = _lookups(s, case_id, version_id)
        assert n.n == 0
        assert answers == ([], [], {}, None, {}, set())
        with asking_the_database(s), statements_sent(url) as n:
            assert _lookups(s, case_id, version_id) == answers
        assert n.n >= 6


def test_outside_a_job_every_lookup_asks(settings):  # type: ignore[no-untyped-def]
    url = settings.effective_database_url
    with session_scope(url) as s:
        case_id = uuid.UUID(case_in_session(s, settings, stages=False))
        version_id = only_version(s, case_id).id
        assert not created_here(s, CASE, case_id)
        with statements_sent(url) as n:
            assert _lookups(s, case_id, version_id) == ([], [], {}, None, {}, set())
        assert n.n >= 6


def test_rows_the_job_inserted_count_even_when_nothing_refers_to_them(settings):  # type: ignore[no-untyped-def]
    """The session's identity map holds objects weakly: a row inserted and flushed, which no
    variable refers to any more, leaves it. It still exists in the database and must be
    answered."""
    url = settings.effective_database_url
    with session_scope(url) as s, job_memo(s):
        case_id = uuid.UUID(case_in_session(s, settings, stages=False))
        version_id = only_version(s, case_id).id
        record_assessment(s, case_id, DEFAULT_ID, SponsorAssessment(
            "R1", "D1", date(2026, 3, 2), Relatedness.RELATED, "WHO-UMC", "Probable"),
            actor="test")
        record_receipts(s, version_id, DEFAULT_ID, (Receipt(
            "DEFAULT", ReceiverRole.SPONSOR, instant=datetime(2026, 3, 1, 9, tzinfo=UTC)),),
            actor="test", case_id=case_id)
        request_unblinding(s, sponsor_id=DEFAULT_ID, case_id=case_id, protocol="P-1",
                           subject="S-1", kind=UnblindingKind.SUSAR, actor="test",
                           reason="test", now=datetime(2026, 3, 3, tzinfo=UTC))
        other = uuid.UUID(case_in_session(s, settings, stages=False, site="Site 102"))
        # the case made last is still this job's own creation: a decision names both
        newest = uuid.UUID(case_in_session(s, settings, stages=False, site="Site 103"))
        record_decision(s, str(newest), str(other), PairDecision.REJECTED, "test", DEFAULT_ID)
        s.flush()
        gc.collect()
        assert created_here(s, CASE, newest)
        assert decided_with(s, newest, DECIDED) == {str(other)}
        answers = _lookups(s, case_id, version_id)
        assert len(answers[0]) == 1 and answers[0][0].result == "Probable"
        assert len(answers[2][version_id]) == 1
        assert answers[3] is not None
        with asking_the_database(s):
            database = _lookups(s, case_id, version_id)
        assert answers[:3] == database[:3] and answers[4] == database[4] == {}
        assert answers[3] is not None and database[3] is not None
        assert answers[3].id == database[3].id


@pytest.mark.parametrize("how", ["session", "statement"])
def test_a_deleted_row_no_longer_counts(settings, how):  # type: ignore[no-untyped-def]
    url = settings.effective_database_url
    with session_scope(url) as s, job_memo(s):
        # Made first: making a case may end a savepoint, which forgets earlier creations.
        other = uuid.UUID(case_in_session(s, settings, stages=False, site="Site 102"))
        case_id = uuid.UUID(case_in_session(s, settings, stages=False))
        version_id = only_version(s, case_id).id
        row = DedupCandidate(case_id=case_id, case_version_id=version_id, sponsor_id=DEFAULT_ID,
                             candidate_case_id=other, score=0.9, suspected=True, rule=None)
        s.add(row)
        s.flush()
        assert held_rows(s, DedupCandidate, (VERSION, version_id),
                         case_version_id=version_id) == [row]
        if how == "session":
            s.delete(row)
        else:
            s.execute(delete(DedupCandidate).where(
                DedupCandidate.case_version_id == version_id))
        s.flush()
        assert held_rows(s, DedupCandidate, (VERSION, version_id),
                         case_version_id=version_id) == []


@pytest.mark.parametrize("end", ["commit", "savepoint"])
def test_creations_are_forgotten_when_the_transaction_or_a_savepoint_ends(settings, end):  # type: ignore[no-untyped-def]
    url = settings.effective_database_url
    with session_scope(url) as s, job_memo(s):
        case_id = uuid.UUID(case_in_session(s, settings, stages=False))
        assert created_here(s, CASE, case_id)
        if end == "commit":
            s.commit()
        else:
            with s.begin_nested():
                pass
        assert not created_here(s, CASE, case_id)
        with statements_sent(url) as n:
            assert stored_assessments(s, case_id) == []
        assert n.n == 1
