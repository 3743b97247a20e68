from __future__ import annotations

import pytest
from factories.dedup import make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.dedup.decisions import (
    DecisionError,
    choose_master,
    cite_duplicates,
    completeness,
    confirm,
    offerable,
    pair,
    reject,
    rejected_for,
)


def test_master_is_the_most_complete_case() -> None:
    thin = make_case(report_id="A-1", birth=None, weight=None, initials=None)
    rich = make_case(report_id="B-1", sender="Borealis")
    assert completeness(rich) > completeness(thin)
    assert choose_master({"thin": thin, "rich": rich}) == "rich"


def test_confirm_nullifies_submitted_duplicates_and_cites_them_in_the_master() -> None:
    rich = make_case(report_id="FR-ACME-2024-000001")
    thin = make_case(sender="Borealis", report_id="B-77", birth=None, weight=None)
    c = confirm({"m": rich, "d": thin}, submitted={"d"})
    assert (c.master, c.duplicates, c.nullify) == ("m", ("d",), ("d",))
    followup = cite_duplicates(rich, c)
    cited = [(o.source, o.case_id) for o in followup.admin.other_case_ids]
    assert cited == [("Borealis", "B-77")] and followup.admin.other_case_ids_exist is True
    assert rich.admin.other_case_ids == []  # the stored version is not modified
    assert cite_duplicates(followup, c).admin.other_case_ids == followup.admin.other_case_ids


def test_confirm_needs_two_cases() -> None:
    with pytest.raises(DecisionError, match="at least two"):
        confirm({"a": make_case()})


def test_rejected_pair_is_never_offered_again_in_either_order() -> None:
    rejected = reject(frozenset(), "b", "a")
    assert offerable("a", ["b", "c"], rejected) == ["c"]
    assert offerable("b", ["a", "c"], rejected) == ["c"]
    assert offerable("c", ["a", "b"], rejected) == ["a", "b"]


def test_a_case_is_not_its_own_duplicate() -> None:
    with pytest.raises(DecisionError, match="itself"):
        pair("a", "a")


_ids = st.sampled_from(list("abcdef"))


@settings(deadline=None)
@given(st.lists(st.tuples(_ids, _ids).filter(lambda p: p[0] != p[1]), max_size=10), _ids)
def test_rejections_are_symmetric(pairs: list[tuple[str, str]], who: str) -> None:
    rejected: frozenset[tuple[str, str]] = frozenset()
    for a, b in pairs:
        rejected = reject(rejected, a, b)
    expected = {b for a, b in pairs if a == who} | {a for a, b in pairs if b == who}
    assert rejected_for(who, rejected) == expected
    assert set(offerable(who, list("abcdef"), rejected)) == set("abcdef") - expected - {who}


def test_confirm_links_the_duplicates_worldwide_ids_in_c110() -> None:
    rich = make_case(report_id="FR-ACME-2024-000001")
    thin = make_case(sender="Borealis", report_id="B-77", birth=None, weight=None)
    thin.admin.worldwide_case_id = "GB-BOREALIS-77"
    c = confirm({"m": rich, "d": thin})
    assert c.linked == ("GB-BOREALIS-77",) and c.nullify == ()
    once = cite_duplicates(rich, c)
    assert once.admin.linked_report_ids == ["GB-BOREALIS-77"]
    assert cite_duplicates(once, c).admin.linked_report_ids == ["GB-BOREALIS-77"]


def test_equally_complete_copies_keep_the_first_listed_as_master() -> None:
    """Callers list cases in receipt order: the copy received first (already being worked)
    stays the master, whatever the ids."""
    a = make_case(report_id="A-1")
    b = make_case(report_id="A-1")
    assert choose_master({"zzz-first": a, "aaa-second": b}) == "zzz-first"
    assert choose_master({"aaa-first": b, "zzz-second": a}) == "aaa-first"
