"""Scoring with the shipped calibrated weights, including the hard look-alikes."""

from __future__ import annotations

import dataclasses

import pytest
from factories.dedup import make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.dedup.comparison import FIELDS, compare
from safety.dedup.profile import Profile, build_profile
from safety.dedup.scoring import CLASSES, Model, ModelError, calibrate, load_model

MODEL = load_model()


def score(a: object, b: object) -> float:
    return MODEL.score(build_profile(a), build_profile(b)).probability  # type: ignore[arg-type]


def test_noisy_duplicate_from_another_channel_scores_high() -> None:
    site = make_case(narrative="Started warfarin on 2024-01-05; admitted 2024-02-11.")
    partner = make_case(sender="Borealis", report_id="B-1", initials="S.J.", birth=None, age=53,
                        onset="2024-02-11", events=["gi bleeding"], drugs=["coumadin"],
                        reporter=("C.", "Martin", "1"),
                        narrative="Coumadin since 5 January 2024, hospitalised 11 Feb 2024.")
    assert score(site, partner) >= MODEL.threshold


def test_second_different_event_in_the_same_trial_subject_is_a_new_case() -> None:
    first = make_case(study="STUDY-01", subject="001-0007", events=["gi bleeding"],
                      onset="2024-02-10")
    second = make_case(study="STUDY-01", subject="0010007", report_id="FR-ACME-2024-000050",
                       events=["hepatotoxicity"], onset="2024-05-20")
    s = MODEL.score(build_profile(first), build_profile(second))
    assert s.probability < MODEL.threshold
    subject = next(e for e in s.evidence if e.field == "subject")
    assert subject.outcome == "same" and subject.weight > 0  # same patient ...
    events = next(e for e in s.evidence if e.field == "subject_events")
    assert events.weight_new_event < 0  # ... but another event


def test_twins_are_not_duplicates() -> None:
    """Same birth date, family, reporter, drug, event and onset; other given name and weight."""
    common = dict(birth="2023-05-02", sex="1", onset="2023-05-04",
                  events=["neonatal jaundice"], drugs=["paracetamol"])
    a = make_case(initials="LM", weight=2.6, **common)  # type: ignore[arg-type]
    b = make_case(initials="HM", weight=3.1, report_id="FR-ACME-2024-000002",
                  **common)  # type: ignore[arg-type]
    s = MODEL.score(build_profile(a), build_profile(b))
    assert s.probability < MODEL.threshold
    initials = next(e for e in s.evidence if e.field == "initials")
    assert initials.outcome == "given_differs" and initials.weight < -5


def test_patients_of_one_literature_series_are_not_duplicates() -> None:
    ref = "Rossi A, Bianchi B. Warfarin and bleeding: a series of 5 cases. Lancet. 2023;1:1-9."
    a = make_case(initials=None, birth=None, age=71, sex="2", onset="2022", literature=ref)
    b = make_case(initials=None, birth=None, age=58, sex="1", onset="2022", literature=ref,
                  report_id="FR-ACME-2024-000003")
    assert score(a, b) < MODEL.threshold


def test_study_subjects_with_the_same_common_event_are_not_duplicates() -> None:
    a = make_case(study="STUDY-01", subject="003-0101", events=["nausea"], onset="2024-03-02",
                  initials="AB", birth="1961-04-04")
    b = make_case(study="STUDY-01", subject="003-0144", events=["nausea"], onset="2024-03-05",
                  initials="CD", birth="1979-09-21", report_id="FR-ACME-2024-000004")
    assert score(a, b) < MODEL.threshold


def test_explanation_lists_every_field_with_values_and_outcome() -> None:
    s = MODEL.score(build_profile(make_case()), build_profile(make_case(initials="SJ")))
    assert [e.field for e in s.evidence] == list(FIELDS)
    initials = next(e for e in s.evidence if e.field == "initials")
    assert (initials.a, initials.b, initials.outcome) == ("JS", "SJ", "reordered")
    assert s.to_json()["explanation"][0]["field"] == "initials"


