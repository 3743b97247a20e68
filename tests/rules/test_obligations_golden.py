"""Golden table: one row per rule, each naming the provision it checks.

Rows give the facts, the expected (rule, day 0, due) set and the citation the obligation must
carry. Dates cover month ends, year ends and the 2028 leap day. Calendar days, no weekend shift.
"""

from __future__ import annotations

import pytest
from factories.rules import ALL, anchors, event, facts, pair, pm, suspect

from safety.rules.facts import Source, StudyFacts
from safety.rules.obligations import ObligationStatus, evaluate

CT_FATAL = dict(events=(event(fatal=True, criteria=("death",)),))

GOLDEN = [
    # id, facts, {(rule, day0, due)}, regime filter, citation of the first obligation
    ("312.32(c)(2) 7-day fatal unexpected SAR from initial receipt",
     facts(**CT_FATAL, anchors_=anchors("2026-02-27", sponsor_determination="2026-03-02")),
     {("fda-ind-7day", "2026-02-27", "2026-03-06"), ("fda-ind-15day", "2026-03-02", "2026-03-17")},
     "fda-ind", "21 CFR 312.32(c)(2)"),
    ("312.32(c)(1)(i) 15-day SUSAR from sponsor determination",
     facts(anchors_=anchors("2026-02-27", sponsor_determination="2026-03-01")),
     {("fda-ind-15day", "2026-03-01", "2026-03-16")}, "fda-ind", "21 CFR 312.32(c)(1)(i)"),
    ("312.32(c)(1)(i) without determination: first receipt, month end",
     facts(anchors_=anchors("2026-01-31")),
     {("fda-ind-15day", "2026-01-31", "2026-02-15")}, "fda-ind", "21 CFR 312.32(c)(1)(i)"),
    ("314.80(c)(1)(i) serious unexpected foreign case, leap day due",
     pm(events=(event(country="FR"),), anchors_=anchors("2028-02-14")),
     {("fda-pm-15day", "2028-02-14", "2028-02-29")}, "fda-postmarketing",
     "21 CFR 314.80(c)(1)(i)"),
    ("314.80(c)(1)(i) serious but expected: periodic only",
     pm(pairs=(pair(expected=True),)), set(), "fda-postmarketing", None),
    ("CTR Art. 42(2)(a) fatal SUSAR over the year end (completion only if filed incomplete)",
     facts(events=(event(fatal=True, country="DE"),),
           anchors_=anchors("2026-12-28")),
     {("eu-ctr-susar-7", "2026-12-28", "2027-01-04")}, "eu-ctr",
     "Regulation (EU) No 536/2014 Art. 42(2)(a)"),
    ("CTR Art. 42(2)(b) other SUSAR 15 days",
     facts(anchors_=anchors("2026-02-14")),
     {("eu-ctr-susar-15", "2026-02-14", "2026-03-01")}, "eu-ctr",
     "Regulation (EU) No 536/2014 Art. 42(2)(b)"),
    ("GVP VI.C.3 serious non-EEA case 15 days",
     pm(events=(event(country="US"),), pairs=(pair(expected=True),),
        anchors_=anchors("2026-11-20")),
     {("eu-gvp-serious-15", "2026-11-20", "2026-12-05")}, "eu-gvp",
     "Directive 2001/83/EC Art. 107(3) first subparagraph; GVP Module VI.C.3"),
    ("GVP VI.C.3 non-serious EEA case 90 days (leap year)",
     pm(events=(event(country="FR", criteria=()),), anchors_=anchors("2028-01-01")),
     {("eu-gvp-nonserious-90", "2028-01-01", "2028-03-31")}, "eu-gvp",
     "Directive 2001/83/EC Art. 107(3) second subparagraph; GVP Module VI.C.3"),
    ("GVP VI.C.4 non-serious non-EEA case: not submitted",
     pm(events=(event(country="US", criteria=()),)), set(), "eu-gvp", None),
    ("SI 2004/1031 reg 33(1)+(2) UK fatal SUSAR 7 + 8",
     facts(events=(event(fatal=True, country="GB"),),
           anchors_=anchors("2026-03-31")),
     {("uk-ct-7-uk", "2026-03-31", "2026-04-07"),
      ("uk-ct-completion", "2026-04-07", "2026-04-15")}, "uk-ct", "SI 2004/1031 reg. 33(1)"),
    ("SI 2004/1031 reg 34(b) SUSAR at a non-UK site of a UK trial",
     facts(events=(event(country="US"),)),
     {("uk-ct-15-foreign", "2026-02-27", "2026-03-14")}, "uk-ct", "SI 2004/1031 reg. 34(b)"),
    ("SI 2004/1031: trial without UK sites owes MHRA nothing",
     facts(study=StudyFacts("PROT-2", frozenset({"US"}))), set(), "uk-ct", None),
    ("SI 2012/1916 reg 188(1)(a) serious non-UK case 15 days",
     pm(events=(event(country="JP"),), pairs=(pair(expected=True),)),
     {("uk-pa-serious-15", "2026-02-27", "2026-03-14")}, "uk-postauth",
     "SI 2012/1916 reg. 188(1)(a)"),
    ("SI 2012/1916 reg 188(1)(b) non-serious UK case 90 days",
     pm(events=(event(country="GB", criteria=()),), anchors_=anchors("2026-10-03")),
     {("uk-pa-nonserious-90", "2026-10-03", "2027-01-01")}, "uk-postauth",
     "SI 2012/1916 reg. 188(1)(b)"),
    ("C.05.014(1)(b)+(2) fatal/LT 7 days then complete in 8",
     facts(events=(event(lt=True, criteria=("life_threatening",), country="CA"),)),
     {("hc-ct-7", "2026-02-27", "2026-03-06"), ("hc-ct-complete", "2026-03-06", "2026-03-14")},
     "hc-ct", "Food and Drug Regulations C.05.014(1)(b)"),
    ("C.05.014(1)(a) other serious unexpected ADR 15 days",
     facts(), {("hc-ct-15", "2026-02-27", "2026-03-14")}, "hc-ct",
     "Food and Drug Regulations C.05.014(1)(a)"),
    ("C.01.017(a) serious expected ADR in Canada 15 days",
     pm(events=(event(country="CA"),), pairs=(pair(expected=True),)),
     {("hc-pm-domestic", "2026-02-27", "2026-03-14")}, "hc-postmarket",
     "Food and Drug Regulations C.01.017(a)"),
    ("C.01.017(b) serious expected ADR outside Canada: not expedited",
     pm(events=(event(country="US"),), pairs=(pair(expected=True),)), set(), "hc-postmarket",
     None),
    ("C.01.017(b) serious unexpected ADR outside Canada 15 days",
     pm(events=(event(country="US"),)),
     {("hc-pm-foreign", "2026-02-27", "2026-03-14")}, "hc-postmarket",
     "Food and Drug Regulations C.01.017(b)"),
]


