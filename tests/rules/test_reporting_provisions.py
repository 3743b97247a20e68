"""Issue #15: one test per rule defect, each naming the provision whose text decides the answer.

The expected answers were written from the regulation texts quoted in each test, before the
engine was changed; each test failed on the engine before its fix.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from factories.rules import anchors, d, event, facts, pair, pm, suspect

from safety.rules.day0 import (
    Anchor,
    AnchorKind,
    AssessedAs,
    Receipt,
    ReceiverRole,
    first_of,
    later_awareness,
)
from safety.rules.facts import FollowUp, StudyFacts
from safety.rules.obligations import ObligationStatus, evaluate, obligation_from_json
from safety.rules.whatif import load_whatif


def _of(ev, regime):
    return sorted(((o.rule_id, o.day0.isoformat(), o.due.isoformat(), o.status)
                   for o in ev.obligations if o.regime == regime), key=lambda t: (t[2], t[0]))


def test_21_cfr_312_32_c_2_seven_day_notification_and_c_1_fifteen_day_report_both_owed():
    """21 CFR 312.32(c)(1)(i): an IND safety report of a serious and unexpected suspected
    adverse reaction "no later than 15 calendar days after the sponsor determines that the
    information qualifies for reporting"; (c)(2): "The sponsor must also notify FDA of any
    unexpected fatal or life-threatening suspected adverse reaction as soon as possible but in no
    case later than 7 calendar days after the sponsor's initial receipt of the information."
    "Also": the 7-day notification does not replace the 15-day report."""
    f = facts(events=(event(fatal=True, criteria=("death",)),),
              anchors_=anchors("2026-02-27", sponsor_determination="2026-03-02"))
    ev = evaluate(f)
    assert _of(ev, "fda-ind") == [
        ("fda-ind-7day", "2026-02-27", "2026-03-06", ObligationStatus.OPEN),
        ("fda-ind-15day", "2026-03-02", "2026-03-17", ObligationStatus.OPEN),
    ]
    seven = next(o for o in ev.obligations if o.rule_id == "fda-ind-7day")
    assert seven.citation == "21 CFR 312.32(c)(2)"
    assert not any("fda-ind-15day" in n and "covered" in n for n in ev.notes)


def test_21_cfr_312_32_c_2_upgrade_to_fatal_adds_the_notification_and_keeps_the_15_day_report():
    """312.32(c)(2) on a follow-up that makes the case fatal: the 7-day notification counts
    from the receipt of that information; the (c)(1)(i) report still open is not superseded."""
    prev = evaluate(facts(anchors_=anchors("2026-02-27"))).obligations
    assert [o.rule_id for o in prev if o.regime == "fda-ind"] == ["fda-ind-15day"]
    v2 = facts(events=(event(fatal=True),), version=2, followup=FollowUp.SIGNIFICANT,
               anchors_=anchors("2026-02-27", significant_followup="2026-03-02",
                                fatal_lt_awareness="2026-03-02"))
    got = _of(evaluate(v2, previous=prev), "fda-ind")
    assert ("fda-ind-7day", "2026-03-02", "2026-03-09", ObligationStatus.OPEN) in got
    assert ("fda-ind-15day", "2026-02-27", "2026-03-14", ObligationStatus.OPEN) in got


def _filed(obs, rule, on, complete=None):
    return [replace(o, status=ObligationStatus.SUBMITTED, submitted_on=d(on), complete=complete)
            if o.rule_id == rule else o for o in obs]


EU_FATAL = dict(events=(event(fatal=True, country="DE"),), anchors_=anchors("2026-02-27"))


def test_ctr_art_42_2_completed_report_only_when_the_initial_report_was_incomplete():
    """Regulation (EU) No 536/2014 Art. 42(2) second subparagraph: "Where necessary to ensure
    timely reporting, the sponsor may, in accordance with section 2.4 of Annex III, submit an
    initial report that is incomplete followed up by a complete report"; Annex III 2.4: the
    completed report follows within eight days. A complete initial 7-day report owes nothing
    more; an incomplete one owes the completed report 8 days after it was filed."""
    ev = evaluate(facts(**EU_FATAL))
    assert [o.rule_id for o in ev.obligations if o.regime == "eu-ctr"] == ["eu-ctr-susar-7"]
    assert any("eu-ctr-completion" in n and "incomplete" in n for n in ev.notes)

    complete = _filed(ev.obligations, "eu-ctr-susar-7", "2026-03-04", complete=True)
    again = evaluate(facts(**EU_FATAL), previous=complete)
    assert "eu-ctr-completion" not in {o.rule_id for o in again.obligations}

    incomplete = _filed(ev.obligations, "eu-ctr-susar-7", "2026-03-04", complete=False)
    again = evaluate(facts(**EU_FATAL), previous=incomplete)
    done = next(o for o in again.obligations if o.rule_id == "eu-ctr-completion")
    assert (done.day0.isoformat(), done.due.isoformat()) == ("2026-03-04", "2026-03-12")
    assert done.citation.startswith("Regulation (EU) No 536/2014 Art. 42(2)")


HC_LT = dict(events=(event(lt=True, criteria=("life_threatening",), country="CA"),),
             anchors_=anchors("2026-02-27"))


def test_c_05_014_2_complete_report_counts_from_the_actual_filing_of_the_first_report():
    """Food and Drug Regulations C.05.014(2): "The sponsor shall, within eight days after having
    informed the Minister under paragraph (1)(b), submit to the Minister a complete report".
    Informed on 2026-03-03 (due 2026-03-06): the complete report is due 2026-03-11, and its
    day 0 is that filing, not the case's first receipt."""
    first = evaluate(facts(**HC_LT)).obligations
    filed = _filed(first, "hc-ct-7", "2026-03-03")
    ev = evaluate(facts(**HC_LT), previous=filed)
    done = next(o for o in ev.obligations if o.rule_id == "hc-ct-complete")
    assert (done.day0.isoformat(), done.due.isoformat()) == ("2026-03-03", "2026-03-11")
    assert "2026-03-03" in done.explanation.splitlines()[0]

    # and on a significant follow-up the carried completion keeps counting from the filing
    v2 = facts(**HC_LT | dict(anchors_=anchors("2026-02-27", significant_followup="2026-03-05")),
               version=2, followup=FollowUp.SIGNIFICANT)
    ev2 = evaluate(v2, previous=filed)
    done = next(o for o in ev2.obligations if o.rule_id == "hc-ct-complete")
    assert (done.day0.isoformat(), done.due.isoformat()) == ("2026-03-03", "2026-03-11")


