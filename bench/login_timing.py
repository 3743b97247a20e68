"""How long a failed web login takes for an existing account and for an unknown address.

A difference is an account-enumeration oracle: whoever can time the answer learns which
addresses have accounts. This posts the login form (with its CSRF token) through the app in
process, alternating a known address with a wrong password and an unknown address, and prints
the median and spread of each. The login throttle's Redis counters are cleared before each
attempt, so every attempt takes the full path (password check, audit row, counters) rather
than the quick "wait" answer; ``--throttled`` measures that answer instead.

Run: ``.venv/bin/python bench/login_timing.py [--n 20]`` with ``SAFETY_BENCH_DATABASE_URL`` and
``SAFETY_BENCH_REDIS_URL`` (default: a SQLite file and an embedded Redis in a temporary folder).
The database is migrated and a user added; nothing else is changed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safety.accounts.users import create_user  # noqa: E402
from safety.app import create_app  # noqa: E402
from safety.config import Settings  # noqa: E402
from safety.db.migrate import upgrade  # noqa: E402
from safety.db.session import session_scope  # noqa: E402
from safety.queue.connection import get_redis  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def _settings(home: Path) -> Settings:
    wanted: dict[str, Any] = {
        "home": home, "database_url": os.environ.get("SAFETY_BENCH_DATABASE_URL"),
        "redis_url": os.environ.get("SAFETY_BENCH_REDIS_URL"), "secret_key": "bench",
        "secure_cookies": False,  # the test client speaks plain http
        "log_level": "WARNING"}  # not a line per failed login
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in wanted.items() if k in known})


def _attempt(app: Any, email: str, clear: Any) -> tuple[int, float]:
    client = app.test_client()
    token = CSRF.search(client.get("/login").text)
    assert token, "no CSRF token on the login page"
    clear()
    t0 = time.perf_counter()
    r = client.post("/login", data={"email": email, "password": "not the password at all",
                                    "csrf_token": token.group(1)})
    return r.status_code, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20, help="attempts of each kind")
    parser.add_argument("--throttled", action="store_true",
                        help="measure the answer to a throttled address instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp))
        upgrade(settings.effective_database_url)
        app = create_app(settings=settings)
        redis = get_redis(settings)
        # One account per attempt, so that no attempt meets an account that earlier ones locked
        # (before the throttle, five failures locked it and the answer became instant).
        known = [f"bench-{uuid.uuid4().hex[:8]}@example.org" for _ in range(args.n + 2)]
        with session_scope(settings.effective_database_url) as s:
            for email in known:
                create_user(s, email=email, role="case_processor", password=PASSWORD,
                            printed_name="Bench", site_id=None, actor="bench")

        def clear() -> None:
            if args.throttled:
                return
            keys = list(redis.scan_iter("login:*"))
            if keys:
                redis.delete(*keys)

        unknown = [f"nobody-{uuid.uuid4().hex[:8]}@example.org" for _ in range(args.n + 2)]
        for email in (known[-1], unknown[-1]):  # warm up: templates, connections, first scrypt
            _attempt(app, email, clear)
        if args.throttled:
            for _ in range(40):
                _attempt(app, known[0], clear)
                _attempt(app, unknown[0], clear)
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        codes: dict[str, set[int]] = {"known": set(), "unknown": set()}
        for i in range(args.n):
            j = 0 if args.throttled else i
            for kind, email in (("known", known[j]), ("unknown", unknown[j])):
                code, seconds = _attempt(app, email, clear)
                times[kind].append(seconds * 1000)
                codes[kind].add(code)
        for kind, values in times.items():
            q = statistics.quantiles(values, n=4)
            print(f"{kind:8} n={len(values)} median {statistics.median(values):7.1f} ms  "
                  f"quartiles {q[0]:.1f}–{q[2]:.1f} ms  status {sorted(codes[kind])}")


if __name__ == "__main__":
    main()
