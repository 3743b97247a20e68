"""Intake benchmark: concurrent clients posting SAE forms to SafetyDesk under gunicorn with
PostgreSQL and Redis, against a trivial endpoint of the same server in the same run.

    python bench/intake.py [--clients 8] [--seconds 10] [--web-workers 2] [--floor] [--rounds 3]

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
from typing import Any

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
                path = "/api/v1/bench/validate" if kind == "floor" else "/api/v1/reports"
                conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            local.append((resp.status, time.perf_counter() - t0))
        conn.close()
        with lock:
            results.extend(local)

    cpu0 = time.process_time()
    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((results, time.process_time() - cpu0))


def _proc_cpu() -> dict[str, float]:
    """CPU seconds used so far by each process, by command name and parent: the machine's
    CPU per request, by component, is what stays comparable on a busy shared machine."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[f"{d}:{fields[1]}:{comm}"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _by_component(before: dict[str, float], after: dict[str, float],
                  server_pid: int, own: dict[str, int]) -> dict[str, float]:
    """CPU by component: gunicorn (master and workers), this bench's PostgreSQL cluster (its
    postmaster and backends) and redis-server, by pid when known (``own``), so that another
    PostgreSQL or Redis on the machine is not counted; by command name otherwise."""
    parts = {"web (gunicorn)": 0.0, "postgres": 0.0, "redis": 0.0}
    postmaster, redis_pid = own.get("postmaster", 0), own.get("redis", 0)
    for key, cpu in after.items():
        pid, ppid, comm = key.split(":", 2)
        used = cpu - before.get(key, 0.0)
        if int(pid) == server_pid or int(ppid) == server_pid:
            parts["web (gunicorn)"] += used
        elif (int(pid) == postmaster or int(ppid) == postmaster if postmaster
              else comm.startswith("postgres")):
            parts["postgres"] += used
        elif int(pid) == redis_pid if redis_pid else comm.startswith("redis-server"):
            parts["redis"] += used
    return parts


def load(kind: str, port: int, token: str, clients: int, seconds: float,
         procs: int, server_pid: int = 0,
         own: dict[str, int] | None = None) -> dict[str, float]:
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    wal_before = _wal(own)
    cpu_before = _proc_cpu()
    per = max(1, clients // procs)
    ps = [mp.Process(target=_worker, args=(kind, port, token, seconds, per, q))
          for _ in range(procs)]
    t0 = time.monotonic()
    for p in ps:
        p.start()
    results: list[tuple[int, float]] = []
    load_cpu = 0.0
    for _ in ps:
        got, cpu = q.get()
        results.extend(got)
        load_cpu += cpu
    for p in ps:
        p.join()
    elapsed = time.monotonic() - t0
    parts = _by_component(cpu_before, _proc_cpu(), server_pid, own or {})
    wal_after = _wal(own, settle=True)
    parts["load generator"] = load_cpu
    ok = [lat for st, lat in results if st in (200, 202)]
    lat = sorted(ok)
    return {
        "requests": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "per_second": len(ok) / elapsed,
        "p50_ms": 1000 * statistics.median(lat) if lat else float("nan"),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))] if lat else float("nan"),
        "cpu_ms": {k: 1000 * v / max(1, len(results)) for k, v in parts.items()},
        "wal_syncs_per_request": (wal_after[0] - wal_before[0]) / max(1, len(results)),
        "wal_sync_ms": ((wal_after[1] - wal_before[1]) / (wal_after[0] - wal_before[0])
                        if wal_after[0] > wal_before[0] else float("nan")),
    }


_WAL_URL: dict[str, str] = {}


def _wal(own: dict[str, int] | None, settle: bool = False) -> tuple[float, float]:
    """The PostgreSQL cluster's WAL flushes so far and the milliseconds they took
    (``pg_stat_wal``: the whole cluster, so only meaningful on a server of the bench's own,
    with ``track_wal_io_timing`` on in the bench's database). ``settle``: wait for the
    backends' statistics of the last second to be reported first."""
    url = _WAL_URL.get("url")
    if url is None:
        return (0.0, 0.0)
    import psycopg

    if settle:
        time.sleep(1.1)  # backends report their WAL statistics at most once a second
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT wal_sync, wal_sync_time FROM pg_stat_wal").fetchone()
    return (float(row[0]), float(row[1])) if row else (0.0, 0.0)


def _own_servers(db_url: str, redis_url: str) -> dict[str, int]:
    """The pids of the PostgreSQL postmaster and redis-server this bench talks to (when they
    run on this machine), so that their CPU is told apart from other servers'."""
    import psycopg
    from redis import Redis

    own: dict[str, int] = {}
    with psycopg.connect(db_url) as conn:
        backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
    try:
        with open(f"/proc/{backend}/stat") as f:
            own["postmaster"] = int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        pass
    pid = int(Redis.from_url(redis_url).info("server").get("process_id", 0))
    if os.path.exists(f"/proc/{pid}"):
        own["redis"] = pid
    return own