@pytest.mark.parametrize(("name", "f", "want", "regime", "citation"), GOLDEN,
                         ids=[g[0] for g in GOLDEN])
def test_golden(name, f, want, regime, citation):
    ev = evaluate(f)
    got = {(o.rule_id, o.day0.isoformat(), o.due.isoformat())
           for o in ev.obligations if o.regime == regime}
    assert got == want
    if citation:
        first = min((o for o in ev.obligations if o.regime == regime), key=lambda o: o.due)
        assert first.citation == citation
        assert first.explanation.startswith(f"Due {first.due.isoformat()} = day 0 ")
        assert citation in first.explanation.splitlines()[0]


def test_multi_regulator_fan_out_of_one_fatal_susar():
    f = facts(events=(event(fatal=True, country="GB"),))
    got = {(o.destination, o.rule_id, o.due.isoformat()) for o in evaluate(f).obligations}
    assert got == {
        ("FDA", "fda-ind-7day", "2026-03-06"),
        ("FDA", "fda-ind-15day", "2026-03-14"),
        ("EMA (EudraVigilance CT module)", "eu-ctr-susar-7", "2026-03-06"),
        ("MHRA", "uk-ct-7-uk", "2026-03-06"),
        ("MHRA", "uk-ct-completion", "2026-03-14"),
        ("Health Canada", "hc-ct-7", "2026-03-06"),
        ("Health Canada", "hc-ct-complete", "2026-03-14"),
    }


