"""Benchmark: duplicate candidate retrieval + scoring at 1,000,000 cases, and a batch scan.

    .venv/bin/python bench/dedup.py [--cases 1000000] [--queries 1000] [--scan-cases 100000]

0. Starts a PostgreSQL server of its own on a free loopback port (data in a temporary folder,
   tuned for a bulk load: no fsync, big WAL, 1 GB for index builds), unless --dsn names one;
   --keep leaves it running and prints its address, for --skip-load runs against the same data.
1. Generates cases with the evaluation generator (several seeds in parallel), bulk-loads their
   profiles, blocking keys and identifiers with COPY into tables without indexes, then builds
   the indexes the schema declares, in a schema of its own (dropped at the end unless --keep).
2. Matches held-back incoming reports (some are duplicates or follow-ups of loaded cases) with
   ``safety.dedup.store.match_stored``: identifier lookup, blocking-key lookup, profile fetch and
   scoring of every candidate, as the pipeline stage does. Prints p50/p95/max.
3. Runs the in-memory batch scan (``safety.dedup.scan.scan``) over a stream of about
   --scan-cases cases and prints its duration.

The generator's vocabulary is small (20 substances, 22 events, 12 countries), so blocking
buckets at 1M cases are larger than with a real product/MedDRA spread: a pessimistic setting.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from safety.cases.versioning import identity
from safety.dedup.blocking import KEYS_VERSION, blocking_keys
from safety.dedup.evaluation.generator import LabelledReport, generate_stream
from safety.dedup.matching import MAX_CANDIDATES
from safety.dedup.profile import build_profile
from safety.dedup.scan import scan
from safety.dedup.scoring import load_model
from safety.dedup.store import KEY_LENGTH, TABLES, candidate_rows, match_stored
from safety.sponsors.store import Sponsor  # noqa: F401  (the tables' sponsor_id references it)

CHUNK_CASES = 20000
SPONSOR = 1  # every bench case belongs to one sponsor (the lookups are per sponsor)
QUERY_SEED = 424242


def _case_uuid(chunk: int, n: int) -> str:
    return str(uuid.UUID(int=(chunk + 1) * 10**9 + n))


def _rows(chunk: int, reports: list[LabelledReport]) -> tuple[list[tuple[str, str, str]], str, str]:
    """Profile rows, and tab-separated key and identifier rows (keys contain no tab/backslash)."""
    profiles: list[tuple[str, str, str]] = []
    keys: list[str] = []
    idents: list[str] = []
    for n, r in enumerate(reports):
        if r.kind == "followup":
            continue
        cid = _case_uuid(chunk, n)
        profile = build_profile(r.case)
        ident = identity(r.case)
        profiles.append((cid, json.dumps(profile.to_json()), json.dumps(ident.to_json())))
        keys.extend(f"{k[:KEY_LENGTH]}\t{cid}\t{SPONSOR}\n" for k in blocking_keys(profile))
        idents.extend(f"{k}\t{cid}\t{SPONSOR}\n" for k in ident.keys())
    return profiles, "".join(keys), "".join(idents)


def _chunk(args: tuple[int, int]) -> tuple[list[tuple[str, str, str]], str, str]:
    chunk, n_cases = args
    return _rows(chunk, generate_stream(1000 + chunk, n_cases))


def _copy_all(dsn: str, schema: str, jobs: Iterator[tuple[list[tuple[str, str, str]], str, str]],
              ) -> tuple[int, int, int]:
    import psycopg

    n_prof = n_keys = n_ids = 0
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        for profiles, keys, idents in jobs:
            sql = (f"COPY {schema}.dedup_profiles (case_id, profile, identity, sponsor_id, "
                   "keys_version) FROM STDIN")
            with cur.copy(sql) as cp:
                for row in profiles:
                    cp.write_row((*row, SPONSOR, KEYS_VERSION))
            sql = f"COPY {schema}.dedup_block_keys (key, case_id, sponsor_id) FROM STDIN"
            with cur.copy(sql) as cp:
                cp.write(keys)
            sql = f"COPY {schema}.dedup_identifiers (key, case_id, sponsor_id) FROM STDIN"
            with cur.copy(sql) as cp:
                cp.write(idents)
            n_prof += len(profiles)
            n_keys += keys.count("\n")
            n_ids += idents.count("\n")
            print(f"  loaded {n_prof:,} cases, {n_keys:,} keys", flush=True)
    return n_prof, n_keys, n_ids


BULK_TABLES = ("dedup_block_keys", "dedup_identifiers", "dedup_profiles")
# Only while the server loads: a bench's data is thrown away, so no crash safety is needed.
SERVER_CONF = ("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
               "wal_level = minimal\nmax_wal_senders = 0\nmax_wal_size = 8GB\n"
               "shared_buffers = 1GB\nmaintenance_work_mem = 1GB\nwork_mem = 32MB\n"
               "max_parallel_maintenance_workers = 2\n")


def private_server(base: Path) -> Any:
    """A throwaway PostgreSQL cluster of the bench's own (``bench/faults.py``'s), tuned for a
    bulk load; returns it started, with a ``bench`` database."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import psycopg
    from faults import Postgres  # type: ignore[import-not-found]

    pg = Postgres(base)
    pg.init()
    pg._run("sh", "-c", f"printf %s \"{SERVER_CONF}\" >> {pg.data}/postgresql.conf")
    pg.stop("fast")
    pg.start()
    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench")
    return pg


