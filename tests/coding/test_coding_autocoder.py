"""Autocoder behaviour on small invented terminologies and on the bundled dictionary."""

from __future__ import annotations

from safety.coding.autocoder import Autocoder, Thresholds, words_agree
from safety.coding.terminology import SUBSTANCE, Concept, Release, Synonym, Terminology

CLI_KEYS = ["verbatim", "code", "term", "level", "pt_code", "pt_term", "soc_code", "score",
            "method", "auto", "candidates"]


def tiny(*llts: tuple[str, str, str, bool], synonyms: list[Synonym] | None = None) -> Terminology:
    """LLTs as (code, name, pt_code, current); each PT is its own LLT under SOC 90000000."""
    terms = Terminology(Release("Test", "1", "en", "x"))
    terms.add(Concept("90000000", "Test SOC", "SOC"))
    for code, name, pt, current in llts:
        terms.add(Concept(code, name, "LLT", current))
        if pt == code:
            terms.add(Concept(code, name, "PT"))
            terms.link(("PT", code), ("SOC", "90000000"))
    for code, _, pt, _ in llts:
        terms.link(("LLT", code), ("PT", pt))
    terms.synonyms.extend(synonyms or [])
    terms.check()
    return terms


STRICT = Thresholds(fuzzy_auto=90, margin=5, min_length=5, suggest_min=60)


def test_containment_is_not_rewarded():
    terms = tiny(("10000001", "Fever", "10000001", True),
                 ("10000002", "Pharyngeal leukoplakia", "10000002", True))
    coder = Autocoder(terms, "events", STRICT)
    glandular = coder.code("glandular fever")
    assert not glandular.auto
    assert glandular.code != "10000001" or glandular.score < 60
    aki = coder.code("AKI")
    assert aki.code != "10000002" and not aki.auto


def test_misspelling_is_fuzzy_and_auto_when_clear():
    terms = tiny(("10000001", "Palpitations", "10000001", True),
                 ("10000003", "Headache", "10000003", True))
    result = Autocoder(terms, "events", STRICT).code("palpitaions")
    assert (result.code, result.method, result.auto) == ("10000001", "fuzzy", True)
    assert 90 <= result.score < 100


def test_close_runner_up_blocks_auto():
    terms = tiny(("10000001", "Rash papular", "10000001", True),
                 ("10000002", "Rash macular", "10000002", True))
    loose = Autocoder(terms, "events", Thresholds(85, 5, 5, 60)).code("rash papullar")
    assert loose.candidates[1].code == "10000002"
    lead = loose.score - loose.candidates[1].score
    assert 5 <= lead < 20 and loose.auto
    strict = Autocoder(terms, "events", Thresholds(85, lead + 1, 5, 60)).code("rash papullar")
    assert strict.code == "10000001" and not strict.auto


def test_swapped_word_is_never_auto():
    assert not words_agree("rectal bleeding", "coital bleeding")
    assert words_agree("vomitting blood", "vomiting blood")
    terms = tiny(("10000001", "Coital bleeding", "10000001", True))
    result = Autocoder(terms, "events", Thresholds(80, 0, 5, 60)).code("rectal bleeding")
    assert not result.auto


def test_non_current_llt_is_not_indexed_but_its_pt_is():
    terms = tiny(("10000001", "Nausea", "10000001", True),
                 ("10000009", "Queasy tummy", "10000001", False))
    coder = Autocoder(terms, "events", STRICT)
    result = coder.code("queasy tummy")
    assert result.code != "10000009"
    assert all(c.code != "10000009" for c in result.candidates)


def test_llt_rolls_up_and_synonyms_report_their_method():
    terms = tiny(("10000001", "Vomiting", "10000001", True),
                 ("10000002", "Emesis", "10000001", True),
                 synonyms=[Synonym("being sick", "10000001", "LLT", "team")])
    coder = Autocoder(terms, "events", STRICT)
    exact = coder.code("Emesis")
    assert (exact.code, exact.pt_code, exact.soc_code, exact.method) == (
        "10000002", "10000001", "90000000", "exact")
    syn = coder.code("being sick")
    assert (syn.code, syn.method, syn.auto) == ("10000001", "synonym", True)


def test_team_row_marked_not_auto_is_only_a_suggestion():
    terms = tiny(("10000001", "Alanine aminotransferase increased", "10000001", True),
                 synonyms=[Synonym("elevated lfts", "10000001", "LLT", "team", auto=False)])
    result = Autocoder(terms, "events", STRICT).code("Elevated LFTs")
    assert result.code == "10000001" and result.auto is False


def test_exact_key_naming_two_pts_is_not_auto():
    terms = tiny(("10000001", "Cold", "10000001", True),
                 ("10000002", "Common cold", "10000002", True),
                 synonyms=[Synonym("cold", "10000002", "LLT", "team")])
    result = Autocoder(terms, "events", STRICT).code("cold")
    assert result.auto is False
    assert {c.code for c in result.candidates} >= {"10000001", "10000002"}


