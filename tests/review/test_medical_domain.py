"""The plain-data parts of medical review (issue 16): corrections by field path, the sponsor's
assessments, the coding confirmation rule, narrative drafts and the edit form. Expected
answers come from the sources cited beside them, not from running the code."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from safety.cases.codec import case_to_json
from safety.cases.editing import EditError, apply_changes
from safety.cases.model import (
    Assessment,
    CaseVersionData,
    CodedTerm,
    Document,
    Dosage,
    Drug,
    DrugReaction,
    Quantity,
    Reaction,
    Seriousness,
    Study,
)
from safety.cases.values import NullFlavor, PartialDate
from safety.coding.bundled import bundled_autocoder
from safety.coding.case_coding import code_case
from safety.coding.confirmation import confirmation_reason
from safety.products.rsi import RsiLibrary, RsiVersion
from safety.review.assessing import AssessmentError, PairInput, SeriousnessInput, assess
from safety.review.edit_form import changes_from_form, sections
from safety.review.narrative import CaseType, case_type, draft
from safety.rules.causality import PairCausality, Relatedness
from safety.rules.expectedness import Expectedness
from safety.rules.facts import _sponsor_expectedness, sponsor_determined_at

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
FN_PT = "10016288"  # Febrile neutropenia


def _case() -> CaseVersionData:
    event = Reaction(id="E1", verbatim="febrile neutropenia", start=PartialDate(2026, 10, 30),
                     coding=CodedTerm(verbatim="febrile neutropenia", code=FN_PT,
                                      pt_code=FN_PT, term="Febrile neutropenia",
                                      method="manual", confirmed_by="dr"),
                     seriousness=Seriousness(hospitalisation=True))
    drug = Drug(id="D1", name="pembrolizumab",
                dosages=[Dosage(dose=Quantity(200, "mg"), start=PartialDate(2026, 8, 1))],
                reactions=[DrugReaction("E1", assessments=[
                    Assessment("Investigator", "Investigator judgement", "not related")])])
    return CaseVersionData(admin=_admin("2"), reactions=[event], drugs=[drug],
                           study=Study(sponsor_study_number="ONC-301", study_type="1"))


def _admin(report_type: str):  # type: ignore[no-untyped-def]
    from safety.cases.model import Admin
    return Admin(report_type=report_type)


# --- corrections ------------------------------------------------------------------------


def test_a_correction_changes_the_named_fields_keeping_precision_and_null_flavours():
    before = _case()
    after, changes = apply_changes(before, {
        "drugs[0].dosages[0].dose": {"value": 100, "unit": "mg"},
        "reactions[0].start": "2026-10",
        "patient.birth_date": {"nullFlavor": "ASKU"},
    })
    assert after.drugs[0].dosages[0].dose == Quantity(100, "mg")
    assert after.reactions[0].start == PartialDate(2026, 10)  # month precision kept
    assert after.patient.birth_date is NullFlavor.ASKU
    assert before.drugs[0].dosages[0].dose == Quantity(200, "mg")  # the input is untouched
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("drugs[0].dosages[0].dose", {"value": 200, "unit": "mg"},
         {"value": 100, "unit": "mg"}),
        ("reactions[0].start", "2026-10-30", "2026-10"),
        ("patient.birth_date", None, {"nullFlavor": "ASKU"}),
    ]  # in the order given


@pytest.mark.parametrize(("changes", "field"), [
    ({"patient.wieght_kg": 70}, "patient.wieght_kg"),
    ({"reactions[0].start": "2026-02-30"}, "reactions[0].start"),
    ({"patient.weight_kg": "heavy"}, "patient.weight_kg"),
    ({"reactions[0].coding.code": "10000001"}, "reactions[0].coding.code"),
    ({"admin.worldwide_case_id": "X"}, "admin.worldwide_case_id"),
    ({"tests[1]": {"name": "ANC"}}, "tests[1]"),
    ({}, "changes"),
])
def test_a_correction_that_cannot_apply_names_the_field(changes, field):
    with pytest.raises(EditError) as err:
        apply_changes(_case(), changes)
    assert err.value.field == field


def test_a_new_verbatim_loses_its_code_and_a_removed_event_its_drug_links():
    after, changes = apply_changes(_case(), {"reactions[0].verbatim": "neutropenic fever"})
    assert after.reactions[0].coding is None
    assert ("reactions[0].coding", f"{FN_PT} Febrile neutropenia") in \
        [(c.field, c.old) for c in changes]
    after, _ = apply_changes(_case(), {"reactions[0]": None})
    assert after.reactions == [] and after.drugs[0].reactions == []


# --- the sponsor's assessments ----------------------------------------------------------


def _rsi() -> RsiLibrary:
    lib = RsiLibrary()
    lib.add(RsiVersion("PEMBRO", "IB", "12", date(2026, 1, 1), frozenset({"10035742"})))
    lib.add(RsiVersion("PEMBRO", "IB", "13", date(2026, 6, 1), frozenset({FN_PT})))
    return lib


def _assess(pairs, seriousness=()):  # type: ignore[no-untyped-def]
    return assess(_case(), list(pairs), list(seriousness), products={"D1": "PEMBRO"},
                  rsi=_rsi(), rsi_day=date(2026, 11, 2), actor="user:1:doc", now=NOW)


def test_naranjo_score_and_category_come_from_the_questionnaire():
    # Naranjo et al. 1981: yes +1, yes +2, yes +1, no -1, no +2, then don't know (0) four
    # times, yes +1 = 6: "probable" (5-8).
    answers = ("yes", "yes", "yes", "no", "no", "unknown", "unknown", "unknown", "unknown",
               "yes")
    out = _assess([PairInput("E1", "D1", method="Naranjo", result="definite",
                             naranjo_answers=answers)])
    link = out.data.drugs[0].reactions[0]
    assert Assessment("Sponsor", "Naranjo", "6 (probable)") in link.assessments
    assert Assessment("Investigator", "Investigator judgement", "not related") in \
        link.assessments
    review = out.data.sponsor_review.pair("E1", "D1")  # type: ignore[union-attr]
    assert review.naranjo_answers == list(answers) and review.assessed_at == NOW.isoformat()
    assert sponsor_determined_at(out.data) == NOW
    # The same reading later (probable again) keeps the day it was determined.
    later = assess(out.data, [PairInput("E1", "D1", method="WHO-UMC", result="Probable/Likely")],
                   [], products={"D1": "PEMBRO"}, rsi=_rsi(), rsi_day=date(2026, 11, 2),
                   actor="x", now=datetime(2026, 12, 20, tzinfo=UTC))
    assert sponsor_determined_at(later.data) == NOW
    causality = PairCausality.from_assessments(link.assessments)
    assert causality.sponsor.relatedness is Relatedness.RELATED  # type: ignore[union-attr]
    with pytest.raises(AssessmentError) as err:
        _assess([PairInput("E1", "D1", method="Naranjo", naranjo_answers=("yes",))])
    assert err.value.field == "assessments[0].naranjo_answers"


def test_who_umc_and_binary_results_are_checked_and_replace_the_sponsors_earlier_word():
    out = _assess([PairInput("E1", "D1", method="WHO-UMC", result="unlikely")])
    assert out.data.drugs[0].reactions[0].assessments[-1] == Assessment(
        "Sponsor", "WHO-UMC", "Unlikely")
    again = assess(out.data, [PairInput("E1", "D1", method="Sponsor binary",
                                        result="related")], [], products={"D1": "PEMBRO"},
                   rsi=_rsi(), rsi_day=date(2026, 11, 2), actor="x", now=NOW)
    sponsor = [a for a in again.data.drugs[0].reactions[0].assessments if a.source == "Sponsor"]
    assert sponsor == [Assessment("Sponsor", "Sponsor binary", "Related")]
    for bad in (PairInput("E1", "D1", method="WHO-UMC", result="likely-ish"),
                PairInput("E1", "D1", method="Karch-Lasagna", result="probable"),
                PairInput("E9", "D1", method="WHO-UMC", result="possible")):
        with pytest.raises(AssessmentError):
            _assess([bad])


def test_expectedness_shows_the_rsi_answer_and_an_override_needs_its_reason():
    # IB v12 lists pneumonitis only: febrile neutropenia is unexpected (ICH E2A II.C).
    out = _assess([PairInput("E1", "D1", reference="IB", rsi_version="12")])
    pair = out.data.sponsor_review.pair("E1", "D1")  # type: ignore[union-attr]
    assert (pair.expected_computed, pair.expected, pair.rsi_version) == (False, False, "12")
    # Without a version, the one in force on day 0 (2026-11-02): v13, which lists it.
    out = _assess([PairInput("E1", "D1", reference="IB")])
    assert out.data.sponsor_review.pair("E1", "D1").expected is True  # type: ignore[union-attr]
    with pytest.raises(AssessmentError) as err:
        _assess([PairInput("E1", "D1", reference="IB", rsi_version="12", expected=True)])
    assert err.value.field == "assessments[0].expectedness_reason"
    out = _assess([PairInput("E1", "D1", reference="IB", rsi_version="12", expected=True,
                             expectedness_reason="class label lists it")])
    override = _sponsor_expectedness(out.data, "E1", "D1",
                                     {"IB": Expectedness("IB", False, "IB v12")})
    assert override["IB"].expected is True and "class label lists it" in override["IB"].rsi
    assert _sponsor_expectedness(out.data, "E1", "D1", {}) == {}  # not this regime's RSI
    assert sponsor_determined_at(out.data) is None  # no causality determined


def test_seriousness_override_changes_e_i_3_2_and_keeps_what_was_reported():
    with pytest.raises(AssessmentError) as err:
        _assess([], [SeriousnessInput("E1", ("hospitalisation", "life_threatening"))])
    assert err.value.field == "seriousness[0].reason"
    out = _assess([], [SeriousnessInput("E1", ("hospitalisation", "life_threatening"),
                                        "ANC 0.1 with sepsis")])
    s = out.data.reactions[0].seriousness
    assert (s.hospitalisation, s.life_threatening) == (True, True)
    record = out.data.sponsor_review.seriousness[0]  # type: ignore[union-attr]
    assert record.reported == ["hospitalisation"]
    assert record.criteria == ["life_threatening", "hospitalisation"]
    with pytest.raises(AssessmentError):
        _assess([], [SeriousnessInput("E1", ("severe",), "x")])


# --- coding confirmation ------------------------------------------------------------------


def test_pulmonary_embolism_is_not_coded_elsewhere_silently():
    events, drugs = bundled_autocoder("events"), bundled_autocoder("drugs")
    data = CaseVersionData(reactions=[Reaction(verbatim="pulmonary embolism"),
                                      Reaction(verbatim="febrile neutropenia"),
                                      Reaction(verbatim="feverish neutropenia")])
    out = code_case(data, events, drugs)
    assert out.data.reactions[0].coding.term == "Thromboembolic event"  # type: ignore[union-attr]
    assert out.review == ["reactions[0]", "reactions[2]"]  # synonym elsewhere; fuzzy
    assert confirmation_reason("exact", "name", "Anemia", "Anemia") is None
    assert confirmation_reason("synonym", "team", "pulmonary embolism",
                               "Thromboembolic event") is None  # the team's own decision
    assert "fuzzy" in (confirmation_reason("fuzzy", None, "nausia", "Nausea") or "")


# --- narrative ----------------------------------------------------------------------------


def test_narrative_template_by_case_type():
    trial = _case()
    assert case_type(trial) is CaseType.TRIAL_SAE
    text = draft(trial)
    assert text.startswith("This serious adverse event was reported from clinical study "
                           "ONC-301")
    assert "pembrolizumab (200 mg from 2026-08-01)" in text
    assert "febrile neutropenia, onset 2026-10-30, serious: caused or prolonged " \
           "hospitalisation" in text
    spontaneous = CaseVersionData(admin=_admin("1"), reactions=[Reaction(verbatim="rash")])
    assert case_type(spontaneous) is CaseType.SPONTANEOUS
    assert draft(spontaneous).startswith("This spontaneous report was received")
    spontaneous.literature.append(Document(reference="Smith J. Lancet 2026;1:1"))
    assert case_type(spontaneous) is CaseType.LITERATURE
    assert "Smith J. Lancet 2026;1:1" in draft(spontaneous)


# --- the edit form -----------------------------------------------------------------------


def test_the_edit_form_sends_only_changed_fields_and_new_items():
    doc = case_to_json(_case())
    form = {f"v:{f.path}": f.shown for s in sections(doc) for f in s.fields}
    form.update({f"u:{f.path}": f.unit for s in sections(doc) for f in s.fields
                 if f.kind == "quantity"})
    assert changes_from_form(doc, form) == {}
    form["v:drugs[0].dosages[0].dose"] = "100"
    form["v:reactions[0].start"] = "2026-10"
    form["nf:patient.birth_date"] = "ASKU"
    form["v:tests[0].name"] = "ANC"
    form["v:tests[0].value"] = "0.3"
    assert changes_from_form(doc, form) == {
        "drugs[0].dosages[0].dose": {"value": 100.0, "unit": "mg"},
        "reactions[0].start": "2026-10",
        "patient.birth_date": {"nullFlavor": "ASKU"},
        "tests[0]": {"name": "ANC", "value": 0.3},
    }
    form["v:patient.weight_kg"] = "seventy"
    with pytest.raises(EditError) as err:
        changes_from_form(doc, form)
    assert err.value.field == "patient.weight_kg"
