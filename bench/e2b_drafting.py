"""CPU per message of drafting's export (build, check, serialise: ``export_cases``) on the
golden cases (``tests/factories/e2b.py``: demo forms prepared per region, and the official
examples' imported cases), this tree against a baseline commit in the same process, rounds
alternating, so the machine's drift (±25 % minute to minute) hits both alike (issue 20).

    python bench/e2b_drafting.py [--baseline REF] [--rounds 9] [--parts]

The baseline's ``safety/e2b/{writer,conformance,export}.py`` are loaded from git under other
module names (the rest of ``safety`` is this tree's). Prints median µs per message for the
demo cases (FDA pre-market, EMA CT, ICH: what the pipeline drafts) and the examples (their
own profile), and with ``--parts`` where the time goes (write, check, serialise).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from factories.e2b import EXAMPLES, golden_cases, golden_export  # noqa: E402

from safety.e2b import export as new_export  # noqa: E402

MODULES = ("writer", "conformance", "export")


def baseline(ref: str) -> ModuleType:
    """``safety.e2b.export`` as of ``ref`` (with that commit's writer and checker)."""
    loaded: dict[str, ModuleType] = {}
    for name in MODULES:
        source = subprocess.run(["git", "show", f"{ref}:safety/e2b/{name}.py"], cwd=ROOT,
                                check=True, capture_output=True, text=True).stdout
        for other in MODULES:
            source = source.replace(f"safety.e2b.{other} ", f"_baseline_e2b_{other} ")
        module_name = f"_baseline_e2b_{name}"
        spec = importlib.util.spec_from_loader(module_name, loader=None)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        module.__file__ = f"{ref}:safety/e2b/{name}.py"
        sys.modules[module_name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        loaded[name] = module
    return loaded["export"]


def workloads() -> dict[str, list[tuple[list[Any], Any]]]:
    cases = golden_cases()
    demo = [n for n in cases if n.startswith("demo-")]
    out: dict[str, list[tuple[list[Any], Any]]] = {}
    for destination in ("fda-premarket", "ema-ct", "ich"):
        out[f"demo {destination}"] = [golden_export([cases[n]], destination, prepared=True,
                                                    name=n) for n in demo]
    out["examples (own profile)"] = [
        golden_export([cases[n]], EXAMPLES[n.split("#")[0] + ".xml"], prepared=False, name=n)
        for n in cases if not n.startswith("demo-")]
    return out


def per_message_us(fn: Callable[[Any, Any], Any], work: list[tuple[list[Any], Any]]) -> float:
    start = time.process_time()
    for cases, header in work:
        fn(cases, header)
    return (time.process_time() - start) * 1e6 / len(work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default="main")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--repeat", type=int, default=3, help="passes over the cases per round")
    ap.add_argument("--parts", action="store_true")
    args = ap.parse_args()
    old = baseline(args.baseline)
    loads = workloads()
    variants: dict[str, Callable[[Any, Any], Any]] = {
        f"{args.baseline}": lambda c, h: old.export_cases(c, h),
        "this tree": lambda c, h: new_export.export_cases(c, h),
    }
    if args.parts:
        from safety.e2b.conformance import check_tree
        from safety.e2b.writer import build_batch, serialise

        tree: dict[int, Any] = {}

        def built(c: Any, h: Any) -> Any:
            tree[0] = build_batch(c, h)

        variants.update({
            "  write (this tree)": built,
            "  serialise (this tree)": lambda c, h: serialise(build_batch(c, h)),
            "  write+check (this tree)": lambda c, h: check_tree(build_batch(c, h), h.profile),
        })
    for fn in variants.values():  # warm: caches, rule compilation
        for work in loads.values():
            per_message_us(fn, work)
    results: dict[tuple[str, str], list[float]] = {}
    for i in range(args.rounds):
        for load, work in loads.items():
            order = list(variants.items())
            for label, fn in order if i % 2 else reversed(order):
                gc.collect()
                results.setdefault((load, label), []).append(
                    per_message_us(fn, work * args.repeat))
    print(f"median µs CPU per message over {args.rounds} alternating rounds")
    for load in loads:
        base = statistics.median(results[(load, args.baseline)])
        for label in variants:
            med = statistics.median(results[(load, label)])
            print(f"{load:24} {label:28} {med:8.0f}  {med / base:6.2f}x")


if __name__ == "__main__":
    main()