def test_placeholder_is_never_coded(events_coder):
    for text in ("see narrative", "N/A", "unknown", ""):
        result = events_coder.code(text)
        assert result.code is None and result.auto is False and result.candidates == []


def test_bundled_events_examples_from_the_issue(events_coder):
    expected = {
        "threw up blood": "10018830",
        "heart racing": "10033557",
        "SOB": "10013963",
        "diarrea": "10012727",
        "oedema legs": "10030124",
    }
    for verbatim, pt in expected.items():
        result = events_coder.code(verbatim)
        assert result.pt_code == pt and result.auto, verbatim
    lfts = events_coder.code("elevated LFTs")
    assert lfts.auto is False and lfts.candidates


def test_bundled_events_us_llt_rolls_up_to_uk_pt(events_coder):
    result = events_coder.code("Anemia")
    assert result.code == "10002272" and result.pt_code == "10002034"
    assert result.pt_term == "Anaemia" and result.soc_code == "10005329"


def test_drugs_code_to_substance_and_moiety(drugs_coder):
    result = drugs_coder.code("Tylenol 500mg tab")
    assert (result.code, result.term, result.level) == ("362O9ITL9D", "ACETAMINOPHEN", SUBSTANCE)
    assert result.auto and result.moiety_code == "362O9ITL9D"
    salt = drugs_coder.code("metformin hydrochloride 500 mg")
    assert salt.code == "786Z46389E" and salt.moiety_code == "9100L32L2N"


def test_combination_product_is_not_auto(drugs_coder):
    result = drugs_coder.code("Percocet")
    assert result.auto is False
    assert len(result.candidates) >= 2


def test_cli_line_shape_is_exact(events_coder):
    line = events_coder.code("nausea").to_line()
    assert list(line) == CLI_KEYS
    assert all(set(c) == {"code", "term", "score"} for c in line["candidates"])


def test_coded_term_keeps_verbatim_and_release(events_coder):
    term = events_coder.code("  Nausea!! ").to_coded_term()
    assert term.verbatim == "  Nausea!! "
    assert (term.family, term.level, term.code) == ("SafetyDesk-open", "LLT", "10028813")


def test_calibrated_probability_rises_with_the_evidence() -> None:
    """Issue 18: the semantic decision's confidence is a logistic model over its features."""
    from safety.coding.autocoder import Fused

    t = Thresholds(semantic_model=(-4.0, 2.0, 2.0, 3.0, 1.0, 0.0, 1.0, 0.0),
                   semantic_p_min=0.9)
    weak = Fused(60.0, 2.0, True, False, 60.0, 0.0, False, False)
    strong = Fused(92.0, 20.0, True, False, 92.0, 80.0, True, True)
    p_weak, p_strong = t.probability(weak), t.probability(strong)
    assert p_weak is not None and p_strong is not None
    assert 0.0 < p_weak < 0.5 < p_strong < 1.0
    assert Thresholds().probability(strong) is None  # uncalibrated: the score rule decides


def test_coverage_counts_each_sides_words() -> None:
    """Issue 18: the word agreement between what was read and the text a code was found by."""
    from safety.coding.autocoder import coverage

    assert coverage("hearing loss", "Sudden hearing loss") == (1.0, 2 / 3)
    assert coverage("near syncope", "Syncope") == (0.5, 1.0)
    assert coverage("maculopapular rash", "Rash maculo-papular") == (1.0, 1.0)
    assert coverage("swolen tongue", "Swollen tongue") == (1.0, 1.0)  # a misspelling agrees
    assert coverage("", "Nausea") == (0.0, 0.0)


def test_named_features_follow_the_stored_names() -> None:
    from safety.coding.autocoder import FEATURES_V1, Fused

    fused = Fused(90.0, 10.0, True, False, 90.0, 80.0, True, False, 0.5, 1.0, 0.5, 3, 12.0,
                  True)
    assert fused.features() == fused.features(FEATURES_V1)
    assert fused.features(("found_covered", "sem_lead", "lexical_top")) == (0.5, 0.12, 1.0)
    old = Thresholds(semantic_model=(-4.0, 2.0, 2.0, 3.0, 1.0, 0.0, 1.0, 0.0),
                     semantic_p_min=0.9)
    new = Thresholds(semantic_model=(-4.0, 2.0, 2.0, 3.0, 1.0, 0.0, 1.0, 0.0, 5.0),
                     semantic_p_min=0.9, semantic_features=(*FEATURES_V1, "found_covered"))
    assert (new.probability(fused) or 0) > (old.probability(fused) or 0)


def test_a_word_the_key_split_at_a_hyphen_agrees_with_the_word_joined(events_coder) -> None:
    # "Rash maculo-papular" keys "rash maculo papular"; reporters write "maculopapular".
    from safety.coding.autocoder import words_agree

    assert words_agree("maculopapular rash", "rash maculo papular")
    assert not words_agree("maculo rash", "rash maculo papular")
    result = events_coder.code("maculopapular rash")
    assert result.term == "Rash maculo-papular" and result.auto