def _median(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over rounds (CPU per component too)."""
    out: dict[str, Any] = {}
    for key, value in results[0].items():
        if isinstance(value, dict):
            out[key] = {k: statistics.median(r[key][k] for r in results) for k in value}
        else:
            out[key] = statistics.median(r[key] for r in results)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432",
                    help="PostgreSQL server URL (a bench database is created on it)")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--load-procs", type=int, default=2)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--floor", action="store_true",
                    help="also measure POST /bench/validate: authenticate and validate only, "
                         "store nothing (the ceiling of any intake storage design)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="intake and floor phases alternated this many times (order swapped "
                         "each round), figures the medians of the rounds: on a shared machine "
                         "the load changes between two phases run one after the other")
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

    from safety.accounts.clients import get_or_create_site, issue_token
    from safety.config import load_settings
    from safety.db.migrate import upgrade
    from safety.db.session import session_scope
    from safety.sponsors.store import sponsor_by_code

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(db_url)
    Redis.from_url(args.redis).flushdb()
    with session_scope(settings.effective_database_url) as s:
        default = sponsor_by_code(s, "DEFAULT")  # the migrations' sponsor
        assert default is not None
        site, _ = get_or_create_site(s, "Bench site", "GB", default.id)
        token = issue_token(s, "bench", "site", site=site)

    own = _own_servers(db_url, args.redis)
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as c:
        # The time of each WAL flush (a durable commit's fsync), for this database's sessions.
        c.execute(f"ALTER DATABASE {dbname} SET track_wal_io_timing = on")
    _WAL_URL["url"] = db_url
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{args.port}",
         "-w", str(args.web_workers), "-k", "gthread", "--threads", str(args.threads),
         "--log-level", "warning",
         "bench.floor_app:create_floor_app()" if args.floor else "safety.app:create_app()"],
        env=env, cwd=ROOT)
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
        ping = load("ping", args.port, token, args.clients, args.seconds, args.load_procs,
                    server.pid, own)
        ping["load"] = os.getloadavg()[0]
        rounds: list[dict[str, dict[str, Any]]] = []
        for i in range(max(1, args.rounds)):
            kinds = ["report", "floor"] if args.floor else ["report"]
            got: dict[str, dict[str, Any]] = {}
            for kind in kinds if i % 2 == 0 else kinds[::-1]:
                got[kind] = load(kind, args.port, token, args.clients, args.seconds,
                                 args.load_procs, server.pid, own)
                got[kind]["load"] = os.getloadavg()[0]
            rounds.append(got)
        intake = _median([r["report"] for r in rounds])
        floor = _median([r["floor"] for r in rounds]) if args.floor else None
    finally:
        server.terminate()
        try:
            server.wait(60)  # a graceful stop is slow on a busy machine
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)

    from sqlalchemy import func, select

    from safety.intake.store import Report

    with session_scope(settings.effective_database_url) as s:
        stored = s.execute(select(func.count(Report.id))).scalar_one()
    queued = Redis.from_url(args.redis).llen("rq:queue:bench")
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")

    print(f"machine: {os.cpu_count()} cores; gunicorn gthread {args.web_workers}x"
          f"{args.threads}; {args.clients} clients in {args.load_procs} processes; "
          f"{args.seconds:.0f} s per phase; load average at the end of the ping phase "
          f"{ping['load']:.2f}")
    if len(rounds) > 1:
        for i, r in enumerate(rounds, 1):
            line = (f"  round {i}: intake {r['report']['per_second']:6.1f} req/s "
                    f"p50/p99 {r['report']['p50_ms']:5.1f}/{r['report']['p99_ms']:6.1f} ms "
                    f"(load {r['report']['load']:.2f})")
            if "floor" in r:
                line += (f"  floor {r['floor']['per_second']:6.1f} req/s "
                         f"p50/p99 {r['floor']['p50_ms']:5.1f}/{r['floor']['p99_ms']:6.1f} ms "
                         f"(load {r['floor']['load']:.2f})  ratio "
                         f"{r['report']['per_second'] / r['floor']['per_second']:.2f}")
            print(line)
        print(f"medians of {len(rounds)} rounds:")
    rows = [("GET /ping (trivial)", ping), ("POST /api/v1/reports", intake)]
    if floor is not None:
        rows.append(("POST /api/v1/bench/validate", floor))
    for name, r in rows:
        print(f"{name:24s} {r['per_second']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  "
              f"p99 {r['p99_ms']:6.1f} ms  errors {int(r['errors'])}")
    print("WAL flushes (fsync) per request and their mean time (pg_stat_wal: the whole "
          "PostgreSQL cluster, so meaningful with a server of the bench's own):")
    for name, r in rows:
        print(f"  {name:22s} {r['wal_syncs_per_request']:.2f} per request, "
              f"{r['wal_sync_ms']:.2f} ms each")
    print("CPU ms per request, by component (comparable on a busy machine):")
    for name, r in rows:
        parts = "  ".join(f"{k} {v:.3f}" for k, v in r["cpu_ms"].items())
        print(f"  {name:22s} {parts}  total {sum(r['cpu_ms'].values()):.3f}")
    print(f"intake / trivial throughput ratio: {intake['per_second'] / ping['per_second']:.2f}")
    if floor is not None:
        print(f"validate-only / trivial throughput ratio: "
              f"{floor['per_second'] / ping['per_second']:.2f} (no storage design can beat it)")
        ratios = sorted(r["report"]["per_second"] / r["floor"]["per_second"] for r in rounds)
        print(f"intake / validate-only throughput ratio: {statistics.median(ratios):.2f}"
              + (f" (median of the rounds' ratios; range {ratios[0]:.2f}-{ratios[-1]:.2f})"
                 if len(ratios) > 1 else ""))
    print(f"reports stored: {stored} (accepted in the measured and warm-up phases); "
          f"jobs waiting in Redis: {queued}")


if __name__ == "__main__":
    main()
