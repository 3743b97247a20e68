"""Issue #15: one test per rule defect, each naming the provision whose text decides the answer.

The expected answers were written from the regulation texts quoted in each test, before the
engine was changed; each test failed on the engine before its fix.
"""

from __future__ import annotations

from factories.rules import anchors, event, facts

from safety.rules.facts import FollowUp
from safety.rules.obligations import ObligationStatus, evaluate


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
