"""The unblinding workflow over a real database (issue 19, items 1 and 3).

Expected answers from the regulations, written first: a blinded SUSAR awaits unblinding and
raises a request (ICH E2A III.C.2); revealed active, the SUSAR is owed (EU CTR 536/2014
Annex III 2.5; 21 CFR 312.32(c)(1)); revealed placebo, nothing is owed; an IMP labelled
"Zelvorin or matching placebo" is not placebo for its name alone; the list is read only by the
unblinded role, and each read, the request and the reveal are audit events.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from factories.accounts import PASSWORD, add_user
from factories.cases import case_in_session
from factories.forms import sae_form
from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.store import User
from safety.audit.store import AuditEvent
from safety.blinding.audience import Audience
from safety.blinding.mask import BLINDED_DRUG
from safety.blinding.store import Unblinding, UnblindingStatus
from safety.cases.store import Case, current_version, working_data
from safety.config import Settings
from safety.products.service import import_registry, registry_from_json
from safety.review.unblinding import (
    BULK_MEANING,
    REVEAL_MEANING,
    UnblindingRefused,
    case_view,
    import_randomisation,
    reveal_for_case,
    unblind_study,
)
from safety.rules.service import latest_obligations

REGISTRY = {
    "products": [{"id": "ZEL", "name": "Zelvorin", "substances": ["zelvoranib"],
                  "aliases": ["Zelvorin or matching placebo"],
                  "statuses": [{"jurisdiction": j, "status": "investigational"}
                               for j in ("US", "EU", "UK")]}],
    "studies": [{"protocol": "ZEL-301", "jurisdictions": ["US", "EU", "UK"],
                 "ind_numbers": ["145999"], "products": ["ZEL"], "blinded": True,
                 "title": "Zelvorin versus placebo"}],
}
LIST = ("Subject,Arm,Treatment,Strength,Kit\n"
        "101-004,{arm},{treatment},20 mg,K-7781\n"
        "101-005,B,placebo,,K-7782\n")
NOW = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def _setup(session: Session, settings: Settings, treatment: str) -> tuple[Case, User, User]:
    import_registry(session, registry_from_json(REGISTRY), "test", 1)
    unblinder = session.get_one(User, add_user(session, "unblind@cro.test",
                                               "unblinded_physician"))
    blinded = session.get_one(User, add_user(session, "doc@cro.test", "safety_physician"))
    import_randomisation(session, unblinder, 1, "ZEL-301",
                         LIST.format(arm="A" if treatment != "placebo" else "B",
                                     treatment=treatment))
    form = sae_form(study={"protocol_number": "ZEL-301", "name": "Zelvorin versus placebo"},
                    drugs=[{"ref": "IMP", "name": "Zelvorin or matching placebo",
                            "role": "suspect", "investigational": True,
                            "dose": {"value": 20, "unit": "mg"}, "route": "oral",
                            "start_date": "2026-08-01", "action_taken": "withdrawn",
                            "indication": "NSCLC"}],
                    narrative="Subject admitted with fever. Kit K-7781 of Zelvorin was taken.")
    case_id = case_in_session(session, settings, form)
    return session.get_one(Case, uuid.UUID(case_id)), unblinder, blinded


def _statuses(session: Session, case: Case) -> set[str]:
    return {str(o.status) for o in latest_obligations(session, case.id)}


def _actions(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.mark.parametrize(("treatment", "after"), [("ZEL", {"open"}), ("placebo",
                                                                       {"not_required"})])
def test_a_blinded_susar_is_requested_revealed_and_settled(
        db_session: Session, base_settings: Settings, treatment: str, after: set[str]) -> None:
    case, unblinder, blinded = _setup(db_session, base_settings, treatment)
    assert _statuses(db_session, case) == {"awaiting_unblinding"}
    request = db_session.scalars(select(Unblinding).where(Unblinding.case_id == case.id)).one()
    assert (request.status, request.subject) == (UnblindingStatus.REQUESTED, "101-004")
    assert len(_actions(db_session, "unblinding.requested")) == 1

    data = working_data(db_session, current_version(db_session, case))
    view = case_view(db_session, case, data, blinded)
    assert view.drugs[0].name == BLINDED_DRUG and "K-7781" not in str(view)

    with pytest.raises(UnblindingRefused, match="only the unblinded role"):
        reveal_for_case(db_session, case, blinded, base_settings, data=data, reason="SUSAR",
                        password=PASSWORD, meaning=REVEAL_MEANING, now=NOW)
    with pytest.raises(UnblindingRefused, match="password"):
        reveal_for_case(db_session, case, unblinder, base_settings, data=data, reason="SUSAR",
                        password="wrong", meaning=REVEAL_MEANING, now=NOW)
    reads_before = len(_actions(db_session, "randomisation.read"))
    _, found = reveal_for_case(db_session, case, unblinder, base_settings, data=data,
                               reason="SUSAR on blinded information", password=PASSWORD,
                               meaning=REVEAL_MEANING, now=NOW)
    assert found.treatment == treatment
    assert request.status == UnblindingStatus.REVEALED and request.result == treatment
    assert _statuses(db_session, case) == after
    assert len(_actions(db_session, "unblinding.revealed")) == 1
    reads = _actions(db_session, "randomisation.read")
    new_reads = [r.actor for r in reads[reads_before:]]
    # the physician's read; then (active) each regulator's message drafted unblinded reads
    # the subject's assignment again, as the system
    assert new_reads[0] == unblinder.actor and new_reads.count(unblinder.actor) == 1
    assert set(new_reads[1:]) == (set() if treatment == "placebo" else {"system:submissions"})

    # the blinded physician still sees the blind; the unblinded one the assignment
    assert case_view(db_session, case, data, blinded).drugs[0].name == BLINDED_DRUG
    shown = case_view(db_session, case, data, unblinder).drugs[0].name
    assert shown == ("Zelvorin" if treatment == "ZEL" else "placebo")
    assert len(_actions(db_session, "randomisation.read")) > len(reads)


def test_only_the_unblinded_role_imports_and_a_study_is_unblinded_at_its_end(
        db_session: Session, base_settings: Settings) -> None:
    _, unblinder, blinded = _setup(db_session, base_settings, "ZEL")
    with pytest.raises(UnblindingRefused, match="only the unblinded role"):
        import_randomisation(db_session, blinded, 1, "ZEL-301", LIST)
    found = unblind_study(db_session, unblinder, 1, "ZEL-301", reason="database lock, DSUR",
                          password=PASSWORD, meaning=BULK_MEANING, now=NOW)
    assert [a.subject for a in found] == ["101-004", "101-005"]
    assert len(_actions(db_session, "unblinding.revealed")) == 2


def test_audiences_are_data() -> None:
    assert {a.value for a in Audience} == {"regulator", "ethics_committee", "investigator",
                                           "study_team", "dsmb"}
