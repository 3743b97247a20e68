"""Follow-ups: new clocks, no clocks, upgrades, downgrades, invalid and nullified cases."""

from __future__ import annotations

from dataclasses import replace

from factories.rules import anchors, event, facts, pair

from safety.rules.facts import FollowUp
from safety.rules.obligations import ObligationStatus, RecommendationKind, evaluate


def _eu(obs):
    return [o for o in obs if o.regime == "eu-ctr"]


def _v1():
    ev = evaluate(facts(anchors_=anchors("2026-02-27")))
    return ev.obligations


def _submitted(obs, on="2026-03-05"):
    from datetime import date
    return [replace(o, status=ObligationStatus.SUBMITTED, submitted_on=date.fromisoformat(on))
            for o in obs]


def test_upgrade_to_fatal_shortens_open_clock_art_42_2_c():
    prev = _v1()
    assert {o.rule_id for o in _eu(prev)} == {"eu-ctr-susar-15"}
    v2 = facts(events=(event(fatal=True),), version=2, followup=FollowUp.SIGNIFICANT,
               anchors_=anchors("2026-02-27", significant_followup="2026-03-02",
                                fatal_lt_awareness="2026-03-02"))
    obs = _eu(evaluate(v2, previous=prev).obligations)
    by_rule = {o.rule_id: o for o in obs}
    up = by_rule["eu-ctr-susar-7"]
    assert (up.day0.isoformat(), up.due.isoformat()) == ("2026-03-02", "2026-03-09")
    assert up.citation == "Regulation (EU) No 536/2014 Art. 42(2)(c)"
    assert up.report_type.endswith("(upgrade)")
    assert by_rule["eu-ctr-susar-15"].status is ObligationStatus.SUPERSEDED
    # Art. 42(2): a completed report only follows an initial report filed incomplete
    assert "eu-ctr-completion" not in by_rule


def test_upgrade_after_submission_still_owes_7_day_report():
    prev = _submitted(_v1())
    v2 = facts(events=(event(lt=True),), version=2, followup=FollowUp.SIGNIFICANT,
               anchors_=anchors("2026-02-27", significant_followup="2026-03-10",
                                fatal_lt_awareness="2026-03-09"))
    eu = _eu(evaluate(v2, previous=prev).obligations)
    assert {(o.rule_id, o.due.isoformat()) for o in eu} >= {("eu-ctr-susar-7", "2026-03-16")}


def test_significant_followup_of_submitted_report_starts_new_clock():
    prev = _submitted(_v1())
    v2 = facts(version=2, followup=FollowUp.SIGNIFICANT,
               anchors_=anchors("2026-02-27", significant_followup="2026-03-20"))
    obs = evaluate(v2, previous=prev).obligations
    fda = next(o for o in obs if o.regime == "fda-ind")
    assert (fda.report_type, fda.day0.isoformat(), fda.due.isoformat()) == (
        "Follow-up IND safety report", "2026-03-20", "2026-04-04")
    eu = _eu(obs)[0]
    assert (eu.report_type, eu.due.isoformat()) == ("SUSAR follow-up report", "2026-04-04")


def test_non_significant_followup_starts_no_clock():
    prev = _v1()
    v2 = facts(version=2, followup=FollowUp.NON_SIGNIFICANT,
               anchors_=anchors("2026-02-27", significant_followup="2026-03-20"))
    ev = evaluate(v2, previous=prev)
    assert {(o.rule_id, o.due) for o in ev.obligations} == {(o.rule_id, o.due) for o in prev}
    assert any("non-significant" in n for n in ev.notes)


def test_non_significant_followup_after_submission_owes_nothing():
    prev = _submitted(_v1())
    v2 = facts(version=2, followup=FollowUp.NON_SIGNIFICANT)
    assert evaluate(v2, previous=prev).obligations == []


def test_case_newly_reportable_on_followup_uses_followup_day0():
    v1 = facts(events=(event(criteria=()),))
    assert evaluate(v1).obligations == []
    v2 = facts(version=2, followup=FollowUp.SIGNIFICANT,
               anchors_=anchors("2026-02-27", significant_followup="2026-04-30"))
    eu = _eu(evaluate(v2, previous=[]).obligations)[0]
    assert (eu.day0.isoformat(), eu.due.isoformat()) == ("2026-04-30", "2026-05-15")
    assert "significant follow-up" in eu.explanation


def test_downgrade_open_obligation_is_withdrawn_not_dropped():
    prev = _v1()
    v2 = facts(version=2, followup=FollowUp.SIGNIFICANT, pairs=(pair(expected=True),),
               anchors_=anchors("2026-02-27", significant_followup="2026-03-01"))
    ev = evaluate(v2, previous=prev)
    assert ev.obligations and all(o.status is ObligationStatus.NOT_REQUIRED
                                  for o in ev.obligations)
    assert all("no longer required" in o.explanation for o in ev.obligations)


def test_downgrade_after_submission_recommends_amendment():
    prev = _submitted(_v1())
    v2 = facts(version=2, followup=FollowUp.SIGNIFICANT, pairs=(pair(inv="not related"),),
               anchors_=anchors("2026-02-27", significant_followup="2026-03-01"))
    ev = evaluate(v2, previous=prev)
    kinds = {(r.regime, r.kind) for r in ev.recommendations}
    assert ("eu-ctr", RecommendationKind.AMENDMENT) in kinds
    # 21 CFR 312.32(d)(2): FDA is owed a follow-up IND safety report, not a suggested amendment
    assert "fda-ind" not in {r.regime for r in ev.recommendations}
    assert [o.report_type for o in ev.obligations if o.regime == "fda-ind"] == [
        "Follow-up IND safety report"]


def test_invalid_or_nullified_case_recommends_nullification():
    prev = _submitted(_v1())
    for v2 in (facts(version=2, valid=False, followup=FollowUp.SIGNIFICANT),
               facts(version=2, nullified=True, followup=FollowUp.SIGNIFICANT)):
        ev = evaluate(v2, previous=prev)
        assert ev.obligations == []
        assert {r.kind for r in ev.recommendations} == {RecommendationKind.NULLIFICATION}


def test_invalid_initial_case_has_no_day0_and_no_obligations():
    ev = evaluate(facts(valid=False))
    assert ev.obligations == [] and any("not valid" in n for n in ev.notes)
