"""The stored-case shape of a history: anchors from stored instants in the organisation's
zone, automatic follow-up significance, a case that becomes valid (all through
``evaluate_history``, the function the rules stage calls)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from safety.cases.codec import case_from_json
from safety.cases.model import CaseVersionData
from safety.products.registry import Registry, product_from_dict, study_from_dict
from safety.products.rsi import RsiLibrary, rsi_from_dict
from safety.rules.day0 import Receipt, ReceiverRole
from safety.rules.facts import CaseFacts, FollowUp
from safety.rules.history import CaseHistory, Received, RulesContext, evaluate_history
from safety.rules.obligations import Evaluation, ObligationStatus
from safety.rules.regime import load_regimes

DEMO = Path(__file__).parents[2] / "safety" / "rules" / "examples" / "demo_case.json"


def _setup() -> tuple[CaseVersionData, RulesContext]:
    data = json.loads(DEMO.read_text())
    reg = Registry()
    for p in data["registry"]["products"]:
        reg.add_product(product_from_dict(p))
    for s in data["registry"]["studies"]:
        reg.add_study(study_from_dict(s))
    lib = RsiLibrary()
    for v in data["rsi"]:
        lib.add(rsi_from_dict(v))
    return case_from_json(data["case"]), RulesContext(reg, lib, load_regimes())


T1 = datetime(2026, 2, 27, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)


def _run(ctx: RulesContext, zone: str, *versions: tuple[CaseVersionData, datetime]
         ) -> list[tuple[CaseFacts, Evaluation]]:
    # As the rules stage gives a stored instant: in the organisation's zone (an instant's
    # offset is its receiver's, safety.rules.day0.receipt_day).
    entries = tuple(Received(n, case, (Receipt("Sponsor PV", ReceiverRole.SPONSOR,
                                               instant=at.astimezone(ZoneInfo(zone))),))
                    for n, (case, at) in enumerate(versions, start=1))
    result = evaluate_history(CaseHistory("C", entries, zone), ctx)
    return [(s.facts, s.evaluation) for s in result.steps]


def test_initial_then_fatal_followup_detected_and_anchored():
    case, ctx = _setup()
    v2 = copy.deepcopy(case)
    v2.reactions[0].outcome = "5"
    (_, ev1), (facts, ev2) = _run(ctx, "Asia/Tokyo", (case, T1), (v2, T2))
    assert {o.rule_id for o in ev1.obligations} == {"eu-ctr-susar-15", "uk-ct-15-uk",
                                                     "hc-ct-15"}
    assert facts.followup is FollowUp.SIGNIFICANT
    assert "follow-up classified significant" in ev2.notes[0]
    seven = next(o for o in ev2.obligations if o.rule_id == "eu-ctr-susar-7")
    # 22:30 UTC on 10 March is 11 March in Tokyo
    assert (seven.day0.isoformat(), seven.due.isoformat()) == ("2026-03-11", "2026-03-18")
    # the open 15-day report is due earlier (2026-03-14) than the new 7-day one: it stays
    old = next(o for o in ev2.obligations if o.rule_id == "eu-ctr-susar-15")
    assert (old.status, old.due.isoformat()) == (ObligationStatus.OPEN, "2026-03-14")


def test_identical_followup_is_non_significant():
    case, ctx = _setup()
    (_, ev1), (facts, ev2) = _run(ctx, "UTC", (case, T1), (copy.deepcopy(case), T2))
    assert facts.followup is FollowUp.NON_SIGNIFICANT
    assert [(o.rule_id, o.due) for o in ev2.obligations] == [
        (o.rule_id, o.due) for o in ev1.obligations]


def test_case_becoming_valid_on_followup_takes_day0_from_that_receipt():
    case, ctx = _setup()
    invalid = copy.deepcopy(case)
    invalid.patient = type(case.patient)()
    (_, ev1), (facts, ev2) = _run(ctx, "UTC", (invalid, T1), (case, T2))
    assert ev1.obligations == []
    assert facts.anchors.first_receipt.day.isoformat() == "2026-03-10"
    assert {o.day0.isoformat() for o in ev2.obligations} == {"2026-03-10"}
    assert "became valid" in ev2.notes[0]
