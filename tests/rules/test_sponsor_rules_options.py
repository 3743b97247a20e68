"""Where the law is ambiguous the reading is a documented per-sponsor setting (issue #15):
SI 2004/1031 reg. 33(2) as amended in 2026, the 8-day report after a fatal or life-threatening
UK SUSAR, owed after every 7-day report (``always``, the default) or only after one filed
incomplete (``if_incomplete``, as Regulation (EU) No 536/2014 Art. 42(2) second subparagraph)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories.rules import anchors, d, event, facts
from factories.sponsors import DEFAULT_ID, make_sponsor

from safety.rules.capacity import with_options
from safety.rules.obligations import ObligationStatus, evaluate
from safety.rules.regime import load_regimes
from safety.sponsors.profile import RulesOptions, UkFollowUp
from safety.sponsors.service import SponsorError, configure, profile


def _uk(options: RulesOptions, complete: bool | None):
    chosen = with_options(load_regimes(), options)
    f = facts(events=(event(country="GB", fatal=True, criteria=("death",)),),
              anchors_=anchors("2026-03-02"))
    first = evaluate(f, chosen.regimes).obligations
    filed = [replace(o, status=ObligationStatus.SUBMITTED, submitted_on=d("2026-03-05"),
                     complete=complete) if o.rule_id == "uk-ct-7-uk" else o for o in first]
    again = evaluate(replace(f, version=2), chosen.regimes, previous=filed)
    owed = [(o.rule_id, o.day0.isoformat(), o.due.isoformat()) for o in again.obligations
            if o.rule_id == "uk-ct-completion"]
    return owed, chosen.notes


def test_reg_33_2_default_reading_owes_the_8_day_report_after_every_7_day_report():
    owed, notes = _uk(RulesOptions(), complete=True)
    assert owed == [("uk-ct-completion", "2026-03-05", "2026-03-13")]
    assert any("rules.uk_ct_followup = always" in n for n in notes)


def test_reg_33_2_if_incomplete_reading_owes_it_only_after_an_incomplete_report():
    options = RulesOptions(uk_ct_followup=UkFollowUp.IF_INCOMPLETE)
    assert _uk(options, complete=True)[0] == []
    owed, notes = _uk(options, complete=False)
    assert owed == [("uk-ct-completion", "2026-03-05", "2026-03-13")]
    assert any("rules.uk_ct_followup = if_incomplete" in n for n in notes)


def test_the_setting_is_stored_per_sponsor_audited_and_refused_naming_the_field(db_session):
    assert profile(db_session, DEFAULT_ID).rules == RulesOptions()  # migration 0007 default
    other = make_sponsor(db_session, "UKREAD", rules={"uk_ct_followup": "if_incomplete"})
    assert profile(db_session, other.id).rules.uk_ct_followup is UkFollowUp.IF_INCOMPLETE
    done = configure(db_session, other, {"rules": {"uk_ct_followup": "always"}}, actor="test")
    assert done == [{"field": "rules", "from": {"uk_ct_followup": "if_incomplete"},
                     "to": {"uk_ct_followup": "always"}}]
    with pytest.raises(SponsorError, match=r"rules\.uk_ct_followup"):
        configure(db_session, other, {"rules": {"uk_ct_followup": "sometimes"}}, actor="test")
    with pytest.raises(SponsorError, match="unknown options"):
        configure(db_session, other, {"rules": {"eu_ctr_followup": "always"}}, actor="test")


def test_safety_sponsor_configure_sets_the_reading_and_show_prints_it(settings, monkeypatch):
    import json

    from click.testing import CliRunner
    from factories.env import use_settings_env

    from safety.cli import main

    use_settings_env(monkeypatch, settings)
    res = CliRunner().invoke(main, ["sponsor", "configure", "DEFAULT",
                                    "--uk-ct-followup", "if_incomplete", "--reason", "SOP-12"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["to"] == {"uk_ct_followup": "if_incomplete"}
    shown = CliRunner().invoke(main, ["sponsor", "show", "DEFAULT"])
    assert json.loads(shown.output)["rules"] == {"uk_ct_followup": "if_incomplete"}
    bad = CliRunner().invoke(main, ["sponsor", "configure", "DEFAULT", "--uk-ct-followup", "x"])
    assert bad.exit_code == 2 and "uk-ct-followup" in bad.output
