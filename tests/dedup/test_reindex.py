"""Re-indexing profiles stored with an older blocking-key scheme (issue 21).

Issue 21 replaced the code and substance keys (``pt:``, ``sub:``) with concept keys: a case
indexed before shares no key with a new report of it, so it is never a candidate until its
profile is re-indexed (``safety db upgrade``, ``safety dedup reindex``)."""

from __future__ import annotations

import uuid

import pytest
from factories.dedup import make_case
from factories.sponsors import DEFAULT_ID as D
from factories.sponsors import make_sponsor
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safety.config import Settings
from safety.dedup.blocking import KEYS_VERSION
from safety.dedup.scoring import load_model
from safety.dedup.service import reindex
from safety.dedup.store import DedupBlockKey, DedupProfile, index_case, match_stored

MODEL = load_model()
C1, C2 = (str(uuid.UUID(int=i)) for i in (1, 2))
# keys a case stored before issue 21 had: exact PT code and substance code conjunctions
OLD_KEYS = ("pt:PT009|SUB006", "sub:SUB006|195001", "pt:PT009|202301")


def _as_stored_before(session: Session, case_id: str) -> None:
    """What the index held for this case before the concept keys: old keys, no version."""
    cid = uuid.UUID(case_id)
    sponsor = session.scalar(select(DedupProfile.sponsor_id).where(DedupProfile.case_id == cid))
    session.execute(DedupBlockKey.__table__.delete().where(DedupBlockKey.case_id == cid))
    session.add_all(DedupBlockKey(key=k, case_id=cid, sponsor_id=sponsor) for k in OLD_KEYS)
    session.execute(update(DedupProfile).where(DedupProfile.case_id == cid)
                    .values(keys_version=None))
    session.flush()


def _incoming():  # another sender's copy of the same case: found by blocking keys only
    return make_case(sender="Borealis", report_id="B-1", events=["hepatotoxicity"],
                     drugs=["coumadin"])


def _candidates(session: Session, sponsor: int = D) -> list[str]:
    return [c.case_id for c in match_stored(session, _incoming(), MODEL, sponsor).candidates]


@pytest.fixture
def session(db_session: Session) -> Session:
    return db_session


def test_a_profile_stored_with_old_keys_is_found_again_after_reindex(
        session: Session, settings: Settings) -> None:
    index_case(session, C1, make_case(events=["hepatotoxicity"], drugs=["warfarin"]), D)
    assert _candidates(session) == [C1]  # the control: indexed today, it is found
    _as_stored_before(session, C1)
    assert _candidates(session) == []  # stored before the new keys: never a candidate

    told: list[tuple[int, int]] = []
    assert reindex(session, settings, D, progress=lambda *a: told.append(a)) == 1
    assert told == [(1, 1)]
    assert _candidates(session) == [C1]
    row = session.get_one(DedupProfile, uuid.UUID(C1))
    assert row.keys_version == KEYS_VERSION
    keys = set(session.scalars(select(DedupBlockKey.key)
                               .where(DedupBlockKey.case_id == uuid.UUID(C1))))
    assert not keys & set(OLD_KEYS)
    assert reindex(session, settings, D) == 0  # idempotent: nothing stale any more


def test_reindex_works_in_batches_for_one_sponsor_only(session: Session,
                                                      settings: Settings) -> None:
    other = make_sponsor(session, "OTHER").id
    ids = [str(uuid.UUID(int=100 + i)) for i in range(5)]
    for i, cid in enumerate(ids):
        index_case(session, cid, make_case(report_id=f"A-{i}", events=["hepatotoxicity"],
                                           drugs=["warfarin"]), D)
        _as_stored_before(session, cid)
    index_case(session, C2, make_case(events=["hepatotoxicity"], drugs=["warfarin"]), other)
    _as_stored_before(session, C2)

    told: list[tuple[int, int]] = []
    assert reindex(session, settings, D, batch=2, progress=lambda *a: told.append(a)) == 5
    assert told == [(2, 5), (4, 5), (5, 5)]
    assert set(_candidates(session)) == set(ids)
    assert _candidates(session, other) == []  # the other sponsor's stays as it was
    assert session.get_one(DedupProfile, uuid.UUID(C2)).keys_version is None
    assert reindex(session, settings, other) == 1
    assert _candidates(session, other) == [C2]


# --- a dictionary release activated marks the profiles (their keys are its concepts) -------


def test_activating_a_dictionary_release_marks_profiles_for_reindex_once(
        session: Session, settings: Settings, tmp_path) -> None:
    from factories.coding import FIXTURES, later_release

    from safety.dedup.store import count_stale, stale_reasons
    from safety.review.recoding import load_dictionary

    other = make_sponsor(session, "OTHER").id
    index_case(session, C1, make_case(events=["hepatotoxicity"], drugs=["warfarin"]), D)
    index_case(session, C2, make_case(events=["rash"], drugs=["warfarin"]), other)
    assert count_stale(session, D) == 0

    lines = load_dictionary(session, FIXTURES / "MedAscii", activate=True, list_name=None)
    assert "2 profile(s) marked for re-indexing (concepts of MedDRA 99.0)" in lines[-1]
    assert stale_reasons(session, D) == [("release MedDRA 99.0", 1)]
    assert stale_reasons(session, other) == [("release MedDRA 99.0", 1)]  # every sponsor's

    # The same release again, an inactive one, a PT list: no concept changes, nothing marked.
    again = load_dictionary(session, FIXTURES / "MedAscii", activate=True, list_name=None)
    assert not any("re-index" in line for line in again)
    later = later_release(tmp_path, "99.1")
    assert not any("re-index" in line for line in
                   load_dictionary(session, later, activate=False, list_name=None))
    assert not any("re-index" in line for line in
                   load_dictionary(session, FIXTURES / "ime.csv", activate=True,
                                   list_name=None))

    assert reindex(session, settings, D) == 1  # re-indexed with the new release's concepts
    assert count_stale(session, D) == 0
    assert session.get_one(DedupProfile, uuid.UUID(C1)).reindex_reason is None
    assert reindex(session, settings, D) == 0

    # Activating another release marks again, only rows not already due.
    lines = load_dictionary(session, later, activate=True, list_name=None)
    assert "1 profile(s) marked for re-indexing (concepts of MedDRA 99.1)" in lines[-1]
    assert stale_reasons(session, D) == [("release MedDRA 99.1", 1)]
    assert stale_reasons(session, other) == [("release MedDRA 99.0", 1)]


def test_marking_is_batched_and_leaves_older_schemes_to_their_own_reason(
        session: Session) -> None:
    from safety.dedup.store import mark_for_reindex, stale_reasons

    ids = [str(uuid.UUID(int=200 + i)) for i in range(5)]
    for i, cid in enumerate(ids):
        index_case(session, cid, make_case(report_id=f"M-{i}", events=["rash"],
                                           drugs=["warfarin"]), D)
    _as_stored_before(session, ids[0])
    assert mark_for_reindex(session, "release X", batch=2) == 4
    assert mark_for_reindex(session, "release X", batch=2) == 0
    assert stale_reasons(session, D) == [("key scheme", 1), ("release X", 4)]
