"""Events and drugs compared as concepts, one realistic pair per case (issue 21).

Each pair is how two senders of one case word or code it differently: a consumer's lay words
against the physician's coded term, an LLT against its PT, a misspelt verbatim the coder left
uncoded, a brand the open dictionary does not hold; and the counter-cases that must stay apart
(a second, different SAE of the same trial subject).
"""

from __future__ import annotations

from factories.dedup import make_case

from safety.cases.model import CodedTerm, Reaction
from safety.cases.values import PartialDate
from safety.dedup.blocking import blocking_keys
from safety.dedup.comparison import outcomes
from safety.dedup.profile import build_profile
from safety.dedup.scoring import load_model
from safety.dedup.terms import event_agreement


def _coded(verbatim: str, code: str, term: str, pt_code: str, pt_term: str,
           level: str = "LLT") -> Reaction:
    return Reaction(verbatim=verbatim, start=PartialDate.parse_iso("2024-02-10"),
                    country="FR", coding=CodedTerm(verbatim=verbatim, code=code, term=term,
                                                   level=level, pt_code=pt_code,
                                                   pt_term=pt_term))


def test_lay_wording_and_the_coded_term_it_means_are_the_same_event() -> None:
    """The caller said "threw up" (left uncoded); the physician's report codes PT Vomiting."""
    consumer = make_case(events=["threw up"], coded=False, sender="SafetyDesk intake",
                         report_id="C-1")
    physician = make_case(events=["emesis"], report_id="P-1")
    physician.reactions = [_coded("emesis", "10014542", "Emesis", "10047700", "Vomiting")]
    a, b = build_profile(consumer), build_profile(physician)
    assert a.events == b.events
    assert outcomes(a, b)["events"] == "same"
    assert any(k.startswith("emc|") for k in blocking_keys(a) & blocking_keys(b))


def test_an_llt_and_its_pt_wording_are_the_same_event() -> None:
    """One partner codes the LLT "Feeling sick", the site writes "nausea" uncoded."""
    partner = make_case(events=["feeling sick"], report_id="B-1", sender="Borealis")
    site = make_case(events=["Nausea"], coded=False)
    assert outcomes(build_profile(partner), build_profile(site))["events"] == "same"


def test_a_misspelt_uncoded_verbatim_is_similar_to_the_coded_term() -> None:
    """A faxed form's "gastrointestinal haemorrage" stays uncoded (the open dictionary has no
    such PT); the E2B copy codes PT Gastrointestinal haemorrhage."""
    fax = make_case(events=["gastrointestinal haemorrage"], coded=False, report_id="F-1")
    e2b = make_case(events=["gi bleeding"])
    assert outcomes(build_profile(fax), build_profile(e2b))["events"] == "similar"


def test_an_uncoded_verbatim_unlike_every_name_of_the_other_event() -> None:
    other = make_case(events=["hepatotoxicity"], coded=False, report_id="F-2")
    e2b = make_case(events=["gi bleeding"])
    assert outcomes(build_profile(other), build_profile(e2b))["events"] == "uncoded_unlike"


def test_event_agreement_levels() -> None:
    assert event_agreement(frozenset({"c:nausea"}), ("nausea",),
                           frozenset({"c:nausea", "c:rash"}), ("nausea", "rash")) == "overlap"
    assert event_agreement(frozenset({"c:nausea"}), ("nausea",),
                           frozenset({"c:pruritus"}), ("itching",)) == "disjoint"
    assert event_agreement(frozenset(), (), frozenset({"c:nausea"}), ("nausea",)) is None


def test_brand_and_generic_are_one_active_moiety() -> None:
    """A consumer names "Tylenol" (uncoded); the physician's report codes paracetamol."""
    consumer = make_case(drugs=["Tylenol"], coded=False, report_id="C-3")
    physician = make_case(drugs=["paracetamol"])
    a, b = build_profile(consumer), build_profile(physician)
    assert a.drugs == b.drugs and a.drugs == frozenset({"u:362O9ITL9D"})
    assert outcomes(a, b)["drugs"] == "same"


