"""Benchmark of the rules engine.

1. Obligations for one case version: p50/p95 of ``evaluate(facts)`` (all 8 shipped regimes),
   and of the full path from the case model (``build_facts`` + ``evaluate``). Target p95 < 5 ms.
1b. A case history of five steps (two versions, a sponsor assessment, a filing, an
   unblinding) replayed (``evaluate_history``): what the rules stage pays per version now.
2. Re-evaluating 100,000 open case versions after an RSI change. Target < 2 min. Worst case:
   every case has the changed product and the changed PT, so every case is evaluated twice.

Run: ``.venv/bin/python bench/rules.py [--cases 100000]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from safety.products.registry import Registry, product_from_dict, study_from_dict
from safety.products.rsi import RsiLibrary, RsiVersion, rsi_from_dict
from safety.rules.causality import Opinion, PairCausality, Relatedness
from safety.rules.day0 import Anchor, AnchorKind, Anchors
from safety.rules.expectedness import assess
from safety.rules.facts import (
    CaseFacts,
    EventFacts,
    PairFacts,
    Source,
    StudyFacts,
    SuspectFacts,
    build_facts,
)
from safety.rules.history import evaluate_history
from safety.rules.obligations import evaluate
from safety.rules.regime import load_regimes
from safety.rules.rsi_change import rsi_change
from safety.rules.whatif import evaluate_history_json, load_history, load_whatif

DEMO = Path(__file__).parents[1] / "safety" / "rules" / "examples" / "demo_case.json"
JURIS = ("US", "EU", "UK", "CA")
COUNTRIES = ("US", "GB", "FR", "DE", "CA", "JP")
PTS = [str(10000000 + i) for i in range(200)]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def bench_single(n: int) -> None:
    regimes = load_regimes()
    data = json.loads(DEMO.read_text())
    w = load_whatif(data)
    evaluate(w.facts, regimes)
    reg, lib = Registry(), RsiLibrary()
    for p in data["registry"]["products"]:
        reg.add_product(product_from_dict(p))
    for st in data["registry"]["studies"]:
        reg.add_study(study_from_dict(st))
    for v in data["rsi"]:
        lib.add(rsi_from_dict(v))
    eval_ms, stage_ms, full_ms = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        evaluate(w.facts, regimes)
        eval_ms.append((time.perf_counter() - t0) * 1000)
    for _ in range(n):
        t0 = time.perf_counter()
        f = build_facts(w.case, case_id="C", version=1, anchors=w.facts.anchors, registry=reg,
                        rsi=lib)
        evaluate(f, regimes)
        stage_ms.append((time.perf_counter() - t0) * 1000)
    for _ in range(n):
        t0 = time.perf_counter()
        w2 = load_whatif(data)  # JSON decode + registry + RSI + build_facts
        evaluate(w2.facts, regimes)
        full_ms.append((time.perf_counter() - t0) * 1000)
    print(f"one case version, {n} runs, {len(regimes)} regimes")
    print(f"  evaluate(facts):             p50 {statistics.median(eval_ms):.3f} ms   "
          f"p95 {pct(eval_ms, 95):.3f} ms   (target p95 < 5 ms)")
    print(f"  build_facts + evaluate:      p50 {statistics.median(stage_ms):.3f} ms   "
          f"p95 {pct(stage_ms, 95):.3f} ms   (worker stage, registry/RSI loaded once)")
    print(f"  case JSON -> facts -> evaluate: p50 {statistics.median(full_ms):.3f} ms   "
          f"p95 {pct(full_ms, 95):.3f} ms")


def bench_history(n: int) -> None:
    data = json.loads(DEMO.read_text())
    case = data["case"]
    v2 = json.loads(json.dumps(case))
    v2["reactions"][0]["seriousness"] = {"death": True}
    history = {
        "case_id": "H", "timezone": "Europe/London", "registry": data["registry"],
        "rsi": data["rsi"], "history": [
            {"type": "received", "version": 1, "case": case, "receipts": [
                {"party": "Partner", "role": "licence_partner", "at": "2026-02-27T07:30:00+09:00"},
                {"party": "Sponsor", "role": "sponsor", "at": "2026-02-27T09:15:00+00:00"}]},
            {"type": "assessment", "reaction_id": "r-1", "drug_id": "d-1", "on": "2026-03-01",
             "causality": "related"},
            {"type": "filing", "on": "2026-03-05", "regime": "eu-ctr",
             "rule": "eu-ctr-susar-15"},
            {"type": "received", "version": 2, "case": v2, "receipts": [
                {"party": "Sponsor", "role": "sponsor", "at": "2026-03-09T11:00:00+00:00"}]},
            {"type": "unblinding", "on": "2026-03-10", "arm": "SDX-101"}]}
    h, ctx, _ = load_history(history)
    evaluate_history(h, ctx)
    replay_ms, full_ms = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        evaluate_history(h, ctx)
        replay_ms.append((time.perf_counter() - t0) * 1000)
    for _ in range(max(1, n // 4)):
        t0 = time.perf_counter()
        evaluate_history_json(history)
        full_ms.append((time.perf_counter() - t0) * 1000)
    print(f"case history, 5 entries (4 evaluated steps), {n} runs")
    print(f"  evaluate_history:            p50 {statistics.median(replay_ms):.3f} ms   "
          f"p95 {pct(replay_ms, 95):.3f} ms")
    print(f"  history JSON -> obligations: p50 {statistics.median(full_ms):.3f} ms   "
          f"p95 {pct(full_ms, 95):.3f} ms   (CLI/API path, JSON decode and registry included)")


def synthetic_cases(n: int, lib: RsiLibrary, product: str, rng: random.Random) -> list[CaseFacts]:
    out = []
    base = date(2026, 1, 1)
    for i in range(n):
        first = base + timedelta(days=rng.randrange(300))
        n_events = rng.randint(1, 3)
        events = []
        for k in range(n_events):
            crit = rng.choice([(), ("hospitalisation",), ("death",), ("life_threatening",),
                               ("other_medically_important",)])
            events.append(EventFacts(f"e{k}", f"t{k}", rng.choice(PTS[:20]),
                                     rng.choice(COUNTRIES), crit, "death" in crit,
                                     "life_threatening" in crit))
        ct = rng.random() < 0.5
        inv = frozenset(rng.sample(JURIS, rng.randint(1, 4))) if ct else frozenset()
        auth = frozenset() if ct else frozenset(rng.sample(JURIS, rng.randint(1, 4)))
        s = SuspectFacts("d1", product, product, inv, auth)
        refs = ["IB", *(f"label:{j}" for j in sorted(auth))]
        pairs = tuple(
            PairFacts(e.id, "d1", {r: assess(lib, product, e.pt_code, r, first) for r in refs},
                      PairCausality(Opinion(rng.choice(list(Relatedness))), None))
            for e in events
        )
        out.append(CaseFacts(
            case_id=f"C{i}", version=1,
            anchors=Anchors(Anchor(AnchorKind.FIRST_RECEIPT, first)),
            source=Source.CLINICAL_TRIAL if ct else Source.SPONTANEOUS,
            events=tuple(events), suspects=(s,), pairs=pairs,
            study=StudyFacts("P-1", frozenset(JURIS)) if ct else None,
        ))
    return out


def bench_rsi(n: int) -> None:
    rng = random.Random(20261124)
    product = "SDX-101"
    old = RsiVersion(product, "IB", "7", date(2025, 1, 1), frozenset(PTS[:5]))
    lib = RsiLibrary()
    lib.add(old)
    t0 = time.perf_counter()
    cases = synthetic_cases(n, lib, product, rng)
    build = time.perf_counter() - t0
    # new IB edition (same effective date, so in force for every case) lists 10 more PTs and
    # drops 2: expectedness changes for most cases.
    new = replace(old, version="8", expected_pts=frozenset(PTS[2:15]))
    t0 = time.perf_counter()
    changes = rsi_change(cases, lib, old, new)
    elapsed = time.perf_counter() - t0
    appears = sum(1 for c in changes if c.change.value == "appears")
    touched = len({c.case_id for c in changes})
    print(f"RSI change over {n:,} open case versions (all with the changed product)")
    print(f"  facts built in {build:.1f} s (not part of the target)")
    print(f"  re-evaluation: {elapsed:.1f} s  ({elapsed / n * 1e6:.0f} µs per case)  "
          f"(target < 120 s)")
    print(f"  {len(changes):,} obligation changes in {touched:,} cases: "
          f"{appears:,} appear, {len(changes) - appears:,} disappear")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--cases", type=int, default=100_000)
    args = ap.parse_args()
    bench_single(args.runs)
    bench_history(args.runs // 4)
    bench_rsi(args.cases)


if __name__ == "__main__":
    main()
