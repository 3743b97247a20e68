"""Normalisation: the same clinical words give the same key whatever the typography."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from safety.coding.normalise import drug_key, event_keys, is_non_event, rules_for

words = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
                 min_size=1, max_size=5)


@given(st.text(max_size=80))
def test_keys_contain_only_lowercase_ascii_words(text):
    keys = event_keys(text)
    assert re.fullmatch(r"[a-z0-9 ]*", keys.full)
    assert "  " not in keys.full and keys.full == keys.full.strip()
    assert set(keys.core.split()) <= set(keys.full.split())


@given(words)
def test_case_punctuation_and_accents_do_not_matter(ws):
    plain = " ".join(ws)
    noisy = "  " + ", ".join(w.upper() for w in ws) + "!!"
    assert event_keys(noisy) == event_keys(plain)


@given(words)
def test_normalising_a_key_again_changes_nothing(ws):
    once = event_keys(" ".join(ws)).full
    assert event_keys(once).full == once
    assert drug_key(drug_key(" ".join(ws))) == drug_key(" ".join(ws))


def test_uk_and_us_spellings_meet():
    pairs = [
        ("Oesophageal haemorrhage", "esophageal hemorrhage"),
        ("Anaemia", "anemia"),
        ("oedema peripheral", "edema peripheral"),
        ("Diarrhoea", "diarrhea"),
        ("Dyspnoea", "dyspnea"),
        ("Hospitalisation", "hospitalization"),
        ("Paediatric tumour", "pediatric tumor"),
    ]
    for uk, us in pairs:
        assert event_keys(uk).full == event_keys(us).full


def test_accented_letters_fold():
    assert event_keys("Œdème fébrile").full == event_keys("oedeme febrile").full
    assert event_keys("naïve").full == "naive"


def test_abbreviations_expand_as_whole_tokens():
    assert event_keys("SOB").full == "shortness of breath"
    assert event_keys("elevated LFTs").full == "elevated liver function tests"
    assert event_keys("AKI").full == "acute kidney injury"
    assert event_keys("sobbing").full == "sobbing"


def test_qualifiers_leave_the_core_only():
    keys = event_keys("Severe nausea (grade 3)")
    assert keys.full == "severe nausea grade 3"
    assert keys.core == "nausea"


def test_placeholders_are_not_events():
    for text in ("see narrative", "See Narrative.", "N/A", "unk", "", "!!!"):
        assert is_non_event(event_keys(text)), text
    assert not is_non_event(event_keys("nausea"))


@given(
    st.sampled_from(["tylenol", "metformin hydrochloride", "atorvastatin", "co-codamol"]),
    st.integers(1, 2000),
    st.sampled_from(["mg", "mcg", " mg", "ml", "g"]),
    st.sampled_from(["tab", "tablets", "caps", "bd", "po daily", "inj", "", "XR"]),
)
def test_drug_key_drops_strength_and_form(name, amount, unit, form):
    assert drug_key(f"{name} {amount}{unit} {form}") == drug_key(name)


def test_drug_key_keeps_the_salt_and_uses_us_spelling():
    assert drug_key("Morphine sulphate 10mg") == "morphine sulfate"
    assert drug_key("Tylenol 500mg tab") == "tylenol"


def test_rules_are_loaded_once():
    assert rules_for() is rules_for()
