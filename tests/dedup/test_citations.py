"""A partner's own case number survives intake and is cited by others (issue 21 item 7).

Intake gives every case our C.1.1; before, the partner's own number was lost, so a regulator's
forward citing "SafetyDesk Pharma case BOR-2024-0117" (C.1.9.1.r) never found the case.
"""

from __future__ import annotations

import uuid

from factories.cases import cases_from_e2b_in_session
from factories.dedup import make_case
from factories.e2b import e2b_message
from factories.sponsors import DEFAULT_ID
from sqlalchemy.orm import Session

from safety.cases.codec import case_from_json
from safety.cases.model import OtherCaseId
from safety.cases.store import versions
from safety.cases.versioning import identity, link
from safety.config import Settings
from safety.dedup.scoring import load_model
from safety.dedup.store import match_stored


def test_a_forward_citing_the_partners_case_number_is_a_near_certain_duplicate(
        db_session: Session, base_settings: Settings) -> None:
    body = e2b_message("BOREALIS01", c11="BOR-2024-0117", c181="US-SDPHARMA-ZZ9")
    (case_id,) = cases_from_e2b_in_session(db_session, base_settings, body)
    stored = case_from_json(versions(db_session, uuid.UUID(case_id))[-1].data)
    assert stored.admin.sender_safety_report_id != "BOR-2024-0117"  # ours in C.1.1 ...
    assert OtherCaseId(source="SafetyDesk Pharma", case_id="BOR-2024-0117") \
        in stored.admin.other_case_ids  # ... theirs kept in C.1.9.1.r

    forward = make_case(sender="Agence nationale", report_id="FR-ANSM-2024-555",
                        cites=[("SafetyDesk Pharma", "bor 2024/0117")])
    result = match_stored(db_session, forward, load_model(), DEFAULT_ID)
    cited = [c for c in result.candidates if c.case_id == case_id]
    assert cited and cited[0].rule == "shared_citation" and cited[0].score >= 0.99


def test_two_reports_citing_one_original_are_duplicates_even_from_one_sender() -> None:
    """An intake team entered BfArM's case twice under two of its own numbers: both cite
    BfArM's case number; a physician confirms, nothing merges them silently."""
    a = make_case(sender="SafetyDesk intake", report_id="GB-SI-2024-1004",
                  cites=[("BfArM", "GB-B-2024-0043")])
    b = make_case(sender="SafetyDesk intake", report_id="GB-SI-2024-1005",
                  cites=[("bfarm", "gb b 2024 0043")])
    (found,) = link(identity(b), [("case-a", identity(a))])
    assert (found.relation, found.rule) == ("duplicate", "shared_citation")
