"""Seriousness per event and IME/DME flags (validity itself is safety.intake.validity)."""

from safety.cases.model import (
    CaseVersionData,
    CodedTerm,
    Reaction,
    Seriousness,
)
from safety.cases.values import NullFlavor
from safety.rules.seriousness import (
    MedicallyImportantLists,
    case_is_serious,
    case_seriousness,
    event_seriousness,
)


def test_criteria_and_fatal_outcome_counts_as_death():
    r = Reaction(seriousness=Seriousness(hospitalisation=True), outcome="5")
    s = event_seriousness(r)
    assert s.criteria == ("death", "hospitalisation") and s.fatal and s.fatal_or_lt


def test_null_flavoured_criterion_is_not_met():
    s = event_seriousness(Reaction(seriousness=Seriousness(death=NullFlavor.UNK)))
    assert not s.serious


def test_fda_required_intervention_is_serious():
    assert event_seriousness(Reaction(seriousness=Seriousness(required_intervention=True))).serious


def test_ime_dme_flags_do_not_make_serious(tmp_path):
    p = tmp_path / "ime.csv"
    p.write_text("pt_code,pt_name\n10019851,Hepatotoxicity\n")
    lists = MedicallyImportantLists.load(ime=p, dme=p)
    r = Reaction(coding=CodedTerm(pt_code="10019851"))
    s = event_seriousness(r, lists)
    assert s.ime and s.dme and not s.serious


def test_case_level_is_any_event():
    case = CaseVersionData(reactions=[Reaction(), Reaction(seriousness=Seriousness(
        disability=True))])
    assert case_is_serious(case_seriousness(case))
