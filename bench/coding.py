"""Coding benchmark: terms/s on the exact/synonym and fuzzy paths, index build time and memory.

Usage: ``python bench/coding.py [--repeat 5] [--llts 80000] [--queries 4000]``

Two dictionaries: the bundled open one, and a generated MedDRA-sized one (80,000 LLTs under
24,000 PTs, 1,700 HLTs, 340 HLGTs, 27 SOCs) written as MedAscii files and read through the real
loader. Names are random combinations of the words of the bundled dictionary, so word and
length distributions are realistic. Single process, single thread (per-core figures).
Prints medians over ``--repeat`` runs and the ratio to each target.

``--semantic`` also measures the semantic path (needs the ``semantic`` extra): index build time
and resident memory, loading the stored index, and terms/s through ``code_many`` on texts that
reach the semantic stage (the lay verbatims of ``tests/data/coding_lay_set.csv`` on the
bundled dictionary; misspelled names on the generated one). One torch thread (one core).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safety.coding.autocoder import Autocoder  # noqa: E402
from safety.coding.meddra_ascii import load_meddra_ascii  # noqa: E402
from safety.coding.open_dictionary import load_open_dictionary  # noqa: E402
from safety.coding.terminology import Terminology  # noqa: E402
from safety.package_data import BUNDLED_DICTIONARIES  # noqa: E402

TARGET_EXACT = 20_000.0
TARGET_FUZZY = 1_000.0
TARGET_BUILD = 5.0
TARGET_SEMANTIC = 500.0


def generate_medascii(folder: Path, n_llt: int, rng: random.Random, words: list[str]) -> None:
    n_pt, n_hlt, n_hlgt, n_soc = n_llt * 3 // 10, 1700, 340, 27
    code = iter(range(10_000_000, 99_999_999))
    socs = [next(code) for _ in range(n_soc)]
    hlgts = [(next(code), rng.choice(socs)) for _ in range(n_hlgt)]
    hlts = [(next(code), rng.choice(hlgts)) for _ in range(n_hlt)]

    def name(k: int) -> str:
        return " ".join(rng.choice(words) for _ in range(k)).capitalize()

    names: set[str] = set()

    def unique(k: int) -> str:
        for attempt in range(1000):
            n = name(k + attempt // 10)  # a longer name once short ones are used up
            if n not in names:
                names.add(n)
                return n
        raise RuntimeError("word list too small for the requested dictionary size")

    pts = [(next(code), unique(rng.choice((1, 2, 2, 3, 3, 4)))) for _ in range(n_pt)]
    (folder / "soc.asc").write_text("".join(f"{s}$SOC {s}$S{i}$$$$$$$$\n"
                                            for i, s in enumerate(socs)))
    (folder / "hlgt.asc").write_text("".join(f"{h}$HLGT {h}$$$$$$$$\n" for h, _ in hlgts))
    (folder / "hlt.asc").write_text("".join(f"{h}$HLT {h}$$$$$$$$\n" for h, _ in hlts))
    pt_lines, hier_lines, llt_lines = [], [], []
    for pt, pt_name in pts:
        primary = rng.choice(hlts)
        paths = [primary] + ([rng.choice(hlts)] if rng.random() < 0.1 else [])
        soc = primary[1][1]
        pt_lines.append(f"{pt}${pt_name}$${soc}$$$$$$$$\n")
        for i, (hlt, (hlgt, hsoc)) in enumerate(paths):
            flag = "Y" if i == 0 else "N"
            if i and hsoc == soc:
                continue
            hier_lines.append(f"{pt}${hlt}${hlgt}${hsoc}${pt_name}$HLT$HLGT$SOC$S$${soc}${flag}$\n")
        llt_lines.append(f"{pt}${pt_name}${pt}$$$$$$$Y$$\n")
    for _ in range(n_llt - n_pt):
        pt, _ = rng.choice(pts)
        current = "N" if rng.random() < 0.15 else "Y"
        llt_name = unique(rng.choice((2, 3, 3, 4, 5)))
        llt_lines.append(f"{next(code)}${llt_name}${pt}$$$$$$${current}$$\n")
    (folder / "pt.asc").write_text("".join(pt_lines))
    (folder / "mdhier.asc").write_text("".join(hier_lines))
    (folder / "llt.asc").write_text("".join(llt_lines))
    (folder / "meddra_release.asc").write_text("0.0$English$$\n")


def misspell(text: str, rng: random.Random) -> str:
    letters = list(text.lower())
    for _ in range(1 if len(letters) < 10 else 2):
        i = rng.randrange(len(letters))
        op = rng.randrange(3)
        if op == 0 and len(letters) > 3:
            del letters[i]
        elif op == 1:
            letters[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        elif i + 1 < len(letters):
            letters[i], letters[i + 1] = letters[i + 1], letters[i]
    return "".join(letters)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def build_memory(terms: Terminology, kind: str) -> float:
    tracemalloc.start()
    coder = Autocoder(terms, kind)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del coder
    return size / 1e6


def bench(label: str, terms: Terminology, kind: str, args: argparse.Namespace,
          rng: random.Random) -> None:
    builds = timed(lambda: Autocoder(terms, kind), args.repeat)
    coder = Autocoder(terms, kind)
    level = coder.level
    names = [c.name for c in terms.at_level(level) if c.current]
    names += [s.text for s in terms.synonyms if s.level == level]
    exact = [rng.choice(names) for _ in range(args.queries)]
    exact = [n.upper() if i % 3 == 0 else n + "." if i % 3 == 1 else n
             for i, n in enumerate(exact)]
    sources = [rng.choice(names) for _ in range(args.queries // 4)]
    fuzzy = [misspell(n, rng) for n in sources]
    want = [coder.code(n).code for n in sources]
    hits = [coder.code(v) for v in fuzzy]
    top1 = sum(
        1 for h, w in zip(hits, want, strict=True)
        if h.code and w and coder.group_of(h.code) == coder.group_of(w)
    ) / len(fuzzy)
    review = sum(1 for v in exact if not coder.code(v).auto) / len(exact)
    unambiguous = [v for v in exact if coder.code(v).auto]
    methods: dict[str, int] = {}
    for v in fuzzy:
        m = coder.code(v).method
        methods[m] = methods.get(m, 0) + 1
    t_exact = timed(lambda: [coder.code(v) for v in exact], args.repeat)
    t_unamb = timed(lambda: [coder.code(v) for v in unambiguous], args.repeat)

    def fuzzy_run() -> None:
        coder.index.clear_memo()  # misspellings must not be answered from the last repeat
        for v in fuzzy:
            coder.code(v)

    t_fuzzy = timed(fuzzy_run, args.repeat)
    mem = build_memory(terms, kind)
    rate_exact = len(exact) / statistics.median(t_exact)
    rate_fuzzy = len(fuzzy) / statistics.median(t_fuzzy)
    rate_unamb = len(unambiguous) / statistics.median(t_unamb)
    build = statistics.median(builds)
    print(f"{label}: {len(names)} indexed texts, {len(coder.index.keys)} keys")
    print(f"  index build     median {build:.3f} s   (target < {TARGET_BUILD:.0f} s: "
          f"x{TARGET_BUILD / build:.1f} headroom)   index memory {mem:.0f} MB")
    print(f"  exact/synonym   median {rate_exact:,.0f} terms/s "
          f"(target {TARGET_EXACT:,.0f}: ratio {rate_exact / TARGET_EXACT:.2f}); "
          f"{review:.0%} of these name several concepts and also get fuzzy suggestions")
    print(f"  exact, one concept  median {rate_unamb:,.0f} terms/s "
          f"(ratio {rate_unamb / TARGET_EXACT:.2f})")
    print(f"  fuzzy           median {rate_fuzzy:,.0f} terms/s "
          f"(target {TARGET_FUZZY:,.0f}: ratio {rate_fuzzy / TARGET_FUZZY:.2f}); "
          f"methods on misspelled inputs: {methods}; same concept as the unmisspelled "
          f"name: {top1:.0%}")


def bench_semantic(label: str, terms: Terminology, texts: list[str],
                   args: argparse.Namespace) -> None:
    import csv
    import resource

    from safety.coding.semantic import load_embedder

    embedder = load_embedder()
    if embedder is None:
        print(f"{label} semantic: the semantic extra is not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        coder = Autocoder(terms, "events", embedder=embedder, index_dir=Path(tmp))
        build = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert coder.semantic is not None
        size = sum(f.stat().st_size for f in Path(tmp).glob("*.npy")) / 1e6
        start = time.perf_counter()
        Autocoder(terms, "events", embedder=embedder, index_dir=Path(tmp))
        load = time.perf_counter() - start
    if not texts:
        path = ROOT / "tests/data/coding_lay_set.csv"
        with path.open(encoding="utf-8") as fh:
            texts = [r["verbatim"] for r in csv.DictReader(x for x in fh if x[0] != "#")]
    semantic = coder.semantic

    def run() -> None:
        semantic._memo.clear()  # every repeat encodes its queries again
        coder.index.clear_memo()
        coder.code_many(texts)

    reached = sum(1 for r in coder.code_many(texts) if r.fused is not None)
    cpu: list[float] = []

    def run_cpu() -> None:
        start = time.process_time()
        run()
        cpu.append(time.process_time() - start)

    t = timed(run_cpu, args.repeat)
    rate = len(texts) / statistics.median(t)
    # On a shared machine the wall clock counts the other processes' turns too; the CPU time
    # of this (single-threaded) process is what one core of its own would take.
    rate_cpu = len(texts) / statistics.median(cpu)
    print(f"{label} semantic ({embedder.name}): {len(semantic.texts)} texts indexed")
    print(f"  index build     {build:.1f} s (peak RSS +{rss_after - rss_before:.0f} MB, "
          f"stored {size:.0f} MB); loading the stored index {load:.2f} s")
    print(f"  semantic path   median {rate:,.0f} terms/s wall, {rate_cpu:,.0f} terms/s of "
          f"CPU time (target {TARGET_SEMANTIC:,.0f}: ratio {rate_cpu / TARGET_SEMANTIC:.2f}); "
          f"{reached} of {len(texts)} reached the semantic stage; load average "
          f"{os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--llts", type=int, default=80_000)
    parser.add_argument("--queries", type=int, default=4000)
    parser.add_argument("--semantic", action="store_true")
    args = parser.parse_args(argv)
    rng = random.Random(20261124)

    start = time.perf_counter()
    events, drugs = load_open_dictionary(BUNDLED_DICTIONARIES)  # uncached: timed
    print(f"bundled dictionary load {time.perf_counter() - start:.2f} s")
    bench("bundled events", events, "events", args, rng)
    bench("bundled drugs", drugs, "drugs", args, rng)
    if args.semantic:
        bench_semantic("bundled events", events, [], args)

    words = sorted({w.lower() for c in events.at_level("LLT") for w in c.name.split()
                    if w.isalpha() and len(w) > 2})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate_medascii(folder, args.llts, rng, words)
        start = time.perf_counter()
        generated = load_meddra_ascii(folder)
        print(f"generated MedAscii ({args.llts} LLTs) load {time.perf_counter() - start:.2f} s")
    bench(f"generated {args.llts}-LLT", generated, "events", args, rng)
    if args.semantic:
        names = [c.name for c in generated.at_level("LLT") if c.current]
        texts = [misspell(rng.choice(names), rng) for _ in range(args.queries // 4)]
        bench_semantic(f"generated {args.llts}-LLT", generated, texts, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
