"""The database shell, on the test database (PostgreSQL in CI, else SQLite) in a transaction
rolled back after each test."""

from __future__ import annotations

import uuid

import pytest
from factories.dedup import make_case
from factories.sponsors import DEFAULT_ID as D
from factories.sponsors import make_sponsor
from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.dedup.scoring import load_model
from safety.dedup.store import (
    DedupBlockKey,
    candidate_ids,
    index_case,
    match_stored,
    record_decision,
    rejected_with,
)

MODEL = load_model()
C1, C2, C3 = (str(uuid.UUID(int=i)) for i in (1, 2, 3))


@pytest.fixture
def session(db_session: Session) -> Session:
    return db_session


def test_followup_found_by_identifier(session: Session) -> None:
    index_case(session, C1, make_case(), D)
    res = match_stored(session, make_case(weight=70.0), MODEL, D)
    assert res.followup is not None and res.followup.case_id == C1


def test_duplicate_candidate_retrieved_by_keys_and_scored(session: Session) -> None:
    index_case(session, C1, make_case(), D)
    index_case(session, C2, make_case(report_id="FR-ACME-2024-000002", initials="KL",
                                      birth="1950-01-01", sex="1", events=["rash"],
                                      drugs=["ibuprofen"], onset="2023-01-01"), D)
    incoming = make_case(sender="Borealis", report_id="B-1", initials="SJ", drugs=["coumadin"])
    res = match_stored(session, incoming, MODEL, D)
    assert [c.case_id for c in res.candidates] == [C1]
    assert res.candidates[0].suspected


def test_rejected_pair_is_not_offered_again(session: Session) -> None:
    index_case(session, C1, make_case(), D)
    index_case(session, C2, make_case(sender="Borealis", report_id="B-1", initials="SJ"), D)
    before = match_stored(session, make_case(sender="Borealis", report_id="B-1"), MODEL, D,
                          case_id=C2)
    assert [c.case_id for c in before.candidates] == [C1]
    record_decision(session, C2, C1, "rejected", decided_by="dr.who", sponsor_id=D)
    assert rejected_with(session, C1) == {C2}
    after = match_stored(session, make_case(sender="Borealis", report_id="B-1"), MODEL, D,
                         case_id=C2)
    assert after.candidates == []


def test_new_version_replaces_keys(session: Session) -> None:
    index_case(session, C3, make_case(events=["rash"], drugs=["ibuprofen"]), D)
    index_case(session, C3, make_case(), D)
    keys = session.scalars(select(DedupBlockKey.key).where(
        DedupBlockKey.case_id == uuid.UUID(C3))).all()
    assert keys and not any("SUB005" in k for k in keys)
    assert candidate_ids(session, keys, D) == [C3]


def test_unknown_decision_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="not a valid PairDecision"):
        record_decision(session, C1, C2, "maybe", decided_by="dr.who", sponsor_id=D)


def test_confirmed_pair_is_not_offered_again_either(session: Session) -> None:
    index_case(session, C1, make_case(), D)
    index_case(session, C2, make_case(sender="Borealis", report_id="B-1", initials="SJ"), D)
    record_decision(session, C1, C2, "confirmed", decided_by="dr.who", sponsor_id=D, master=C1)
    after = match_stored(session, make_case(sender="Borealis", report_id="B-1"), MODEL, D,
                         case_id=C2)
    assert after.candidates == []
    assert rejected_with(session, C1) == set()


def test_matching_never_crosses_sponsors(session: Session) -> None:
    """The same patient, event, drug and sender ids in two sponsors' databases are two cases:
    neither is the other's follow-up or duplicate candidate."""
    other = make_sponsor(session, "OTHER").id
    index_case(session, C1, make_case(), D)
    assert match_stored(session, make_case(), MODEL, other).followup is None
    assert match_stored(session, make_case(), MODEL, other).candidates == []
    index_case(session, C2, make_case(), other)
    mine = match_stored(session, make_case(), MODEL, D, case_id=C3)
    assert mine.followup is not None and mine.followup.case_id == C1
    assert C2 not in {c.case_id for c in mine.candidates}


def test_candidates_come_from_bounded_buckets_ranked_as_in_memory(session: Session) -> None:
    """A key carried by more than ``max_bucket`` cases is skipped (its bucket is read only
    up to max_bucket + 1 rows), and the database ranks what is left as ``rank_candidates``
    does in memory (evidence, then the rarest shared key, then id)."""
    from safety.dedup.blocking import blocking_keys, rank_candidates
    from safety.dedup.profile import build_profile
    from safety.dedup.store import candidate_rows

    ids = [str(uuid.UUID(int=50 + i)) for i in range(6)]
    cases = [make_case(report_id=f"S-{i}", initials="AB" if i < 2 else "CD",
                       onset="2024-02-10" if i < 4 else "2023-07-01") for i in range(6)]
    for cid, c in zip(ids, cases, strict=True):
        index_case(session, cid, c, D)
    incoming = frozenset(blocking_keys(build_profile(make_case(report_id="NEW", initials="AB"))))
    buckets = {k: [str(c) for c in session.scalars(
        select(DedupBlockKey.case_id).where(DedupBlockKey.key == k))] for k in incoming}
    for cap in (1, 2, 3, 4, 400):
        expected = rank_candidates(buckets, 100, cap)
        assert [cid for cid, _ in candidate_rows(session, incoming, D, 100, cap)] == expected
    # what a small cap costs: the cases found only through keys all six share are dropped
    assert set(rank_candidates(buckets, 100, 400)) == set(ids)
    assert set(rank_candidates(buckets, 100, 3)) < set(ids)
    assert rank_candidates(buckets, 100, 3)[:2] == sorted(ids[:2])  # the initials' cases first
    assert rank_candidates(buckets, 2, 400) == sorted(ids[:2])


def test_candidates_are_found_in_a_session_limited_to_the_sponsor(session: Session) -> None:
    """The pipeline's sessions carry the sponsor filter (safety.db.tenancy): the candidate
    statement, built once, must run under it (it failed there once, in every stage)."""
    from safety.db.tenancy import restrict_to_sponsors

    index_case(session, C1, make_case(), D)
    restrict_to_sponsors(session, {D})
    incoming = make_case(sender="Borealis", report_id="B-9")
    for _ in range(2):  # the second time from SQLAlchemy's cache
        assert [c.case_id for c in match_stored(session, incoming, MODEL, D).candidates] == [C1]
