"""Profile the intake request path in this process (issue 20): POST /api/v1/reports and the
validate-only floor route through Flask's test client, on PostgreSQL and Redis servers of its
own; prints ms of this process's CPU per request for each and the intake's top functions.

    python bench/profile_intake.py [--requests 300] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pstats
import sys
import time
import uuid
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--timer", choices=("wall", "cpu"), default="cpu",
                    help="what the profile counts: this thread's CPU time (default: on a busy "
                         "machine wall time charges other processes' slices to whatever "
                         "syscall was waiting) or wall-clock time")
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

        for path in ("/api/v1/bench/validate", "/api/v1/reports"):
            for _ in range(20):
                post(path)  # warm
        for path in ("/api/v1/bench/validate", "/api/v1/reports"):
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
            post("/api/v1/reports")
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    finally:
        servers.close()


if __name__ == "__main__":
    main()