def test_non_serious_trial_case_owes_nothing():
    assert evaluate(facts(events=(event(criteria=()),))).obligations == []


def test_expected_serious_trial_case_owes_nothing():
    assert evaluate(facts(pairs=(pair(expected=True),))).obligations == []


def test_sponsor_cannot_downgrade_investigator_under_ctr_but_decides_under_ind():
    f = facts(pairs=(pair(inv="related", spo="not related"),))
    ev = evaluate(f)
    regimes = {o.regime for o in ev.obligations}
    assert "eu-ctr" in regimes and "hc-ct" in regimes and "uk-ct" in regimes
    assert "fda-ind" not in regimes
    eu = next(o for o in ev.obligations if o.regime == "eu-ctr")
    assert "sponsor may not downgrade" in eu.explanation
    assert "investigator: related" in eu.explanation and "sponsor: not related" in eu.explanation


def test_sponsor_upgrade_counts_everywhere():
    ev = evaluate(facts(pairs=(pair(inv="not related", spo="related"),)))
    assert {"fda-ind", "eu-ctr", "uk-ct", "hc-ct"} <= {o.regime for o in ev.obligations}


def test_both_not_related_no_susar():
    assert evaluate(facts(pairs=(pair(inv="not related", spo="not related"),))).obligations == []


def test_unknown_causality_treated_as_related_and_said_so():
    ev = evaluate(facts(pairs=(pair(inv=None, spo=None),)))
    eu = next(o for o in ev.obligations if o.regime == "eu-ctr")
    assert "treated as related" in eu.explanation


def test_blinded_case_awaits_unblinding_with_running_clock():
    f = facts(suspects=(suspect(blinded=True),))
    obs = evaluate(f).obligations
    assert obs and all(o.status is ObligationStatus.AWAITING_UNBLINDING for o in obs)
    assert all("break the blind" in o.explanation for o in obs)


def test_placebo_is_not_a_susar():
    f = facts(suspects=(suspect(placebo=True, product="placebo"),), unblinded_arm="placebo")
    ev = evaluate(f)
    assert ev.obligations == []
    assert any("placebo is not a SUSAR" in n for n in ev.notes)


def test_fatal_case_owes_fda_the_7_day_notification_and_the_15_day_report():
    """21 CFR 312.32(c)(2) "must also notify": the notification is owed besides (c)(1)."""
    ev = evaluate(facts(**CT_FATAL), )
    fda = [o for o in ev.obligations if o.regime == "fda-ind"]
    assert [o.rule_id for o in fda] == ["fda-ind-7day", "fda-ind-15day"]
    assert not any("covered" in n for n in ev.notes)


def test_post_marketing_rules_ignore_trial_cases_of_authorised_products():
    f = facts(suspects=(suspect(inv=frozenset(), auth=ALL),))
    assert evaluate(f).obligations == []


def test_solicited_post_marketing_case_needs_causality():
    f = pm(source=Source.OTHER_STUDY, pairs=(pair(inv="not related", spo="not related"),))
    regimes = {o.regime for o in evaluate(f).obligations}
    assert "eu-gvp" not in regimes
    assert "fda-postmarketing" in regimes  # 314.80: whether or not considered drug related


def test_explanation_reads_like_the_brief():
    ev = evaluate(facts(anchors_=anchors("2026-02-27", sponsor_determination="2026-02-27")))
    fda = next(o for o in ev.obligations if o.regime == "fda-ind")
    assert fda.explanation.splitlines()[0] == (
        "Due 2026-03-14 = day 0 2026-02-27 (sponsor determined the case qualifies, date as "
        "reported) + 15 calendar days, 21 CFR 312.32(c)(1)(i)")
