"""Calibrate the scoring model on a training stream and measure it on a held-out stream.

Run ``python -m safety.dedup.evaluation.evaluate`` (``--write-weights`` refreshes the shipped
``safety/dedup/weights.json``). Training and test streams come from different seeds, so no
patient, case or report is shared between them.

Pairs are labelled from the generator's truth: ``duplicate`` when both cases render the same true
case, ``new_event`` when they render different cases of the same patient, ``other_patient``
otherwise. Duplicate metrics are pairwise over cases (a case = a report and its follow-ups) and
count every true pair, so pairs lost by blocking count as misses.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safety.cases.codec import case_to_json
from safety.dedup.comparison import outcomes
from safety.dedup.evaluation.generator import LabelledReport, generate_stream
from safety.dedup.matching import MemoryIndex, match_report
from safety.dedup.scan import assign_versions, candidate_pairs, scan
from safety.dedup.scoring import CLASSES, Model, calibrate

TRAIN_SEED = 20261124
TEST_SEED = 7
HARD_TAGS = {"twin", "series", "study_common", "same_subject_new_event"}
WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "weights.json"


@dataclass(slots=True)
class Truth:
    true_case: dict[str, str]  # root report id -> true case id
    patient: dict[str, str]
    tag: dict[str, str]


def _truth(stream: Sequence[LabelledReport]) -> Truth:
    return Truth(
        {r.report_id: r.true_case for r in stream},
        {r.report_id: r.patient for r in stream},
        {r.report_id: r.tag for r in stream},
    )


def _label(truth: Truth, a: str, b: str) -> str:
    if truth.true_case[a] == truth.true_case[b]:
        return "duplicate"
    if truth.patient[a] == truth.patient[b]:
        return "new_event"
    return "other_patient"


def train(stream: Sequence[LabelledReport]) -> Model:
    """Calibrate on candidate pairs of the training stream and pick the F1-best threshold."""
    truth = _truth(stream)
    cases, _ = assign_versions((r.report_id, r.case) for r in stream)
    pairs, _ = candidate_pairs([c.profile for c in cases])
    labelled = []
    for a, b in sorted(pairs):
        found = outcomes(cases[a].profile, cases[b].profile)
        labelled.append((found, _label(truth, cases[a].case_id, cases[b].case_id)))
    counts = Counter(label for _, label in labelled)
    provenance = (
        f"calibrated by safety.dedup.evaluation.evaluate on generator seed {TRAIN_SEED}: "
        f"{len(stream)} reports, {len(pairs)} candidate pairs "
        + ", ".join(f"{k} {counts[k]}" for k in CLASSES)
    )
    model = calibrate(labelled, provenance=provenance).with_candidates_per_case(
        2 * len(pairs) / max(len(cases), 1))
    scored = sorted(((model.probability(f), lab == "duplicate") for f, lab in labelled),
                    reverse=True)
    total_pos = sum(1 for _, pos in scored if pos)
    best = (0.0, 0.5)
    tp = fp = 0
    for i, (p, pos) in enumerate(scored):
        tp += pos
        fp += not pos
        if i + 1 < len(scored) and scored[i + 1][0] == p:
            continue
        f1 = 2 * tp / (tp + fp + total_pos)
        if f1 > best[0] and p >= 0.05:
            best = (f1, p)
    return model.with_threshold(round(best[1], 4))


def _prf(pred: set[frozenset[str]], true: set[frozenset[str]]) -> dict[str, float]:
    tp = len(pred & true)
    precision = tp / len(pred) if pred else 1.0
    recall = tp / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "true_pairs": len(true), "predicted_pairs": len(pred), "true_positives": tp}


def evaluate(stream: Sequence[LabelledReport], model: Model) -> dict[str, Any]:
    truth = _truth(stream)
    started = time.perf_counter()
    result = scan(((r.report_id, r.case) for r in stream), model)
    elapsed = time.perf_counter() - started

    # Follow-up linkage: each report must land on the right case, or on none.
    case_of = {rid: c.case_id for c in result.cases for rid in c.reports}
    fu_total = fu_ok = init_total = init_false = 0
    for r in stream:
        if r.kind == "followup":
            fu_total += 1
            fu_ok += case_of[r.report_id] == r.expected_link
        else:
            init_total += 1
            init_false += case_of[r.report_id] != r.report_id

    roots = [c.case_id for c in result.cases]
    by_true: dict[str, list[str]] = {}
    for root in roots:
        by_true.setdefault(truth.true_case[root], []).append(root)
    true_pairs = {
        frozenset((a, b)) for group in by_true.values()
        for i, a in enumerate(group) for b in group[i + 1:]
    }
    pred = {frozenset((lk.report_a, lk.report_b)) for lk in result.links
            if lk.relation == "duplicate"}
    candidates = {frozenset((roots[a], roots[b])) for a, b in result.scored}
    id_pairs = {frozenset((lk.report_a, lk.report_b)) for lk in result.links
                if lk.relation == "duplicate" and lk.score >= 0.99 and lk.report_b in case_of}

    fp_by_kind = Counter(
        _label(truth, *sorted(p)) + ":" + "/".join(sorted({truth.tag[x] for x in p}))
        for p in pred - true_pairs
    )
    lookalikes = Counter(
        _label(truth, roots[a], roots[b]) + ":" + "/".join(sorted({truth.tag[roots[a]],
                                                                   truth.tag[roots[b]]}))
        for a, b in result.scored
        if truth.true_case[roots[a]] != truth.true_case[roots[b]]
        and {truth.tag[roots[a]], truth.tag[roots[b]]} & HARD_TAGS
    )
    hard_cases = {
        kind: {"candidate_pairs": n, "wrongly_flagged": fp_by_kind.get(kind, 0)}
        for kind, n in lookalikes.most_common()
    }
    fn_by_tag = Counter("/".join(sorted({truth.tag[x] for x in p})) for p in true_pairs - pred)
    curve = []
    for t in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99):
        above = {frozenset((roots[a], roots[b])) for (a, b), s in result.scored.items() if s >= t}
        curve.append({"threshold": t, **_prf(above | id_pairs, true_pairs)})
    return {
        "reports": len(stream),
        "cases_after_followup_linkage": len(result.cases),
        "threshold": model.threshold,
        "duplicates": _prf(pred, true_pairs),
        "duplicates_without_clustering": _prf(
            {frozenset((roots[a], roots[b])) for (a, b), s in result.scored.items()
             if s >= model.threshold} | id_pairs, true_pairs),
        "blocking": {
            "candidate_pairs": len(result.scored),
            "pairs_per_case": round(len(result.scored) / max(len(result.cases), 1), 2),
            "true_pairs_retrieved": round(len(true_pairs & (candidates | id_pairs))
                                          / max(len(true_pairs), 1), 4),
            "skipped_common_keys": result.skipped_keys,
        },
        "followup": {
            "followup_reports": fu_total,
            "linked_correctly": fu_ok,
            "accuracy": round(fu_ok / fu_total, 4) if fu_total else 1.0,
            "initial_reports": init_total,
            "initial_reports_wrongly_linked": init_false,
        },
        "false_positives_by_kind": dict(fp_by_kind.most_common()),
        "hard_lookalikes_among_candidates": hard_cases,
        "false_negatives_by_tag": dict(fn_by_tag.most_common()),
        "pairwise_curve_before_clustering": curve,
        "scan_seconds": round(elapsed, 2),
    }


def evaluate_pipeline(stream: Sequence[LabelledReport], model: Model) -> dict[str, Any]:
    """The pipeline's mode: reports arrive one by one in receipt order; each is matched
    against the cases held so far (``match_report`` over a ``MemoryIndex``, the logic of the
    duplicate stage) and its suspected candidates are the suggestions a physician sees."""
    truth = _truth(stream)
    index = MemoryIndex()
    case_of: dict[str, str] = {}
    pred: set[frozenset[str]] = set()
    started = time.perf_counter()
    for r in stream:
        result = match_report(r.case, id_lookup=index.id_lookup, key_lookup=index.key_lookup,
                              model=model)
        if result.followup is not None:
            case_of[r.report_id] = result.followup.case_id
            index.add(result.followup.case_id, r.case)
            continue
        case_of[r.report_id] = r.report_id
        pred |= {frozenset((r.report_id, c.case_id)) for c in result.candidates if c.suspected}
        index.add(r.report_id, r.case)
    elapsed = time.perf_counter() - started
    roots = sorted(set(case_of.values()))
    by_true: dict[str, list[str]] = {}
    for root in roots:
        by_true.setdefault(truth.true_case[root], []).append(root)
    true_pairs = {frozenset((a, b)) for group in by_true.values()
                  for i, a in enumerate(group) for b in group[i + 1:]}
    fu = [r for r in stream if r.kind == "followup"]
    wrong = pred - true_pairs
    return {
        "reports": len(stream),
        "duplicates": _prf(pred, true_pairs),
        "followup_accuracy": round(sum(case_of[r.report_id] == r.expected_link for r in fu)
                                   / len(fu), 4) if fu else 1.0,
        "new_event_links": sum(1 for p in wrong if _label(truth, *sorted(p)) == "new_event"),
        "false_positives_by_kind": dict(Counter(
            _label(truth, *sorted(p)) + ":" + "/".join(sorted({truth.tag[x] for x in p}))
            for p in wrong).most_common()),
        "seconds": round(elapsed, 2),
    }


def halves(stream: Sequence[LabelledReport]) -> tuple[list[LabelledReport],
                                                       list[LabelledReport]]:
    """The test stream split by patient (a hash, so the split is fixed): the first half may be
    looked at while changing the code, the second is the locked half, only reported."""
    def locked(r: LabelledReport) -> bool:
        return hashlib.sha256(r.patient.encode()).digest()[0] % 2 == 1
    return [r for r in stream if not locked(r)], [r for r in stream if locked(r)]


def summary(stream: Sequence[LabelledReport], model: Model) -> dict[str, Any]:
    """Both halves, both modes: the batch scan and the pipeline's suggestions."""
    out: dict[str, Any] = {}
    for name, half in zip(("open_half", "locked_half"), halves(stream), strict=True):
        scanned = evaluate(half, model)
        piped = evaluate_pipeline(half, model)
        out[name] = {
            "scan": {**scanned["duplicates"], "followup_accuracy":
                     scanned["followup"]["accuracy"],
                     "new_event_links": sum(n for k, n in
                                            scanned["false_positives_by_kind"].items()
                                            if k.startswith("new_event"))},
            "pipeline": {**piped["duplicates"], "followup_accuracy": piped["followup_accuracy"],
                         "new_event_links": piped["new_event_links"]},
        }
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-cases", type=int, default=6000)
    parser.add_argument("--test-cases", type=int, default=6000)
    parser.add_argument("--write-weights", action="store_true")
    parser.add_argument("--summary", action="store_true",
                        help="both test halves (open, locked) in both modes (scan, pipeline)")
    parser.add_argument("--export-test", type=Path,
                        help="also write the test stream as JSON lines ({id, case, truth})")
    args = parser.parse_args(argv)
    model = train(generate_stream(TRAIN_SEED, args.train_cases))
    if args.write_weights:
        WEIGHTS_PATH.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    test = generate_stream(TEST_SEED, args.test_cases)
    if args.export_test:
        export_jsonl(test, args.export_test)
    if args.summary:
        print(json.dumps(summary(test, model), indent=2))
    else:
        print(json.dumps(evaluate(test, model), indent=2))


def export_jsonl(stream: Sequence[LabelledReport], path: Path) -> None:
    """The stream in the form ``safety dedup scan --input`` reads, with the truth alongside."""
    with path.open("w", encoding="utf-8") as fh:
        for r in stream:
            truth = {"true_case": r.true_case, "patient": r.patient, "kind": r.kind, "tag": r.tag}
            fh.write(json.dumps({"id": r.report_id, "case": case_to_json(r.case),
                                 "truth": truth}) + "\n")


if __name__ == "__main__":
    main()
