"""The generator is reproducible and the calibrated pipeline meets its targets on held-out data.

Small streams keep this quick; the full figures come from
``python -m safety.dedup.evaluation.evaluate``.
"""

from __future__ import annotations

from safety.cases.codec import case_from_json, case_to_json
from safety.dedup.evaluation.evaluate import evaluate, train
from safety.dedup.evaluation.generator import generate_stream


def test_generator_is_seeded() -> None:
    a = [case_to_json(r.case) for r in generate_stream(5, 60)]
    b = [case_to_json(r.case) for r in generate_stream(5, 60)]
    c = [case_to_json(r.case) for r in generate_stream(6, 60)]
    assert a == b and a != c


def test_generated_cases_round_trip_through_the_codec() -> None:
    for r in generate_stream(8, 80):
        assert case_to_json(case_from_json(case_to_json(r.case))) == case_to_json(r.case)


def test_stream_contains_every_hard_case_and_followups() -> None:
    stream = generate_stream(9, 600)
    tags = {r.tag for r in stream}
    assert {"twin", "series", "study_common", "same_subject_new_event", "plain"} <= tags
    assert any(r.kind == "followup" for r in stream)


def test_targets_met_on_a_held_out_stream() -> None:
    model = train(generate_stream(101, 1500))
    report = evaluate(generate_stream(202, 1500), model)
    assert report["duplicates"]["precision"] >= 0.90
    assert report["duplicates"]["recall"] >= 0.80
    assert report["followup"]["accuracy"] >= 0.99
    assert report["followup"]["initial_reports_wrongly_linked"] == 0
