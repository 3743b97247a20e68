"""Pipeline benchmark: stored report → case version through every stage, on PostgreSQL and
Redis servers of its own, with 1, 2 and 4 ``safety worker`` processes (issue 20).

    python bench/pipeline.py [--workers 1,2,4] [--reports 300] [--rate 10] [--duration 300]
                             [--steady-workers 2] [--skip-throughput] [--skip-steady]
                             [--roundtrips 20] [--pg-url URL --redis-url URL] [--json PATH]

Without ``--pg-url``/``--redis-url`` it starts its own PostgreSQL cluster and redis-server on
free loopback ports with data directories in a temporary folder (``faults.py``'s classes); a
URL given must not be the machine's shared servers (ports 5432 and 6379 are refused).

- **Throughput** (per worker count): a fresh database with the demo registry, the workers
  started and warm (registered, idle), then ``--reports`` demo reports stored and enqueued at
  once (one Redis pipeline); reports/s = reports / (last stage done - enqueue). A bulk load,
  so also what fair ordering buys: received → done grows with the position in the queue, not
  with the backlog behind it.
- **Steady**: ``--rate`` reports/s offered for ``--duration`` s (each stored and enqueued as
  a command does) to ``--steady-workers`` workers, then drained; received → every stage done
  p50/p95/max, and the queue depth sampled every second (does it grow?).
- **Round trips**: database statements per stage, counted in this process over
  ``--roundtrips`` reports run through the same job functions.

Per stage p50/p95 come from the timings each version keeps (``stages.<name>.ms``). The load
average (1 min) is printed with each figure: this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

STAGES = ("coding", "dedup", "rules", "submissions")
# Workers from another checkout (``--worker-tree``, its own .venv): a baseline to compare.
WORKER_TREE: Path | None = None


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def load() -> float:
    return os.getloadavg()[0]


class Servers:
    """The bench's own PostgreSQL and Redis (or the private ones given by URL)."""

    def __init__(self, pg_url: str | None, redis_url: str | None) -> None:
        self.tmp: Path | None = None
        self.pg: Any = None
        self.redis: Any = None
        if pg_url and redis_url:
            for url, shared in ((pg_url, 5432), (redis_url, 6379)):
                if (urlsplit(url).port or shared) == shared:
                    sys.exit(f"{url}: the machine's shared server; give a private one")
            self.pg_base, self.redis_url = pg_url.rsplit("/", 1)[0], redis_url
            return
        from faults import Postgres, RedisServer  # this folder's fault bench

        self.tmp = Path(tempfile.mkdtemp(prefix="safety-pipeline-bench-"))
        if os.geteuid() == 0:
            import shutil

            shutil.chown(self.tmp, "postgres", "postgres")
            os.chmod(self.tmp, 0o777)
        self.pg = Postgres(self.tmp)
        self.pg.init()
        self.redis = RedisServer(self.tmp)
        self.redis.start()
        self.pg_base = self.pg.url("postgres").rsplit("/", 1)[0]
        self.redis_url = self.redis.url

    def close(self) -> None:
        """Stop the servers this bench started and remove their data (a cluster and a Redis
        folder per run: they piled up under /tmp)."""
        if self.redis is not None:
            self.redis.stop()
        if self.pg is not None:
            self.pg.stop("fast")
        if self.tmp is not None:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process and its waited-for children (user + system)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / TICK


def children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(d))
    return out


class Cpu:
    """CPU seconds spent by the workers (with any children), the PostgreSQL cluster (every
    backend, the ended ones through the postmaster's children time) and redis-server: what
    the pipeline costs whatever else runs on the machine (it is shared; wall-clock rates
    follow its load)."""

    def __init__(self, run: Run) -> None:
        import psycopg

        self.run = run
        with psycopg.connect(run.db_url) as conn:
            backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
            # Read while the backend lives: closed, its /proc entry may be gone already.
            stat = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        self.postmaster = int(stat[1])
        self.redis_pid = int(run.redis.info("server")["process_id"])
        self.start = self.sample()

    def sample(self) -> dict[str, float]:
        workers = sum(proc_cpu(p.pid) + sum(proc_cpu(c) for c in children(p.pid))
                      for p in self.run.procs)
        pg = proc_cpu(self.postmaster) + sum(proc_cpu(c) for c in children(self.postmaster))
        info = self.run.redis.info("cpu")
        redis = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        return {"workers": workers, "postgresql": pg, "redis": redis}

    def per_report_ms(self, reports: int) -> dict[str, float]:
        end = self.sample()
        out = {k: round((end[k] - self.start[k]) * 1000 / max(1, reports), 1) for k in end}
        out["total"] = round(sum(out.values()), 1)
        out["reports_per_cpu_s"] = round(1000 / out["total"], 2) if out["total"] else 0.0
        return out