def test_c_05_014_2_completion_starts_from_its_own_trigger_not_the_initial_day0():
    """C.05.014(2) counts "after having informed the Minister": before the first report is
    filed, the latest it can be filed (its due date) is the completion's start, and its day 0."""
    ev = evaluate(facts(**HC_LT))
    done = next(o for o in ev.obligations if o.rule_id == "hc-ct-complete")
    assert (done.day0.isoformat(), done.due.isoformat()) == ("2026-03-06", "2026-03-14")


DEMO = Path(__file__).parents[2] / "safety" / "rules" / "examples" / "demo_case.json"


def _blinded_demo(drug_name: str) -> dict:
    data = json.loads(DEMO.read_text())
    data["registry"]["studies"][0]["blinded"] = True
    data["case"]["drugs"][0]["name"] = drug_name
    return data


def test_blinded_imp_named_or_matching_placebo_is_reported_as_imp_until_unblinding():
    """ICH E2A III.C (managing blinded therapy cases): the blind is broken for the subject of
    a blinded SUSAR and the case is reported as the investigational product it turns out to be;
    only the unblinding result can say the subject received placebo. A label such as "Zelvorin
    or matching placebo" says what the kit may contain, not what the subject took."""
    data = _blinded_demo("Zelvorin 10 mg or matching placebo")
    w = load_whatif(data)
    (s,) = w.facts.suspects
    assert (s.product_id, s.blinded, s.placebo) == ("SDX-101", True, False)
    obs = evaluate(w.facts).obligations
    assert obs and {o.status for o in obs} == {ObligationStatus.AWAITING_UNBLINDING}

    w = load_whatif(data | {"unblinded_arm": "SDX-101"})
    assert {o.status for o in evaluate(w.facts).obligations} == {ObligationStatus.OPEN}
    w = load_whatif(data | {"unblinded_arm": "placebo"})
    assert evaluate(w.facts).obligations == []


