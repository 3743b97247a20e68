"""Properties of the engine over generated facts."""

from __future__ import annotations

from datetime import date

from factories.rules import ALL, event, facts, pair, suspect
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.rules.day0 import Anchor, AnchorKind, Anchors
from safety.rules.facts import Source
from safety.rules.obligations import evaluate

CRITERIA = ("death", "life_threatening", "hospitalisation", "disability",
            "congenital_anomaly", "other_medically_important", "required_intervention")
COUNTRIES = ("US", "GB", "FR", "CA", "JP", None)
JURIS = st.frozensets(st.sampled_from(sorted(ALL)))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@st.composite
def case_facts(draw, serious=None, source=None):
    crit = tuple(draw(st.lists(st.sampled_from(CRITERIA), unique=True, max_size=3)))
    if serious is False:
        crit = ()
    fatal = "death" in crit
    lt = "life_threatening" in crit
    e = event(criteria=crit, fatal=fatal, lt=lt, country=draw(st.sampled_from(COUNTRIES)))
    s = suspect(inv=draw(JURIS), auth=draw(JURIS), blinded=draw(st.booleans()))
    p = pair(expected=draw(st.booleans()),
             inv=draw(st.sampled_from(["related", "not related", "unknown", None])),
             spo=draw(st.sampled_from(["related", "not related", "unknown", None])))
    first = draw(days)
    lag = draw(st.integers(0, 30))
    a = Anchors(Anchor(AnchorKind.FIRST_RECEIPT, first),
                sponsor_determination=Anchor(AnchorKind.SPONSOR_DETERMINATION,
                                             date.fromordinal(first.toordinal() + lag)))
    src = source or draw(st.sampled_from(list(Source)))
    return facts(events=(e,), suspects=(s,), pairs=(p,), source=src, anchors_=a)


@settings(max_examples=300, deadline=None)
@given(case_facts())
def test_due_never_before_day0(f):
    for o in evaluate(f).obligations:
        assert o.due >= o.day0 >= f.anchors.first_receipt.day


@settings(max_examples=300, deadline=None)
@given(case_facts(), st.integers(-3000, 3000))
def test_moving_day0_moves_due_by_the_same_days(f, n):
    base = evaluate(f).obligations
    moved = evaluate(facts(events=f.events, suspects=f.suspects, pairs=f.pairs,
                           source=f.source, anchors_=f.anchors.shifted(n))).obligations
    assert [(o.rule_id, o.due.toordinal() + n) for o in base] == [
        (o.rule_id, o.due.toordinal()) for o in moved]


@settings(max_examples=300, deadline=None)
@given(case_facts(serious=False, source=Source.CLINICAL_TRIAL))
def test_no_obligation_for_non_serious_trial_case(f):
    assert evaluate(f).obligations == []
