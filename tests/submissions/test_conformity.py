"""A message answers its obligation: the route its regime requires (21 CFR 312.32 IND safety
reports to the FDA pre-market route with the IND number, FDA.C.5.5a; 21 CFR 314.80 reports to
the post-market route; EU CTR SUSARs to the EudraVigilance clinical-trial module), and the
IND numbers from the registry, not from what a site typed."""

from __future__ import annotations

from safety.cases.model import CaseVersionData, Drug, Study
from safety.e2b.routing import destination
from safety.products.registry import JurisdictionStatus, Product, Registry, Status
from safety.products.registry import Study as RegistryStudy
from safety.submissions.conformity import (
    Obligation,
    mismatches,
    normalise_ind,
    registry_inds,
    with_registry_numbers,
)

IND_REPORT = Obligation("FDA", "fda-ind", "clinical_trial", "IND safety report")
PM_REPORT = Obligation("FDA", "fda-postmarketing", "post_marketing", "15-day Alert report")
SUSAR_EU = Obligation("EMA (EudraVigilance CT module)", "eu-ctr", "clinical_trial", "SUSAR")


def _registry(study_inds: tuple[str, ...] = ("145678",)) -> Registry:
    reg = Registry()
    reg.add_product(Product("PEMBRO", "pembrolizumab (study drug)", ("pembrolizumab",), (
        JurisdictionStatus("US", Status.INVESTIGATIONAL, ("IND 145678",)),)))
    reg.add_study(RegistryStudy("ONC-301", ("US", "EU"), study_inds, ("PEMBRO",)))
    return reg


def _trial_case(ind: str | None = None) -> CaseVersionData:
    """A site's SAE form as intake builds it: a report from a clinical trial (C.1.3 = 2,
    C.5.4 = 1), the IND only if the site typed one."""
    case = CaseVersionData()
    case.admin.report_type = "2"
    case.study = Study(sponsor_study_number="ONC-301", study_type="1", fda_ind_number=ind)
    case.drugs = [Drug(name="pembrolizumab", role="1", investigational=True)]
    return case


def test_ind_numbers_are_written_as_fda_c_5_5a_carries_them():
    assert normalise_ind("IND 145678") == "145678"
    assert normalise_ind("ind#145678 ") == "145678"
    assert normalise_ind("145678") == "145678"


def test_a_site_form_without_ind_gets_the_studys_ind_and_the_premarket_route():
    case, notes = with_registry_numbers(_trial_case(), IND_REPORT, "fda", _registry())
    assert case.study is not None and case.study.fda_ind_number == "145678"
    assert notes == ["FDA.C.5.5a IND 145678 from the registry"]
    key = destination("fda", case)
    assert key == "fda-premarket"
    assert mismatches(IND_REPORT, "fda", key, case) == []


def test_the_products_us_ind_serves_when_the_study_lists_none():
    reg = _registry(study_inds=())
    assert registry_inds(reg, _trial_case()) == ("145678",)


def test_a_number_the_registry_does_not_list_is_replaced_and_said_so():
    case, notes = with_registry_numbers(_trial_case("999999"), IND_REPORT, "fda",
                                        _registry(("145678", "150001")))
    assert case.study is not None and case.study.fda_ind_number == "145678"
    assert "the report said 999999" in notes[0]
    # the study's other IND is cross-reported (FDA.C.5.6.r)
    assert case.study.fda_cross_reported_inds == ["150001"]


def test_a_listed_number_the_site_gave_is_kept():
    case, notes = with_registry_numbers(_trial_case("150001"), IND_REPORT, "fda",
                                        _registry(("145678", "150001")))
    assert case.study is not None and case.study.fda_ind_number == "150001"
    assert case.study.fda_cross_reported_inds == ["145678"]
    assert notes == ["FDA.C.5.6.r cross-reported IND(s) 145678 from the registry"]


def test_the_original_case_is_not_changed():
    original = _trial_case()
    with_registry_numbers(original, IND_REPORT, "fda", _registry())
    assert original.study is not None and original.study.fda_ind_number is None


def test_an_ind_report_without_any_ind_is_a_postmarketing_message_and_blocked():
    """The bug of issue 16: no IND number, so the message went to CDER post-market."""
    case, _ = with_registry_numbers(_trial_case(), IND_REPORT, "fda", Registry())
    key = destination("fda", case)
    assert key == "fda-postmarket"
    found = mismatches(IND_REPORT, "fda", key, case)
    assert [f.element for f in found] == ["N.2.r.3", "FDA.C.5.5a"]
    assert "IND safety report (regime fda-ind)" in found[0].message
    assert "post-market route" in found[0].message
    assert "registry" in found[1].message
    assert all(f.as_dict()["severity"] == "error" for f in found)


def test_a_postmarketing_obligation_is_not_answered_by_an_ind_message():
    case = _trial_case("145678")
    key = destination("fda", case)
    found = mismatches(PM_REPORT, "fda", key, case)
    assert [f.element for f in found] == ["N.2.r.3"]
    assert "fda-postmarketing" in found[0].message and "pre-market" in found[0].message


def test_registry_numbers_are_only_for_ind_reports():
    case = _trial_case()
    assert with_registry_numbers(case, PM_REPORT, "fda", _registry()) == (case, [])
    assert with_registry_numbers(case, SUSAR_EU, "ema", _registry()) == (case, [])


def test_a_susar_goes_to_the_clinical_trial_module_only_from_an_interventional_trial():
    trial = _trial_case()
    assert mismatches(SUSAR_EU, "ema", destination("ema", trial), trial) == []
    spontaneous = _trial_case()
    spontaneous.admin.report_type = "1"
    found = mismatches(SUSAR_EU, "ema", destination("ema", spontaneous), spontaneous)
    assert [f.element for f in found] == ["N.2.r.3"]
    assert "C.1.3 1" in found[0].message


def test_gateway_regulators_and_unknown_regimes():
    mhra = Obligation("MHRA", "uk-ct", "clinical_trial", "SUSAR")
    assert mismatches(mhra, "mhra", "ich", _trial_case()) == []
    unknown = Obligation("FDA", "no-such-regime", None, "?")
    assert [f.element for f in mismatches(unknown, "fda", "fda-premarket", _trial_case())
            ] == ["N.2.r.3"]