class Run:
    """One fresh database (demo registry), one Redis database flushed, N workers."""

    def __init__(self, servers: Servers, name: str, workers: int) -> None:
        import psycopg

        from safety.config import Settings

        self.name = name
        self.db_url = f"{servers.pg_base}/{name}"
        with psycopg.connect(f"{servers.pg_base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.home = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.settings = Settings(home=self.home, database_url=self.db_url,
                                 redis_url=servers.redis_url, log_level="WARNING")
        from safety.config import child_env

        self.env = child_env(self.settings)
        safety = [sys.executable, "-m", "safety.cli"]
        subprocess.run([*safety, "db", "upgrade"], env=self.env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        from redis import Redis

        self.redis = Redis.from_url(servers.redis_url)
        self.redis.flushdb()
        from safety.demo.service import load_registry

        load_registry(self.settings)
        tree = WORKER_TREE or ROOT
        python = str(tree / ".venv" / "bin" / "python") if WORKER_TREE else sys.executable
        self.procs = [subprocess.Popen([python, "-m", "safety.cli", "worker"], env=self.env,
                                       cwd=tree,
                                       stdout=subprocess.DEVNULL,
                                       stderr=open(self.home / f"worker-{i}.log", "wb"))
                      for i in range(workers)]
        self.workers = workers

    def wait_warm(self, timeout: float = 180.0) -> float:
        """Until every worker is registered and idle (warm-up done); seconds it took."""
        from rq import Worker

        from safety.queue.enqueue import get_queue

        start = time.monotonic()
        queue = get_queue(self.settings)
        while time.monotonic() - start < timeout:
            if Worker.count(connection=queue.connection, queue=queue) >= self.workers:
                return time.monotonic() - start
            if any(p.poll() is not None for p in self.procs):
                sys.exit(f"a worker died; see {self.home}")
            time.sleep(0.2)
        sys.exit("workers did not start")

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def store(settings: Any, forms: list[dict[str, Any]], dispatch: Any) -> list[uuid.UUID]:
    from safety.demo.service import submit_forms

    return submit_forms(settings, forms, dispatch, actor="bench:pipeline")


def unfinished(settings: Any) -> tuple[int, int]:
    """(reports not processed/held/failed/rejected, versions whose pipeline is pending)."""
    from sqlalchemy import text

    from safety.db.session import session_scope

    with session_scope(settings.effective_database_url) as s:
        reports = s.execute(text(
            "SELECT count(*) FROM reports WHERE status = 'received'")).scalar_one()
        versions = s.execute(text(
            "SELECT count(*) FROM case_versions WHERE pipeline = 'pending'")).scalar_one()
    return int(reports), int(versions)


def timings(settings: Any) -> dict[str, Any]:
    """From the database: per stage p50/p95 (ms), received → last stage done (s), and the
    reports that did not end processed."""
    from sqlalchemy import text

    from safety.db.session import session_scope

    per_stage: dict[str, list[float]] = defaultdict(list)
    latency: list[float] = []
    last_done: datetime | None = None
    with session_scope(settings.effective_database_url) as s:
        rows = s.execute(text(
            "SELECT r.received_at, v.stages, v.pipeline FROM reports r "
            "JOIN case_versions v ON v.report_id = r.id")).all()
        statuses = dict(s.execute(text(
            "SELECT status, count(*) FROM reports GROUP BY status")).all())
    for received, stages, pipeline in rows:
        if isinstance(stages, str):
            stages = json.loads(stages)
        for name in STAGES:
            entry = (stages or {}).get(name) or {}
            if "ms" in entry:
                per_stage[name].append(float(entry["ms"]))
        if pipeline == "done":
            end = max(datetime.fromisoformat(e["at"]) for e in stages.values())
            latency.append((end - received).total_seconds())
            last_done = end if last_done is None or end > last_done else last_done
    return {
        "stage_ms": {n: {"p50": round(pct(v, 50), 1), "p95": round(pct(v, 95), 1),
                         "n": len(v)} for n, v in per_stage.items()},
        "received_to_done_s": {"p50": round(pct(latency, 50), 2),
                               "p95": round(pct(latency, 95), 2),
                               "max": round(max(latency, default=float("nan")), 2),
                               "n": len(latency)},
        "last_done": last_done, "report_status": statuses,
    }


def throughput(servers: Servers, workers: int, count: int) -> dict[str, Any]:
    from safety.demo.generator import generate_forms
    from safety.pipeline.jobs import process_report, report_job_id
    from safety.queue.enqueue import enqueue_batch

    run = Run(servers, f"bench_pipeline_w{workers}", workers)
    try:
        warm = run.wait_warm()
        collected: list[uuid.UUID] = []

        def hold(ids: Any, *, fresh: bool) -> None:
            collected.extend(ids)

        ids = store(run.settings, generate_forms(count, seed=20), hold)
        cpu = Cpu(run)
        load_before = load()
        t0 = time.time()
        enqueue_batch(run.settings, process_report, [(report_job_id(i), (str(i),)) for i in ids])
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            if unfinished(run.settings) == (0, 0):
                break
            time.sleep(0.25)
        wall = time.time() - t0
        cpu_ms = cpu.per_report_ms(len(ids))
        figures = timings(run.settings)
        last = figures.pop("last_done")
        elapsed = (last.timestamp() - t0) if last is not None else wall
        return {"workers": workers, "reports": len(ids), "warm_up_s": round(warm, 1),
                "seconds": round(elapsed, 2), "reports_per_s": round(len(ids) / elapsed, 2),
                "load_before": round(load_before, 2), "load_after": round(load(), 2),
                "cpu_ms_per_report": cpu_ms, **figures}
    finally:
        run.stop()


def steady(servers: Servers, workers: int, rate: float, duration: float,
           drain: float) -> dict[str, Any]:
    from safety.demo.generator import generate_forms
    from safety.pipeline.dispatch import QueueDispatch
    from safety.queue.enqueue import get_queue

    run = Run(servers, f"bench_pipeline_steady_w{workers}", workers)
    try:
        run.wait_warm()
        total = int(rate * duration)
        forms = generate_forms(total, seed=21)
        dispatch = QueueDispatch(run.settings)
        queue = get_queue(run.settings)
        depth: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            t0 = time.monotonic()
            while not stop.is_set():
                depth.append((round(time.monotonic() - t0), queue.count))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu = Cpu(run)
        loads = [load()]
        start = time.monotonic()
        late = 0
        for i, form in enumerate(forms):
            due = start + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            elif pause < -1:
                late += 1
            store(run.settings, [form], dispatch)
            if i % int(rate * 30) == 0:
                loads.append(load())
        offered_s = time.monotonic() - start
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and unfinished(run.settings) != (0, 0):
            time.sleep(0.5)
        drain_s = time.monotonic() - start - offered_s
        left = unfinished(run.settings)
        cpu_ms = cpu.per_report_ms(total - left[0])
        stop.set()
        sampler.join()
        figures = timings(run.settings)
        figures.pop("last_done")
        thirds = [d for _, d in depth]
        n = max(1, len(thirds) // 3)
        return {"workers": workers, "rate": rate, "duration_s": duration, "reports": total,
                "offered_s": round(offered_s, 1), "submitted_late": late,
                "drain_after_s": round(drain_s, 1),
                "unfinished_after_drain": {"reports": left[0], "versions": left[1]},
                "queue_depth": {"max": max(thirds, default=0),
                                "mean_first_third": round(statistics.fmean(thirds[:n]), 1),
                                "mean_last_third": round(statistics.fmean(thirds[-n:]), 1)},
                "load_1min": {"min": round(min(loads), 2), "max": round(max(loads), 2)},
                "cpu_ms_per_report": cpu_ms, **figures}
    finally:
        run.stop()


def roundtrips(servers: Servers, count: int) -> dict[str, Any]:
    """Statements per stage, counted on this process's engine, the jobs called directly."""
    from sqlalchemy import event

    from safety.db.session import get_engine
    from safety.demo.generator import generate_forms
    from safety.pipeline import jobs
    from safety.pipeline.stages import STAGE_FUNCTIONS
    from safety.pipeline.worker import warm_caches

    run = Run(servers, "bench_pipeline_roundtrips", 0)
    os.environ.update(run.env)
    warm_caches(run.settings)
    counts: dict[str, list[int]] = defaultdict(list)
    current = {"stage": "intake", "n": 0}

    def on_execute(*_: Any) -> None:
        current["n"] += 1

    engine = get_engine(run.settings.effective_database_url)
    event.listen(engine, "before_cursor_execute", on_execute)
    # The stages run in one transaction (``run_version_stages``): each stage function is
    # counted (its recorded status is written by the next statement's flush, so counted with
    # the stage after it, the last one's with the commit, under "intake").
    originals = dict(STAGE_FUNCTIONS)

    def counting(name: str, fn: Any) -> Any:
        def counted(session: Any, cv: Any, settings: Any) -> Any:
            before = current["n"]
            try:
                return fn(session, cv, settings)
            finally:
                counts[name].append(current["n"] - before)
        return counted

    for stage, fn in originals.items():
        STAGE_FUNCTIONS[stage] = counting(stage.value, fn)
    ids = store(run.settings, generate_forms(count, seed=22), lambda ids, *, fresh: None)
    for rid in ids:
        before = current["n"]
        staged = sum(sum(v) for v in counts.values())
        jobs.process_report(str(rid))
        total = current["n"] - before
        counts["intake"].append(total - (sum(sum(v) for v in counts.values()) - staged))
        counts["report, all stages"].append(total)
    STAGE_FUNCTIONS.update(originals)
    return {name: round(statistics.fmean(v), 1) for name, v in counts.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--reports", type=int, default=300)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--steady-workers", type=int, default=2)
    ap.add_argument("--drain", type=float, default=900.0,
                    help="seconds the steady run waits for the backlog after the load")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-steady", action="store_true")
    ap.add_argument("--roundtrips", type=int, default=20)
    ap.add_argument("--pg-url")
    ap.add_argument("--redis-url")
    ap.add_argument("--worker-tree", type=Path,
                    help="run the workers of this checkout (with its .venv): a baseline")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "pipeline.json")
    args = ap.parse_args()
    global WORKER_TREE
    WORKER_TREE = args.worker_tree
    servers = Servers(args.pg_url, args.redis_url)
    out: dict[str, Any] = {"cores": os.cpu_count()}
    try:
        if args.roundtrips:
            out["roundtrips_per_report"] = roundtrips(servers, args.roundtrips)
            print("database statements per report, by stage:", out["roundtrips_per_report"],
                  flush=True)
        if not args.skip_throughput:
            out["throughput"] = []
            for n in (int(w) for w in args.workers.split(",")):
                r = throughput(servers, n, args.reports)
                out["throughput"].append(r)
                print(json.dumps(r), flush=True)
        if not args.skip_steady:
            out["steady"] = steady(servers, args.steady_workers, args.rate, args.duration,
                                   args.drain)
            print(json.dumps(out["steady"]), flush=True)
    finally:
        servers.close()
    print()
    print("| workers | reports | reports/s | " + " | ".join(f"{s} p50/p95 ms" for s in STAGES)
          + " | received→done p50/p95 s | CPU ms/report (worker+PG+Redis) | load 1 min |")
    print("|" + " --- |" * (7 + len(STAGES) - 1))
    for r in out.get("throughput", []):
        st, c = r["stage_ms"], r["cpu_ms_per_report"]
        print(f"| {r['workers']} | {r['reports']} | {r['reports_per_s']} | "
              + " | ".join(f"{st.get(s, {}).get('p50')}/{st.get(s, {}).get('p95')}"
                           for s in STAGES)
              + f" | {r['received_to_done_s']['p50']}/{r['received_to_done_s']['p95']} | "
              f"{c['workers']}+{c['postgresql']}+{c['redis']} = {c['total']} | "
              f"{r['load_before']}→{r['load_after']} |")
    if "steady" in out:
        s = out["steady"]
        print(f"\nsteady {s['rate']}/s for {s['duration_s']} s, {s['workers']} workers: "
              f"received→done p50 {s['received_to_done_s']['p50']} s, "
              f"p95 {s['received_to_done_s']['p95']} s, max {s['received_to_done_s']['max']} s;"
              f" queue depth max {s['queue_depth']['max']} (mean first third "
              f"{s['queue_depth']['mean_first_third']}, last third "
              f"{s['queue_depth']['mean_last_third']}); load {s['load_1min']}; "
              f"CPU ms/report {s['cpu_ms_per_report']}; not done after the drain: "
              f"{s['unfinished_after_drain']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
