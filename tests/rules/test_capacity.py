"""A sponsor is held to the regimes of the capacities it holds (expected answers from the
regulations: IND safety reports fall on the IND holder, 21 CFR 312.32(c); EU CTR SUSARs on the
trial's sponsor, Art. 42; post-marketing reports on the marketing authorisation holder,
21 CFR 314.80(c), Directive 2001/83/EC Art. 107)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from safety.rules.capacity import applicable_regimes
from safety.rules.regime import load_regimes
from safety.sponsors.profile import Capacity, Reporting

ALL = {r.id for r in load_regimes()}


def kept(*reporting: Reporting) -> set[str]:
    return {r.id for r in applicable_regimes(load_regimes(), reporting, "S").regimes}


def test_a_sponsor_without_capacities_is_held_to_every_regime():
    assert kept() == ALL == {"eu-ctr", "eu-gvp", "fda-ind", "fda-postmarketing", "hc-ct",
                             "hc-postmarket", "uk-ct", "uk-postauth"}


def test_a_trial_sponsor_reports_its_trials_only():
    assert kept(Reporting("fda", Capacity.IND_HOLDER),
                Reporting("ema", Capacity.CTA_HOLDER, ("DE", "FR")),
                Reporting("mhra", Capacity.CTA_HOLDER, ("GB",))) == {"fda-ind", "eu-ctr", "uk-ct"}


def test_a_marketing_authorisation_holder_reports_post_marketing():
    assert kept(Reporting("ema", Capacity.MAH, ("DK",))) == {"eu-gvp"}
    assert kept(Reporting("fda", Capacity.MAH)) == {"fda-postmarketing"}
    assert kept(Reporting("hc", Capacity.MAH, ("CA",))) == {"hc-postmarket"}


def test_countries_outside_the_regimes_region_do_not_count():
    assert kept(Reporting("ema", Capacity.CTA_HOLDER, ("US",))) == set()
    assert kept(Reporting("mhra", Capacity.MAH, ("GB",))) == {"uk-postauth"}


def test_an_ind_holder_is_not_an_eu_trial_sponsor():
    assert kept(Reporting("fda", Capacity.IND_HOLDER)) == {"fda-ind"}
    assert kept(Reporting("ema", Capacity.IND_HOLDER)) == set()


def test_every_regime_left_out_is_named_with_the_reason():
    result = applicable_regimes(load_regimes(), (Reporting("fda", Capacity.IND_HOLDER),), "ONCO")
    assert len(result.notes) == len(ALL) - 1
    assert any(n.startswith("eu-ctr: not evaluated: sponsor ONCO does not report to ema as "
                            "cta_holder") for n in result.notes)


@given(st.lists(st.builds(Reporting, st.sampled_from(["fda", "ema", "mhra", "hc"]),
                          st.sampled_from(list(Capacity)),
                          st.lists(st.sampled_from(["US", "DE", "GB", "CA", "JP"]),
                                   max_size=2).map(tuple)), max_size=5))
def test_regimes_kept_and_left_out_partition_all(reporting):
    result = applicable_regimes(load_regimes(), reporting, "S")
    left_out = {n.split(":")[0] for n in result.notes}
    assert {r.id for r in result.regimes} | left_out == ALL
    assert not {r.id for r in result.regimes} & left_out
    if reporting:  # a (regulator, capacity) pair names one regime at most
        assert len(result.regimes) <= len(reporting)
