"""Regime files: every rule cites its source; a new regime is a file, not code."""

from __future__ import annotations

import pytest
from factories.rules import event, facts, pm

from safety.rules.obligations import evaluate
from safety.rules.regime import RegimeError, load_regime, load_regimes


def test_every_shipped_rule_cites_a_source():
    regimes = load_regimes()
    assert {r.id for r in regimes} == {"fda-ind", "fda-postmarketing", "eu-ctr", "eu-gvp",
                                       "uk-ct", "uk-postauth", "hc-ct", "hc-postmarket"}
    for reg in regimes:
        assert reg.legal_source and reg.verified and reg.followup.citation
        for rule in reg.rules:
            assert rule.citation and rule.summary, rule.id


NEW_REGIME = """
[regime]
id = "xx-pm"
name = "Example authority post-marketing"
destination = "XX Agency"
jurisdiction = "CA"
region = "CA"
scope = "post_marketing"
legal_source = "Example Act s. 1"
verified = "test fixture"

[followup]
report_type = "Follow-up"
citation = "Example Act s. 1(2)"

[[rules]]
id = "xx-serious-10"
report_type = "Serious ADR"
citation = "Example Act s. 1(1)"
summary = "Serious ADR anywhere: 10 days"
days = 10
when = { serious = true, related = true }
"""


def test_a_new_regime_is_just_a_file(tmp_path):
    (tmp_path / "xx.toml").write_text(NEW_REGIME)
    regimes = load_regimes(tmp_path)
    obs = evaluate(pm(events=(event(country="FR"),)), regimes).obligations
    assert [(o.destination, o.rule_id, o.due.isoformat()) for o in obs] == [
        ("XX Agency", "xx-serious-10", "2026-03-09")]
    assert evaluate(facts(), regimes).obligations == []


@pytest.mark.parametrize(("old", "new", "message"), [
    ("when = { serious = true, related = true }", "when = { serious = true, colour = 1 }",
     "unknown condition"),
    ('scope = "post_marketing"', 'scope = "veterinary"', "scope"),
    ('region = "CA"', 'region = "MARS"', "region"),
    ("days = 10", "days = -1", "days"),
    ('citation = "Example Act s. 1(1)"', "", "citation"),
])
def test_malformed_regime_rejected_with_location(tmp_path, old, new, message):
    p = tmp_path / "bad.toml"
    p.write_text(NEW_REGIME.replace(old, new))
    with pytest.raises(RegimeError, match=message):
        load_regime(p)
