"""The pipeline entry point: anchors from stored instants, automatic follow-up significance."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

from safety.cases.codec import case_from_json
from safety.products.registry import Registry, product_from_dict, study_from_dict
from safety.products.rsi import RsiLibrary, rsi_from_dict
from safety.rules.case_version import evaluate_case_version
from safety.rules.facts import FollowUp
from safety.rules.obligations import ObligationStatus

DEMO = Path(__file__).parents[2] / "safety" / "rules" / "examples" / "demo_case.json"


def _setup():
    import json
    data = json.loads(DEMO.read_text())
    reg = Registry()
    for p in data["registry"]["products"]:
        reg.add_product(product_from_dict(p))
    for s in data["registry"]["studies"]:
        reg.add_study(study_from_dict(s))
    lib = RsiLibrary()
    for v in data["rsi"]:
        lib.add(rsi_from_dict(v))
    return case_from_json(data["case"]), reg, lib


T1 = datetime(2026, 2, 27, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)


def test_initial_then_fatal_followup_detected_and_anchored():
    case, reg, lib = _setup()
    _, ev1 = evaluate_case_version(case, case_id="C", version=1, first_received_at=T1,
                                   received_at=T1, registry=reg, rsi=lib, zone="Asia/Tokyo")
    assert {o.rule_id for o in ev1.obligations} == {"eu-ctr-susar-15", "uk-ct-15-uk",
                                                     "hc-ct-15"}
    v2 = copy.deepcopy(case)
    v2.reactions[0].outcome = "5"
    facts, ev2 = evaluate_case_version(
        v2, case_id="C", version=2, first_received_at=T1, received_at=T2, registry=reg,
        rsi=lib, previous_case=case, previous_obligations=ev1.obligations, zone="Asia/Tokyo")
    assert facts.followup is FollowUp.SIGNIFICANT
    assert ev2.notes[0].startswith("follow-up classified significant")
    seven = next(o for o in ev2.obligations if o.rule_id == "eu-ctr-susar-7")
    # 22:30 UTC on 10 March is 11 March in Tokyo
    assert (seven.day0.isoformat(), seven.due.isoformat()) == ("2026-03-11", "2026-03-18")
    # the open 15-day report is due earlier (2026-03-14) than the new 7-day one: it stays
    old = next(o for o in ev2.obligations if o.rule_id == "eu-ctr-susar-15")
    assert (old.status, old.due.isoformat()) == (ObligationStatus.OPEN, "2026-03-14")


def test_identical_followup_is_non_significant():
    case, reg, lib = _setup()
    _, ev1 = evaluate_case_version(case, case_id="C", version=1, first_received_at=T1,
                                   received_at=T1, registry=reg, rsi=lib, zone="UTC")
    facts, ev2 = evaluate_case_version(
        copy.deepcopy(case), case_id="C", version=2, first_received_at=T1, received_at=T2,
        registry=reg, rsi=lib, previous_case=case, previous_obligations=ev1.obligations,
        zone="UTC")
    assert facts.followup is FollowUp.NON_SIGNIFICANT
    assert [(o.rule_id, o.due) for o in ev2.obligations] == [
        (o.rule_id, o.due) for o in ev1.obligations]


def test_case_becoming_valid_on_followup_takes_day0_from_that_receipt():
    case, reg, lib = _setup()
    invalid = copy.deepcopy(case)
    invalid.patient = type(case.patient)()
    _, ev1 = evaluate_case_version(invalid, case_id="C", version=1, first_received_at=T1,
                                   received_at=T1, registry=reg, rsi=lib, zone="UTC")
    assert ev1.obligations == []
    facts, ev2 = evaluate_case_version(
        case, case_id="C", version=2, first_received_at=T1, received_at=T2, registry=reg,
        rsi=lib, previous_case=invalid, previous_obligations=ev1.obligations, zone="UTC")
    assert facts.anchors.first_receipt.day.isoformat() == "2026-03-10"
    assert {o.day0.isoformat() for o in ev2.obligations} == {"2026-03-10"}
    assert "became valid" in ev2.notes[0]
