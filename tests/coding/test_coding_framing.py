"""The framing a report wraps an event in (reporter, dose and drug context, feelings), read
away so that the event phrase is coded (issue 18, round 6)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safety.coding.framing import expand_abbreviations, read_away
from safety.coding.lay import LayRules, fold_keep_commas, lay_rules
from safety.coding.paths import curation_dir


def _event(text: str) -> str:
    return read_away(fold_keep_commas(expand_abbreviations(text)))


@pytest.fixture(scope="module")
def rules() -> LayRules:
    found = lay_rules(curation_dir())
    assert found is not None
    return found


@pytest.mark.parametrize(("text", "event"), [
    ("caller reports her husband has felt queasy since starting the new tablets",
     "felt queasy"),
    ("pt's mother reports he's been throwing up since the second dose", "throwing up"),
    ("mum says the kid has been complaining of a sore tummy since the jab", "a sore tummy"),
    ("since starting the new tablets my ankles have swollen right up",
     "my ankles have swollen right up"),
    ("mouth went numb straight after the first dose", "mouth went numb"),
    ("pains in my abdomen the day after the infusion", "pains in my abdomen"),
    ("bleeding from my back passage since the blood thinners were started",
     "bleeding from my back passage"),
    ("emailing to say I was sick about an hour after the first tablet", "i was sick"),
    ("headache, which is really annoying", "headache"),
    ("urine has turned orange, is that the tablets?", "urine has turned orange"),
    ("her belly looks swollen, noticed it after the second cycle", "her belly looks swollen"),
    ("blood pressure's gone sky high on the new tablets", "blood pressures gone sky high"),
])
def test_framing_is_read_away(text: str, event: str) -> None:
    assert _event(text) == event


@pytest.mark.parametrize(("text", "event"), [
    ("pt c/o SOB x3/7", "shortness of breath"),  # how long: read away as course
    ("N&V 2 hrs after 1st dose", "nausea and vomiting"),
    ("abdo pain", "abdominal pain"),
    ("Pt c/o abd pain x 2 days", "abdominal pain"),
])
def test_note_abbreviations_are_written_out(text: str, event: str) -> None:
    assert _event(text) == event


@pytest.mark.parametrize("text", [
    "light-headed when I stand up",      # posture: Dizziness postural
    "stomach pain after eating",         # a meal is part of some concepts
    "breathless after climbing stairs",  # exertion
    "bleeding from the injection site",  # the site is the event's, not context
    "pregnant while on the pill",        # "the pill" is the event's context here
    "I sob all day",                     # lower-case "sob" is crying, not SOB
])
def test_event_words_stay(text: str) -> None:
    assert _event(text) == fold_keep_commas(text)


def test_a_site_named_by_the_framing_is_still_a_site(rules: LayRules) -> None:
    reading = rules.read("arm sore where I had my booster, started the day after")
    assert reading.site and reading.site[0] == "vaccination site pain"


def test_a_denial_behind_a_reporter_is_still_a_denial(rules: LayRules) -> None:
    assert rules.read("caller states no rash since the jab").negated
    assert rules.read("pt denies headache").negated


def test_the_semantic_stage_reads_the_event_phrase(rules: LayRules) -> None:
    assert rules.read("pt reports dizziness since the 2nd dose").event == "dizziness"
    assert rules.read("dizziness").event == ""  # nothing read away: the text as written


# Coded phrases (lexical mode codes each to this PT) and texts for a person.
CODED = ["nausea", "headache", "throwing up", "my knees hurt", "itchy skin", "dizzy",
         "couldn't breathe", "pins and needles", "sore throat", "hair falling out",
         "can't sleep", "tummy ache", "diarrhoea", "tired all the time", "heart racing"]
FOR_A_PERSON = ["felt off", "funny turn", "not right", "swollen", "no side effects",
                "headache and being sick", "no rash", "numb", "rash and itching", "bleeding"]
BEFORE = ["", "caller states ", "pt c/o ", "patient reports ", "mum says ", "my son has ",
          "her husband has been ", "emailing to say ", "pt's mother reports ",
          "just wanted to let you know ", "since starting the new tablets ",
          "ever since my second jab "]
AFTER = ["", " since starting the new tablets", " 2 hrs after 1st dose", " x3 days",
         " ever since my second jab", ", which is really annoying",
         " since the 2nd dose", " a week after the booster", " on the new pills",
         ", is that the tablets?", " since I started these tablets"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CODED), st.sampled_from(BEFORE), st.sampled_from(AFTER))
def test_framing_does_not_change_the_code(events_coder, phrase: str, before: str,
                                          after: str) -> None:
    bare = events_coder.code(phrase)
    framed = events_coder.code(before + phrase + after)
    assert bare.pt_code is not None
    assert framed.pt_code == bare.pt_code


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FOR_A_PERSON), st.sampled_from(BEFORE), st.sampled_from(AFTER))
def test_framing_does_not_make_a_text_for_a_person_auto_coded(events_coder, text: str,
                                                              before: str, after: str) -> None:
    assert not events_coder.code(text).auto
    assert not events_coder.code(before + text + after).auto


@pytest.mark.parametrize(("text", "event"), [
    ("Pt c/o HA x2 days post 2nd dose", "headache"),
    ("Pt called re: dizziness since increasing dose", "dizziness"),
    ("per pt, headache x3 days", "headache"),
    ("onset of itching 1 hr post dose", "itching"),
    ("nurse reports pt developed hives within 30 mins of administration", "hives"),
    ("pt c/o dizziness, resolved after 2 hrs", "dizziness"),
    ("pt c/o palpitations since dose increased to 20mg", "palpitations"),
    ("pt experiencing nausea & vomiting", "nausea and vomiting"),
])
def test_third_person_notes(text: str, event: str) -> None:
    assert _event(text) == event


def test_a_rash_on_both_arms_after_a_vaccine_is_not_a_site_reaction(rules: LayRules) -> None:
    assert not rules.read("rash on arms, onset 2 days post vaccine").site
    assert rules.read("rash on my arm where I had the vaccine").site
