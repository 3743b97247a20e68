from __future__ import annotations

from datetime import date

from factories.dedup import make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.dedup.blocking import MIN_SHARED, blocking_keys, is_strong
from safety.dedup.profile import build_profile, literature_key, narrative_dates, norm_initials


def _shared_evidence(a: set[str], b: set[str]) -> int:
    return sum(MIN_SHARED if is_strong(k) else 1 for k in a & b)


def test_profile_prefers_concepts_then_codes_then_verbatims() -> None:
    """A term the open dictionary auto-codes becomes its PT (events) or active moiety (drugs),
    coded or not; otherwise the code, and without a code the normalised verbatim."""
    coded = build_profile(make_case(events=["feeling sick"], drugs=["panadol"]))
    assert coded.events == {"c:nausea"} and coded.drugs == {"u:362O9ITL9D"}
    plain = build_profile(make_case(events=["Feeling  sick!"], drugs=["Panadol"], coded=False))
    assert plain.events == coded.events and plain.drugs == coded.drugs
    unknown = build_profile(make_case(events=["gi bleeding"], drugs=["Marevan"]))
    assert unknown.events == {"pt:PT012"}  # the open dictionary does not resolve it
    uncoded = build_profile(make_case(events=["Skin peeling off"], drugs=["Marevan"],
                                      coded=False))
    assert uncoded.events == {"v:skin peeling off"} and uncoded.drugs == {"v:marevan"}


def test_brand_and_generic_coded_to_one_substance_share_keys() -> None:
    a = blocking_keys(build_profile(make_case(drugs=["warfarin"])))
    b = blocking_keys(build_profile(make_case(drugs=["coumadin"], initials="SJ")))
    assert _shared_evidence(a, b) >= MIN_SHARED


def test_age_instead_of_birth_date_still_shares_keys() -> None:
    a = blocking_keys(build_profile(make_case(birth="1970-03-14", onset="2024-02-10")))
    b = blocking_keys(build_profile(make_case(birth=None, age=53, onset="2024-02")))
    assert {k for k in a & b if k.startswith("iby|")}


def test_onset_near_month_end_also_blocks_on_the_next_month() -> None:
    a = blocking_keys(build_profile(make_case(onset="2024-01-30")))
    b = blocking_keys(build_profile(make_case(onset="2024-02-02", initials=None, birth=None)))
    assert any(k.startswith("dem|") for k in a & b)


def test_no_keys_from_nothing() -> None:
    empty = make_case(initials=None, birth=None, sex=None, weight=None, country=None,
                      onset=None, events=[], drugs=[], reporter=None)
    assert blocking_keys(build_profile(empty)) == set()


def test_initials_normalisation() -> None:
    assert norm_initials("J.M.S.") == "JMS"
    assert norm_initials("j s") == "JS"
    assert norm_initials("Jean Smith") == "JS"
    assert norm_initials(None) is None


def test_narrative_dates_in_several_formats() -> None:
    text = ("Started on 2024-01-05. Admitted 12 March 2024, seen March 14, 2024 "
            "and again on 15/03/2024.")
    found = narrative_dates(text)
    assert {date(2024, 1, 5), date(2024, 3, 12), date(2024, 3, 14), date(2024, 3, 15)} <= found


def test_literature_key_ignores_author_truncation_and_spacing() -> None:
    full = "Smith J, Doe A, Roe B. Warfarin bleeding: a series. Drug Saf. 2023;4(2):1-9."
    short = "Smith J, et al. Warfarin  bleeding: a series. Drug Saf. 2023; 4(2):1-9."
    assert literature_key(full) == literature_key(short)


_initials = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=3)


@settings(deadline=None)
@given(_initials, st.integers(1930, 2020), st.sampled_from(["1", "2", None]),
       st.sampled_from(["FR", "DE", None]))
def test_keys_are_short_deterministic_and_order_free(ini: str, year: int, sex: str | None,
                                                     country: str | None) -> None:
    case = make_case(initials=ini, birth=f"{year}-06-01", sex=sex, country=country)
    keys = blocking_keys(build_profile(case))
    assert keys == blocking_keys(build_profile(case))
    assert all(len(k) <= 120 for k in keys)
    swapped = make_case(initials=ini[-1] + ini[:-1], birth=f"{year}-06-01", sex=sex,
                        country=country)
    assert _shared_evidence(keys, blocking_keys(build_profile(swapped))) >= MIN_SHARED
