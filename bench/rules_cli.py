"""Cold start of ``safety rules evaluate``: wall time of whole fresh processes.

Issue #15 target: median of 10 runs under 0.3 s on this machine. Each run is a new interpreter
running the installed ``safety`` entry point on the demo case history, as a user would; the
median is printed with the spread (the machine is shared, so the tail is noise).

Run: ``.venv/bin/python bench/rules_cli.py [--runs 10]``; see what is imported with
``.venv/bin/python -X importtime -m safety.cli rules evaluate FILE --json``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "safety" / "rules" / "examples" / "demo_case.json"
# A case history of four entries: a licence partner's and the sponsor's receipts, the sponsor's
# causality assessment, a filing, a fatal follow-up (issue #15: HISTORY.json is the unit).
HISTORY = ROOT / "safety" / "rules" / "examples" / "demo_history.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--file", type=Path, default=HISTORY,
                        help="what to evaluate (default: the demo case history)")
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("safety")
    cmd = [str(exe), "rules", "evaluate", str(args.file), "--json"]
    times, cpu = [], []
    for _ in range(args.runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    times.sort()
    print(f"safety rules evaluate {args.file.name} --json, {args.runs} cold starts: "
          f"median {statistics.median(times):.3f} s wall (min {times[0]:.3f}, max "
          f"{times[-1]:.3f}), median {statistics.median(cpu):.3f} s CPU (user+sys; less "
          "sensitive to other processes on a shared machine)")


if __name__ == "__main__":
    main()
