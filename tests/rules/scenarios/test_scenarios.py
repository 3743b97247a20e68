"""Regulatory scenarios written from the regulation texts (see README.md): each a case history
of one or more steps, each step's expected obligations with the provision that decides them.

A step is evaluated with the previous step's obligations as ``previous``, after applying the
reports it says were filed (``filed``: rule, date, completeness), as a case history would.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from factories.rules import ALL, event, facts, pair, suspect

from safety.rules.capacity import with_options
from safety.rules.day0 import (
    Anchor,
    AnchorKind,
    Anchors,
    AssessedAs,
    Receipt,
    ReceiverRole,
    first_of,
    later_awareness,
    receipt_from_json,
    receipts_anchors,
)
from safety.rules.facts import CaseFacts, FollowUp, Source, StudyFacts
from safety.rules.obligations import Obligation, ObligationStatus, evaluate
from safety.rules.regime import load_regimes
from safety.sponsors.profile import rules_options_from_json

HERE = Path(__file__).parent
# The locked half (locked/README.md) runs with the rest; it is never tuned on.
SCENARIOS = sorted(HERE.glob("*.json")) + sorted((HERE / "locked").glob("*.json"))


def _anchors(given: dict[str, Any]) -> Anchors:
    """Anchors of a step; ``receipts`` (party, role, at) instead of ``first_receipt`` make
    first receipt the earliest of them (GVP VI.B.7)."""
    zone = given.pop("zone", "UTC")
    receipts = [receipt_from_json(r, f"receipts[{i}]")
                for i, r in enumerate(given.pop("receipts", []))]
    if receipts:
        given["first_receipt"] = first_of(receipts, zone).day.isoformat()
    elif "T" in given["first_receipt"]:
        # An instant with the receiver's offset: a receipt by the sponsor (receipt_day).
        given["first_receipt"] = Receipt("sponsor", ReceiverRole.SPONSOR, instant=(
            datetime.fromisoformat(given["first_receipt"]))).anchor(zone).day.isoformat()
    later = given.pop("reportable_awareness", None)
    out = {}
    for key, value in given.items():
        kind = AnchorKind(key)
        out[key] = (Anchor.at(kind, datetime.fromisoformat(value), zone) if "T" in value
                    else Anchor(kind, date.fromisoformat(value)))
    if isinstance(later, dict):
        # {"on", "through"}: what the later sponsor assessment decided; whether it moves
        # day 0 is the engine's rule (safety.rules.day0.later_awareness).
        aware = later_awareness(AssessedAs(later["through"]), Anchor(
            AnchorKind.REPORTABLE_AWARENESS, date.fromisoformat(later["on"])))
        if aware is not None:
            out["reportable_awareness"] = aware
    elif later is not None:
        out["reportable_awareness"] = Anchor(AnchorKind.REPORTABLE_AWARENESS,
                                             date.fromisoformat(later))
    anchors = Anchors(**out)
    return receipts_anchors(receipts, zone, anchors) if receipts else anchors


def _facts(c: dict[str, Any]) -> CaseFacts:
    source = Source(c.get("source", "clinical_trial"))
    post = source is not Source.CLINICAL_TRIAL
    suspects = tuple(
        suspect(**(s | {k: frozenset(s[k]) for k in ("inv", "auth") if k in s}))
        for s in c.get("suspects", [{"inv": [], "auth": sorted(ALL)} if post else {}]))
    return facts(
        events=tuple(event(**(e | ({"criteria": tuple(e["criteria"])} if "criteria" in e
                                     else {}))) for e in c.get("events", [{}])),
        suspects=suspects,
        pairs=tuple(pair(**p) for p in c.get("pairs", [{}])),
        source=source,
        study=StudyFacts("PROT-1", frozenset(c.get("study_jurisdictions", sorted(ALL)))),
        anchors_=_anchors(dict(c["anchors"])),
        followup=FollowUp(c.get("followup", "initial")),
        version=c.get("version", 1),
        unblinded_arm=c.get("unblinded_arm"),
        nullified=c.get("nullified", False),
    )


def _file(obs: list[Obligation], filed: list[dict[str, Any]]) -> list[Obligation]:
    out = list(obs)
    for f in filed:
        i = next(i for i, o in enumerate(out) if o.rule_id == f["rule"]
                 and o.status in (ObligationStatus.OPEN, ObligationStatus.AWAITING_UNBLINDING))
        out[i] = replace(out[i], status=ObligationStatus.SUBMITTED,
                         submitted_on=date.fromisoformat(f["on"]), complete=f.get("complete"))
    return out


def test_the_suite_has_120_scenarios_and_a_locked_half():
    """Issue #15: at least 120 scenarios; the locked folder holds at least half of them."""
    locked = [p for p in SCENARIOS if p.parent.name == "locked"]
    assert len(SCENARIOS) >= 120 and 2 * len(locked) >= len(SCENARIOS)


def test_every_scenario_is_self_describing():
    """Each file names its provision, the rule text with the arithmetic, the regimes it
    covers and whether a second reader checked it."""
    for path in SCENARIOS:
        sc = json.loads(path.read_text(encoding="utf-8"))
        assert sc["id"] == path.stem and sc["provision"] and sc["text"] and sc["regimes"], path
        assert all("expect" in step for step in sc["steps"]), path


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    sc = json.loads(path.read_text(encoding="utf-8"))
    previous: list[Obligation] = []
    # The sponsor's reading where the law is ambiguous (docs/rules.md, "Choices per sponsor").
    regimes = with_options(load_regimes(),
                           rules_options_from_json(sc.get("rules_options"))).regimes
    for n, step in enumerate(sc["steps"], start=1):
        previous = _file(previous, step.get("filed", []))
        ev = evaluate(_facts(step["case"]), regimes, previous=previous)
        got = [o for o in ev.obligations if o.regime in sc["regimes"]]
        want = step["expect"]
        assert sorted((o.regime, o.rule_id, o.day0.isoformat(), o.due.isoformat(),
                       o.status.value) for o in got) == sorted(
            (w["regime"], w["rule"], w["day0"], w["due"], w["status"]) for w in want), (
            f"{sc['id']} step {n} ({sc['provision']})")
        for w in want:
            if "report_type" in w:
                o = next(o for o in got if o.rule_id == w["rule"] and o.regime == w["regime"]
                         and o.status.value == w["status"])
                assert o.report_type == w["report_type"], f"{sc['id']} step {n}"
        previous = ev.obligations
