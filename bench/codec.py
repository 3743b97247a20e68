"""Benchmark of the case codec (``safety.cases.codec``): µs of CPU per decode (``case_from_json``)
and per encode (``case_to_json``) of one case version, against the codec of another revision.

Two corpora: the demo generator's site forms as the intake makes them case data
(``payload_to_case``: what the worker decodes and encodes for a demo report), and the official
E2B examples as the E2B import reads them (larger cases: codings, dosages, tests). The other
revision's ``codec.py`` is loaded from git next to this tree's; rounds alternate the two and the
figures are the medians of the rounds (``time.process_time``: this process's CPU only).

Run: ``.venv/bin/python bench/codec.py [--against aa6d72c] [--rounds 7] [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from safety.cases import codec
from safety.cases.model import CaseVersionData
from safety.demo.generator import generate_forms
from safety.e2b.reader import read_batch
from safety.intake.channels import payload_to_case

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from factories.e2b import EXAMPLES, example  # noqa: E402 - the tests' list of the examples


def codec_at(rev: str) -> ModuleType:
    """``safety/cases/codec.py`` as it was at ``rev``, imported as a module of its own."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:safety/cases/codec.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "codec_then.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("codec_then", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["codec_then"] = module
    spec.loader.exec_module(module)
    return module


def corpora(forms: int) -> dict[str, list[CaseVersionData]]:
    demo = [payload_to_case("site_form", f) for f in generate_forms(forms)]
    examples = [m.case for name in sorted(EXAMPLES) for m in read_batch(example(name))]
    return {"demo forms": demo, "E2B examples": examples}


def cpu_us(fn: Callable[[Any], Any], items: list[Any], repeat: int) -> float:
    """CPU µs per call of ``fn`` over ``items``, ``repeat`` times."""
    start = time.process_time()
    for _ in range(repeat):
        for item in items:
            fn(item)
    return (time.process_time() - start) / (repeat * len(items)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="aa6d72c", help="git revision of the old codec")
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--repeat", type=int, default=2, help="passes over a corpus per round")
    parser.add_argument("--forms", type=int, default=36, help="demo forms generated")
    args = parser.parse_args()
    old = codec_at(args.against)
    impls: dict[str, ModuleType] = {args.against: old, "this tree": codec}
    for name, cases in corpora(args.forms).items():
        docs = [codec.case_to_json(c) for c in cases]
        for impl in impls.values():  # both give the same JSON and cases, warmed up
            assert [impl.case_to_json(c) for c in cases] == docs
            assert [impl.case_from_json(d) for d in docs] == cases
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for label, impl in impls.items():
                times.setdefault((label, "decode"), []).append(
                    cpu_us(impl.case_from_json, docs, args.repeat))
                times.setdefault((label, "encode"), []).append(
                    cpu_us(impl.case_to_json, cases, args.repeat))
        print(f"{name}: {len(cases)} cases, median of {args.rounds} rounds, CPU µs per case")
        for op in ("decode", "encode"):
            then, now = (statistics.median(times[(label, op)]) for label in impls)
            print(f"  {op}: {args.against} {then:8.1f}   this tree {now:8.1f}   "
                  f"({then / now:.1f}x)")


if __name__ == "__main__":
    main()
