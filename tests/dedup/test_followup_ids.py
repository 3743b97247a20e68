"""A follow-up whose sender writes its case id in another case or punctuation is a follow-up
(docs/dedup.md: ids compare normalised), not a new case (issue 21 item 6)."""

from __future__ import annotations

from factories.cases import case_in_session
from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.store import Case
from safety.config import Settings


def test_follow_up_id_in_other_case_and_punctuation_finds_its_case(
        db_session: Session, base_settings: Settings) -> None:
    first = case_in_session(db_session, base_settings, stages=False, sae_id="ONC-301-101-SAE001")
    again = case_in_session(db_session, base_settings, stages=False, sae_id="onc 301/101.sae001")
    assert again == first
    case = db_session.execute(select(Case).where(Case.id == first)).scalar_one()
    assert case.current_version == 2 and case.sender_case_key == "ONC301101SAE001"
    other = case_in_session(db_session, base_settings, stages=False, sae_id="ONC-301-101-SAE002")
    assert other != first  # one character more is another SAE