def test_placebo_is_an_explicit_fact_of_the_registry_not_of_a_name():
    """A product the registry records as placebo ("placebo": true) is never a SUSAR suspect;
    a product merely named so is judged like any other drug."""
    data = json.loads(DEMO.read_text())
    data["case"]["drugs"][0] |= {"name": "Placebo-matched Zelvorin"}
    assert evaluate(load_whatif(data).facts).obligations  # still SDX-101 by its substance
    data["registry"]["products"].append({"id": "PBO-301", "name": "Saline", "placebo": True})
    data["case"]["drugs"][0] |= {"name": "Saline", "substances": []}
    (s,) = load_whatif(data).facts.suspects
    assert s.placebo and s.product_id == "PBO-301"


def test_21_cfr_312_32_d_2_downgrade_after_a_filed_ind_safety_report_owes_a_followup_report():
    """21 CFR 312.32(d)(2): "Relevant follow-up information to an IND safety report must be
    submitted as soon as the information is available and must be identified as such, i.e.,
    'Followup IND Safety Report'." Information that the reaction is no longer a suspected
    adverse reaction is relevant follow-up of the filed report: a follow-up IND safety report
    is owed (15 calendar days, FDA guidance 2012), not a mere suggestion to amend."""
    v1 = evaluate(facts(anchors_=anchors("2026-02-27"))).obligations
    filed = _filed(v1, "fda-ind-15day", "2026-03-05")
    v2 = facts(version=2, followup=FollowUp.SIGNIFICANT, pairs=(pair(inv="not related"),),
               anchors_=anchors("2026-02-27", significant_followup="2026-03-20"))
    ev = evaluate(v2, previous=filed)
    fda = [o for o in ev.obligations if o.regime == "fda-ind"]
    assert [(o.report_type, o.day0.isoformat(), o.due.isoformat(), o.status) for o in fda] == [
        ("Follow-up IND safety report", "2026-03-20", "2026-04-04", ObligationStatus.OPEN)]
    assert fda[0].citation.startswith("21 CFR 312.32(d)(2)")
    assert "no longer" in fda[0].explanation
    assert not [r for r in ev.recommendations if r.regime == "fda-ind"]


def test_gvp_vi_b_7_non_serious_case_filed_on_90_days_that_becomes_serious_is_a_followup():
    """GVP Module VI.B.7.1: significant follow-up information (here: the case becomes serious)
    starts a new day zero for a follow-up report of the ICSR already submitted; Art. 107(3)
    first subparagraph then gives it 15 days. It is not a fresh initial report."""
    v1 = evaluate(pm(events=(event(country="FR", criteria=()),),
                     anchors_=anchors("2026-01-05"))).obligations
    assert {o.rule_id for o in v1 if o.regime == "eu-gvp"} == {"eu-gvp-nonserious-90"}
    filed = _filed(v1, "eu-gvp-nonserious-90", "2026-02-10")
    v2 = pm(events=(event(country="FR"),), version=2, followup=FollowUp.SIGNIFICANT,
            anchors_=anchors("2026-01-05", significant_followup="2026-03-02"))
    eu = [o for o in evaluate(v2, previous=filed).obligations if o.regime == "eu-gvp"]
    assert [(o.report_type, o.day0.isoformat(), o.due.isoformat()) for o in eu] == [
        ("Follow-up ICSR", "2026-03-02", "2026-03-17")]
    assert "GVP Module VI.B.7.1" in eu[0].citation


def test_every_obligation_round_trips_through_its_json():
    """What `evaluate --json` prints is read back unchanged as `previous` (issue #15 item 8)."""
    f = facts(events=(event(fatal=True, country="CA"),), anchors_=anchors("2026-02-27"))
    obs = evaluate(f).obligations
    obs = _filed(obs, "hc-ct-7", "2026-03-03", complete=False)
    assert obs and [obligation_from_json(o.to_json()) for o in obs] == obs


# --- issue #15 item 5: a later sponsor assessment makes the case reportable -----------------


