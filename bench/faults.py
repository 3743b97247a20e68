"""Fault benchmark: SafetyDesk under a bounded load while its processes and servers fail.

    python bench/faults.py [--quick] [--rate 0.5] [--drain-timeout 600] [--skip PHASE]
                            [--json PATH] [--keep]

Starts a private PostgreSQL cluster and a private redis-server (own temporary data
directories, free loopback ports; the machine's shared servers are never touched), migrates,
adds a site, then runs gunicorn (``wsgi:app``, 3 workers), two ``safety worker`` processes and
``safety scheduler``. Eight clients post SAE forms, each with a unique SAE id and
Idempotency-Key, retrying a connection error or a 5xx with the same key (bounded backoff,
honouring Retry-After). Meanwhile the faults come one after another:

- ``worker-sigkill``: SIGKILL of one worker mid-job (workers run jobs in their own process),
  then of the other, 3 s later. The bench restarts nothing itself: the
  workers and the scheduler run under ``safety serve``'s supervisor when the product has one
  (``safety.cli.processes.Supervisor``), as plain children otherwise (then a killed worker
  stays dead, and fails the acceptance).
- ``redis-stop``: redis-server stopped (SIGTERM; append-only file on, as in production) for
  20 s (10 s with ``--quick``), then started again on the same port and data directory.
- ``pg-fast`` / ``pg-immediate``: PostgreSQL stopped with ``pg_ctl stop -m fast`` /
  ``-m immediate`` (crash recovery on start), down a few seconds, started again.
- ``gunicorn-kill``: SIGKILL of a gunicorn worker (its master starts another).

Then the load stops and the bench waits (bounded) until every stored report is processed or
held and every case version's stages are done. It counts from the database and prints, per
phase, the requests, their answers and p99 latency, and overall: acknowledged, stored,
processed, lost (acknowledged, not stored), duplicated (more than one report, case or version
for one SAE id), stuck (not finished after the drain), process exits and restarts, time to
drain.
The figures are also written as JSON (``bench/results/faults.json`` by default). The exit
status is 1 when the acceptance of issue #13 fails: anything lost, duplicated or stuck, a
process left dead at the end, a drain not finished in time, a client error (4xx), or a 5xx
other than a 503 with Retry-After during a PostgreSQL restart. ``--skip PHASE`` leaves a fault
out.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # this tree's package, whatever the virtualenv points at

WEB_WORKERS = 3
CLIENTS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def now() -> float:
    return time.monotonic()


# --- the private servers -----------------------------------------------------------------


class Postgres:
    """A throwaway cluster. PostgreSQL refuses to run as root: as root, its commands run as
    the ``postgres`` OS user on a data directory that user owns."""

    def __init__(self, base: Path) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
        if not bins:
            sys.exit("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1])
        self.dir = base / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.as_user: list[str] = []
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-locale")
        conf = (f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\nmax_connections = 200\n")
        self._run("sh", "-c", f"printf %s \"{conf}\" >> {self.data}/postgresql.conf")
        self.start()

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-w", "-t", "120", "start")

    def stop(self, mode: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data),
                               "status"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"


class RedisServer:
    """A private redis-server with its append-only file on, so a stop loses no queued job."""

    def __init__(self, base: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            sys.exit("redis-server not found on PATH")
        self.exe = exe
        self.dir = base / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--logfile", str(self.dir / "server.log"), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = now() + 30
        while now() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        sys.exit("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


# --- the service's processes -------------------------------------------------------------


@dataclass
class Proc:
    """One of the service's processes; under the product's supervisor, whichever process
    currently runs it."""

    name: str
    own: subprocess.Popen[bytes] | None = None
    child: Any = None  # a safety.cli.processes.Child, when the product supervises it
    killed_by_bench: bool = False
    alive_pid: int | None = None  # the last process seen running
    dead_pid: int | None = None  # the last process seen dead
    exits: list[str] = field(default_factory=list)
    restarts: int = 0

    @property
    def popen(self) -> subprocess.Popen[bytes] | None:
        return self.child.proc if self.child is not None else self.own

    def alive(self) -> bool:
        p = self.popen
        return p is not None and p.poll() is None


class Service:
    """gunicorn, two workers and the scheduler. The workers and the scheduler run under
    ``safety serve``'s supervisor (``safety.cli.processes.Supervisor``) when the product has
    one, as plain children otherwise: the bench itself restarts nothing."""

    def __init__(self, env: dict[str, str], logs: Path, web_port: int) -> None:
        self.env = env
        self.logs = logs
        self.web_port = web_port
        self.procs: dict[str, Proc] = {}
        self.supervisor: Any = None
        try:
            from safety.cli.processes import (  # type: ignore[attr-defined,unused-ignore]
                Child,
                Supervisor,
            )
        except ImportError:
            self.child_type: Any = None
        else:
            self.child_type, self.supervisor_type = Child, Supervisor

    def spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "ab")
        # Own session: a process group per process, so a worker and its job can die together.
        popen = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = Proc(name, own=popen)

    def start(self) -> None:
        py = sys.executable
        self.spawn("gunicorn", [py, "-m", "gunicorn", "-b", f"127.0.0.1:{self.web_port}",
                                "-w", str(WEB_WORKERS), "-k", "gthread", "--threads", "4",
                                "--graceful-timeout", "5", "--timeout", "30", "wsgi:app"])
        rest = {"worker-1": "worker", "worker-2": "worker", "scheduler": "scheduler"}
        if self.child_type is None:
            for name, cmd in rest.items():
                self.spawn(name, [py, "-m", "safety.cli", cmd])
            return
        children = []
        for name, cmd in rest.items():
            # exec: the supervised process is the command itself, its output in its log.
            argv = ["sh", "-c", f"exec {py} -m safety.cli {cmd} >> {self.logs}/{name}.log 2>&1"]
            child = self.child_type(name, argv)
            children.append(child)
            self.procs[name] = Proc(name, child=child)
        self.supervisor = self.supervisor_type(children, self.env)
        self.supervisor.start()
        threading.Thread(target=self.supervisor.run, daemon=True).start()

    def kill(self, name: str, with_children: bool) -> int:
        """SIGKILL the process (and its job process); returns its pid."""
        p = self.procs[name].popen
        assert p is not None
        victims = [p.pid, *(self.children(p.pid) if with_children else [])]
        if self.procs[name].own is not None and with_children:
            os.killpg(p.pid, signal.SIGKILL)
        else:
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return p.pid

    def children(self, pid: int) -> list[int]:
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(d))
        return out

    def web_workers(self) -> list[int]:
        p = self.procs["gunicorn"].popen
        return self.children(p.pid) if p is not None else []

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stopping = True
            time.sleep(0.6)  # its loop notices, and starts nothing more
            self.supervisor.stop()
        own = [p.own for p in self.procs.values() if p.own is not None and p.own.poll() is None]
        for popen in own:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGTERM)
        for popen in own:
            try:
                popen.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(5)


# --- the load ----------------------------------------------------------------------------


@dataclass
class Attempt:
    phase: str
    status: int | None  # None: no answer (connection refused/reset, timeout)
    latency: float
    retry_after: bool
    error: str = ""


@dataclass
class Submission:
    sae_id: str
    key: str
    phase: str
    started: float
    report_id: str | None = None
    acked_at: float | None = None
    gave_up: str | None = None


@dataclass
class Load:
    port: int
    token: str
    run: str
    interval: float
    give_up_after: float
    phase: str = "setup"
    stop: threading.Event = field(default_factory=threading.Event)
    attempts: list[Attempt] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, n: int) -> None:
        from factories.forms import sae_form

        conn: http.client.HTTPConnection | None = None
        i = 0
        # Staggered: the clients' reports spread over the interval, not in bursts of eight
        # that a short outage could fall between.
        self.stop.wait(n * self.interval / CLIENTS)
        while not self.stop.is_set():
            t0 = now()
            i += 1
            sae = f"FLT-{self.run}-{n}-{i:05d}"
            sub = Submission(sae, f"{sae}-initial", self.phase, t0)
            body = json.dumps(sae_form(sae_id=sae)).encode()
            headers = {"Authorization": f"Bearer {self.token}",
                       "Content-Type": "application/json", "Idempotency-Key": sub.key}
            tries = 0
            while True:
                phase = self.phase
                a0 = now()
                status: int | None = None
                retry_after: str | None = None
                answer = b""
                error = ""
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                    conn.request("POST", "/api/v1/reports", body=body, headers=headers)
                    resp = conn.getresponse()
                    answer = resp.read()
                    status = resp.status
                    retry_after = resp.getheader("Retry-After")
                except (OSError, http.client.HTTPException) as exc:
                    error = type(exc).__name__
                # A fresh connection per request: a write into a connection the server has
                # closed (idle keep-alive, or after an error answer) is no fault of the service.
                if conn is not None:
                    conn.close()
                conn = None
                with self.lock:
                    self.attempts.append(Attempt(phase, status, now() - a0,
                                                 retry_after is not None, error))
                if status is not None and status < 300:
                    sub.report_id = json.loads(answer)["report_id"]
                    sub.acked_at = now()
                    break
                if status is not None and status < 500:
                    sub.gave_up = f"{status}: {answer[:200].decode(errors='replace')}"
                    break
                if now() - t0 > self.give_up_after:
                    sub.gave_up = f"no 2xx in {self.give_up_after:.0f} s (last {status or error})"
                    break
                tries += 1
                wait = min(2.0, 0.1 * 2 ** tries)
                if retry_after is not None and retry_after.isdigit():
                    wait = min(5.0, float(retry_after))
                time.sleep(wait)
            with self.lock:
                self.submissions.append(sub)
            # Bounded load: each client sends at most one report per interval.
            rest = self.interval - (now() - t0)
            if rest > 0:
                self.stop.wait(rest)
        if conn is not None:
            conn.close()


# --- the run -----------------------------------------------------------------------------


def wait_http(port: int, path: str, seconds: float) -> bool:
    deadline = now() + seconds
    while now() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            status = c.getresponse().status
            c.close()
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def p99(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return 1000 * s[int(0.99 * (len(s) - 1))]


def db_counts(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as c:
        reports = c.execute("SELECT id::text, idempotency_key, sender_case_id, status "
                            "FROM reports").fetchall()
        cases = dict(c.execute("SELECT sender_case_id, count(*) FROM cases "
                               "GROUP BY sender_case_id").fetchall())
        versions = dict(c.execute("SELECT c.sender_case_id, count(*) FROM case_versions v "
                                  "JOIN cases c ON c.id = v.case_id "
                                  "GROUP BY c.sender_case_id").fetchall())
        pipeline = dict(c.execute("SELECT pipeline, count(*) FROM case_versions "
                                  "GROUP BY pipeline").fetchall())
    return {"reports": reports, "cases": cases, "versions": versions, "pipeline": pipeline}


def unfinished(url: str) -> tuple[int, int] | None:
    """(reports neither processed nor held, versions whose stages are not all done), or None
    while the database cannot be reached."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as c:
            r = c.execute("SELECT count(*) FROM reports "
                          "WHERE status NOT IN ('processed', 'held')").fetchone()
            v = c.execute("SELECT count(*) FROM case_versions "
                          "WHERE pipeline <> 'done'").fetchone()
    except psycopg.Error:
        return None
    assert r is not None and v is not None
    return int(r[0]), int(v[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter phases (about 2 minutes)")
    ap.add_argument("--rate", type=float, default=0.5,
                    help="reports per second offered by all clients together (bounded load: "
                         "a report is about five jobs, so keep it near what the workers do)")
    ap.add_argument("--redis-down", type=float, default=None, help="seconds (20; 10 quick)")
    ap.add_argument("--pg-down", type=float, default=None, help="seconds (5; 3 quick)")
    ap.add_argument("--drain-timeout", type=float, default=None,
                    help="seconds to wait for the backlog (600; 300 quick)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "faults.json")
    ap.add_argument("--skip", action="append", default=[], metavar="PHASE",
                    choices=["worker-sigkill", "redis-stop", "pg-fast", "pg-immediate",
                             "gunicorn-kill"], help="leave a fault out (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args()
    hold = 6.0 if args.quick else 15.0  # seconds of load after each fault
    redis_down = args.redis_down or (10.0 if args.quick else 20.0)
    pg_down = args.pg_down or (3.0 if args.quick else 5.0)
    args.drain_timeout = args.drain_timeout or (300.0 if args.quick else 600.0)

    base = Path(tempfile.mkdtemp(prefix="safety-faults-"))
    os.chmod(base, 0o755)
    logs = base / "logs"
    logs.mkdir()
    pg = Postgres(base)
    redis = RedisServer(base)
    service: Service | None = None
    load: Load | None = None
    events: list[tuple[float, str]] = []
    t_start = now()

    def event(text: str) -> None:
        events.append((now() - t_start, text))
        print(f"[{now() - t_start:7.1f} s] {text}", flush=True)

    try:
        pg.init()
        redis.start()
        import psycopg

        with psycopg.connect(pg.url("postgres"), autocommit=True) as c:
            c.execute("CREATE DATABASE safety")
        db_url = pg.url("safety")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETY_")}
        env.update(SAFETY_DATABASE_URL=db_url, SAFETY_REDIS_URL=redis.url,
                   SAFETY_HOME=str(base / "home"), SAFETY_SECRET_KEY=uuid.uuid4().hex,
                   SAFETY_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
        safety = [sys.executable, "-m", "safety.cli"]
        subprocess.run([*safety, "db", "upgrade"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        out = subprocess.run([*safety, "site", "add", "Fault bench site", "--country", "GB",
                              "--protocol", "ONC-301"], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        token = json.loads(out)["token"]
        web_port = free_port()
        service = Service(env, logs, web_port)
        service.start()
        if not wait_http(web_port, "/healthz", 60):
            sys.exit(f"the web app did not come up (logs in {logs})")
        event(f"up: PostgreSQL :{pg.port}, Redis :{redis.port}, gunicorn :{web_port} "
              f"({WEB_WORKERS} workers), 2 workers, scheduler; logs in {logs}")

        load = Load(web_port, token, uuid.uuid4().hex[:6], CLIENTS / args.rate,
                    give_up_after=120.0)
        threads = [threading.Thread(target=load.client, args=(n,), daemon=True)
                   for n in range(CLIENTS)]
        phases: list[dict[str, Any]] = []

        def phase(name: str) -> None:
            assert load is not None
            load.phase = name
            phases.append({"name": name, "start": now() - t_start})
            event(f"phase {name}")

        def watch() -> None:
            assert service is not None and load is not None
            while not watching.is_set():
                for p in service.procs.values():
                    popen = p.popen
                    if popen is None:
                        continue
                    if popen.poll() is None:
                        if p.alive_pid is not None and popen.pid != p.alive_pid:
                            p.restarts += 1
                            event(f"{p.name} restarted by the product's supervisor "
                                  f"(pid {popen.pid})")
                        p.alive_pid = popen.pid
                    elif popen.pid != p.dead_pid:
                        p.dead_pid = popen.pid
                        how = ("killed by the bench" if p.killed_by_bench
                               else f"exited on its own, code {popen.returncode}")
                        p.exits.append(f"{how} at {now() - t_start:.0f} s in {load.phase}")
                        p.killed_by_bench = False
                        event(f"{p.name} {how}")
                time.sleep(0.2)

        watching = threading.Event()
        threading.Thread(target=watch, daemon=True).start()
        def worker_sigkill() -> None:
            # Workers run jobs in their own process (issue 20: no work horse to kill): each
            # worker is killed whole, mid-job, with its scheduler process if it runs one; the
            # sweep requeues the job it held, the supervisor restarts it.
            assert service is not None
            for name in ("worker-1", "worker-2"):
                service.procs[name].killed_by_bench = True
                pid = service.kill(name, with_children=True)
                event(f"SIGKILL {name} (pid {pid}) mid-job; "
                      + ("the product's supervisor should restart it" if service.supervisor
                         else "nothing in the product restarts it"))
                time.sleep(3)

        def redis_stop() -> None:
            redis.stop()
            event(f"Redis stopped for {redis_down:.0f} s")
            time.sleep(redis_down)
            redis.start()
            event("Redis started again (same port, same data directory)")

        def pg_restart(mode: str) -> None:
            pg.stop(mode)
            event(f"PostgreSQL stopped (-m {mode}) for {pg_down:.0f} s")
            time.sleep(pg_down)
            pg.start()
            event("PostgreSQL started again")

        def gunicorn_kill() -> None:
            assert service is not None
            victims = service.web_workers()
            if victims:
                os.kill(victims[0], signal.SIGKILL)
                event(f"SIGKILL gunicorn worker pid {victims[0]} (the master starts another)")

        faults = {"worker-sigkill": worker_sigkill, "redis-stop": redis_stop,
                  "pg-fast": lambda: pg_restart("fast"),
                  "pg-immediate": lambda: pg_restart("immediate"),
                  "gunicorn-kill": gunicorn_kill}
        phase("baseline")
        for t in threads:
            t.start()
        time.sleep(hold)
        for name, fault in faults.items():
            if name in args.skip:
                continue
            phase(name)
            fault()
            time.sleep(hold)

        phase("after")
        load.stop.set()
        for t in threads:
            t.join(load.give_up_after + 30)
        load_end = now()
        event(f"load stopped: {len(load.submissions)} reports submitted; draining "
              f"(at most {args.drain_timeout:.0f} s)")
        drained_at: float | None = None
        not_drained = f"not drained in {args.drain_timeout:.0f} s"
        last: tuple[int, int] | None = None
        shown = 0.0
        while now() - load_end < args.drain_timeout:
            left = unfinished(db_url)
            if left is not None and left != last and (left == (0, 0) or now() - shown > 10):
                last, shown = left, now()
                event(f"unfinished: {left[0]} reports, {left[1]} case versions")
            if left == (0, 0):
                drained_at = now()
                break
            if service.supervisor is None and not any(
                    service.procs[w].alive() for w in ("worker-1", "worker-2")):
                event("no worker process is alive: nothing can drain the backlog, not waiting")
                not_drained = "not drained: no worker process alive"
                break
            time.sleep(1)
        watching.set()
        time_to_drain = None if drained_at is None else drained_at - load_end

        time.sleep(0.5)
        alive_at_end = {name: p.alive() for name, p in service.procs.items()}
        web_alive = len(service.web_workers())
        counts = db_counts(db_url)
    finally:
        if load is not None:
            load.stop.set()
        if service is not None:
            service.stop()
        redis.stop()
        if pg.running():
            with contextlib.suppress(subprocess.CalledProcessError):
                pg.stop("fast")

    # --- figures --------------------------------------------------------------------------
    subs = load.submissions
    acked = {s.report_id: s for s in subs if s.report_id is not None}
    acked_keys = {s.key for s in subs if s.report_id is not None}
    reports = counts["reports"]
    by_id = {r[0]: r for r in reports}
    stored_keys: dict[str, int] = {}
    per_sae: dict[str, int] = {}
    for _, key, sae, _status in reports:
        stored_keys[key] = stored_keys.get(key, 0) + 1
        per_sae[sae] = per_sae.get(sae, 0) + 1
    lost = sorted(rid for rid in acked if rid not in by_id)
    lost += sorted(f"key {k}" for k in acked_keys if k not in stored_keys)
    dup = sorted({f"reports for {s}" for s, n in per_sae.items() if n > 1}
                 | {f"cases for {s}" for s, n in counts["cases"].items() if n > 1}
                 | {f"versions for {s}" for s, n in counts["versions"].items() if n > 1})
    if len(acked) > len(acked_keys):
        dup.append(f"{len(acked) - len(acked_keys)} extra report ids for one key")
    status_counts: dict[str, int] = {}
    for r in reports:
        status_counts[r[3]] = status_counts.get(r[3], 0) + 1
    stuck_reports = [r[0] for r in reports if r[3] not in ("processed", "held")]
    stuck_versions = sum(n for k, n in counts["pipeline"].items() if k != "done")

    rows = []
    names = [ph["name"] for ph in phases]
    for name in names:
        att = [a for a in load.attempts if a.phase == name]
        answered = [a.latency for a in att if a.status is not None]
        acks = [s.acked_at - s.started for s in subs
                if s.phase == name and s.acked_at is not None]
        rows.append({
            "phase": name,
            "requests": len(att),
            "2xx": sum(1 for a in att if a.status is not None and a.status < 300),
            "503_retry_after": sum(1 for a in att if a.status == 503 and a.retry_after),
            "other_5xx": sum(1 for a in att if a.status is not None and a.status >= 500
                             and not (a.status == 503 and a.retry_after)),
            "no_answer": sum(1 for a in att if a.status is None),
            "4xx": sum(1 for a in att if a.status is not None and 400 <= a.status < 500),
            "p99_ms": p99(answered),
            "p99_ack_ms": p99(acks),
        })
    codes: dict[str, dict[str, int]] = {}
    for a in load.attempts:
        key = (str(a.status) + ("+Retry-After" if a.retry_after else "")
               if a.status is not None else a.error)
        codes.setdefault(a.phase, {})
        codes[a.phase][key] = codes[a.phase].get(key, 0) + 1
    exits = [f"{p.name} {e}" for p in service.procs.values() for e in p.exits]
    restarts = [f"{p.name} x{p.restarts}" for p in service.procs.values() if p.restarts]
    dead = [name for name, alive in alive_at_end.items() if not alive]
    if web_alive < WEB_WORKERS:
        dead.append(f"gunicorn workers: {web_alive} of {WEB_WORKERS}")
    bad_5xx = [r for r in rows if r["other_5xx"]
               or (r["503_retry_after"] and not r["phase"].startswith("pg-"))]
    client_errors = sum(r["4xx"] for r in rows)
    summary = {
        "acknowledged": len(acked),
        "stored": len(reports),
        "processed": status_counts.get("processed", 0),
        "held": status_counts.get("held", 0),
        "failed": status_counts.get("failed", 0),
        "lost": len(lost),
        "duplicated": len(dup),
        "stuck_reports": len(stuck_reports),
        "stuck_case_versions": stuck_versions,
        "unacknowledged": sum(1 for s in subs if s.report_id is None),
        "client_errors_4xx": client_errors,
        "time_to_drain_s": time_to_drain,
        "process_exits": exits,
        "restarted_by_product_supervisor": restarts if service.supervisor else "no supervisor",
        "left_dead": dead,
    }
    failures = []
    if lost:
        failures.append(f"lost {len(lost)}: {lost[:5]}")
    if dup:
        failures.append(f"duplicated {len(dup)}: {dup[:5]}")
    if stuck_reports or stuck_versions:
        failures.append(f"stuck ({not_drained}): {len(stuck_reports)} reports "
                        f"({status_counts}), {stuck_versions} case versions")
    if time_to_drain is None:
        failures.append(f"{not_drained} (time to drain)")
    if dead:
        failures.append(f"left dead: {', '.join(dead)}")
    if bad_5xx:
        failures.append("5xx other than 503+Retry-After during a PostgreSQL restart in: "
                        + ", ".join(r["phase"] for r in bad_5xx))
    if client_errors:
        gave = [s.gave_up for s in subs if s.gave_up and not s.gave_up.startswith("no 2xx")]
        failures.append(f"client errors {client_errors}: {gave[:3]}")
    if summary["unacknowledged"]:
        failures.append(f"{summary['unacknowledged']} reports never acknowledged")

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.0f}"

    print()
    supervised = ("under safety serve's supervisor" if service.supervisor
                  else "unsupervised: the product has no supervisor")
    print(f"machine: {os.cpu_count()} cores; {CLIENTS} clients, {args.rate:g} reports/s "
          f"offered; gunicorn gthread {WEB_WORKERS}x4; 2 workers + scheduler "
          f"({supervised}); "
          f"{'quick' if args.quick else 'full'} phases ({hold:.0f} s after each fault, "
          f"Redis down {redis_down:.0f} s, PostgreSQL down {pg_down:.0f} s)")
    head = (f"{'phase':15s} {'requests':>8s} {'2xx':>5s} {'503+RA':>6s} {'oth5xx':>6s} "
            f"{'noansw':>6s} {'4xx':>4s} {'p99 ms':>7s} {'p99 ack ms':>10s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['phase']:15s} {r['requests']:8d} {r['2xx']:5d} {r['503_retry_after']:6d} "
              f"{r['other_5xx']:6d} {r['no_answer']:6d} {r['4xx']:4d} {ms(r['p99_ms']):>7s} "
              f"{ms(r['p99_ack_ms']):>10s}")
    print("answers per phase:", "; ".join(
        f"{ph}: " + ", ".join(f"{k} x{n}" for k, n in sorted(c.items()))
        for ph, c in codes.items()))
    print()
    for k, v in summary.items():
        if k == "time_to_drain_s":
            v = f"{v:.1f}" if v is not None else not_drained
        elif isinstance(v, list):
            v = ", ".join(v) or "none"
        print(f"{k.replace('_', ' '):32s} {v}")
    print()
    print("ACCEPTANCE:", "pass" if not failures else "FAIL")
    for f in failures:
        print("  -", f)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "quick": args.quick, "rate": args.rate, "phases": rows, "answers": codes,
        "summary": summary,
        "events": events, "failures": failures, "lost": lost, "duplicated": dup,
        "stuck_reports": stuck_reports[:100],
    }, indent=2, default=str))
    print(f"(JSON: {args.json}; logs: {logs if args.keep else 'removed, --keep keeps them'})")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
