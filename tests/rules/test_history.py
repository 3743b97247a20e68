"""The case history as the unit of evaluation (issue #15): receipts by party, dated sponsor
assessments, unblinding results and filings, replayed through the engine."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from safety.rules.history import HistoryError, history_from_json, history_to_json
from safety.rules.obligations import ObligationStatus
from safety.rules.whatif import evaluate_history_json

DEMO = Path(__file__).parents[2] / "safety" / "rules" / "examples" / "demo_case.json"


def _demo() -> dict[str, Any]:
    return json.loads(DEMO.read_text())


def _history(*entries: dict[str, Any], blinded: bool = False, name: str | None = None,
             fatal: bool = False, investigator: str = "Probable", sponsor: str | None = None,
             timezone: str = "UTC") -> dict[str, Any]:
    """The demo case (hepatotoxicity in GB, unexpected vs IB ed. 7) as a history: version 1
    received 2026-02-27 09:15Z by the sponsor, then ``entries``."""
    demo = _demo()
    case = demo["case"]
    drug = case["drugs"][0]
    drug["reactions"][0]["assessments"] = [
        {"source": "Investigator", "method": "WHO-UMC", "result": investigator},
        *([{"source": "Sponsor", "method": "WHO-UMC", "result": sponsor}] if sponsor else [])]
    if name:
        drug["name"] = name
    if fatal:
        case["reactions"][0]["seriousness"] = {"death": True}
        case["reactions"][0]["outcome"] = "5"
    demo["registry"]["studies"][0]["blinded"] = blinded
    first = {"type": "received", "version": 1, "case": case,
             "receipts": [{"party": "Sponsor PV", "role": "sponsor",
                           "at": "2026-02-27T09:15:00+00:00"}]}
    return {"case_id": "H-1", "timezone": timezone, "registry": demo["registry"],
            "rsi": demo["rsi"], "history": [first, *entries]}


def _obs(data: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str, str]]:
    ev = evaluate_history_json(data)
    return {(o.regime, o.rule_id): (o.day0.isoformat(), o.due.isoformat(), o.status.value)
            for o in ev.obligations}


def test_a_later_sponsor_assessment_starts_the_awareness_clocks_but_not_the_fda_7_day():
    """Issue #15 item 5. Investigator: unlikely (not related); on 2026-03-04 the sponsor's
    causality assessment says probable: only then is the fatal reaction a SUSAR.
    Reg. 536/2014 Art. 42(2)(a) "seven days after the sponsor became aware of the reaction":
    2026-03-11; 21 CFR 312.32(c)(1)(i) "15 calendar days after the sponsor determines":
    2026-03-19; 312.32(c)(2) "7 calendar days after the sponsor's initial receipt of the
    information": 2026-03-06, whatever the later assessment (the information was held on
    2026-02-27)."""
    data = _history({"type": "assessment", "reaction_id": "r-1", "drug_id": "d-1",
                     "on": "2026-03-04", "causality": "related", "method": "WHO-UMC",
                     "result": "Probable", "by": "Dr Vale"},
                    fatal=True, investigator="Unlikely", sponsor="Unlikely")
    before = _obs(data | {"history": data["history"][:1]})
    assert not [k for k in before if k[0] in ("eu-ctr", "fda-ind")]
    got = _obs(data)
    assert got[("eu-ctr", "eu-ctr-susar-7")] == ("2026-03-04", "2026-03-11", "open")
    assert got[("fda-ind", "fda-ind-15day")] == ("2026-03-04", "2026-03-19", "open")
    assert got[("fda-ind", "fda-ind-7day")] == ("2026-02-27", "2026-03-06", "open")
    assert got[("hc-ct", "hc-ct-7")] == ("2026-03-04", "2026-03-11", "open")


def test_a_later_expectedness_assessment_moves_no_awareness_clock_but_is_fdas_determination():
    """The second reading of later-11 / eu-ctr-07 / uk-ct-04 (docs/decisions.md). The IB lists
    hepatotoxicity, so the case received 2026-02-27 is not a SUSAR; on 2026-03-04 the sponsor
    assesses it unexpected against the same IB. No information reached the sponsor then:
    Art. 42(2)(b) "15 days after the sponsor became aware of the reaction" counts from
    2026-02-27 (due 2026-03-14), as C.05.014(1)(a) "after becoming aware of the information"
    does; FDA's 312.32(c)(1) counts "after the sponsor determines that the information
    qualifies": 2026-03-04 + 15 = 2026-03-19. With the sponsor's causality opinion in the same
    assessment (the investigator had said unlikely), the reaction itself is new: day 0 moves."""
    assessed = {"type": "assessment", "reaction_id": "r-1", "drug_id": "d-1",
                "on": "2026-03-04", "expected": False, "reference": "IB", "rsi_version": "ed. 7"}
    data = _history(assessed)
    for rsi in data["rsi"]:
        if rsi["reference"] == "IB":
            rsi["expected_pts"] = [*rsi["expected_pts"], "10019851"]
    before = _obs(data | {"history": data["history"][:1]})
    assert ("eu-ctr", "eu-ctr-susar-15") not in before
    got = _obs(data)
    assert got[("eu-ctr", "eu-ctr-susar-15")] == ("2026-02-27", "2026-03-14", "open")
    assert got[("hc-ct", "hc-ct-15")] == ("2026-02-27", "2026-03-14", "open")
    assert got[("fda-ind", "fda-ind-15day")] == ("2026-03-04", "2026-03-19", "open")
    both = _history(assessed | {"causality": "related"}, investigator="Unlikely")
    both["rsi"] = data["rsi"]
    assert _obs(both)[("eu-ctr", "eu-ctr-susar-15")] == ("2026-03-04", "2026-03-19", "open")


def test_an_assessment_that_confirms_a_reportable_case_moves_no_awareness_clock():
    """Already a SUSAR on the investigator's "probable": a sponsor assessment agreeing with it
    does not make the sponsor "become aware" later (Art. 42(2)(b): 2026-02-27 + 15)."""
    data = _history({"type": "assessment", "reaction_id": "r-1", "drug_id": "d-1",
                     "on": "2026-03-04", "causality": "related"})
    assert _obs(data)[("eu-ctr", "eu-ctr-susar-15")] == ("2026-02-27", "2026-03-14", "open")


def test_an_imp_named_or_matching_placebo_is_reported_once_unblinded_to_active():
    """Issue #19 / #15 item 4: placebo only from an explicit fact. "Zelvorin 10 mg or matching
    placebo" is the blinded IMP: awaiting unblinding (clock running from receipt, ICH E2A
    III.C); unblinded to SDX-101 it is owed on the same clock; unblinded to placebo, not
    required."""
    blinded = _history(blinded=True, name="Zelvorin 10 mg or matching placebo")
    assert _obs(blinded)[("eu-ctr", "eu-ctr-susar-15")] == (
        "2026-02-27", "2026-03-14", "awaiting_unblinding")
    active = copy.deepcopy(blinded)
    active["history"].append({"type": "unblinding", "on": "2026-03-01", "arm": "SDX-101"})
    got = _obs(active)
    assert got[("eu-ctr", "eu-ctr-susar-15")] == ("2026-02-27", "2026-03-14", "open")
    assert {s for _, _, s in got.values()} == {"open"}
    placebo = copy.deepcopy(blinded)
    placebo["history"].append({"type": "unblinding", "on": "2026-03-01", "arm": "placebo"})
    assert {s for _, _, s in _obs(placebo).values()} == {"not_required"}


def test_filing_complete_or_not_decides_the_eu_completed_report():
    """Reg. 536/2014 Art. 42(2) second subparagraph: the completed report follows an initial
    report filed incomplete, 8 days after that filing (2026-03-02 + 8); one filed complete
    owes nothing more. Filing dates are the actual ones."""
    fatal = _history(fatal=True)
    incomplete = copy.deepcopy(fatal)
    incomplete["history"].append({"type": "filing", "on": "2026-03-02", "regime": "eu-ctr",
                                  "rule": "eu-ctr-susar-7", "complete": False})
    got = _obs(incomplete)
    assert got[("eu-ctr", "eu-ctr-susar-7")] == ("2026-02-27", "2026-03-06", "submitted")
    assert got[("eu-ctr", "eu-ctr-completion")] == ("2026-03-02", "2026-03-10", "open")
    complete = copy.deepcopy(fatal)
    complete["history"].append({"type": "filing", "on": "2026-03-02", "regime": "eu-ctr",
                                "rule": "eu-ctr-susar-7", "complete": True})
    assert ("eu-ctr", "eu-ctr-completion") not in _obs(complete)
    # Health Canada's complete report is owed either way, from the actual filing (C.05.014(2)).
    hc = copy.deepcopy(fatal)
    hc["history"].append({"type": "filing", "on": "2026-03-01", "regime": "hc-ct",
                          "rule": "hc-ct-7", "complete": True})
    assert _obs(hc)[("hc-ct", "hc-ct-complete")] == ("2026-03-01", "2026-03-09", "open")


def test_receipts_by_party_and_zone_set_day_0_in_a_history():
    """GVP VI.B.7: a licence partner's receipt in Tokyo at 07:30 on 27 Feb is 26 Feb 22:30
    UTC: day 0 2026-02-26 in a UTC organisation (EU CTR 15 days: 2026-03-13)."""
    data = _history()
    data["history"][0]["receipts"].append(
        {"party": "Kumo Pharma", "role": "licence_partner", "at": "2026-02-27T07:30:00+09:00"})
    assert _obs(data)[("eu-ctr", "eu-ctr-susar-15")] == ("2026-02-26", "2026-03-13", "open")


def test_a_follow_up_version_that_becomes_fatal_upgrades_the_filed_report():
    """A 15-day EU report filed 2026-03-05; version 2 received 2026-03-09 says the patient
    died: Art. 42(2)(c), 7 days from awareness of the fatal outcome (2026-03-16), a follow-up of
    the filed report."""
    data = _history({"type": "filing", "on": "2026-03-05", "regime": "eu-ctr",
                     "rule": "eu-ctr-susar-15"})
    v2 = copy.deepcopy(data["history"][0])
    v2 |= {"version": 2, "receipts": [{"party": "Sponsor PV", "role": "sponsor",
                                       "at": "2026-03-09T11:00:00+00:00"}]}
    v2["case"]["reactions"][0]["seriousness"] = {"death": True}
    data["history"].append(v2)
    ev = evaluate_history_json(data)
    (eu,) = [o for o in ev.obligations if o.regime == "eu-ctr"]
    assert (eu.rule_id, eu.day0.isoformat(), eu.due.isoformat(), eu.status) == (
        "eu-ctr-susar-7", "2026-03-09", "2026-03-16", ObligationStatus.OPEN)
    assert eu.report_type == "SUSAR follow-up report"


def test_a_version_carrying_the_sponsors_not_related_keeps_the_ind_report_closed_on_it():
    """21 CFR 312.32(a): the sponsor's "not related" ends the IND safety report; Reg. (EU)
    536/2014 Annex III 2.1: it does not downgrade the investigator's causality, so the EU
    report stays owed. Version 2 (received 2026-03-01) carries the sponsor's determination of
    that day, replayed after it: the IND report closed as not required by the version stays
    on the version's record when the determination is replayed, it does not vanish."""
    data = _history()
    v2 = copy.deepcopy(data["history"][0])
    v2 |= {"version": 2, "receipts": [{"party": "Sponsor PV", "role": "sponsor",
                                       "at": "2026-03-01T10:00:00+00:00"}]}
    v2["case"]["drugs"][0]["reactions"][0]["assessments"].append(
        {"source": "Sponsor", "method": "Sponsor binary", "result": "Not related"})
    data["history"] += [v2, {"type": "assessment", "reaction_id": "r-1", "drug_id": "d-1",
                             "on": "2026-03-01T10:00:00+00:00", "causality": "not related",
                             "method": "Sponsor binary", "result": "Not related"}]
    ev = evaluate_history_json(data)
    fda = [o for o in ev.obligations if o.regime == "fda-ind"]
    assert fda and all(o.status is ObligationStatus.NOT_REQUIRED and o.version == 2
                       for o in fda)
    assert all("no longer required" in o.explanation for o in fda)
    eu = [o for o in ev.obligations if o.regime == "eu-ctr"]
    assert [o.status for o in eu] == [ObligationStatus.OPEN]