_FIELD_ATTRS = {
    "initials": ("initials",), "birth": ("birth", "age"), "sex": ("sex",),
    "weight": ("weight",), "country": ("country",), "onset": ("onset",),
    "dates": ("dates",), "events": ("events", "event_text"), "drugs": ("drugs", "drug_text"),
    "reporter": ("reporter", "qualification"), "study": ("study",), "subject": ("subject",),
    "record": ("record",), "literature": ("literature", "literature_text"),
}


@settings(deadline=None)
@given(st.sampled_from(sorted(_FIELD_ATTRS)), st.booleans())
def test_missing_value_is_evidence_of_nothing(field: str, drop_left: bool) -> None:
    """Dropping a field on one side gives that field weight 0 (no penalty)."""
    a = build_profile(make_case(study="S-1", subject="001", literature="X Y. T. J. 2020;1:1."))
    b = build_profile(make_case(study="S-1", subject="001", literature="X Y. T. J. 2020;1:1.",
                                initials="JMS", weight=70.0))
    empty = {name: type(getattr(Profile(), name))() if getattr(Profile(), name) is not None
             else None for name in _FIELD_ATTRS[field]}
    if drop_left:
        a = dataclasses.replace(a, **empty)
    else:
        b = dataclasses.replace(b, **empty)
    ev = next(e for e in MODEL.score(a, b).evidence if e.field == field)
    assert ev.outcome is None and ev.weight == 0.0 and ev.weight_new_event == 0.0


def test_partial_dates_compare_as_compatible_not_as_mismatch() -> None:
    a, b = build_profile(make_case(onset="2024-02-10")), build_profile(make_case(onset="2024-02"))
    outcome = {c.field: c.outcome for c in compare(a, b)}["onset"]
    assert outcome == "compatible"
    # a year alone contains the date too, but says no more than a shared year
    year = build_profile(make_case(onset="2024"))
    assert {c.field: c.outcome for c in compare(a, year)}["onset"] == "year_compatible"


def test_calibrate_needs_every_class_and_round_trips() -> None:
    with pytest.raises(ModelError, match="every class"):
        calibrate([({"sex": "match"}, "duplicate")])
    rows = [({"sex": "match"}, c) for c in CLASSES] + [({"sex": "mismatch"}, "other_patient")]
    model = calibrate(rows, threshold=0.7)
    again = Model.from_json(model.to_json())
    assert again.threshold == 0.7
    assert again.log_lik["sex"]["match"][0] > again.log_lik["sex"]["mismatch"][0]


def test_weights_file_missing_a_field_is_rejected() -> None:
    data = MODEL.to_json()
    del data["log2_likelihood"]["weight"]
    with pytest.raises(ModelError, match="'weight'"):
        Model.from_json(data)


@pytest.mark.parametrize("values", [[-1.0, -2.0], [-1.0, -2.0, -3.0, -4.0]])
def test_weights_file_with_a_likelihood_not_one_per_class_is_rejected(
        values: list[float]) -> None:
    """Scoring reads the three likelihoods by position: two would fail in the middle of a
    scan, four would be read as the first three."""
    data = MODEL.to_json()
    data["log2_likelihood"]["sex"]["match"] = values
    with pytest.raises(ModelError, match="log2_likelihood sex/match needs one value per class"):
        Model.from_json(data)


def test_dates_quoted_in_the_narrative_match_structured_dates() -> None:
    a = build_profile(make_case(onset="2024", narrative="Bleeding on 10/02/2024; seen 2024-02-20."))
    b = build_profile(make_case(onset="2024-02-10", narrative="Follow-up visit 20 February 2024."))
    assert {c.field: c.outcome for c in compare(a, b)}["dates"] == "many_shared"
    c = build_profile(make_case(onset="2024-02-10"))
    assert {x.field: x.outcome for x in compare(a, c)}["dates"] is None  # nothing to compare
