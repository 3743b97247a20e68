"""Profile the intake request path in this process (issue 20): POST /api/v1/reports and the
validate-only floor route through Flask's test client, on PostgreSQL and Redis servers of its
own; prints ms of this process's CPU per request for each and the intake's top functions.

    python bench/profile_intake.py [--requests 300] [--top 40]
    python bench/profile_intake.py --breakdown [--requests 2000] [--rounds 3]

``--breakdown``: where the intake's CPU beyond the floor's goes, by component. Three ways
that check one another: (1) removal: the intake measured again with its storing call replaced
by a stand-in that stores nothing, and with its hand-over to the relay replaced by one that
enqueues nothing (CPU of the request thread and of the relay thread, medians of alternated
rounds); (2) cProfile (thread CPU) of 2,000 requests of each route, summed by component and
scaled to the unprofiled CPU (the profiler slows Python code more than C); (3) single
operations timed alone (hashing the body, serialising the payload again, a pool checkout,
the insert itself, one relay batch, ...). PostgreSQL's CPU per report (every process of the
bench's cluster) is measured in the intake rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

# ``tests/pipeline`` is a package of the same name: load the bench by its path.
_spec = importlib.util.spec_from_file_location("bench_pipeline", ROOT / "bench" / "pipeline.py")
assert _spec is not None and _spec.loader is not None
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)

FLOOR, INTAKE = "/api/v1/bench/validate", "/api/v1/reports"

# cProfile components: (name, functions whose cumulative time is the component's, by
# (file suffix, function name)); a function inside another listed one is counted once, in
# the innermost component (its time is taken off the outer one).
COMPONENTS: list[tuple[str, list[tuple[str, str]]]] = [
    ("validation (marshmallow SAE form)", [("marshmallow/schema.py", "load")]),
    ("JSON parse of the body (before_request)", [("safety/api/body.py", "loads")]),
    ("the floor's own second JSON parse", [("bench/floor_app.py", "validate_only")]),
    ("storing: driver, SQL, pool, hash (store_report)", [("safety/intake/store.py",
                                                         "store_report")]),
    ("hand-over to the relay (request thread)", [("safety/pipeline/dispatch.py",
                                                  "__call__")]),
    ("url_for (Location, status_url)", [("flask/helpers.py", "url_for")]),
    ("authentication (cached token)", [("safety/api/auth.py", "require_client")]),
    ("flask-smorest wrappers and response schema", [("flask_smorest/blueprint.py",
                                                     "wrapper")]),
    ("view body (headers, Incoming, submitter)", [("safety/api/reports.py", "post")]),
    ("security headers (after_request)", [("safety/web/security.py", "_security_headers")]),
    ("request session open/commit/close", [("safety/app.py", "_open_session"),
                                            ("safety/app.py", "_close_session")]),
    ("Flask and Werkzeug (dispatch, test client)", [("flask/testing.py", "open")]),
]


def _profile_components(stats: pstats.Stats, requests: int) -> dict[str, float]:
    """ms per request by component: each listed function's cumulative time, less the time of
    listed functions it calls (so that nothing is counted twice)."""
    raw: dict[str, Any] = stats.stats  # type: ignore[attr-defined]
    keys = {name: [k for k in raw for suffix, func in funcs
                   if k[0].endswith(suffix) and k[2] == func]
            for name, funcs in COMPONENTS}
    cum = {name: sum(raw[k][3] for k in ks) for name, ks in keys.items()}
    # callers: how much of each component's time was spent under each other component
    inside: dict[str, float] = {name: 0.0 for name in keys}
    owner = {k: name for name, ks in keys.items() for k in ks}

    def under(key: tuple[Any, ...], seen: set[tuple[Any, ...]]) -> set[str]:
        """The nearest components whose functions call ``key``, directly or not (the
        search stops at a component's function: its own time is taken off its nearest
        enclosing one in turn)."""
        found: set[str] = set()
        for caller in raw[key][4]:
            if caller in seen or caller not in raw:
                continue
            seen.add(caller)
            if caller in owner:
                found.add(owner[caller])
            else:
                found |= under(caller, seen)
        return found

    for name, ks in keys.items():
        for k in ks:
            for outer in under(k, set()) - {name}:
                inside[outer] += raw[k][3]
    total = sum(v[2] for v in raw.values())
    out = {name: max(0.0, cum[name] - inside[name]) * 1000 / requests for name in keys}
    out["everything else"] = max(0.0, total * 1000 / requests - sum(out.values()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--timer", choices=("wall", "cpu"), default="cpu",
                    help="what the profile counts: this thread's CPU time (default: on a busy "
                         "machine wall time charges other processes' slices to whatever "
                         "syscall was waiting) or wall-clock time")
    ap.add_argument("--breakdown", action="store_true",
                    help="the intake's CPU beyond the floor's, by component (see above)")
    ap.add_argument("--rounds", type=int, default=3, help="--breakdown: alternated rounds")
    args = ap.parse_args()
    servers = _bench.Servers(None, None)
    try:
        run = _bench.Run(servers, "bench_profile_intake", 0)
        os.environ.update(run.env)
        from factories.forms import sae_form
        from floor_app import create_floor_app

        from safety.accounts.clients import get_or_create_site, issue_token
        from safety.db.session import session_scope
        from safety.queue.relay import flush_all
        from safety.sponsors.store import sponsor_by_code

        with session_scope(run.settings.effective_database_url) as s:
            default = sponsor_by_code(s, "DEFAULT")
            assert default is not None
            site, _ = get_or_create_site(s, "Bench site", "GB", default.id)
            token = issue_token(s, "bench", "site", site=site)
        app = create_floor_app()
        client = app.test_client()
        template = json.dumps(sae_form(sae_id="@@ID@@"))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def post(path: str) -> None:
            body = template.replace("@@ID@@", f"BENCH-{uuid.uuid4().hex}")
            resp = client.post(path, data=body, headers=headers)
            assert resp.status_code == 202, resp.get_data(as_text=True)[:500]

        for path in (FLOOR, INTAKE):
            for _ in range(20):
                post(path)  # warm
        if args.breakdown:
            breakdown(args, run, app, post, template)
            return
        for path in (FLOOR, INTAKE):
            flush_all()
            cpu0, own0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
            for _ in range(args.requests):
                post(path)
            flush_all()  # the relay thread's enqueues are part of a request's cost
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            own = time.thread_time() - own0
            print(f"{path}: CPU {cpu * 1000 / args.requests:.2f} ms/request (request thread "
                  f"{own * 1000 / args.requests:.2f}, other threads "
                  f"{(cpu - own) * 1000 / args.requests:.2f}), wall "
                  f"{wall * 1000 / args.requests:.2f} ms/request; load {os.getloadavg()[0]:.2f}")
        prof: Any = (cProfile.Profile(time.thread_time) if args.timer == "cpu"
                     else cProfile.Profile())
        prof.enable()
        for _ in range(args.requests):
            post(INTAKE)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    finally:
        servers.close()


def breakdown(args: argparse.Namespace, run: Any, app: Any, post: Callable[[str], None],
              template: str) -> None:
    import hashlib

    from flask import url_for

    import safety.api.reports as reports_api
    import safety.intake.service as service
    from safety.db.session import get_intake_engine
    from safety.intake.store import Incoming, StoredReport, store_report
    from safety.pipeline.jobs import process_report, report_job_id
    from safety.queue.enqueue import enqueue_batch
    from safety.queue.relay import flush_all

    n = args.requests
    real_store, real_dispatch = service.store_report, reports_api.QueueDispatch

    def no_store(url: str, reports: Any, client_id: Any, actor: str) -> Any:
        return [(StoredReport(uuid.uuid4(), "received"), True) for _ in reports]

    class NoRelay:
        def __init__(self, *_: Any, **__: Any) -> None:
            pass

        def __call__(self, report_ids: Any, *, fresh: bool) -> None:
            pass

    variants: dict[str, tuple[str, Any, Any]] = {
        "floor": (FLOOR, real_store, real_dispatch),
        "intake": (INTAKE, real_store, real_dispatch),
        "intake, storing call removed": (INTAKE, no_store, real_dispatch),
        "intake, relay removed": (INTAKE, real_store, NoRelay),
    }
    import psycopg

    with psycopg.connect(run.db_url) as conn:
        backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        stat = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    postmaster = int(stat[1])

    def pg_cpu() -> float:
        return _bench.proc_cpu(postmaster) + sum(_bench.proc_cpu(c)
                                                 for c in _bench.children(postmaster))

    got: dict[str, list[tuple[float, float, float]]] = {k: [] for k in variants}
    for i in range(args.rounds):
        order = list(variants) if i % 2 == 0 else list(variants)[::-1]
        for name in order:
            path, store, dispatch = variants[name]
            service.store_report, reports_api.QueueDispatch = store, dispatch
            try:
                for _ in range(20):
                    post(path)
                flush_all()
                pg0, cpu0, own0 = pg_cpu(), time.process_time(), time.thread_time()
                for _ in range(n):
                    post(path)
                flush_all()
                cpu, own = time.process_time() - cpu0, time.thread_time() - own0
                time.sleep(0.2)  # the backends' last ticks
                pg = pg_cpu() - pg0
            finally:
                service.store_report, reports_api.QueueDispatch = real_store, real_dispatch
            got[name].append((own * 1000 / n, (cpu - own) * 1000 / n, pg * 1000 / n))
    med = {k: tuple(statistics.median(r[j] for r in v) for j in range(3))
           for k, v in got.items()}
    print(f"Removal ({args.rounds} alternated rounds of {n} requests, medians; load "
          f"{os.getloadavg()[0]:.2f}): CPU ms per request")
    print(f"  {'variant':32s} {'request thread':>14s} {'other threads':>14s} "
          f"{'PostgreSQL':>11s}")
    for k, (own, other, pg) in med.items():
        print(f"  {k:32s} {own:14.3f} {other:14.3f} {pg:11.3f}   rounds: "
              + ", ".join(f"{r[0]:.3f}+{r[1]:.3f}" for r in got[k]))
    f, t = med["floor"], med["intake"]
    print(f"  intake - floor: request thread {t[0] - f[0]:+.3f}, relay thread "
          f"{t[1] - f[1]:+.3f}, PostgreSQL {t[2] - f[2]:+.3f}; of which the storing call "
          f"{t[0] - med['intake, storing call removed'][0]:.3f} (request thread), the relay "
          f"{t[1] - med['intake, relay removed'][1]:.3f} (its thread) + "
          f"{t[0] - med['intake, relay removed'][0]:.3f} (hand-over)")

    # cProfile, per component, scaled to the unprofiled request-thread CPU
    print(f"\ncProfile (thread CPU, {max(n, 2000)} requests each), ms per request, scaled to "
          "the unprofiled request thread's CPU (removal above):")
    shares: dict[str, dict[str, float]] = {}
    for name, path in (("floor", FLOOR), ("intake", INTAKE)):
        prof = cProfile.Profile(time.thread_time)
        m = max(n, 2000)
        prof.enable()
        for _ in range(m):
            post(path)
        prof.disable()
        flush_all()
        parts = _profile_components(pstats.Stats(prof), m)
        scale = med[name][0] / max(1e-9, sum(parts.values()))
        shares[name] = {k: v * scale for k, v in parts.items()}
    print(f"  {'component':50s} {'floor':>7s} {'intake':>7s} {'extra':>7s}")
    for comp in shares["intake"]:
        fl, it = shares["floor"].get(comp, 0.0), shares["intake"][comp]
        print(f"  {comp:50s} {fl:7.3f} {it:7.3f} {it - fl:+7.3f}")
    print(f"  {'request thread, total':50s} {sum(shares['floor'].values()):7.3f} "
          f"{sum(shares['intake'].values()):7.3f}")

    # single operations, timed alone
    body = template.replace("@@ID@@", "BENCH-1")
    raw = body.encode()
    payload = json.loads(raw)
    url = run.settings.effective_database_url
    engine = get_intake_engine(url)
    from safety.db.session import session_scope
    from safety.sponsors.store import sponsor_by_code

    with session_scope(url) as s:
        sponsor = sponsor_by_code(s, "DEFAULT")
        assert sponsor is not None
        sponsor_id = sponsor.id

    def timed(fn: Callable[[], Any], number: int) -> float:
        t0 = time.thread_time()
        for _ in range(number):
            fn()
        return (time.thread_time() - t0) * 1000 / number

    def checkout() -> None:
        engine.raw_connection().close()

    def incoming(as_text: bool) -> Incoming:
        return Incoming(channel="site_form", content_type="application/json", raw=raw,
                        payload=payload, sender="site:1", sender_case_id=uuid.uuid4().hex,
                        site_id=None, sponsor_id=sponsor_id,
                        **({"payload_json": body} if as_text else {}))

    def batch() -> None:
        ids = [str(uuid.uuid4()) for _ in range(12)]
        enqueue_batch(run.settings, process_report, [(report_job_id(r), (r,)) for r in ids])

    ops: list[tuple[str, Callable[[], Any], int, int]] = [
        ("SHA-256 of the body", lambda: hashlib.sha256(raw).hexdigest(), 20000, 1),
        ("payload serialised again (json.dumps, as Jsonb does)",
         lambda: json.dumps(payload), 20000, 1),
        ("JSON parse of the body", lambda: json.loads(raw), 20000, 1),
        ("SAE form validation", lambda: service.SAE_FORM.load(payload), 2000, 1),
        ("pool checkout and return", checkout, 5000, 1),
        ("store_report, payload serialised (client side)",
         lambda: store_report(url, [incoming(False)], None, "bench"), 2000, 1),
        ("one relay batch of 12, per job", batch, 200, 12),
    ]
    if "payload_json" in getattr(Incoming, "__dataclass_fields__", {}):  # since issue 20
        ops.insert(-1, ("store_report, payload as received (client side)",
                        lambda: store_report(url, [incoming(True)], None, "bench"), 2000, 1))
    print("\nSingle operations timed alone (thread CPU ms per operation):")
    for label, fn, number, per in ops:
        for _ in range(min(50, number)):
            fn()
        print(f"  {label:50s} {timed(fn, number) / per:7.3f}")
    with app.test_request_context(INTAKE, method="POST"):
        rid = uuid.uuid4()
        print(f"  {'url_for of the status URL':50s} "
              f"{timed(lambda: url_for('reports.ReportItem', report_id=rid), 5000):7.3f}")
    print(f"load average {os.getloadavg()[0]:.2f}; stand-ins used only here (storing: ids "
          "without a database; relay: nothing enqueued)")


if __name__ == "__main__":
    main()
