"""One realistic pair per known cause of missed or wrong duplicate links (issue 21).

Each expected outcome was written before the fix and failed against the code before it.
"""

from __future__ import annotations

from factories.dedup import make_case

from safety.cases.model import Dosage
from safety.cases.values import PartialDate
from safety.dedup.blocking import blocking_keys
from safety.dedup.comparison import outcomes
from safety.dedup.profile import build_profile
from safety.dedup.scoring import another_episode, load_model


def test_subject_with_and_without_site_prefix_is_the_same_subject() -> None:
    """The site writes ``<site>-<subject>``; the partner's E2B carries the subject number only."""
    site = make_case(study="ACME-301", subject="014-0231")
    partner = make_case(study="ACME-301", subject="0231", sender="Borealis", report_id="B-77")
    other_site = make_case(study="ACME-301", subject="015-0231", report_id="FR-ACME-2024-9")
    a, b, c = build_profile(site), build_profile(partner), build_profile(other_site)
    assert outcomes(a, b)["subject"] == "same"
    assert any(k.startswith("sub|") for k in blocking_keys(a) & blocking_keys(b))
    assert outcomes(a, c)["subject"] == "different"  # same number at another site: other patient
    squashed = build_profile(make_case(study="ACME-301", subject="0140231"))
    assert outcomes(a, squashed)["subject"] == "same"


def test_year_only_birth_date_against_an_age_compares_as_an_interval() -> None:
    """Site: born 1970 (day and month withheld), onset 10 Feb 2024; partner: age 53 years.

    Born any day of 1970, the patient was 53 or 54 on 10 Feb 2024: 53 agrees. Taking 1 January
    1970 made the site's age 54.1 and the pair only "near".
    """
    site = build_profile(make_case(birth="1970", onset="2024-02-10"))
    partner = build_profile(make_case(birth=None, age=53, onset="2024-02-10", report_id="B-1",
                                      sender="Borealis"))
    assert outcomes(site, partner)["birth"] == "age_match"
    older = build_profile(make_case(birth=None, age=57, onset="2024-02-10", report_id="B-2"))
    assert outcomes(site, older)["birth"] == "mismatch"


def test_day_and_month_swapped_onset_dates_are_close() -> None:
    """A US partner's 04/03/2024 (April 3) against the site's 4 March 2024."""
    site = build_profile(make_case(onset="2024-03-04"))
    partner = build_profile(make_case(onset="2024-04-03", sender="Borealis", report_id="B-1"))
    assert outcomes(site, partner)["onset"] == "close"
    later = build_profile(make_case(onset="2024-04-05", sender="Borealis", report_id="B-2"))
    assert outcomes(site, later)["onset"] == "mismatch"


def test_masking_words_are_not_initials_and_one_letter_agrees_partially() -> None:
    """An EU partner's forward with the patient masked; a consumer who gives "J." only."""
    site = build_profile(make_case(initials="J.M.S."))
    for masked in ("PRIVACY", "UNK", "MSK", "masked", "ASKU", "NI"):
        partner = build_profile(make_case(initials=masked, sender="Borealis", report_id="B-1"))
        assert partner.initials is None, masked
        assert outcomes(site, partner)["initials"] is None  # no evidence either way
    consumer = build_profile(make_case(initials="J.", report_id="C-1"))
    assert outcomes(site, consumer)["initials"] == "partial"
    stranger = build_profile(make_case(initials="K", report_id="C-2"))
    assert outcomes(site, stranger)["initials"] == "none_shared"


def test_a_drug_start_date_is_not_an_event_date() -> None:
    """One trial subject, two SAEs on the same warfarin course started 5 Jan 2024: the drug
    start date, quoted by both, must not make the second SAE look like the first."""
    first = make_case(study="ACME-301", subject="014-0231", events=["gi bleeding"],
                      onset="2024-02-10")
    second = make_case(study="ACME-301", subject="014-0231", events=["hepatotoxicity"],
                       onset="2024-05-20", report_id="FR-ACME-2024-000050")
    for c in (first, second):
        c.drugs[0].dosages = [Dosage(start=PartialDate.parse_iso("2024-01-05"))]
    a, b = build_profile(first), build_profile(second)
    assert "2024-01-05" not in a.dates
    assert outcomes(a, b)["dates"] is None and outcomes(a, b)["subject_dates"] is None
    assert load_model().score_fast(a, b) < load_model().threshold


def _semaglutide_subject(**kw: object) -> object:
    """A subject of a semaglutide trial as the open test half has it (study STUDY0708,
    subject 035-0859, 76-year-old man of 56 kg in the US, reported by Dr Hugo Sato)."""
    base: dict[str, object] = dict(
        sender="SafetyDesk intake", study="STUDY0708", subject="035-0859", initials="NR",
        birth=None, age=76.0, sex="1", weight=56.3, country="US", drugs=["semaglutide"],
        reporter=("Hugo", "Sato", "1"))
    base.update(kw)
    return make_case(**base)  # type: ignore[arg-type]


def test_a_later_sae_of_one_subject_with_an_event_of_the_first_is_not_its_duplicate() -> None:
    """The open half's same-subject link: SAE 1 is diarrhoea with fatigue in August 2024
    (hospitalised 2 September); months later the subject's SAE 2 is tiredness again, onset
    given as "2024" only, hospitalised 26 October. The events overlap (fatigue), the onset
    was "compatible" (a year contains the month) and every patient field agrees, so it was
    linked at 0.995. A year-only onset is no more than a shared year, and for one subject no
    shared date (two different hospital admissions) says "another episode"."""
    first = _semaglutide_subject(
        events=["diarrhoea", "fatigue"], onset="2024-08", report_id="035-0859-SAE1",
        narrative="Diarrhoea was reported. Admitted to hospital on 2024-09-02.")
    second = _semaglutide_subject(
        events=["tiredness"], onset="2024", report_id="035-0859-SAE2", initials="N",
        weight=56.2, drugs=["wegovy"], reporter=("H", "Sato", "1"),
        narrative="Treatment with Wegovy began 2024-07-16. Tiredness was reported. "
                  "Admitted to hospital on 26/10/2024.")
    a, b = build_profile(first), build_profile(second)
    found = outcomes(a, b)
    assert found["onset"] == "year_compatible"
    assert found["subject_dates"] == "none_shared" and found["dates"] is None
    assert another_episode(found)
    model = load_model()
    assert model.score_fast(a, b) < model.threshold

    # The control: the CRO's copy of SAE 1, with as little (one event, the year) but the
    # same admission date, is still its duplicate.
    copy = _semaglutide_subject(
        events=["tiredness"], onset="2024", report_id="CRO-2024-0311", sender="Borealis CRO",
        initials="N", weight=56.2, drugs=["wegovy"], reporter=("H", "Sato", "1"),
        narrative="Tiredness was reported. Admitted to hospital on 02/09/2024.")
    c = build_profile(copy)
    assert outcomes(a, c)["subject_dates"] == "one_shared" and not another_episode(outcomes(a, c))
    assert model.score_fast(a, c) >= model.threshold
