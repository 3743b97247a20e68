"""Causality: WHO-UMC, Naranjo, and who decides."""

import pytest

from safety.cases.model import Assessment
from safety.rules.causality import (
    CausalityError,
    Opinion,
    PairCausality,
    Policy,
    Relatedness,
    interpret,
    naranjo_category,
    naranjo_score,
)

R, N, U = Relatedness.RELATED, Relatedness.NOT_RELATED, Relatedness.UNKNOWN


@pytest.mark.parametrize(("answers", "score", "category"), [
    (["yes"] * 10, 1 + 2 + 1 + 2 - 1 - 1 + 1 + 1 + 1 + 1, "probable"),
    (["yes"] * 4 + ["no", "no"] + ["yes"] * 4, 1 + 2 + 1 + 2 + 2 + 1 + 1 + 1 + 1 + 1, "definite"),
    (["no"] * 10, 0 - 1 + 0 - 1 + 2 + 1 + 0 + 0 + 0 + 0, "possible"),
    (["unknown"] * 10, 0, "doubtful"),
    (["yes", "yes", "yes", "unknown", "no", "unknown", "unknown", "unknown", "unknown", "yes"],
     1 + 2 + 1 + 0 + 2 + 0 + 0 + 0 + 0 + 1, "probable"),
    (["no", "no", "no", "no", "yes", "yes", "no", "no", "no", "no"], -1 - 1 - 1 - 1, "doubtful"),
])
def test_naranjo_score_and_category(answers, score, category):
    assert naranjo_score(answers) == score
    assert naranjo_category(score) == category


def test_naranjo_boundaries():
    assert [naranjo_category(s) for s in (0, 1, 4, 5, 8, 9)] == [
        "doubtful", "possible", "possible", "probable", "probable", "definite"]


def test_naranjo_rejects_bad_answers():
    with pytest.raises(CausalityError, match="question 3"):
        naranjo_score(["yes", "no", "maybe"] + ["yes"] * 7)
    with pytest.raises(CausalityError, match="10 answers"):
        naranjo_score(["yes"])


@pytest.mark.parametrize(("method", "result", "want"), [
    ("WHO-UMC", "Probable/Likely", R), ("WHO-UMC", "Possible", R), ("WHO-UMC", "Unlikely", N),
    ("WHO-UMC", "Unassessable/Unclassifiable", U), ("Naranjo", "6", R), ("Naranjo", "0", N),
    ("Global introspection", "Related", R), ("Binary", "not related", N),
])
def test_interpret(method, result, want):
    assert interpret(method, result) is want


def test_assessments_split_by_source():
    pc = PairCausality.from_assessments([
        Assessment("Investigator", "WHO-UMC", "Probable"),
        Assessment("Sponsor", "WHO-UMC", "Unlikely"),
    ])
    assert pc.investigator.relatedness is R and pc.sponsor.relatedness is N
    assert pc.disagreement


@pytest.mark.parametrize(("inv", "spo", "policy", "related"), [
    (R, N, Policy.NO_DOWNGRADE, True),
    (N, R, Policy.NO_DOWNGRADE, True),
    (N, N, Policy.NO_DOWNGRADE, False),
    (N, None, Policy.NO_DOWNGRADE, False),
    (R, N, Policy.SPONSOR, False),
    (N, R, Policy.SPONSOR, True),
    (R, None, Policy.SPONSOR, True),
    (None, None, Policy.SPONSOR, True),
    (N, None, Policy.IMPLIED, True),
    (N, N, Policy.IMPLIED, False),
])
def test_decide(inv, spo, policy, related):
    pc = PairCausality(Opinion(inv) if inv else None, Opinion(spo) if spo else None)
    assert pc.decide(policy)[0] is related