def test_ctr_art_42_2_clock_from_the_day_the_sponsor_became_aware_of_a_susar():
    """Regulation (EU) No 536/2014 Art. 42(2)(b): "not later than 15 days after the sponsor
    became aware of the reaction" -- a suspected unexpected serious adverse reaction. Received
    2026-02-27 as an expected reaction; the sponsor's assessment of 2026-03-05 found it unexpected
    (the information that makes it a SUSAR): day 0 2026-03-05, due 2026-03-20 (not 2026-03-14)."""
    f = facts(events=(event(country="DE"),),
              anchors_=anchors("2026-02-27", reportable_awareness="2026-03-05"))
    assert _of(evaluate(f), "eu-ctr") == [
        ("eu-ctr-susar-15", "2026-03-05", "2026-03-20", ObligationStatus.OPEN)]


def test_si_2004_1031_reg_33_and_34_clock_from_first_awareness_of_the_susar():
    """SI 2004/1031 reg. 33(3): "not later than 15 days after the sponsor was first aware of the
    reaction"; reg. 34(a): "within 7 days beginning with the day after the sponsor was first
    aware of the reaction" -- the reaction being a SUSAR. Made a SUSAR by the sponsor's causality
    assessment of 2026-03-04: UK 15-day due 2026-03-19, foreign fatal 7-day due 2026-03-11."""
    uk = facts(events=(event(country="GB"),),
               anchors_=anchors("2026-02-27", reportable_awareness="2026-03-04"))
    assert _of(evaluate(uk), "uk-ct") == [
        ("uk-ct-15-uk", "2026-03-04", "2026-03-19", ObligationStatus.OPEN)]
    foreign = facts(events=(event(country="US", fatal=True, criteria=("death",)),),
                    anchors_=anchors("2026-02-27", reportable_awareness="2026-03-04"))
    assert _of(evaluate(foreign), "uk-ct") == [
        ("uk-ct-7-foreign", "2026-03-04", "2026-03-11", ObligationStatus.OPEN)]


def test_c_05_014_clock_from_becoming_aware_of_the_information():
    """Food and Drug Regulations C.05.014(1)(a): "within 15 days after becoming aware of the
    information" of a serious unexpected adverse drug reaction. Unexpected per the sponsor's
    expectedness assessment of 2026-03-03: day 0 2026-03-03, due 2026-03-18."""
    f = facts(events=(event(country="CA"),),
              anchors_=anchors("2026-02-27", reportable_awareness="2026-03-03"))
    assert _of(evaluate(f), "hc-ct") == [
        ("hc-ct-15", "2026-03-03", "2026-03-18", ObligationStatus.OPEN)]


def test_312_32_c_2_seven_days_still_from_initial_receipt_and_postmarketing_from_receipt():
    """21 CFR 312.32(c)(2) counts "after the sponsor's initial receipt of the information", and
    the postmarketing clocks count from receipt of the information (314.80(c)(1)(i) "initial
    receipt"; C.01.017 "after receiving or becoming aware of the information, whichever occurs
    first"; GVP VI.B.7 "as soon as the information containing the minimum criteria" is held): a
    later assessment does not move them."""
    f = facts(events=(event(fatal=True, criteria=("death",)),),
              anchors_=anchors("2026-02-27", reportable_awareness="2026-03-05"))
    assert ("fda-ind-7day", "2026-02-27", "2026-03-06", ObligationStatus.OPEN) in _of(
        evaluate(f), "fda-ind")
    p = pm(anchors_=anchors("2026-02-27", reportable_awareness="2026-03-05"))
    for o in evaluate(p).obligations:
        assert o.day0.isoformat() == "2026-02-27", o.rule_id


def test_reportable_awareness_before_first_receipt_is_refused():
    """Day 0 cannot precede the first receipt: the assessment date is checked, naming it."""
    import pytest

    from safety.rules.day0 import Day0Error
    with pytest.raises(Day0Error, match="reportable_awareness"):
        anchors("2026-02-27", reportable_awareness="2026-02-20")


# --- issue #15 item 7: receipts by the sponsor and those acting for it ----------------------


