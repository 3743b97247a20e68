"""Intake benchmark: concurrent clients posting SAE forms to SafetyDesk under gunicorn with
PostgreSQL and Redis, against a trivial endpoint of the same server in the same run.

    python bench/intake.py [--clients 16] [--seconds 10] [--web-workers 3]

Prints accepted reports/s, p50/p99 latency, and the ratio to GET /ping (the ceiling of this
server on this machine). Load comes from separate processes with keep-alive connections.
Every accepted report is checked to be in the database at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def _worker(kind: str, port: int, token: str, seconds: float, threads: int,
            out: mp.Queue) -> None:  # type: ignore[type-arg]
    import threading

    from factories.forms import sae_form

    # Bodies are made before the clock starts so the load generator spends its CPU on HTTP.
    template = json.dumps(sae_form(sae_id="@@ID@@"))
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[tuple[int, float]] = []
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while time.monotonic() < deadline:
            if kind == "ping":
                t0 = time.perf_counter()
                conn.request("GET", "/ping")
            else:
                body = template.replace("@@ID@@", f"BENCH-{uuid.uuid4().hex}")
                t0 = time.perf_counter()
                conn.request("POST", "/api/v1/reports", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            local.append((resp.status, time.perf_counter() - t0))
        conn.close()
        with lock:
            results.extend(local)

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put(results)


def load(kind: str, port: int, token: str, clients: int, seconds: float,
         procs: int) -> dict[str, float]:
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    per = max(1, clients // procs)
    ps = [mp.Process(target=_worker, args=(kind, port, token, seconds, per, q))
          for _ in range(procs)]
    t0 = time.monotonic()
    for p in ps:
        p.start()
    results: list[tuple[int, float]] = []
    for _ in ps:
        results.extend(q.get())
    for p in ps:
        p.join()
    elapsed = time.monotonic() - t0
    ok = [lat for st, lat in results if st in (200, 202)]
    lat = sorted(ok)
    return {
        "requests": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "per_second": len(ok) / elapsed,
        "p50_ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))] if lat else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432",
                    help="PostgreSQL server URL (a bench database is created on it)")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--web-workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--load-procs", type=int, default=2)
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()

    import psycopg

    dbname = f"safety_bench_{os.getpid()}"
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {dbname}")
        c.execute(f"CREATE DATABASE {dbname}")
    db_url = f"{args.pg}/{dbname}"
    env = dict(os.environ, SAFETY_DATABASE_URL=db_url, SAFETY_REDIS_URL=args.redis,
               SAFETY_HOME=str(ROOT / "bench" / "results" / "home"), SAFETY_LOG_LEVEL="WARNING",
               SAFETY_QUEUE_NAME="bench")
    os.environ.update(env)
    from redis import Redis

    from safety.config import load_settings
    from safety.db.migrate import upgrade
    from safety.db.session import session_scope
    from safety.sites import get_or_create_site, issue_token

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(db_url)
    Redis.from_url(args.redis).flushdb()
    with session_scope(settings.effective_database_url) as s:
        site, _ = get_or_create_site(s, "Bench site", "GB")
        token = issue_token(s, "bench", "site", site)

    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{args.port}",
         "-w", str(args.web_workers), "-k", "gthread", "--threads", str(args.threads),
         "--log-level", "warning", "safety.app:create_app()"], env=env, cwd=ROOT)
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=1)
                c.request("GET", "/ping")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        load("ping", args.port, token, 4, 1.0, 1)  # warm-up
        load("report", args.port, token, 4, 1.0, 1)
        ping = load("ping", args.port, token, args.clients, args.seconds, args.load_procs)
        intake = load("report", args.port, token, args.clients, args.seconds, args.load_procs)
    finally:
        server.terminate()
        server.wait(10)

    from sqlalchemy import func, select

    from safety.db.models import Report

    with session_scope(settings.effective_database_url) as s:
        stored = s.execute(select(func.count(Report.id))).scalar_one()
    queued = Redis.from_url(args.redis).llen("rq:queue:bench")
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")

    print(f"machine: {os.cpu_count()} cores; gunicorn gthread {args.web_workers}x"
          f"{args.threads}; {args.clients} clients in {args.load_procs} processes; "
          f"{args.seconds:.0f} s per phase")
    for name, r in (("GET /ping (trivial)", ping), ("POST /api/v1/reports", intake)):
        print(f"{name:24s} {r['per_second']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  "
              f"p99 {r['p99_ms']:6.1f} ms  errors {int(r['errors'])}")
    print(f"intake / trivial throughput ratio: {intake['per_second'] / ping['per_second']:.2f}")
    print(f"reports stored: {stored} (accepted in the measured and warm-up phases); "
          f"jobs waiting in Redis: {queued}")


if __name__ == "__main__":
    main()
