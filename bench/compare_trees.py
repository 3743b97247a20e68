"""Does a change alter what the pipeline writes? (issue 20: speed work must not change
behaviour.) The same N demo reports go through the job function of two checkouts, each on
PostgreSQL and Redis servers of its own (``pipeline.py``'s), and every table the pipeline
writes is compared, normalised: ids become the case number, version or report they name,
instants become ``T`` (the two runs happen at different times), the audit trail is compared
per case in the order it was written.

    python bench/compare_trees.py --baseline ../old-checkout [--reports 150]

Exit status 1 when any table differs (the differing tables are printed).
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
TABLES = ["reports", "cases", "case_versions", "case_coded_views", "obligations",
          "case_anchors", "obligation_recommendations", "case_assessments", "submissions",
          "dedup_candidates", "dedup_profiles", "dedup_block_keys", "dedup_identifiers",
          "queue_entries", "queue_terms", "queue_counts", "unblindings", "case_receipts",
          "questions"]
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?"
                      r"|\d{14}[+-]\d{4}")
_TIMING = {"ms", "started", "seconds", "at", "instant"}


def dump(root: Path, reports: int, out: Path) -> None:
    """In a process whose ``safety`` is ``root``'s: run the reports, write the tables."""
    sys.path[:0] = [str(root / "bench"), str(root / "tests"), str(root)]
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_pipeline", root / "bench" / "pipeline.py")
    assert spec is not None and spec.loader is not None
    bench: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    servers = bench.Servers(None, None)
    try:
        run = bench.Run(servers, "bench_compare", 0)
        os.environ.update(run.env)
        import safety
        from safety.demo.generator import generate_forms
        from safety.pipeline import jobs
        from safety.pipeline.worker import warm_caches

        assert Path(safety.__file__).resolve().is_relative_to(root), safety.__file__
        warm_caches(run.settings)
        ids = bench.store(run.settings, generate_forms(reports, seed=22),
                          lambda ids, *, fresh: None)
        for rid in ids:
            jobs.process_report(str(rid))
        out.write_text(json.dumps(_tables(run.settings.effective_database_url, ids),
                                  sort_keys=True, default=str))
    finally:
        servers.close()


def _tables(url: str, report_ids: list[uuid.UUID]) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as c:
        labels = {str(rid): f"R{i}" for i, rid in enumerate(report_ids)}
        labels.update({str(i): n for i, n in c.execute(text("SELECT id, case_number FROM cases"))})
        labels.update({str(i): f"{n}/v{v}" for i, n, v in c.execute(text(
            "SELECT v.id, c.case_number, v.version FROM case_versions v "
            "JOIN cases c ON c.id = v.case_id"))})

        def norm(x: Any) -> Any:
            if isinstance(x, dict):
                return {k: "T" if k.endswith("_at") or k in _TIMING else norm(v)
                        for k, v in x.items()}
            if isinstance(x, list | tuple):
                return [norm(v) for v in x]
            if isinstance(x, datetime.datetime):
                return "T"
            if isinstance(x, datetime.date | decimal.Decimal | uuid.UUID | bytes):
                x = x.decode() if isinstance(x, bytes) else str(x)
            if isinstance(x, str):
                x = _INSTANT.sub("T", _UUID.sub(lambda m: labels.get(m.group(0), "U"), x))
            return x

        out: dict[str, Any] = {}
        for table in TABLES:
            rows = [{k: v for k, v in r._mapping.items() if k not in ("id", "seq")}
                    for r in c.execute(text(f"SELECT * FROM {table}"))]
            out[table] = sorted(json.dumps(norm(r), sort_keys=True) for r in rows)
        trail: dict[str, list[Any]] = {}
        for r in c.execute(text("SELECT case_id, action, entity_type, changes, reason "
                                "FROM audit_events ORDER BY id")):
            trail.setdefault(labels.get(str(r.case_id), "none"), []).append(
                norm([r.action, r.entity_type, r.changes, r.reason]))
        out["audit_events (per case, in order)"] = trail
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    ap.add_argument("--reports", type=int, default=150)
    ap.add_argument("--dump", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dump:
        dump(Path(args.dump[0]).resolve(), args.reports, Path(args.dump[1]))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, root in (("baseline", args.baseline.resolve()), ("this", HERE)):
            out = Path(tmp) / f"{name}.json"
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--baseline", ".",
                            "--reports", str(args.reports), "--dump", str(root), str(out)],
                           cwd=root, check=True, stdout=subprocess.DEVNULL)
            results.append(json.loads(out.read_text()))
    before, after = results
    differ = [t for t in before if before[t] != after.get(t)]
    for table in before:
        size = len(before[table])
        print(f"{table}: {'DIFFERS' if table in differ else 'same'} ({size} rows or cases)")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