def test_a_brand_the_dictionary_lacks_still_blocks_coded_against_uncoded() -> None:
    """Partner A codes "Vancocin" to its own substance code; partner B leaves it uncoded."""
    coded = make_case(drugs=["vancocin"], report_id="A-1")
    coded.drugs[0].coding = CodedTerm(verbatim="Vancocin", code="SUB020", term="vancomycin",
                                      level="substance")
    uncoded = make_case(drugs=["Vancocin"], coded=False, report_id="B-1", sender="Borealis")
    shared = blocking_keys(build_profile(coded)) & blocking_keys(build_profile(uncoded))
    assert any("v:vancocin" in k for k in shared)


def test_events_of_one_trial_subject_are_weighed_on_their_own() -> None:
    """Subject 014-0231: a GI bleed reported by the site, then a liver injury the site sent
    uncoded three months later. All patient fields agree; only the events (and the onsets the
    site forms give in full) tell them apart."""
    first = make_case(study="ACME-301", subject="014-0231", events=["gi bleeding"],
                      onset="2024-02-10")
    second = make_case(study="ACME-301", subject="0231", events=["hepatotoxicity"], coded=False,
                       onset="2024-05-20", report_id="FR-ACME-2024-000050")
    a, b = build_profile(first), build_profile(second)
    found = outcomes(a, b)
    assert found["events"] is None and found["subject_events"] == "disjoint"
    model = load_model()
    assert model.score_fast(a, b) < model.threshold
    copy = make_case(study="ACME-301", subject="0231", events=["gi bleeding"],
                     onset="2024-02-10", sender="Borealis", report_id="B-9")
    assert outcomes(a, build_profile(copy))["subject_events"] == "same"
    assert model.score_fast(a, build_profile(copy)) >= model.threshold


def test_unlike_events_of_one_trial_subject_veto_the_pair_whatever_else_agrees() -> None:
    """Subject 011-0200: a coded rash from the site, then a liver injury the site sent uncoded
    with only the month of onset. Initials, birth, drug, reporter and subject agree (as for
    every SAE of one subject), and a month-only onset is compatible with any day of it: the
    fields alone score it a duplicate, the veto keeps the two SAEs apart (the same copy of the
    rash still is one)."""
    from safety.dedup.scoring import vetoed

    rash = make_case(study="ACME-301", subject="011-0200", events=["rash"], onset="2022-05-20")
    liver = make_case(study="ACME-301", subject="0110200", events=["hepatotoxicity"],
                      coded=False, onset="2022-05", report_id="FR-ACME-2024-000051")
    a, b = build_profile(rash), build_profile(liver)
    found = outcomes(a, b)
    assert found["subject_events"] == "disjoint" and vetoed(found)
    model = load_model()
    assert model.score_fast(a, b) == 0.0
    assert model.score(a, b).probability == 0.0
    copy = make_case(study="ACME-301", subject="0110200", events=["rash"], onset="2022-05",
                     sender="Borealis", report_id="B-10")
    kept = outcomes(a, build_profile(copy))
    assert not vetoed(kept) and model.score_fast(a, build_profile(copy)) >= model.threshold


def test_terms_come_from_the_source_made_current_built_once_per_key_and_lazily() -> None:
    """The service names the installation's dictionary (``concept_source``); nothing is built
    until a text is resolved, and a second job with the same release builds nothing again."""
    from safety.coding.bundled import bundled_autocoder
    from safety.dedup.terms import ConceptSource, drug_moiety, event_concept, using

    built: list[str] = []

    def coder(kind: str):
        def make():
            built.append(kind)
            return bundled_autocoder(kind)
        return make

    source = ConceptSource("test:lazy-once", coder("events"), coder("drugs"))
    with using(source):
        assert built == []  # made current, not loaded
        assert event_concept("nausea") == "c:nausea"
        assert built == ["events"]
    with using(ConceptSource("test:lazy-once", coder("events"), coder("drugs"))):
        event_concept("vomiting")
        drug_moiety("warfarin")
    assert built == ["events", "drugs"]  # the same release: the events coder was kept


def test_the_installation_dictionary_folder_is_the_source_without_an_active_release(
        db_session, settings) -> None:
    from safety.dedup.service import concept_source

    assert concept_source(db_session, settings).key == f"dir:{settings.dictionaries}"
