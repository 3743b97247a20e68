"""E2B(R3) throughput per core: export + conformance check, and import.

Run: .venv/bin/python bench/e2b.py [--seconds 2]
Prints the median messages/s over several rounds for a typical case (safety.e2b.sample) and
for the largest example instance, and the ratio to the 200 msg/s export+check target.
Single process, single thread, timed in process CPU time: the figures are per core and do
drop less when other processes share the machine (hyper-threads and caches still do).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from safety.e2b.conformance import check
from safety.e2b.export import export_case
from safety.e2b.reader import read_batch
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader, build_batch, serialise

EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "e2b" / "data"
TARGET = 200.0


def rate(fn: Callable[[], object], seconds: float, rounds: int = 5) -> float:
    """Median calls per CPU-second of this process (per core)."""
    fn()
    results = []
    for _ in range(rounds):
        n, start = 0, time.process_time()
        while (elapsed := time.process_time() - start) < seconds / rounds:
            fn()
            n += 1
        results.append(n / elapsed)
    BEST[fn] = max(results)
    return statistics.median(results)


BEST: dict[Callable[[], object], float] = {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    largest = max((p for p in EXAMPLES.glob("*.xml") if "ack" not in p.name),
                  key=lambda p: p.stat().st_size)
    imported = read_batch(largest.read_bytes())[0]
    receiver = imported.header.batch_receiver
    dest = {"ZZFDA": "fda-postmarket", "ZZFDA_PREMKT": "fda-premarket"}.get(receiver or "", "ich")
    cases = {
        "typical (sample case, FDA post-market)": (sample_case(), "fda-postmarket", None),
        f"largest example ({largest.name}, {largest.stat().st_size // 1024} KiB)":
            (imported.case, dest, imported.header.message_receiver),
    }
    print(f"{'case':58} {'export+check':>13} {'(best)':>7} {'write':>7} {'check':>7} "
          f"{'import':>7}  ratio")
    for label, (case, destination, msg_rcv) in cases.items():
        header = ExportHeader(sender_id="BENCH", destination=destination,
                              batch_receiver=receiver if msg_rcv else None,
                              message_receiver=msg_rcv)
        xml = serialise(build_batch([case], header))
        assert export_case(case, header).ready, "benchmark case must be conformant"
        export_and_check = lambda c=case, h=header: export_case(c, h)  # noqa: E731
        both = rate(export_and_check, args.seconds)
        write = rate(lambda c=case, h=header: serialise(build_batch([c], h)), args.seconds)
        chk = rate(lambda x=xml, p=header.profile: check(x, p), args.seconds)
        imp = rate(lambda x=xml: read_batch(x), args.seconds)
        print(f"{label:58} {both:13.0f} {BEST[export_and_check]:7.0f} {write:7.0f} {chk:7.0f} "
              f"{imp:7.0f}  {both / TARGET:.2f}x of {TARGET:.0f}/s")
    print("messages per CPU-second (one core), median of 5 rounds; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