def test_gvp_vi_b_7_day_zero_is_the_earliest_receipt_by_anyone_acting_for_the_sponsor():
    """GVP Module VI.B.7: the clock "starts as soon as the information containing the minimum
    criteria has been brought to the attention of ... any personnel of the marketing
    authorisation holder, including medical representatives and contractors"; ICH E2D 4.1 "day
    zero". The licence partner in Tokyo received it 2026-02-27 08:00+09:00 (= 2026-02-26 23:00
    UTC); the sponsor in London 2026-03-02: day 0 is 2026-02-26 in the sponsor's zone (UTC),
    the EU CTR 15-day is due 2026-03-13, and the explanation names the partner."""
    from datetime import datetime

    from safety.rules.day0 import Receipt, ReceiverRole, receipts_anchors
    a = receipts_anchors([
        Receipt("Sponsor PV London", ReceiverRole.SPONSOR,
                datetime.fromisoformat("2026-03-02T10:00:00+00:00")),
        Receipt("Kumo Pharma (licence partner)", ReceiverRole.LICENCE_PARTNER,
                datetime.fromisoformat("2026-02-27T08:00:00+09:00")),
        Receipt("Acme CRO", ReceiverRole.VENDOR,
                datetime.fromisoformat("2026-02-28T12:00:00-05:00")),
    ], "UTC")
    assert a.first_receipt.day.isoformat() == "2026-02-26"
    ev = evaluate(facts(events=(event(country="DE"),), anchors_=a))
    ob = next(o for o in ev.obligations if o.regime == "eu-ctr")
    assert (ob.day0.isoformat(), ob.due.isoformat()) == ("2026-02-26", "2026-03-13")
    assert "Kumo Pharma (licence partner)" in ob.explanation
    assert any("Kumo Pharma" in n and "3 receipts" in n for n in ev.notes)


def test_receipt_by_someone_not_acting_for_the_sponsor_is_refused_naming_the_field():
    """Only the sponsor and those acting for it (affiliate, licence partner, vendor) start the
    clock (GVP VI.B.7 "personnel of the marketing authorisation holder ... and contractors")."""
    import pytest

    from safety.rules.day0 import Day0Error, receipt_from_json
    with pytest.raises(Day0Error, match=r"receipts\[0\]\.role"):
        receipt_from_json({"party": "Regulator", "role": "regulator",
                           "at": "2026-02-27T10:00:00Z"}, "receipts[0]")
    r = receipt_from_json({"party": "Affiliate DE", "role": "affiliate", "at": "2026-02-27"},
                          "receipts[0]")
    assert r.day is not None and r.instant is None


def test_ctr_art_42_2_a_case_made_reportable_by_follow_up_then_assessed_counts_from_the_later():
    """Art. 42(2)(b) "after the sponsor became aware of the reaction": a non-serious case made
    serious by follow-up on 2026-03-04 becomes a SUSAR only with the expectedness assessment of
    2026-03-09: day 0 2026-03-09, due 2026-03-24. An assessment dated before the follow-up
    cannot have made it reportable: the follow-up's day counts (due 2026-03-19)."""
    v1 = facts(events=(event(country="DE", criteria=()),), anchors_=anchors("2026-02-27"))
    prev = evaluate(v1).obligations
    assert _of(evaluate(v1), "eu-ctr") == []
    for assessed, day0, due in (("2026-03-09", "2026-03-09", "2026-03-24"),
                                ("2026-03-01", "2026-03-04", "2026-03-19")):
        v2 = facts(events=(event(country="DE"),), version=2, followup=FollowUp.SIGNIFICANT,
                   anchors_=anchors("2026-02-27", significant_followup="2026-03-04",
                                    reportable_awareness=assessed))
        assert _of(evaluate(v2, previous=prev), "eu-ctr") == [
            ("eu-ctr-susar-15", day0, due, ObligationStatus.OPEN)], assessed


def _fda15(f):  # type: ignore[no-untyped-def]
    return next(o for o in evaluate(f).obligations if o.rule_id == "fda-ind-15day")