def _drop_indexes(conn: Any, schema: str) -> None:
    """Bulk tables without their primary keys and indexes while COPY fills them."""
    for table in TABLES:
        if table.name in BULK_TABLES:
            conn.execute(text(f"ALTER TABLE {schema}.{table.name} "
                              f"DROP CONSTRAINT pk_{table.name}"))
            for ix in table.indexes:
                conn.execute(text(f"DROP INDEX {schema}.{ix.name}"))


def _build_indexes(conn: Any, schema: str) -> None:
    """The primary keys and indexes the schema declares, built once over the loaded rows."""
    for table in TABLES:
        if table.name in BULK_TABLES:
            cols = ", ".join(c.name for c in table.primary_key.columns)
            conn.execute(text(f"ALTER TABLE {schema}.{table.name} "
                              f"ADD CONSTRAINT pk_{table.name} PRIMARY KEY ({cols})"))
            for ix in table.indexes:
                ix.create(conn)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--scan-cases", type=int, default=100_000)
    parser.add_argument("--dsn", help="an existing server's database (default: a server of the "
                        "bench's own)")
    parser.add_argument("--pg-dir", type=Path, help="where the bench's own server keeps its "
                        "data (default: a temporary folder)")
    parser.add_argument("--schema", default="dedup_bench")
    parser.add_argument("--workers", type=int, default=max(1, multiprocessing.cpu_count()))
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--retrieve", type=int, default=MAX_CANDIDATES,
                        help="candidates scored per report")
    parser.add_argument("--limit", type=int, default=20, help="candidates explained per report")
    parser.add_argument("--dump", help="write each query's flagged candidates (JSON lines)")
    parser.add_argument("--skip-load", action="store_true", help="reuse a kept schema")
    parser.add_argument("--skip-db", action="store_true", help="only the batch scan")
    args = parser.parse_args()
    model = load_model()
    results: dict[str, Any] = {}

    server = None
    if not args.skip_db and not args.dsn:
        base = args.pg_dir or Path(tempfile.mkdtemp(prefix="dedup-bench-"))
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o755)
        server = private_server(base)
        args.dsn = server.url("bench")
        print(f"own PostgreSQL: {args.dsn} (data {server.data})", flush=True)
    if not args.skip_db:
        engine = create_engine(args.dsn.replace("postgresql://", "postgresql+psycopg://"))
        engine = engine.execution_options(schema_translate_map={None: args.schema})
        query_stream = generate_stream(QUERY_SEED, args.queries * 3)
        # Incoming reports: the later reports of the query stream, the earlier ones are loaded.
        # New reports (the heavy path: key lookup and scoring) and follow-ups (identifier
        # lookup only) are timed separately, --queries of each.
        later = query_stream[len(query_stream) // 2:]
        new = [r for r in later if r.kind != "followup"][: args.queries]
        fus = [r for r in later if r.kind == "followup"][: args.queries]
        held = {r.report_id for r in new + fus}
        loaded = [r for r in query_stream if r.report_id not in held]
        incoming = new + fus
        if not args.skip_load:
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {args.schema} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {args.schema}"))
                conn.execute(text(f"CREATE TABLE {args.schema}.sponsors (id integer PRIMARY KEY)"))
                conn.execute(text(f"INSERT INTO {args.schema}.sponsors VALUES ({SPONSOR})"))
                for table in TABLES:
                    table.create(conn)
                _drop_indexes(conn, args.schema)
            # Each true case yields about 1.38 stored cases (duplicates from other channels).
            n_chunks = max(1, round((args.cases - len(loaded)) / (CHUNK_CASES * 1.38)))
            started = time.perf_counter()
            with multiprocessing.Pool(args.workers) as pool:
                jobs = pool.imap_unordered(_chunk, [(i, CHUNK_CASES) for i in range(n_chunks)])
                counts = _copy_all(args.dsn, args.schema, _chain(_rows(10_000, loaded), jobs))
            load_s = time.perf_counter() - started
            started = time.perf_counter()
            with engine.begin() as conn:
                _build_indexes(conn, args.schema)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # VACUUM sets the visibility map after COPY, so key lookups are index-only.
                for table in ("dedup_block_keys", "dedup_identifiers", "dedup_profiles"):
                    conn.execute(text(f"VACUUM ANALYZE {args.schema}.{table}"))
            index_s = time.perf_counter() - started
            results["load"] = {"cases": counts[0], "block_keys": counts[1],
                               "identifiers": counts[2], "generate_and_copy_s": round(load_s, 1),
                               "index_build_s": round(index_s, 1)}
            print(json.dumps(results["load"]), flush=True)

        load_before = os.getloadavg()
        latencies: list[float] = []
        cpu_ms: list[float] = []  # this process's CPU per report: less sensitive to the load
        kinds: list[bool] = []
        stored_by_true_case: dict[str, set[str]] = {}
        stored_id: dict[str, str] = {}
        for n, r in enumerate(loaded):
            if r.kind != "followup":
                stored_by_true_case.setdefault(r.true_case, set()).add(_case_uuid(10_000, n))
                stored_id[r.report_id] = _case_uuid(10_000, n)
        fu_with_case = 0
        dump = open(args.dump, "w") if args.dump else None
        fu_right = dup_expected = dup_found = flagged_total = flagged_right = 0
        n_candidates: list[int] = []
        retrieved: list[int] = []
        sql_ms: list[float] = []
        followups = suspected = 0
        with Session(engine) as session:
            for r in incoming[:50]:  # warm the cache and the connection
                match_stored(session, r.case, model, SPONSOR, limit=args.limit,
                             retrieve=args.retrieve)
            for r in incoming:
                t0, c0 = time.perf_counter(), time.process_time()
                res = match_stored(session, r.case, model, SPONSOR, limit=args.limit,
                                   retrieve=args.retrieve)
                latencies.append((time.perf_counter() - t0) * 1000)
                cpu_ms.append((time.process_time() - c0) * 1000)
                kinds.append(r.kind == "followup")
                n_candidates.append(len(res.candidates))
                t0 = time.perf_counter()
                retrieved.append(len(candidate_rows(session, res.keys, SPONSOR, args.retrieve)))
                sql_ms.append((time.perf_counter() - t0) * 1000)
                followups += res.followup is not None
                suspected += any(c.suspected for c in res.candidates)
                # Accuracy at scale against the truth of the loaded query-stream cases.
                expected = stored_by_true_case.get(r.true_case, set())
                if dump is not None:
                    dump.write(json.dumps({"report": r.report_id, "kind": r.kind, "tag": r.tag,
                                           "expected": sorted(expected),
                                           "candidates": [c.to_json() for c in res.candidates
                                                          if c.suspected]}) + "\n")
                if r.kind == "followup":
                    target = stored_id.get(r.expected_link or "")
                    fu_with_case += target is not None
                    fu_right += res.followup is not None and res.followup.case_id == target
                    continue
                flagged = {c.case_id for c in res.candidates if c.suspected}
                dup_expected += len(expected)
                dup_found += len(flagged & expected)
                flagged_total += len(flagged)
                flagged_right += len(flagged & expected)
            n_db = session.execute(
                text(f"SELECT count(*) FROM {args.schema}.dedup_profiles")).scalar_one()
        new_ms = [t for t, fu in zip(latencies, kinds, strict=True) if not fu]
        new_cpu = [t for t, fu in zip(cpu_ms, kinds, strict=True) if not fu]
        fu_ms = [t for t, fu in zip(latencies, kinds, strict=True) if fu]
        results["match"] = {
            "cases_in_db": n_db, "queries": len(latencies),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(_pct(latencies, 0.95), 2), "max_ms": round(max(latencies), 2),
            "new_reports": len(new_ms),
            "new_p50_ms": round(statistics.median(new_ms), 2) if new_ms else None,
            "new_p95_ms": round(_pct(new_ms, 0.95), 2) if new_ms else None,
            "new_cpu_p50_ms": round(statistics.median(new_cpu), 2) if new_cpu else None,
            "new_cpu_p95_ms": round(_pct(new_cpu, 0.95), 2) if new_cpu else None,
            "followup_reports": len(fu_ms),
            "followup_p50_ms": round(statistics.median(fu_ms), 2) if fu_ms else None,
            "followup_p95_ms": round(_pct(fu_ms, 0.95), 2) if fu_ms else None,
            "mean_candidates_returned": round(statistics.mean(n_candidates), 1),
            "mean_candidates_scored": round(statistics.mean(retrieved), 1),
            "candidate_query_p50_ms": round(statistics.median(sql_ms), 2),
            "candidate_query_p95_ms": round(_pct(sql_ms, 0.95), 2),
            "followups_linked": followups, "with_suspected_duplicate": suspected,
            "followups_whose_case_is_in_db": fu_with_case,
            "followups_linked_to_the_right_case": fu_right,
            "duplicates_in_db_of_new_reports": dup_expected,
            "of_which_flagged": dup_found,
            "flagged_candidates": flagged_total,
            "flagged_that_are_true_duplicates": flagged_right,
        }
        print(json.dumps(results["match"]), flush=True)
        if not args.keep:
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {args.schema} CASCADE"))
        engine.dispose()
        if server is not None:
            if args.keep:
                print(f"kept: --dsn {args.dsn} --skip-load; stop with: runuser -u postgres -- "
                      f"{server.bin}/pg_ctl -D {server.data} stop", flush=True)
            else:
                server.stop("fast")

    if args.scan_cases:
        started = time.perf_counter()
        stream = generate_stream(99, int(args.scan_cases * 0.72))
        gen_s = time.perf_counter() - started
        started = time.perf_counter()
        result = scan(((r.report_id, r.case) for r in stream), model)
        scan_s = time.perf_counter() - started
        results["scan"] = {
            "reports": len(stream), "cases": len(result.cases),
            "candidate_pairs": len(result.scored),
            "links": len(result.links), "generate_s": round(gen_s, 1),
            "scan_s": round(scan_s, 1),
        }
        print(json.dumps(results["scan"]), flush=True)
    print(json.dumps(results, indent=2))


def _chain(first: Any, rest: Any) -> Iterator[Any]:
    yield first
    yield from rest


if __name__ == "__main__":
    main()
