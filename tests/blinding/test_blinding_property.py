"""Acceptance (issue 19): generated blinded-study SUSARs; no output for a blinded audience
names an arm-revealing value, while the regulator's E2B names the unblinded drug.

Written before the masking code: the secrets are the generated values themselves, checked as
plain substrings of the rendered output (not through the module's own matcher).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safety.blinding.audience import Audience, BlindingError
from safety.blinding.mask import BLINDED_DRUG, ArmSecrets, blind_json
from safety.blinding.outputs import Blinding, Reveal, case_for, check_rendered, e2b_for
from safety.blinding.randomisation import Assignment
from safety.cases.codec import case_to_json
from safety.cases.model import (
    CaseVersionData,
    Dosage,
    Drug,
    DrugReaction,
    Narrative,
    Quantity,
    Reaction,
    Seriousness,
    Study,
    Substance,
)
from safety.cases.values import PartialDate
from safety.e2b.writer import ExportHeader

NEUTRAL = "The patient was admitted to hospital and recovered after two weeks."
syllables = st.sampled_from(["zel", "vor", "in", "tra", "mox", "qua", "rel", "dan", "ix", "ol"])
drug_names = st.lists(syllables, min_size=3, max_size=4).map(lambda s: "".join(s).capitalize())
strengths = st.integers(11, 990).map(lambda n: f"{n} mg")
kits = st.integers(100000, 999999).map(lambda n: f"KIT-{n}")


@st.composite
def blinded_susars(draw: st.DrawFn) -> tuple[CaseVersionData, list[Assignment], str, str]:
    active, comparator = draw(st.lists(drug_names, min_size=2, max_size=2, unique=True))
    strength = draw(strengths)
    subject = f"{draw(st.integers(1000, 9999))}"
    arms = [Assignment(subject, f"Arm {active} {strength}", "SDX-1", strength,
                       tuple(draw(st.lists(kits, min_size=1, max_size=3, unique=True)))),
            Assignment("0001", f"Arm {comparator}", "SDX-2", "", (draw(kits),)),
            Assignment("0002", "Arm placebo", "placebo", "", (draw(kits),))]
    mine = arms[0]
    r = Reaction(verbatim="hepatic failure", seriousness=Seriousness(life_threatening=True),
                 start=PartialDate(2026, 11, 2), outcome="1", country="DE")
    mention = draw(st.sampled_from([
        f"The subject received {active} {strength} from kit {mine.kits[0]}.",
        f"Kit {mine.kits[0]} ({active}) was dispensed at visit 3.",
        f"Subject randomised to {mine.arm}.",
        f"Dose of {strength} taken daily; {comparator} is the comparator.",
        f"The investigator suspects {active.upper()} caused the event.",
    ]))
    drug = Drug(role="1", name=f"{active} {strength} or matching placebo", investigational=True,
                substances=[Substance(name=active.upper(), strength=Quantity(
                    float(strength.split()[0]), "mg"))],
                dosages=[Dosage(dose=Quantity(float(strength.split()[0]), "mg"),
                                batch_lot=mine.kits[0], text=f"{strength} once daily",
                                start=PartialDate(2026, 10, 1))],
                reactions=[DrugReaction(reaction_id=r.id)])
    case = CaseVersionData(
        study=Study(name="A blinded study", sponsor_study_number="SDX-301", study_type="1"),
        reactions=[r], drugs=[drug],
        narrative=Narrative(narrative=f"{NEUTRAL} {mention}"),
    )
    case.patient.investigation_number = subject
    return case, arms, active, comparator


def _secrets(arms: list[Assignment], active: str, comparator: str) -> tuple[ArmSecrets, set[str]]:
    names = {"SDX-1": [active, active.upper()], "SDX-2": [comparator]}
    secrets = ArmSecrets.of(arms, names)
    plain = {active, comparator, "placebo"} | {k for a in arms for k in a.kits} | {
        a.strength for a in arms if a.strength}
    return secrets, plain


def _assert_blind(text: str, plain: set[str]) -> None:
    low = text.casefold()
    for value in plain:
        assert value.casefold() not in low, value


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blinded_susars())
def test_blinded_outputs_name_no_arm_value_and_the_regulator_gets_the_drug(
        generated: tuple[CaseVersionData, list[Assignment], str, str]) -> None:
    case, arms, active, comparator = generated
    secrets, plain = _secrets(arms, active, comparator)
    blinding = Blinding(secrets, Reveal(arms[0], active))
    for audience in (Audience.ETHICS_COMMITTEE, Audience.INVESTIGATOR, Audience.STUDY_TEAM):
        blind = case_for(case, audience, blinding)
        api = json.dumps(case_to_json(blind))  # the API answer and the case page's data
        _assert_blind(api, plain)
        assert BLINDED_DRUG in api
        assert NEUTRAL in api  # only the revealing sentence is withheld
    ec = e2b_for(case, ExportHeader(sender_id="SD", destination="ema"),
                 Audience.ETHICS_COMMITTEE, blinding).xml.decode()
    _assert_blind(ec, plain)
    assert BLINDED_DRUG in ec
    regulator = e2b_for(case, ExportHeader(sender_id="SD", destination="ema"),
                        Audience.REGULATOR, blinding, unblinded=True).xml.decode()
    assert active in regulator
    assert arms[0].kits[0] in regulator


@settings(max_examples=25, deadline=None)
@given(blinded_susars())
def test_a_view_model_passed_through_blind_json_keeps_the_blind(
        generated: tuple[CaseVersionData, list[Assignment], str, str]) -> None:
    """What CIOMS I and line listings are built from (a view model) keeps the blind too."""
    case, arms, active, comparator = generated
    secrets, plain = _secrets(arms, active, comparator)
    listing_row = {"suspect": case.drugs[0].name, "dose": case.drugs[0].dosages[0].text,
                   "kit": case.drugs[0].dosages[0].batch_lot, "narrative": case.narrative.narrative,
                   "events": ["hepatic failure"]}
    out = json.dumps(blind_json(listing_row, secrets))
    _assert_blind(out, plain)
    assert "hepatic failure" in out and NEUTRAL in out


def test_an_unblinded_document_for_a_blind_audience_is_refused() -> None:
    secrets = ArmSecrets.of([Assignment("1", "Arm A", "SDX-1", "10 mg", ("KIT-1",))],
                            {"SDX-1": ["Zelvorin"]})
    blinding = Blinding(secrets, Reveal(Assignment("1", "Arm A", "SDX-1"), "Zelvorin"))
    for audience in (Audience.ETHICS_COMMITTEE, Audience.INVESTIGATOR, Audience.STUDY_TEAM):
        with pytest.raises(BlindingError, match="must stay blind"):
            case_for(CaseVersionData(), audience, blinding, unblinded=True)
    with pytest.raises(BlindingError, match="not been revealed"):
        case_for(CaseVersionData(), Audience.REGULATOR, Blinding(secrets), unblinded=True)
    with pytest.raises(BlindingError, match="would reveal the arm"):
        check_rendered("<x>Zelvorin 10 mg</x>", Audience.ETHICS_COMMITTEE, blinding)
    check_rendered("<x>Zelvorin 10 mg</x>", Audience.REGULATOR, blinding, unblinded=True)
