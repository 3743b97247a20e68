"""Arm and kit labels under three characters (issue 19): "A", "B", "7" or "in" reveal the arm
only where the text makes them an arm's, a group's, a treatment's or a kit's, or as an arm or
kit field's whole value; a label mixing letters and digits ("X1") is no ordinary word and is
caught as a whole token. Ordinary words and numbers stay untouched."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from safety.blinding.mask import BLINDED_DRUG, WITHHELD, ArmSecrets, blind_json, leaks
from safety.blinding.randomisation import Assignment

ORDINARY = ("A patient in a bed at 7 am was given 2 tablets on day 1; B cells and "
            "vitamin B12 were normal. He is 70 and took it as advised. Group visits: 3.")
plain_labels = st.sampled_from(["A", "B", "C", "1", "2", "7", "12", "in", "on", "IV"])
mixed_labels = st.sampled_from(["X1", "A2", "2B", "K9"])
context = st.sampled_from(["Arm {}", "arm: {}", "Group {}", "randomised to {}",
                           "Treatment {}", "kit {}", "Kit no. {}", "allocated to {}"])
# Ordinary words in any order, but never a word that names an arm or a kit ("Group 1" would
# rightly be taken for an arm's label).
words = st.lists(st.sampled_from([w for w in ORDINARY.replace(".", " ").replace(";", " ").split()
                                  if w.casefold() not in {"group", "arm", "kit"}]),
                 max_size=30).map(" ".join)


def _secrets(*labels: str) -> ArmSecrets:
    return ArmSecrets.of([Assignment(str(i), label, "P1", "", (label,))
                          for i, label in enumerate(labels)], {"P1": ["Zelvorin"]})


@given(plain_labels, words)
def test_an_ordinary_short_label_leaves_ordinary_words_alone(label: str, text: str) -> None:
    secrets = _secrets(label)
    assert leaks(text, secrets) == []
    assert leaks(ORDINARY, secrets) == []
    assert blind_json({"narrative": ORDINARY}, secrets) == {"narrative": ORDINARY}


@given(st.one_of(plain_labels, mixed_labels), context, words)
def test_a_short_label_named_as_an_arm_or_kit_reveals(label: str, how: str, text: str) -> None:
    secrets = _secrets(label)
    sentence = how.format(label)
    assert leaks(f"{text} {sentence}.", secrets) != []
    out = blind_json({"narrative": f"{ORDINARY} {sentence}."}, secrets)["narrative"]
    assert WITHHELD in out and sentence not in out
    assert blind_json({"arm": label, "kit": label}, secrets) == {"arm": BLINDED_DRUG,
                                                                 "kit": BLINDED_DRUG}
    if not any(c.isdigit() for c in label) or label.isdigit():  # "A", "7": an initial, a code
        assert blind_json({"initials": label}, secrets) == {"initials": label}


@given(mixed_labels, words)
def test_a_mixed_short_label_is_caught_as_a_whole_token(label: str, text: str) -> None:
    secrets = _secrets(label)
    assert leaks(f"{text} the box said {label.lower()}", secrets) != []
    assert leaks(f"{label}0 and x{label}", secrets) == []  # part of another token: no