def test_history_json_round_trips():
    data = _history({"type": "assessment", "reaction_id": "r-1", "drug_id": "d-1",
                     "on": "2026-03-04T10:00:00+00:00", "causality": "related",
                     "expected": False, "reference": "IB", "rsi_version": "IB ed. 7"},
                    {"type": "unblinding", "on": "2026-03-05", "arm": "SDX-101"},
                    {"type": "filing", "on": "2026-03-06", "regime": "eu-ctr",
                     "rule": "eu-ctr-susar-15", "complete": True},
                    {"type": "nullification", "on": "2026-03-20", "reason": "duplicate"})
    once = history_to_json(history_from_json(data))
    assert history_to_json(history_from_json(once)) == once
    assert [e["type"] for e in once["history"]] == [
        "received", "assessment", "unblinding", "filing", "nullification"]


@pytest.mark.parametrize(("entry", "named"), [
    ({"type": "assessment", "reaction_id": "r-9", "drug_id": "d-1", "on": "2026-03-01",
      "causality": "related"}, "history[1].reaction_id"),
    ({"type": "assessment", "reaction_id": "r-1", "drug_id": "d-1", "on": "2026-03-01",
      "causality": "maybe"}, "history[1].causality"),
    ({"type": "assessment", "reaction_id": "r-1", "drug_id": "d-1", "on": "2026-03-01T10:00",
      "causality": "related"},
     "history[1].on"),
    ({"type": "filing", "on": "2026-03-01", "regime": "eu-ctr", "rule": "eu-ctr-susar-7"},
     "history[1]: no open eu-ctr/eu-ctr-susar-7"),
    ({"type": "filing", "on": "2026-03-01", "regime": "eu-ctr", "rule": "eu-ctr-susar-15",
      "complete": "yes"}, "history[1].complete"),
    ({"type": "unblinding", "on": "2026-03-01"}, "history[1].arm"),
])
def test_a_bad_entry_is_refused_naming_it(entry, named):
    with pytest.raises(HistoryError, match=named.replace("[", r"\[").replace("]", r"\]")):
        evaluate_history_json(_history(entry))
