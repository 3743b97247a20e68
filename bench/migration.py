"""Migration benchmark (issue 21): a generated legacy export of ``--reports`` reports (E2B from
licence partners on the official FDA/ICH examples, site SAE forms, follow-ups, partner copies
of site cases, multi-message batches, historical cases) imported with ``safety import
--manifest`` into a PostgreSQL and a Redis of its own, with ``--workers`` ``safety worker``
processes running.

    python bench/migration.py [--reports 10000] [--workers 2] [--seed 21] [--json PATH]

It prints: the generation time; the import's wall time (storing, and until every report's
stages are done) and reports/s; the reconciliation (counts in vs cases out, unaccounted);
the check that every report kept its original dates (``factories.migration.verify``: receipt
day, case version receipt, C.1.5, and C.1.4 of every new E2B case); and bulk-load fairness:
the time from the import's start to the first suspected duplicate flagged, how many reports
were stored by then, and each flagged report's time from being stored to being flagged
(p50/p95/max). The servers run on free loopback ports with data directories in a temporary
folder (``faults.py``'s classes); the machine's shared servers are never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


def main() -> int:
    from factories.migration import verify, write_migration
    from faults import Postgres, RedisServer  # type: ignore[import-not-found]

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--timeout", type=int, default=14_400)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="safety-migration-"))
    base.chmod(0o755)  # the postgres OS user reaches its data directory inside
    pg, redis = Postgres(base), RedisServer(base)
    workers: list[subprocess.Popen[bytes]] = []
    figures: dict[str, Any] = {"reports": args.reports, "workers": args.workers,
                               "seed": args.seed}
    try:
        pg.init()
        redis.start()
        import psycopg

        with psycopg.connect(pg.url("postgres"), autocommit=True) as c:
            c.execute("CREATE DATABASE safety")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETY_")}
        env.update(SAFETY_DATABASE_URL=pg.url("safety"), SAFETY_REDIS_URL=redis.url,
                   SAFETY_HOME=str(base / "home"), SAFETY_SECRET_KEY=uuid.uuid4().hex,
                   SAFETY_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
        safety = [sys.executable, "-m", "safety.cli"]
        subprocess.run([*safety, "db", "upgrade"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([*safety, "products", "import",
                        str(ROOT / "safety" / "demo" / "registry.json")],
                       env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        started = time.monotonic()
        m = write_migration(base / "export", args.reports, seed=args.seed)
        figures["generate_s"] = round(time.monotonic() - started, 1)
        figures["generated"] = dict(m.counts())
        print(f"generated {figures['generated']} in {figures['generate_s']} s", flush=True)
        logs = base / "logs"
        logs.mkdir()
        for n in range(args.workers):
            workers.append(subprocess.Popen(
                [*safety, "worker"], env=env, cwd=ROOT,
                stdout=(logs / f"worker{n}.log").open("wb"), stderr=subprocess.STDOUT))
        _wait_workers(env, args.workers)
        out_path, err_path = base / "import.out", base / "import.err"
        t0 = time.time()
        started = time.monotonic()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            done = subprocess.run([*safety, "import", "--manifest", str(m.manifest),
                                   "--timeout", str(args.timeout)],
                                  env=env, cwd=ROOT, stdout=out, stderr=err)
        figures["import_wall_s"] = round(time.monotonic() - started, 1)
        figures["exit_code"] = done.returncode
        lines = [json.loads(x) for x in out_path.read_text().splitlines() if x.strip()]
        rec = next((x["reconciliation"] for x in lines if "reconciliation" in x), None)
        reports = [x for x in lines if "report_id" in x]
        figures["reconciliation"] = {k: v for k, v in (rec or {}).items()
                                     if k not in ("rejected", "unaccounted_reports")}
        figures["rejected_reasons"] = (rec or {}).get("rejected", [])[:10]
        figures["reports_per_s"] = round(len(reports) / figures["import_wall_s"], 1)
        figures.update(_database_figures(pg.url("safety"), t0))
        os.environ["SAFETY_DATABASE_URL"] = pg.url("safety")
        from safety.db.session import session_scope
        from safety.sponsors.service import profile

        with session_scope(pg.url("safety")) as s:
            zone = profile(s, 1).zone
            figures["dates"] = verify(s, reports, m, zone)
        print(json.dumps(figures, indent=2, default=str))
        print((err_path.read_text().strip().splitlines() or [""])[-1])
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str))
        ok = (done.returncode == 0 and rec is not None and rec["reconciled"]
              and figures["dates"]["mismatch_count"] == 0)
        return 0 if ok else 1
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
        redis.stop()
        if pg.running():
            pg.stop("fast")


def _wait_workers(env: dict[str, str], count: int) -> None:
    from redis import Redis
    from rq import Worker

    conn = Redis.from_url(env["SAFETY_REDIS_URL"])
    deadline = time.monotonic() + 120
    while len(Worker.all(connection=conn)) < count:
        if time.monotonic() > deadline:
            sys.exit("the workers did not start")
        time.sleep(0.5)


def _database_figures(url: str, t0: float) -> dict[str, Any]:
    """Fairness in a bulk load, from what the database recorded: when each report was
    stored (``migrated_reports.imported_at``) and when its version was flagged as a suspected
    duplicate (``dedup_candidates.created_at``)."""
    import psycopg

    with psycopg.connect(url) as c:
        first_stored, last_stored = c.execute(
            "SELECT min(imported_at), max(imported_at) FROM migrated_reports").fetchone()
        flags = c.execute(
            "SELECT min(d.created_at) AS flagged, m.imported_at FROM dedup_candidates d "
            "JOIN reports r ON r.case_version_id = d.case_version_id "
            "JOIN migrated_reports m ON m.report_id = r.id "
            "WHERE d.suspected GROUP BY d.case_version_id, m.imported_at "
            "ORDER BY 1").fetchall()
        last_done = c.execute("SELECT max(at) FROM audit_events WHERE action LIKE 'stage.%' "
                              "OR action LIKE 'case.%'").fetchone()[0]
        stored_by_first = c.execute(
            "SELECT count(*) FROM migrated_reports WHERE imported_at <= %s",
            (flags[0][0],)).fetchone()[0] if flags else None
    lag = [(f - s).total_seconds() for f, s in flags]
    out: dict[str, Any] = {
        "storing_s": round((last_stored - first_stored).total_seconds(), 1)
        if first_stored else None,
        "flagged_versions": len(flags),
        "first_flag_after_start_s": round(flags[0][0].timestamp() - t0, 1) if flags else None,
        "reports_stored_at_first_flag": stored_by_first,
        "stored_to_flagged_s": {"p50": _pct(lag, 0.5), "p95": _pct(lag, 0.95),
                                "max": _pct(lag, 1.0)},
    }
    if last_done is not None and first_stored is not None:
        out["last_activity_after_first_store_s"] = round(
            (last_done - first_stored).total_seconds(), 1)
    if lag:
        out["stored_to_flagged_mean_s"] = round(statistics.fmean(lag), 2)
    return out


if __name__ == "__main__":
    sys.exit(main())
