"""Benchmark of the review queue at scale (issue 17: a page in < 300 ms with 100,000 open
cases on PostgreSQL; a search by case number in < 100 ms).

Fills the database with N open cases (one version each, every other one with an open reporting
obligation, products, studies, subjects and events varied from 60 generated site forms), the
queue's index written as the application writes it (at commit), then times, median of
``--repeat`` runs each:

- ``queue_rows``: the service alone, first page, default order (most urgent first);
- ``GET /queue``: the whole page as a logged-in case processor gets it (the service, the state
  counts, the report tabs, the filter lists and the template);
- a search by case number (prefix), by everything (case number, sender's id, subject id or
  event term), a product filter, a page deep into the queue and a sort by case number.

Run: ``.venv/bin/python bench/web_queue.py [--sizes 1000 100000] [--repeat 7]`` with
``SAFETY_BENCH_DATABASE_URL`` naming a PostgreSQL database of the bench's own (it is migrated
and emptied); without it, a temporary SQLite file. Never point it at a shared database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from safety.accounts.store import User
from safety.cases.codec import case_to_json
from safety.cases.store import Case, CaseVersion
from safety.db.migrate import upgrade
from safety.db.session import get_engine, get_sessionmaker
from safety.demo.generator import generate_forms
from safety.intake.channels import payload_to_case
from safety.intake.store import Report
from safety.review.queue import QueueFilters, queue_rows
from safety.review.store import (
    CaseAssignment,
    QueueCount,
    QueueEntry,
    QueueTerm,
    refresh_entries,
)
from safety.rules.store import ObligationRow

SPONSOR = 1  # the DEFAULT sponsor the migrations create
PASSWORD = "bench password long enough"
CHUNK = 1000


def fill(url: str, n: int) -> None:
    forms = generate_forms(60)
    docs = [(f, case_to_json(payload_to_case("site_form", f))) for f in forms]
    maker = get_sessionmaker(url)
    now = datetime.now(UTC)
    engine = get_engine(url)
    tables = [m.__table__.name for m in (QueueCount, QueueTerm, QueueEntry, CaseAssignment,
                                         ObligationRow,
                                         CaseVersion, Report, Case)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # DELETE left dead rows for every FK check
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            conn.execute(text("UPDATE reports SET case_id = NULL, case_version_id = NULL"))
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    with maker() as s:
        for start in range(0, n, CHUNK):
            rows: dict[Any, list[dict[str, Any]]] = {Report: [], Case: [], CaseVersion: [],
                                                     ObligationRow: []}
            for i in range(start, min(n, start + CHUNK)):
                form, data = docs[i % len(docs)]
                case_id, cv_id, report_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
                raw = json.dumps(form).encode()
                received = now - timedelta(hours=i % 2000)
                data = {**data, "patient": {**data.get("patient", {}),
                                            "investigation_number": f"SUBJ-{i:06d}"}}
                rows[Report].append(dict(
                    id=report_id, channel="site_form", content_type="application/json",
                    raw=raw, payload=form, payload_sha256=hashlib.sha256(raw).hexdigest(),
                    sender="bench", sender_case_id=f"B-{i}", received_at=received,
                    status="processed", findings=[], attempts=0, sponsor_id=SPONSOR))
                rows[Case].append(dict(
                    id=case_id, case_number=f"SD-{i:07d}", worldwide_case_id=f"W-{i}",
                    sender="bench", sender_case_id=f"B-{i}", state="triage",
                    current_version=1, serious=i % 3 != 0, sponsor_id=SPONSOR))
                rows[CaseVersion].append(dict(
                    id=cv_id, case_id=case_id, version=1, kind="initial",
                    report_id=report_id, data=data, received_at=received, stages={},
                    pipeline="done", sponsor_id=SPONSOR))
                if i % 2 == 0:
                    rows[ObligationRow].append(dict(
                        id=uuid.uuid4(), case_id=case_id, case_version_id=cv_id, version=1,
                        destination="EMA", regime="eu-ct", rule_id="r", report_type="SUSAR",
                        grp="initial", day0=date.today(),
                        due=date.today() + timedelta(days=i % 30 - 5), days=15,
                        status="open", citation="c", anchor="a", explanation="e", basis=[],
                        sponsor_id=SPONSOR))
            for model, values in rows.items():
                if values:
                    s.execute(insert(model), values)
            # Inserted in bulk (no unit of work to watch): indexed as a commit would.
            refresh_entries(s, [r["id"] for r in rows[Case]])
            s.commit()
    if engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would leave them
        with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm: plans, caches, template compilation
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def service(url: str, filters: QueueFilters) -> Callable[[], Any]:
    maker = get_sessionmaker(url)

    def run() -> Any:
        with maker() as s:
            page = queue_rows(s, filters, today=date.today())
            assert page.rows or filters.q, "the bench found nothing"
            return page
    return run


def web_client(url: str, home: Path) -> Any:
    from safety.accounts.users import create_user
    from safety.app import create_app
    from safety.config import load_settings

    settings = load_settings().with_overrides({"database_url": url, "home": str(home),
                                               "testing": True,
                                               "redis_url": os.environ.get(
                                                   "SAFETY_BENCH_REDIS_URL")})
    app = create_app(settings=settings)
    maker = get_sessionmaker(url)
    with maker() as s:
        if s.query(User).filter_by(email="bench@example.org").one_or_none() is None:
            create_user(s, email="bench@example.org", role="case_processor",
                        printed_name="Bench Processor", password=PASSWORD, site_id=None,
                        actor="bench", sponsor_ids=[SPONSOR])
            s.commit()
    client = app.test_client()
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    r = client.post("/login", data={"email": "bench@example.org", "password": PASSWORD,
                                    "csrf_token": token.group(1)})
    assert r.status_code == 302, r.status_code
    return client


def page(client: Any, path: str) -> Callable[[], Any]:
    def run() -> Any:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return r
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--reuse", action="store_true",
                    help="keep the cases already there when they are as many as asked for")
    args = ap.parse_args()
    url = os.environ.get("SAFETY_BENCH_DATABASE_URL")
    tmp = tempfile.TemporaryDirectory()
    if url is None:
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    print(f"database: {url.split('@')[-1]}")
    for n in args.sizes:
        t0 = time.perf_counter()
        with get_sessionmaker(url)() as s:
            held = s.scalar(select(func.count()).select_from(QueueEntry))
        if not (args.reuse and held == n):
            fill(url, n)
        print(f"\n{n} open cases (filled and indexed in {time.perf_counter() - t0:.0f} s); "
              f"median of {args.repeat}, ms")
        client = web_client(url, Path(tmp.name) / "home")
        last = n - 1
        cases: list[tuple[str, Callable[[], Any]]] = [
            ("queue_rows, first page", service(url, QueueFilters())),
            ("GET /queue (first page, whole page)", page(client, "/queue")),
            ("GET /queue search case number", page(client, f"/queue?q=SD-{last:07d}"
                                                            "&in=case_number")),
            ("queue_rows search case number", service(url, QueueFilters(
                q=f"SD-{last:07d}", search_in="case_number"))),
            ("GET /queue search everything", page(client, f"/queue?q=SD-{last:07d}")),
            ("GET /queue search subject id", page(client, f"/queue?q=SUBJ-{last:06d}"
                                                           "&in=subject")),
            ("GET /queue search event term", page(client, "/queue?q=pneumon&in=event")),
            ("GET /queue product filter", page(client, "/queue?product=pembrolizumab")),
            ("GET /queue sorted by case number", page(client, "/queue?sort=case&dir=desc")),
            ("GET /queue page 100", page(client, "/queue?page=100")),
            ("GET /queue/reports/held", page(client, "/queue/reports/held")),
        ]
        for label, fn in cases:
            print(f"  {label:<42} {median_ms(fn, args.repeat):8.1f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
