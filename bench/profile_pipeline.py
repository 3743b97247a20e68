"""Profile one warm worker's job function in this process (issue 20): N demo reports run
through ``process_report`` (intake and every stage), on PostgreSQL and Redis servers of its
own (``pipeline.py``'s), with the database statements counted per report.

    python bench/profile_pipeline.py [--reports 60] [--profile cprofile|pyinstrument|none]
                                     [--top 40] [--out PATH]

Prints statements per report, CPU ms per report of this process (the job functions only:
PostgreSQL and Redis run elsewhere) and the profile's top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import importlib.util  # noqa: E402

# ``tests/pipeline`` is a package of the same name: load the bench by its path.
_spec = importlib.util.spec_from_file_location("bench_pipeline", ROOT / "bench" / "pipeline.py")
assert _spec is not None and _spec.loader is not None
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
Run, Servers, store = _bench.Run, _bench.Servers, _bench.store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=60)
    ap.add_argument("--warm", type=int, default=5, help="reports run before measuring")
    ap.add_argument("--profile", choices=("cprofile", "pyinstrument", "none"),
                    default="cprofile")
    ap.add_argument("--top", type=int, default=45)
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--wall", action="store_true",
                    help="cProfile on wall-clock time (default: this process's CPU time, "
                         "which waiting for the servers on a loaded machine does not inflate)")
    ap.add_argument("--statements", action="store_true",
                    help="print the statements of the last report, each with its caller")
    args = ap.parse_args()
    servers = Servers(None, None)
    try:
        run = Run(servers, "bench_profile", 0)
        os.environ.update(run.env)
        from sqlalchemy import event

        from safety.db.session import get_engine
        from safety.demo.generator import generate_forms
        from safety.logging import configure_logging
        from safety.pipeline import jobs
        from safety.pipeline.worker import warm_caches

        configure_logging(run.settings.log_level)  # as the worker does (WARNING here)
        warm_caches(run.settings)
        counter = {"n": 0}
        last: list[str] = []

        def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            counter["n"] += 1
            if args.statements:
                import traceback

                here = [f"{Path(f.filename).relative_to(ROOT)}:{f.lineno} {f.name}"
                        for f in traceback.extract_stack()
                        if f.filename.startswith(str(ROOT / "safety"))]
                last.append(" ".join(statement.split())[:110] + "\n      "
                            + " < ".join(reversed(here[-3:])))

        event.listen(get_engine(run.settings.effective_database_url),
                     "before_cursor_execute", on_execute)
        ids = store(run.settings, generate_forms(args.reports + args.warm, seed=22),
                    lambda ids, *, fresh: None)
        for rid in ids[:args.warm]:
            jobs.process_report(str(rid))
        statements: list[int] = []
        prof: Any = None
        if args.profile == "cprofile":
            prof = (cProfile.Profile() if args.wall
                    else cProfile.Profile(time.process_time))  # type: ignore[arg-type]
        elif args.profile == "pyinstrument":
            from pyinstrument import Profiler

            prof = Profiler(interval=0.0005)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if prof is not None:
            prof.enable() if args.profile == "cprofile" else prof.start()
        for rid in ids[args.warm:]:
            before = counter["n"]
            last.clear()
            jobs.process_report(str(rid))
            statements.append(counter["n"] - before)
        if prof is not None:
            prof.disable() if args.profile == "cprofile" else prof.stop()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        n = len(ids) - args.warm
        print(f"reports {n}: statements/report mean {statistics.fmean(statements):.1f} "
              f"(min {min(statements)}, max {max(statements)}); this process CPU "
              f"{cpu * 1000 / n:.1f} ms/report, wall {wall * 1000 / n:.1f} ms/report "
              f"(profiler on: {args.profile}); load {os.getloadavg()[0]:.2f}")
        for i, line in enumerate(last, 1):
            print(f"{i:3} {line}")
        if args.profile == "cprofile":
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats(args.sort).print_stats(args.top)
            text = s.getvalue()
            if args.out:
                prof.dump_stats(str(args.out))
            print(text)
        elif args.profile == "pyinstrument":
            print(prof.output_text(unicode=False, color=False, show_all=False))
    finally:
        servers.close()


if __name__ == "__main__":
    main()