def test_fda_15_day_without_a_recorded_determination_counts_from_the_earliest_it_can_be():
    """21 CFR 312.32(c)(1)(i): 15 calendar days "after the sponsor determines that the
    information qualifies for reporting" (docs/decisions.md, "FDA 15-day fallback"). A recorded
    determination decides; without one, the day a later assessment made the case reportable;
    without that, the initial receipt; for a case that only qualifies with significant
    follow-up, that follow-up (the determination cannot precede the information)."""
    given = _fda15(facts(anchors_=anchors("2026-03-02", sponsor_determination="2026-03-06",
                                          reportable_awareness="2026-03-04")))
    assert (given.day0, given.anchor.value) == (d("2026-03-06"), "sponsor_determination")
    later = _fda15(facts(anchors_=anchors("2026-03-02", reportable_awareness="2026-03-04")))
    assert (later.day0, later.due) == (d("2026-03-04"), d("2026-03-19"))
    receipt = _fda15(facts(anchors_=anchors("2026-03-02")))
    assert receipt.day0 == d("2026-03-02") and "not recorded" in receipt.explanation
    newly = _fda15(facts(events=(event(),), anchors_=anchors(
        "2026-03-02", significant_followup="2026-03-10"), followup=FollowUp.SIGNIFICANT))
    assert (newly.day0, newly.due) == (d("2026-03-10"), d("2026-03-25"))


def test_ich_e2d_minimum_criteria_an_invalid_case_owes_nothing_and_says_why():
    """ICH E2D 5.1 / GVP Module VI.B.2: a case is valid (and a clock can start) only with an
    identifiable patient, an identifiable reporter, a suspect product and an adverse event.
    An invalid case owes no report, and the evaluation names the criterion it misses (issue
    #15 item 7: "why a case is invalid"; a follow-up that makes it valid starts day 0 at its
    receipt: test_case_version.py)."""
    ev = evaluate(facts(valid=False))
    assert ev.obligations == []
    assert "case not valid: missing identifiable patient" in ev.notes


def test_ctr_art_42_1_trial_outside_the_eu_of_an_imp_investigational_in_the_eu_is_reported():
    """Regulation (EU) No 536/2014 Art. 42(1): the sponsor reports SUSARs "occurring in that
    clinical trial, irrespective of whether the [SUSAR] has occurred at a clinical trial site in
    the Union or in a third country" and (b) those "occurring in a clinical trial performed
    exclusively in a third country" of the same sponsor. So a trial with US sites only owes
    the EU report when the product is an IMP in an EU trial of the same substance (issue #15
    item 7: "other trials of the same substance in the EU"), and not when it is not."""
    us_only = StudyFacts("PROT-US", frozenset({"US"}))
    ev = evaluate(facts(study=us_only, anchors_=anchors("2026-06-01")))
    assert _of(ev, "eu-ctr") == [
        ("eu-ctr-susar-15", "2026-06-01", "2026-06-16", ObligationStatus.OPEN)]
    not_eu = suspect(inv=frozenset({"US"}))
    assert _of(evaluate(facts(study=us_only, suspects=(not_eu,))), "eu-ctr") == []


def test_later_expectedness_assessment_does_not_move_awareness_day_0_causality_does():
    """C.05.014(1) "after becoming aware of the information"; Reg. 536/2014 Art. 42(2) and
    SI 2004/1031 regs 33-34 "aware of the reaction": a later check of the case against the
    sponsor's own RSI brings no new information, so day 0 stays at the receipt; a later
    causality opinion that makes it a suspected reaction moves it (docs/decisions.md; the
    second reading of later-11, eu-ctr-07, uk-ct-04)."""
    on = Anchor(AnchorKind.SIGNIFICANT_FOLLOWUP, d("2026-02-09"))
    assert later_awareness(AssessedAs.EXPECTEDNESS, on) is None
    moved = later_awareness(AssessedAs.CAUSALITY, on)
    assert moved is not None and moved.kind is AnchorKind.REPORTABLE_AWARENESS
    assert moved.day == d("2026-02-09")


def test_day_0_is_the_receivers_own_date_when_earlier_than_the_organisations():
    """GVP Module VI.B.7 / ICH E2D day zero: the information reached someone acting for the
    sponsor on the receiver's calendar day; no text names a zone, and the organisation's zone
    may put it on the next day (safety.rules.day0.receipt_day: the earlier of the two)."""
    la = Receipt("Acme CRO", ReceiverRole.VENDOR,
                 instant=datetime.fromisoformat("2026-03-31T20:00:00-07:00"))
    assert first_of([la], "Europe/Berlin").day == d("2026-03-31")  # 05:00 on 1 April there
    sydney = Receipt("PV AU", ReceiverRole.AFFILIATE,
                     instant=datetime.fromisoformat("2026-07-01T08:00:00+10:00"))
    assert first_of([sydney], "UTC").day == d("2026-06-30")  # the organisation's is earlier
